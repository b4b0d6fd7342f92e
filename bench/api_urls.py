"""URLconf for bench/api.py only: the product's URLs plus a bare Django JSON view to compare with.

The bare view goes through the same middleware as every request but does nothing else (no
authentication, no database, no DRF), so GET /api/v1/jobs/{id} can be measured against it in
the same run. It is never part of the product's URLs.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import path

from portal.urls import handler400, handler403, handler404, handler500  # noqa: F401 - the same error pages
from portal.urls import urlpatterns as product_urlpatterns

BARE_PATH = "bench/bare"

# About the size of a running job's answer, so both views write a similar body.
_BODY = {
    "id": "00000000-0000-0000-0000-000000000000", "video": "00000000-0000-0000-0000-000000000000",
    "status": "running", "stage": "synthesize", "progress": 57, "cost_credits": 1, "source_language": "auto",
    "detected_language": "en", "target_language": "es", "attempt": 1, "render_count": 0, "rendering": False,
    "error": None,
    "steps": [
        {"name": name, "status": "done", "started_at": "2026-01-01T00:00:00+00:00",
         "finished_at": "2026-01-01T00:00:01+00:00", "seconds": 1.0}
        for name in ("probe", "extract", "transcribe", "segment", "translate")
    ],
    "artifacts": {}, "artifacts_expire_in": 3600,
    "created_at": "2026-01-01T00:00:00+00:00", "finished_at": None,
}


def bare_json(request):
    return JsonResponse(_BODY)


# Last, so that resolving it walks the product's patterns as resolving a product URL does.
urlpatterns = [*product_urlpatterns, path(BARE_PATH, bare_json)]
