"""The root URLconf (ROOT_URLCONF): every app's URLs, and those whose views live in portal.

An app's `urls` lists what the app serves itself; the endpoints and pages whose work crosses apps
(portal.api, portal.views) are added here at their paths under their names, so reversing
"api-me", "signup" or "video_detail" works as it did."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import urls as accounts_urls
from billing import urls as billing_urls
from community import urls as community_urls
from dubbing import urls as dubbing_urls
from integrations import urls as integrations_urls
from onevoice import health
from portal import api, views
from portal.metrics import metrics_view
from videos import urls as videos_urls

# Under /api/v1/: register, verify-email and /me (accounts), a video's detail with its DELETE (videos),
# the ledger naming the dubs' videos (billing).
portal_api_urlpatterns = [
    path("auth/register", api.RegisterApi.as_view(), name="api-register"),
    path("auth/verify-email", api.VerifyEmailApi.as_view(), name="api-verify-email"),
    path("me", api.MeApi.as_view(), name="api-me"),
    path("videos/<uuid:video_id>", api.VideoDetailApi.as_view(), name="api-video-detail"),
    path("billing/ledger", api.LedgerEntryListApi.as_view(), name="api_billing_ledger"),
]

api_v1 = [
    *portal_api_urlpatterns,
    *accounts_urls.api_urlpatterns,
    *billing_urls.api_urlpatterns,
    *videos_urls.api_urlpatterns,
    *dubbing_urls.api_urlpatterns,
    *community_urls.api_urlpatterns,
    *integrations_urls.api_urlpatterns,
]

urlpatterns = [
    path("", views.home, name="home"),
    # The pages' scripts translate their messages with gettext() from this catalog (djangojs).
    path("jsi18n", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus; a 404 unless allowed (onevoice/metrics.py)
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's stylesheet draws its icons as data: images.
    path("api/docs/", csp_update({"img-src": ["data:"]})(SpectacularSwaggerView.as_view(url_name="schema")),
         name="swagger-ui"),
    # Pages: sign up and delete the account (accounts), a video's page with its dubbing panel (videos),
    # the credit history naming the dubs' videos (billing).
    path("signup", views.signup, name="signup"),
    path("account/delete", views.account_delete, name="account_delete"),
    path("videos/<uuid:video_id>", views.video_detail_page, name="video_detail"),
    path("credits/history", views.credit_history_page, name="credit_history"),
    *accounts_urls.urlpatterns,
    *billing_urls.urlpatterns,
    *videos_urls.urlpatterns,
    *dubbing_urls.urlpatterns,
    *community_urls.urlpatterns,
    *integrations_urls.urlpatterns,
]

handler400 = "onevoice.errors.handler400"
handler403 = "onevoice.errors.handler403"
handler404 = "onevoice.errors.handler404"
handler500 = "onevoice.errors.handler500"
