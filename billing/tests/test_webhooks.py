from __future__ import annotations

import logging
import time

import pytest
from prometheus_client import REGISTRY

from billing.models import LedgerEntry, Payment, PaymentRefund, WebhookDelivery
from billing.selectors import credits_balance
from testing.portone_server import sign_webhook, webhook_body

pytestmark = pytest.mark.django_db

COMPLETE = "/api/v1/billing/payments/{}/complete"
WEBHOOK = "/api/v1/billing/webhooks/portone"


def _rejected(reason: str) -> float:
    return REGISTRY.get_sample_value("onevoice_portone_webhook_rejected_total", {"reason": reason}) or 0.0


def _headers(signed: dict[str, str]) -> dict[str, str]:
    return {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.items()}


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
def test_it_rejects_an_unverifiable_webhook_and_stores_nothing(owner, prepare, portone, send_webhook, fault):
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
    before = _rejected("bad_signature")
    response = send_webhook(portone, "Transaction.Paid", order["payment_id"], headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_webhook"
    assert credits_balance(user=owner) == 0
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "pending"
    assert not WebhookDelivery.objects.exists()
    assert _rejected("bad_signature") == before + 1


def test_it_rejects_an_old_timestamp_even_with_a_valid_signature_and_logs_why_in_one_line(
    owner, prepare, portone, api_client, caplog
):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    body = webhook_body("Transaction.Paid", payment_id=order["payment_id"], store_id=portone.store_id)
    headers = sign_webhook(portone.webhook_secret, body, timestamp=int(time.time()) - 6 * 60)
    caplog.set_level(logging.INFO)
    response = api_client.generic("POST", WEBHOOK, body, "application/json", **_headers(headers))
    assert response.status_code == 400
    (line,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "TIMESTAMP_TOO_OLD" in line.getMessage() and WEBHOOK in line.getMessage()
    assert line.exc_info is None
    assert not WebhookDelivery.objects.exists()
    assert credits_balance(user=owner) == 0


@pytest.mark.parametrize("size", [64 * 1024 + 1, 5 * 1024 * 1024 + 1])
def test_an_anonymous_oversized_body_is_413_and_stores_nothing(portone, api_client, caplog, size):
    before = _rejected("too_large")
    caplog.set_level(logging.INFO)
    response = api_client.generic("POST", WEBHOOK, "x" * size, "application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert not WebhookDelivery.objects.exists()
    assert _rejected("too_large") == before + 1
    (line,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "65536" in line.getMessage() and line.exc_info is None


def test_a_signed_body_at_the_cap_is_still_read_and_verified(portone, api_client):
    # The cap counts bytes: a body of exactly 64 KB passes it and is judged by its signature.
    body = '{"type": "Something.New", "data": {}, "pad": "' + "x" * 70_000 + '"}'
    body = body[: 64 * 1024 - 2] + '"}'
    response = api_client.generic("POST", WEBHOOK, body, "application/json",
                                  **_headers(sign_webhook(portone.webhook_secret, body)))
    assert response.status_code == 200, response.json()
    assert WebhookDelivery.objects.get().verified


def test_an_anonymous_unsigned_body_is_400_and_stores_nothing(portone, api_client):
    before = _rejected("bad_signature")
    for _ in range(6):  # the probe's six posts used to store 10 MB
        response = api_client.generic("POST", WEBHOOK, '{"type": "Transaction.Paid"}', "application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_webhook"
    assert not WebhookDelivery.objects.exists()
    assert _rejected("bad_signature") == before + 6


@pytest.mark.parametrize("body", [b"not json at all", b"\xff\xfe{}"])
def test_a_signed_body_that_is_not_json_is_400_malformed_and_stores_nothing(portone, api_client, body):
    before = _rejected("malformed")
    text = body.decode("utf-8", errors="replace")
    response = api_client.generic("POST", WEBHOOK, body, "application/json",
                                  **_headers(sign_webhook(portone.webhook_secret, text)))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_webhook"
    assert not WebhookDelivery.objects.exists()
    assert _rejected("malformed") == before + 1


def test_it_throttles_each_client_address_with_429_in_the_error_shape(portone, api_client, settings, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    assert "portone_webhook" in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES",
                        {**SimpleRateThrottle.THROTTLE_RATES, "portone_webhook": "3/min"})
    body = '{"type": "Something.New", "data": {}}'
    for _ in range(3):
        signed = _headers(sign_webhook(portone.webhook_secret, body))
        assert api_client.generic("POST", WEBHOOK, body, "application/json", **signed).status_code == 200
    before = _rejected("throttled")
    signed = _headers(sign_webhook(portone.webhook_secret, body))
    response = api_client.generic("POST", WEBHOOK, body, "application/json", **signed)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled" and "Retry-After" in response
    assert _rejected("throttled") == before + 1
    assert WebhookDelivery.objects.count() == 3
    other_address = api_client.generic("POST", WEBHOOK, body, "application/json", REMOTE_ADDR="10.0.0.9", **signed)
    assert other_address.status_code == 200


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


def test_a_body_without_a_length_is_capped_on_the_bytes_read(portone):
    # ASGI hands over a chunked body with no Content-Length: the cap counts what was read.
    from io import BytesIO

    from django.core.handlers.asgi import ASGIRequest

    from billing.api import PortOneWebhookApi

    scope = {"type": "http", "method": "POST", "path": WEBHOOK, "headers": [(b"content-type", b"application/json")]}
    request = ASGIRequest(scope, BytesIO(b"x" * (64 * 1024 + 1)))
    before = _rejected("too_large")
    response = PortOneWebhookApi.as_view()(request)
    assert response.status_code == 413
    assert response.data["code"] == "request_too_large"
    assert not WebhookDelivery.objects.exists()
    assert _rejected("too_large") == before + 1
