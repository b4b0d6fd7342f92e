"""Account flows that cross apps against the dependency order (portal/__init__.py).

Signing up grants billing's sign-up bonus, and the account's own view shows billing's balance.
Accounts knows nothing of billing (billing depends on accounts), so the flows are composed here
and the pages, API endpoints and commands that need them live in portal too (views, api,
ensure_demo_user), as those of portal.deletion do.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import User
from accounts.services import Registration, demo_user_ensure, user_register
from billing.selectors import credits_balance
from billing.services import credits_signup_bonus


def account_register(*, email: str, password: str, name: str = "", locale: str = "en") -> Registration:
    """A new account with its sign-up bonus, both or neither (one transaction). For an address
    that has an account, the unsaved stand-in of accounts.services.user_register, no bonus."""
    with transaction.atomic():
        registration = user_register(email=email, password=password, name=name, locale=locale)
        if registration.created:
            credits_signup_bonus(user=registration.user)
    return registration


def account_registered_credits(*, registration: Registration) -> int:
    """The credits a sign-up answers with: the new account's, or what a new account would have."""
    if registration.created:
        return credits_balance(user=registration.user)
    return settings.SIGNUP_BONUS_CREDITS


def demo_account_ensure(*, email: str, password: str) -> tuple[User, bool]:
    """The demo account (accounts.services.demo_user_ensure), with the bonus when it is new."""
    with transaction.atomic():
        user, created = demo_user_ensure(email=email, password=password)
        if created:
            credits_signup_bonus(user=user)
    return user, created


def account_credits(*, user: User) -> int:
    """What the account's own view shows as its credits: the spendable balance."""
    return credits_balance(user=user)
