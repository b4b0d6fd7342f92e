"""DRF permissions other apps put on their paid-work endpoints (jobs, payments)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import BasePermission

from accounts.errors import AccountsErrorCode, EmailUnverified


class EmailVerifiedForPaidWork(BasePermission):
    """403 `email_unverified` when REQUIRE_EMAIL_VERIFICATION is on and the user is unverified.

    Put it after IsAuthenticated: an anonymous request is refused here too, and DRF then answers
    401 because nobody authenticated.
    """

    message = EmailUnverified.default_detail
    code = AccountsErrorCode.EMAIL_UNVERIFIED.value

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return not settings.REQUIRE_EMAIL_VERIFICATION or user.email_verified
