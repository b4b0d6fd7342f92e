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
from onevoice.metrics import metrics_view
from onevoice.views import home
from videos import urls as videos_urls

api_v1 = [
    *accounts_urls.api_urlpatterns,
    *billing_urls.api_urlpatterns,
    *videos_urls.api_urlpatterns,
    *dubbing_urls.api_urlpatterns,
    *community_urls.api_urlpatterns,
    *integrations_urls.api_urlpatterns,
]

urlpatterns = [
    path("", home, name="home"),
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
