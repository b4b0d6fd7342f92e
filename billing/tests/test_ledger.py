from __future__ import annotations

import uuid

import pytest

from billing.errors import InsufficientCredits
from billing.models import LedgerEntry
from billing.selectors import credits_balance
from billing.services import (
    credits_grant,
    credits_refund,
    credits_reserve,
    credits_signup_bonus,
)
from billing.services.ledger import credits_job_staff_refund
from onevoice.errors import ServiceError

pytestmark = pytest.mark.django_db


def test_it_credits_the_signup_bonus_once(owner, settings):
    settings.SIGNUP_BONUS_CREDITS = 10
    first = credits_signup_bonus(user=owner)
    second = credits_signup_bonus(user=owner)
    assert first.pk == second.pk
    assert credits_balance(user=owner) == 10
    assert LedgerEntry.objects.filter(account__user=owner, kind="signup_bonus").count() == 1


def test_it_reports_zero_for_a_user_without_an_account(owner):
    assert credits_balance(user=owner) == 0


def test_it_refuses_a_reservation_larger_than_the_balance_and_writes_nothing(owner):
    credits_signup_bonus(user=owner)
    with pytest.raises(InsufficientCredits) as caught:
        credits_reserve(user=owner, job_id=uuid.uuid4(), attempt=1, amount=11)
    assert caught.value.status_code == 402
    assert caught.value.code == "insufficient_credits"
    assert credits_balance(user=owner) == 10
    assert LedgerEntry.objects.filter(account__user=owner).count() == 1


def test_it_refunds_each_attempt_of_a_job_at_most_once(owner):
    credits_signup_bonus(user=owner)
    job_id = uuid.uuid4()
    credits_reserve(user=owner, job_id=job_id, attempt=1, amount=4)
    credits_reserve(user=owner, job_id=job_id, attempt=1, amount=4)  # a redelivered message
    assert credits_balance(user=owner) == 6
    credits_refund(user=owner, job_id=job_id, attempt=1)
    credits_refund(user=owner, job_id=job_id, attempt=1)
    assert credits_balance(user=owner) == 10
    credits_reserve(user=owner, job_id=job_id, attempt=2, amount=4)
    assert credits_balance(user=owner) == 6
    refund = credits_refund(user=owner, job_id=job_id, attempt=2)
    assert refund.kind == "job_refund" and refund.amount == 4 and refund.balance_after == 10
    assert credits_refund(user=owner, job_id=job_id, attempt=3) is None


def test_it_does_not_refund_a_job_attempt_of_someone_else(owner, other):
    credits_signup_bonus(user=owner)
    credits_signup_bonus(user=other)
    job_id = uuid.uuid4()
    credits_reserve(user=owner, job_id=job_id, attempt=1, amount=3)
    assert credits_refund(user=other, job_id=job_id, attempt=1) is None
    assert credits_balance(user=other) == 10
    assert credits_balance(user=owner) == 7


@pytest.mark.parametrize(
    ("amount", "reason", "code", "field"),
    [(0, "a gift", "invalid_amount", "amount"), (5, "   ", "reason_required", "reason")],
)
def test_a_grant_without_an_amount_or_a_reason_is_refused_by_name(owner, staff, amount, reason, code, field):
    with pytest.raises(ServiceError) as caught:
        credits_grant(user=owner, amount=amount, staff=staff, reason=reason, idempotency_key="grant-1")
    assert (caught.value.status_code, caught.value.code, list(caught.value.errors)) == (400, code, [field])
    assert not LedgerEntry.objects.exists()


def test_a_staff_job_refund_without_a_reason_is_refused_by_name(owner, staff):
    with pytest.raises(ServiceError) as caught:
        credits_job_staff_refund(user=owner, job_id=uuid.uuid4(), staff=staff, reason="", idempotency_key="r-1")
    assert (caught.value.status_code, caught.value.code, list(caught.value.errors)) == (400, "reason_required", ["reason"])
