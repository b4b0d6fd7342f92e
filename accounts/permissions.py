"""DRF permissions other apps put on their paid-work endpoints (jobs, payments)."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.errors import AccountsErrorCode, EmailUnverified
from accounts.selectors import user_must_verify_email


class EmailVerifiedForPaidWork(BasePermission):
    """403 `email_unverified` when REQUIRE_EMAIL_VERIFICATION is on and the user is unverified.

    Put it after IsAuthenticated: an anonymous request is refused here too, and DRF then answers
    401 because nobody authenticated. Reads (GET, HEAD, OPTIONS) pass: an unverified user still
    sees their jobs, payments and quotes; only the POST that starts paid work waits.
    """

    message = EmailUnverified.default_detail
    code = AccountsErrorCode.EMAIL_UNVERIFIED.value

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or not user_must_verify_email(user=user)
