"""Billing fixtures: the ledger invariant, credit packs, and the loopback PortOne server."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _balances_equal_ledger_sums(request):
    """After every billing test: each account's balance is the sum of its ledger entries."""
    yield
    if "django_db_setup" not in request.fixturenames and "db" not in request.fixturenames:
        return
    from django.db.models import Sum

    from billing.models import CreditAccount

    for account in CreditAccount.objects.annotate(total=Sum("entries__amount")):
        assert account.balance == (account.total or 0), (
            f"{account.user_id}: balance {account.balance} != ledger sum {account.total}"
        )
        assert account.balance >= 0
