"""Account flows that cross apps against the dependency order (portal/__init__.py).

Signing up grants billing's sign-up bonus, and the account's own view shows billing's balance.
Accounts knows nothing of billing (billing depends on accounts), so the flows are composed here
and the pages, API endpoints and commands that need them live in portal too (views, api,
ensure_demo_user), as those of portal.deletion do.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from accounts.services import demo_user_ensure, user_register
from billing.selectors import credits_balance
from billing.services import credits_signup_bonus


def account_register(*, email: str, password: str, name: str = "", locale: str = "en") -> User:
    """A new account with its sign-up bonus, both or neither (one transaction)."""
    with transaction.atomic():
        user = user_register(email=email, password=password, name=name, locale=locale)
        credits_signup_bonus(user=user)
    return user


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
