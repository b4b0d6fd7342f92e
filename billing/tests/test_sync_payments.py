from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import Payment
from billing.selectors import credits_balance

pytestmark = pytest.mark.django_db


def test_sync_payments_credits_payments_left_pending_once(owner, prepare, portone):
    paid = prepare()
    waiting = prepare()
    never = prepare()
    portone.set_paid(paid["payment_id"], amount=15000)
    portone.set_virtual_account_issued(waiting["payment_id"], amount=15000)
    Payment.objects.filter(payment_id=never["payment_id"]).update(
        created_at=Payment.objects.get(payment_id=never["payment_id"]).created_at - timedelta(days=2)
    )

    out = StringIO()
    call_command("sync_payments", stdout=out)
    assert "checked=3 paid=1 still_pending=1 failed=0 expired=1 errors=0" in out.getvalue()
    call_command("sync_payments", stdout=StringIO())
    assert credits_balance(user=owner) == 100
    statuses = dict(Payment.objects.values_list("payment_id", "status"))
    assert statuses == {
        paid["payment_id"]: "paid",
        waiting["payment_id"]: "pending",
        never["payment_id"]: "expired",
    }


def test_sync_payments_leaves_payments_pending_when_portone_is_down(owner, prepare, portone):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    portone.fail_with = 502
    out = StringIO()
    call_command("sync_payments", stdout=out)
    assert "errors=1" in out.getvalue()
    assert Payment.objects.get().status == "pending"
    assert credits_balance(user=owner) == 0
