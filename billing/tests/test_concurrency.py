"""Races that only real row locks settle: PostgreSQL, real threads, each with its own connection."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from billing.errors import InsufficientCredits
from billing.models import CreditAccount, LedgerEntry
from billing.selectors import credits_balance
from billing.services import (
    credits_reserve,
    credits_signup_bonus,
    payment_complete,
    webhook_delivery_receive,
)
from testing.portone_server import sign_webhook, webhook_body
from testing.races import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_twenty_concurrent_spends_against_ten_credits_let_exactly_ten_through(owner, settings):
    settings.SIGNUP_BONUS_CREDITS = 10
    credits_signup_bonus(user=owner)

    results = race(
        [lambda: credits_reserve(user=owner, job_id=uuid.uuid4(), attempt=1, amount=1) for _ in range(20)]
    )

    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"LedgerEntry": 10, "InsufficientCredits": 10}
    assert all(isinstance(r, (LedgerEntry, InsufficientCredits)) for r in results)
    assert credits_balance(user=owner) == 0
    assert sorted(
        LedgerEntry.objects.filter(kind="job_debit").values_list("balance_after", flat=True)
    ) == list(range(10))
    assert CreditAccount.objects.get(user=owner).balance == 0


def test_complete_and_webhooks_racing_on_one_payment_credit_it_once(owner, prepare, portone):
    order = prepare()
    payment_id = order["payment_id"]
    portone.set_paid(payment_id, amount=15000)

    def complete():
        return payment_complete(user=owner, payment_id=payment_id)

    def deliver():
        body = webhook_body("Transaction.Paid", payment_id=payment_id, store_id=portone.store_id)
        return webhook_delivery_receive(
            body=body.encode(), headers=sign_webhook(portone.webhook_secret, body)
        )

    results = race([complete, deliver] * 4)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert credits_balance(user=owner) == 100
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
