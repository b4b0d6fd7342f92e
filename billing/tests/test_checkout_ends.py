"""A checkout that ends unpaid says so (issue 21: closed checkouts stayed "Pending" forever): one
the user closed becomes `cancelled`, one never completed becomes `expired` after
CHECKOUT_EXPIRE_MINUTES. PortOne (the loopback server) is asked first every time, and a checkout
it later reports paid is credited, once: a late payment is never lost."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from billing.models import LedgerEntry, Payment
from billing.selectors import credits_balance

pytestmark = pytest.mark.django_db

CLOSE = "/api/v1/billing/payments/{}/close"


def _age(payment_id: str, minutes: int) -> None:
    payment = Payment.objects.get(payment_id=payment_id)
    Payment.objects.filter(pk=payment.pk).update(created_at=payment.created_at - timedelta(minutes=minutes))


def _purchases(owner) -> int:
    return LedgerEntry.objects.filter(account__user=owner, kind="purchase").count()


def test_a_closed_checkout_is_cancelled_once_portone_says_it_was_not_paid(owner, owner_client, prepare, portone):
    order = prepare()
    portone.set_ready(order["payment_id"], amount=15000)
    body = owner_client.post(CLOSE.format(order["payment_id"])).json()
    assert (body["status"], body["error_code"]) == ("cancelled", "checkout_closed")
    assert body["error"] == "The checkout was closed before paying."
    assert credits_balance(user=owner) == 0
    # PortOne still says READY at the next re-check: the checkout stays closed, not pending again
    call_command("sync_payments", stdout=StringIO())
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "cancelled"


def test_a_closed_checkout_that_portone_reports_paid_later_is_credited_once(
    owner, owner_client, prepare, portone, send_webhook
):
    order = prepare()
    portone.set_ready(order["payment_id"], amount=15000)
    assert owner_client.post(CLOSE.format(order["payment_id"])).json()["status"] == "cancelled"

    portone.set_paid(order["payment_id"], amount=15000)
    for _ in range(3):
        assert send_webhook(portone, "Transaction.Paid", order["payment_id"]).status_code == 200
    completed = owner_client.post(f"/api/v1/billing/payments/{order['payment_id']}/complete").json()

    assert completed["status"] == "paid" and completed["error_code"] == ""
    assert credits_balance(user=owner) == 100 and _purchases(owner) == 1


def test_closing_a_checkout_portone_holds_as_paid_credits_it_instead(owner, owner_client, prepare, portone):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    assert owner_client.post(CLOSE.format(order["payment_id"])).json()["status"] == "paid"
    assert owner_client.post(CLOSE.format(order["payment_id"])).json()["status"] == "paid"
    assert credits_balance(user=owner) == 100 and _purchases(owner) == 1


def test_with_portone_down_a_closed_checkout_stays_pending_and_the_client_hears_502(
    owner, owner_client, prepare, portone
):
    order = prepare()
    portone.fail_with = 503
    response = owner_client.post(CLOSE.format(order["payment_id"]))
    assert response.status_code == 502 and response.json()["code"] == "provider_unavailable"
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "pending"


def test_someone_elses_checkout_cannot_be_closed(other_client, prepare, portone):
    order = prepare()
    assert other_client.post(CLOSE.format(order["payment_id"])).status_code == 404
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "pending"


def test_checkouts_never_completed_expire_after_the_timeout_portone_asked_first(owner, prepare, portone, settings):
    settings.CHECKOUT_EXPIRE_MINUTES = 30
    ready, unknown, transfer, paid, young = (prepare() for _ in range(5))
    portone.set_ready(ready["payment_id"], amount=15000)
    portone.set_virtual_account_issued(transfer["payment_id"], amount=15000)
    portone.set_paid(paid["payment_id"], amount=15000)
    portone.set_ready(young["payment_id"], amount=15000)
    for order in (ready, unknown, transfer, paid):
        _age(order["payment_id"], 31)

    out = StringIO()
    call_command("sync_payments", stdout=out)

    assert "checked=5 paid=1 still_pending=2 failed=0 expired=2 errors=0" in out.getvalue()
    found = {p.payment_id: (p.status, p.failure_code) for p in Payment.objects.all()}
    assert found == {
        ready["payment_id"]: ("expired", "checkout_expired"),
        unknown["payment_id"]: ("expired", "abandoned"),
        transfer["payment_id"]: ("pending", ""),  # the bank transfer may still arrive
        paid["payment_id"]: ("paid", ""),  # paid in a window the user closed: credited, not expired
        young["payment_id"]: ("pending", ""),
    }
    assert credits_balance(user=owner) == 100


def test_nothing_expires_while_portone_does_not_answer(owner, prepare, portone, settings):
    settings.CHECKOUT_EXPIRE_MINUTES = 30
    order = prepare()
    _age(order["payment_id"], 120)
    portone.fail_with = 503
    call_command("sync_payments", stdout=StringIO())
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "pending"


def test_an_expired_checkout_paid_later_is_credited_once(owner, owner_client, prepare, portone, send_webhook, settings):
    settings.CHECKOUT_EXPIRE_MINUTES = 30
    order = prepare()
    portone.set_ready(order["payment_id"], amount=15000)
    _age(order["payment_id"], 31)
    call_command("sync_payments", stdout=StringIO())
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "expired"

    portone.set_paid(order["payment_id"], amount=15000)
    send_webhook(portone, "Transaction.Paid", order["payment_id"])
    send_webhook(portone, "Transaction.Paid", order["payment_id"])
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "paid"
    assert credits_balance(user=owner) == 100 and _purchases(owner) == 1


def test_the_payment_page_says_the_checkout_expired_in_english_and_korean(owner, prepare, portone, settings):
    settings.CHECKOUT_EXPIRE_MINUTES = 30
    order = prepare()
    portone.set_ready(order["payment_id"], amount=15000)
    _age(order["payment_id"], 31)
    call_command("sync_payments", stdout=StringIO())
    browser = Client()
    browser.force_login(owner)
    page = browser.get(f"/credits/payments/{order['payment_id']}").content.decode()
    assert 'data-status="expired"' in page and "This checkout expired before it was paid." in page

    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    page = browser.get(f"/credits/payments/{order['payment_id']}").content.decode()
    assert "결제 시간이 지나 이 주문이 만료되었습니다." in page
    listed = browser.get("/api/v1/billing/payments").json()["results"]
    assert [(p["status"], p["error"]) for p in listed] == [("expired", "정해진 시간 안에 결제가 끝나지 않았습니다.")]
