"""How fast one user may comment: the DRF scope `comment`, shared by the API and the post page."""

from __future__ import annotations

from rest_framework.settings import api_settings

from onevoice.throttling import UserRateThrottle

# Used until settings name the scope (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["comment"]).
DEFAULT_COMMENT_RATE = "5/min"

class CommentRateThrottle(UserRateThrottle):
    """Counted per user (per address for the anonymous, who cannot comment anyway)."""

    scope = "comment"

    def get_rate(self) -> str:
        # Read at each request, not when the class is made, so a changed setting applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or DEFAULT_COMMENT_RATE

def comment_throttle_wait(request) -> float | None:
    """For the page form: count this comment; None when allowed, else seconds to wait."""
    throttle = CommentRateThrottle()
    if throttle.allow_request(request, None):
        return None
    return throttle.wait() or 1.0
