"""Reads for accounts."""

from __future__ import annotations

from accounts.models import User


def user_get_active_by_email(*, email: str) -> User | None:
    """The active account whose email matches in any letter case."""
    return User.objects.filter(email__iexact=email.strip(), is_active=True).first()


def user_credits(*, user: User) -> int:
    """The user's credit balance, from billing (written beside accounts, maybe not there yet)."""
    try:
        from billing.selectors import credits_balance
    except ImportError as exc:
        # Fall back only when billing has not written the selector yet; a broken import
        # inside billing must still surface.
        if exc.name not in (None, "billing.selectors"):
            raise
        return 0
    return credits_balance(user=user)
