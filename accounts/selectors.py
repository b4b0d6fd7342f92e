"""Reads for accounts."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from accounts.models import User


def user_get_active_by_email(*, email: str) -> User | None:
    """The active account whose email matches in any letter case."""
    return User.objects.filter(email__iexact=email.strip(), is_active=True).first()


def user_must_verify_email(*, user) -> bool:
    """Paid work (payments, jobs) waits for this user to confirm their address: the API's
    permission, the service gate and the pages that offer paid work all ask here."""
    return bool(settings.REQUIRE_EMAIL_VERIFICATION and not user.email_verified)


def user_get_by_token_claim(*, user_id) -> User | None:
    """The active user a verified token names, or None."""
    try:
        return User.objects.filter(pk=user_id, is_active=True).first()
    except (ValueError, ValidationError):
        return None
