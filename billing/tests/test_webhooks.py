from __future__ import annotations

import time

import pytest

from billing.models import LedgerEntry, Payment, PaymentRefund, WebhookDelivery
from billing.selectors import credits_balance
from testing.portone_server import sign_webhook, webhook_body

pytestmark = pytest.mark.django_db

COMPLETE = "/api/v1/billing/payments/{}/complete"


def test_it_credits_a_paid_payment_from_the_webhook_alone(owner, prepare, portone, send_webhook):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    response = send_webhook(portone, "Transaction.Paid", order["payment_id"])
    assert response.status_code == 200
    assert credits_balance(user=owner) == 100
    delivery = WebhookDelivery.objects.get()
    assert delivery.verified and delivery.processed and delivery.error == ""
    assert delivery.event_type == "Transaction.Paid" and delivery.payment_id == order["payment_id"]
    assert "webhook-signature" in {k.lower() for k in delivery.headers}
    assert '"Transaction.Paid"' in delivery.body


def test_it_credits_once_when_the_same_webhook_arrives_ten_times(
    owner, owner_client, prepare, portone, send_webhook
):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    body = webhook_body("Transaction.Paid", payment_id=order["payment_id"], store_id=portone.store_id)
    headers = sign_webhook(portone.webhook_secret, body, webhook_id="msg_same")
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    from rest_framework.test import APIClient

    client = APIClient()
    for _ in range(10):
        response = client.generic(
            "POST", "/api/v1/billing/webhooks/portone", body, "application/json", **extra
        )
        assert response.status_code == 200
    owner_client.post(COMPLETE.format(order["payment_id"]))
    assert credits_balance(user=owner) == 100
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
    assert WebhookDelivery.objects.filter(webhook_id="msg_same", processed=True).count() == 10


@pytest.mark.parametrize("fault", ["bad_signature", "missing_header", "old_timestamp", "wrong_secret"])
def test_it_rejects_an_unverifiable_webhook_and_changes_nothing(owner, prepare, portone, send_webhook, fault):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    body = webhook_body("Transaction.Paid", payment_id=order["payment_id"], store_id=portone.store_id)
    headers = sign_webhook(portone.webhook_secret, body)
    if fault == "bad_signature":
        headers["webhook-signature"] = "v1," + "A" * 44
    elif fault == "missing_header":
        del headers["webhook-timestamp"]
    elif fault == "old_timestamp":
        headers = sign_webhook(portone.webhook_secret, body, timestamp=int(time.time()) - 301)
    else:
        from testing.portone_server import make_webhook_secret

        headers = sign_webhook(make_webhook_secret(), body)
    response = send_webhook(portone, "Transaction.Paid", order["payment_id"], headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_webhook"
    assert credits_balance(user=owner) == 0
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "pending"
    delivery = WebhookDelivery.objects.get()
    assert not delivery.verified and not delivery.processed and delivery.error


def test_it_rejects_an_old_timestamp_even_with_a_valid_signature(owner, prepare, portone, api_client):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    body = webhook_body("Transaction.Paid", payment_id=order["payment_id"], store_id=portone.store_id)
    headers = sign_webhook(portone.webhook_secret, body, timestamp=int(time.time()) - 6 * 60)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    response = api_client.generic(
        "POST", "/api/v1/billing/webhooks/portone", body, "application/json", **extra
    )
    assert response.status_code == 400
    assert "TIMESTAMP_TOO_OLD" in WebhookDelivery.objects.get().error
    assert credits_balance(user=owner) == 0


def test_it_acknowledges_and_ignores_unknown_event_types(portone, api_client):
    body = '{"type": "Something.New", "timestamp": "2026-01-01T00:00:00Z", "data": {}}'
    extra = {
        f"HTTP_{k.upper().replace('-', '_')}": v
        for k, v in sign_webhook(portone.webhook_secret, body).items()
    }
    response = api_client.generic(
        "POST", "/api/v1/billing/webhooks/portone", body, "application/json", **extra
    )
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.verified and delivery.processed and delivery.error.startswith("Ignored")
    assert portone.requests == []


def test_it_acknowledges_a_webhook_for_a_payment_it_does_not_know(portone, send_webhook):
    assert send_webhook(portone, "Transaction.Paid", "someone-elses-shop-payment").status_code == 200
    assert WebhookDelivery.objects.get().error == "Ignored: no payment with this id."


def test_it_answers_502_so_portone_retries_when_portone_cannot_be_asked(
    owner, prepare, portone, send_webhook
):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    portone.fail_with = 500
    response = send_webhook(portone, "Transaction.Paid", order["payment_id"])
    assert response.status_code == 502
    assert response.json()["code"] == "provider_unavailable"
    assert credits_balance(user=owner) == 0
    portone.fail_with = None
    assert send_webhook(portone, "Transaction.Paid", order["payment_id"]).status_code == 200
    assert credits_balance(user=owner) == 100


def test_it_credits_a_virtual_account_payment_once_when_the_deposit_arrives(
    owner, owner_client, prepare, portone, send_webhook
):
    order = prepare()
    portone.set_virtual_account_issued(order["payment_id"], amount=15000)
    first = owner_client.post(COMPLETE.format(order["payment_id"]))
    assert first.status_code == 200 and first.json()["status"] == "pending"
    assert send_webhook(portone, "Transaction.VirtualAccountIssued", order["payment_id"]).status_code == 200
    assert credits_balance(user=owner) == 0

    portone.set_paid(order["payment_id"], amount=15000)  # the bank transfer arrived
    assert send_webhook(portone, "Transaction.Paid", order["payment_id"]).status_code == 200
    assert send_webhook(portone, "Transaction.Paid", order["payment_id"]).status_code == 200
    assert owner_client.post(COMPLETE.format(order["payment_id"])).json()["status"] == "paid"
    assert credits_balance(user=owner) == 100
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1


def test_it_removes_credits_for_a_cancellation_made_in_the_portone_console(
    owner, owner_client, prepare, portone, send_webhook
):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    owner_client.post(COMPLETE.format(order["payment_id"]))
    cancellation = portone.cancel_in_console(
        order["payment_id"], amount=4000, reason="customer asked by phone"
    )

    for _ in range(2):  # delivered twice: removed once
        response = send_webhook(
            portone, "Transaction.PartialCancelled", order["payment_id"], cancellation_id=cancellation["id"]
        )
        assert response.status_code == 200
    # ceil(4000 * 100 / 15000) = 27 credits
    assert credits_balance(user=owner) == 73
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.status == "partially_cancelled" and payment.cancelled_amount == 4000
    refund = PaymentRefund.objects.get()
    assert (
        refund.source == "provider"
        and refund.credits == 27
        and refund.provider_cancellation_id == cancellation["id"]
    )
    entry = LedgerEntry.objects.get(kind="payment_refund")
    assert entry.amount == -27 and entry.reason == "customer asked by phone"

    portone.cancel_in_console(order["payment_id"], reason="the rest")
    send_webhook(portone, "Transaction.Cancelled", order["payment_id"], cancellation_id="x")
    assert credits_balance(user=owner) == 0
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "cancelled"


def test_it_rejects_webhooks_when_no_secret_is_configured(portone, send_webhook, settings):
    secret = portone.webhook_secret
    settings.PORTONE_WEBHOOK_SECRET = ""
    portone.webhook_secret = secret
    response = send_webhook(portone, "Transaction.Paid", "anything")
    assert response.status_code == 503
    assert response.json()["code"] == "payments_not_configured"
