"""A urlconf for tests only: the real one plus views that fail on purpose."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from portal.urls import handler400, handler403, handler404, handler500
from portal.urls import urlpatterns as real_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


class Boom(Exception):
    pass


def plain_boom(request):
    raise Boom("a plain Django view failed")


class BoomApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request):
        raise Boom("a DRF view failed")


@require_GET
def plain_get_only(request):
    return HttpResponse("ok")


urlpatterns = [
    path("api/v1/test/plain-boom", plain_boom),
    path("api/v1/test/drf-boom", BoomApi.as_view()),
    path("api/v1/test/plain-get-only", plain_get_only),
    path("test/page-boom", plain_boom),
    *real_urlpatterns,
]
