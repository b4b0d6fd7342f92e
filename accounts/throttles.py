"""The API's scoped rates (settings REST_FRAMEWORK DEFAULT_THROTTLE_RATES) for page forms.

The pages and the API share one counter per scope and client address, so a guesser gains
nothing by switching from /api/v1/auth/token to the /login form.
"""

from __future__ import annotations

from django.http import HttpRequest

from onevoice.throttling import SimpleRateThrottle


class PageRateThrottle(SimpleRateThrottle):
    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request, view) -> str:
        # Same key as DRF's ScopedRateThrottle for an anonymous client.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def page_throttled(request: HttpRequest, scope: str) -> bool:
    """Count this request against the scope; True when the client is over its rate."""
    return not PageRateThrottle(scope).allow_request(request, None)
