"""What billing stored in English, read by a Korean account: the order's name (sent to PortOne
in the buyer's language, since the buyer reads it in the payment window), the reasons our
services wrote for cancellations, and why a payment failed."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.tests.factories import UserFactory
from billing.models import Payment
from billing.services import payment_refund

pytestmark = pytest.mark.django_db

COMPLETE = "/api/v1/billing/payments/{}/complete"


def _korean(user) -> Client:
    user.locale = "ko"
    user.save(update_fields=["locale"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_a_korean_buyer_reads_the_order_in_korean_and_portone_is_sent_it_in_korean(owner, pack, portone):
    browser = _korean(owner)

    order = browser.post("/api/v1/billing/payments", {"pack_id": str(pack.id)}, content_type="application/json")

    assert order.status_code == 201, order.content
    body = order.json()
    # The orderName the SDK passes on, shown to the buyer in the payment window (it was English)
    assert body["order_name"] == "OneVoice Test 100: 100크레딧"
    assert body["title"] == "OneVoice Test 100: 100크레딧"
    assert Payment.objects.get(payment_id=body["payment_id"]).order_name == "OneVoice Test 100: 100크레딧"
    english = Client(HTTP_ACCEPT_LANGUAGE="ko")  # an English account's order is English, whatever the browser
    english.force_login(UserFactory(email="en-buyer@example.com", locale="en"))
    other = english.post("/api/v1/billing/payments", {"pack_id": str(pack.id)}, content_type="application/json")
    assert other.json()["order_name"] == "OneVoice Test 100: 100 credits"

    portone.set_paid(body["payment_id"], amount=15000)
    browser.post(COMPLETE.format(body["payment_id"]))
    page = browser.get(f"/credits/payments/{body['payment_id']}").content.decode()
    assert "<p>OneVoice Test 100: 100크레딧 — ₩15,000</p>" in page  # one colon: the title has its own
    listed = browser.get("/api/v1/billing/payments").json()["results"]
    assert [p["title"] for p in listed] == ["OneVoice Test 100: 100크레딧"]


def test_a_console_cancellation_without_a_reason_reads_korean_in_the_history(owner, paid, portone, send_webhook):
    portone.cancel_in_console(paid.payment_id, amount=5000, reason="")
    send_webhook(portone, "Transaction.PartialCancelled", paid.payment_id, cancellation_id="c")

    html = _korean(owner).get("/credits/history").content.decode()

    assert '<span class="muted">(PortOne에서 취소되었습니다.)</span>' in html
    assert "Cancelled in PortOne" not in html


def test_a_refund_portone_refused_reads_korean_in_the_history(owner, staff, paid, portone):
    portone.fail_next_cancel()
    payment_refund(payment=paid, amount=3000, reason="환불 요청", staff=staff)

    html = _korean(owner).get("/credits/history").content.decode()

    assert "(PortOne에서 결제가 취소되지 않아 크레딧을 되돌려 놓았습니다.)" in html
    assert "(환불 요청)" in html  # what the staff member wrote, as written
    assert "PortOne did not cancel" not in html


def test_an_english_reader_keeps_the_stored_reason(owner, staff, paid, portone):
    portone.fail_next_cancel()
    payment_refund(payment=paid, amount=3000, reason="refund", staff=staff)
    browser = Client()
    browser.force_login(owner)

    html = browser.get("/credits/history").content.decode()

    assert "PortOne did not cancel the payment, credits restored:" in html


def test_a_payment_that_does_not_match_its_order_says_so_in_korean(owner, prepare, portone):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=1000)  # not the 15,000 the order costs
    browser = _korean(owner)

    response = browser.post(COMPLETE.format(order["payment_id"]))

    assert response.status_code == 422
    assert response.json() == {"detail": "결제 내용이 주문과 맞지 않습니다.", "code": "payment_mismatch"}
    page = browser.get(f"/credits/payments/{order['payment_id']}").content.decode()
    assert "결제 내용이 주문과 맞지 않습니다." in page and "the order costs" not in page
    assert Payment.objects.get(payment_id=order["payment_id"]).failure_detail.startswith("Paid 1000 KRW")  # kept


def test_a_payment_portone_never_received_says_so_in_korean(owner, prepare, portone):
    order = prepare()
    payment = Payment.objects.get(payment_id=order["payment_id"])
    Payment.objects.filter(pk=payment.pk).update(created_at=payment.created_at - timedelta(days=2))
    call_command("sync_payments", stdout=StringIO())
    browser = _korean(owner)

    listed = browser.get("/api/v1/billing/payments").json()["results"]
    page = browser.get(f"/credits/payments/{order['payment_id']}").content.decode()

    assert [(p["error_code"], p["error"]) for p in listed] == [("abandoned", "PortOne이 이 결제를 받지 못했습니다.")]
    assert "PortOne이 이 결제를 받지 못했습니다." in page
