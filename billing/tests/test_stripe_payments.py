"""Packs bought through Stripe Checkout, against the loopback Stripe API (testing/stripe_server.py):
the provider chosen by currency, credits added once whatever the webhooks' number and order,
signatures checked as Stripe documents them, and the faults a real Stripe can produce."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from billing.models import LedgerEntry, Payment, WebhookDelivery
from billing.selectors import credits_balance
from billing.services import payments_sync_pending
from testing.stripe_server import event_body, sign

pytestmark = pytest.mark.django_db
PAYMENTS = "/api/v1/billing/payments"


def _prepare(client, pack, **headers):
    response = client.post(PAYMENTS, {"pack_id": str(pack.id)}, format="json", **headers)
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_usd_pack_opens_a_stripe_checkout_session_for_the_order(owner, owner_client, stripe_api, usd_pack):
    order = _prepare(owner_client, usd_pack, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert order["provider"] == "stripe" and order["amount"] == 999 and order["currency"] == "USD"
    session = stripe_api.sessions[order["checkout"]["session_id"]]
    assert order["checkout"]["url"] == session["url"]
    # The price and our id come from the server's order, sent in Stripe's form encoding.
    assert session["mode"] == "payment" and session["amount_total"] == 999 and session["currency"] == "usd"
    assert session["client_reference_id"] == order["payment_id"]
    assert session["metadata"] == {"payment_id": order["payment_id"], "user_id": str(owner.pk)}
    assert session["success_url"].endswith(f"/credits/payments/return?paymentId={order['payment_id']}")
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.provider == "stripe" and payment.provider_checkout_id == session["id"]


def test_the_same_events_three_times_and_out_of_order_credit_once(owner, owner_client, stripe_api, usd_pack,
                                                                  send_stripe):
    order = _prepare(owner_client, usd_pack)
    events = stripe_api.pay(order["checkout"]["session_id"])
    for body in [*reversed(events), *events, *events]:  # payment_intent.succeeded first, then each again
        response = send_stripe(stripe_api, body)
        assert response.status_code == 200, response.json()
    assert credits_balance(user=owner) == 100
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.status == "paid" and payment.provider_payment_id.startswith("pi_")
    assert payment.receipt_url.startswith("https://pay.stripe.test/receipts/")
    assert WebhookDelivery.objects.filter(provider="stripe", verified=True).count() == 6


def test_the_return_page_completes_the_payment_before_the_webhook(owner, owner_client, owner_browser, stripe_api,
                                                                  usd_pack, send_stripe):
    order = _prepare(owner_client, usd_pack)
    events = stripe_api.pay(order["checkout"]["session_id"])
    page = owner_browser.get(f"/credits/payments/return?paymentId={order['payment_id']}")
    assert page.status_code == 200
    assert credits_balance(user=owner) == 100
    for body in events:
        assert send_stripe(stripe_api, body).status_code == 200
    assert credits_balance(user=owner) == 100


def test_a_session_stripe_says_is_paid_for_another_amount_credits_nothing(owner, owner_client, stripe_api,
                                                                         usd_pack, send_stripe):
    order = _prepare(owner_client, usd_pack)
    stripe_api.sessions[order["checkout"]["session_id"]]["amount_total"] = 1
    for body in stripe_api.pay(order["checkout"]["session_id"]):
        send_stripe(stripe_api, body)
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.status == "failed" and payment.failure_code == "payment_mismatch"
    assert credits_balance(user=owner) == 0


@pytest.mark.parametrize("fault", ["bad_signature", "old_timestamp", "missing_header", "wrong_secret", "tampered"])
def test_an_unverifiable_stripe_webhook_is_refused_and_nothing_is_stored(owner, owner_client, stripe_api,
                                                                          usd_pack, send_stripe, fault):
    order = _prepare(owner_client, usd_pack)
    (completed, _) = stripe_api.pay(order["checkout"]["session_id"])
    body = completed
    if fault == "bad_signature":
        response = send_stripe(stripe_api, body, signature=f"t={int(time.time())},v1={'0' * 64}")
    elif fault == "old_timestamp":  # a replay of a genuine delivery, six minutes later
        response = send_stripe(stripe_api, body, timestamp=int(time.time()) - 360)
    elif fault == "missing_header":
        response = send_stripe(stripe_api, body, signature="")
    elif fault == "wrong_secret":
        response = send_stripe(stripe_api, body, signature=sign("whsec_someone_else", body))
    else:
        response = send_stripe(stripe_api, body.replace('"amount_total": 999', '"amount_total": 1'),
                               signature=sign(stripe_api.webhook_secret, body))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_webhook"
    assert WebhookDelivery.objects.count() == 0
    assert credits_balance(user=owner) == 0


def test_a_stripe_webhook_over_the_size_limit_is_413_and_stores_nothing(stripe_api, send_stripe):
    body = event_body("checkout.session.completed", {"id": "cs_x", "padding": "x" * 70_000})
    response = send_stripe(stripe_api, body)
    assert response.status_code == 413
    assert WebhookDelivery.objects.count() == 0


def test_our_signature_is_the_one_stripes_library_computes():
    # Stripe documents v1 as the hex HMAC-SHA256 of "<t>.<payload>" keyed by the endpoint secret;
    # the library's own signer must produce the same header, and its verifier must accept it.
    body, secret, ts = '{"id": "evt_1", "object": "event"}', "whsec_test_secret", 1_700_000_000
    ours = sign(secret, body, timestamp=ts)
    expected = stripe.WebhookSignature._compute_signature(f"{ts}.{body}", secret)
    assert ours == f"t={ts},v1={expected}"
    assert stripe.WebhookSignature.verify_header(body, ours, secret, tolerance=None)


def test_an_event_for_a_payment_we_do_not_have_is_stored_and_ignored_with_a_code(stripe_api, send_stripe):
    session = {"id": "cs_test_unknown", "object": "checkout.session", "mode": "payment",
               "client_reference_id": "ov-not-ours", "status": "complete", "payment_status": "paid"}
    response = send_stripe(stripe_api, event_body("checkout.session.completed", session))
    assert response.status_code == 200
    assert response.json()["ignored"] == "unknown_payment"
    delivery = WebhookDelivery.objects.get()
    assert delivery.verified and delivery.processed and delivery.ignored == "unknown_payment"


def test_an_event_type_we_do_not_handle_is_ignored_with_a_code(stripe_api, send_stripe):
    response = send_stripe(stripe_api, event_body("customer.created", {"id": "cus_1", "object": "customer"}))
    assert response.status_code == 200 and response.json()["ignored"] == "unhandled_event"


def test_a_checkout_never_paid_expires_and_credits_nothing(owner, owner_client, stripe_api, usd_pack, send_stripe):
    order = _prepare(owner_client, usd_pack)
    (expired,) = stripe_api.expire(order["checkout"]["session_id"])
    assert send_stripe(stripe_api, expired).status_code == 200
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.status == "expired" and payment.credited_at is None
    assert payment.failure_code == "checkout_expired"
    assert credits_balance(user=owner) == 0
    # Paying an expired session is impossible at Stripe; a late complete changes nothing either.
    completed = owner_client.post(f"{PAYMENTS}/{order['payment_id']}/complete")
    assert completed.json()["status"] == "expired" and credits_balance(user=owner) == 0


def test_sync_payments_finds_an_expired_checkout_without_its_webhook(owner, owner_client, stripe_api, usd_pack):
    order = _prepare(owner_client, usd_pack)
    stripe_api.expire(order["checkout"]["session_id"])
    counts = payments_sync_pending()
    assert counts["expired"] == 1
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "expired"


def test_a_stripe_timeout_is_502_and_the_retry_with_the_same_key_gets_the_same_checkout(
    owner, owner_client, stripe_api, usd_pack, settings
):
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    stripe_api.latency = 1.5  # Stripe makes the session, its answer comes too late
    first = owner_client.post(PAYMENTS, {"pack_id": str(usd_pack.id)}, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")
    assert first.status_code == 502
    assert first.json()["code"] == "provider_unavailable"
    stripe_api.latency = 0
    retry = owner_client.post(PAYMENTS, {"pack_id": str(usd_pack.id)}, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")
    assert retry.status_code == 201
    order = retry.json()
    # One order, one session: Stripe answered the retry with the session it had made.
    assert Payment.objects.filter(user=owner).count() == 1
    assert len(stripe_api.sessions) == 1 and order["checkout"]["session_id"] in stripe_api.sessions
    assert len(stripe_api.session_posts()) == 2


def test_an_unreadable_stripe_answer_is_502(owner_client, stripe_api, usd_pack):
    stripe_api.fail_with = 500
    response = owner_client.post(PAYMENTS, {"pack_id": str(usd_pack.id)}, format="json")
    assert response.status_code == 502 and response.json()["code"] == "provider_unavailable"


def test_a_krw_pack_still_goes_to_portone_when_stripe_is_on(owner_client, stripe_api, portone, pack):
    order = _prepare(owner_client, pack, HTTP_ACCEPT_LANGUAGE="en-US")
    assert order["provider"] == "portone" and order["store_id"] == portone.store_id
    assert stripe_api.sessions == {}


def test_the_delivery_is_stored_raw_with_stripes_event_id(owner_client, stripe_api, usd_pack, send_stripe):
    order = _prepare(owner_client, usd_pack)
    completed = stripe_api.pay(order["checkout"]["session_id"])[0]
    send_stripe(stripe_api, completed)
    delivery = WebhookDelivery.objects.get()
    assert delivery.provider == "stripe" and delivery.body == completed
    assert delivery.webhook_id == json.loads(completed)["id"]
    assert delivery.event_type == "checkout.session.completed" and delivery.payment_id == order["payment_id"]
    assert "stripe-signature" in {k.lower() for k in delivery.headers}


def test_the_payment_page_links_stripes_receipt(owner, owner_client, owner_browser, stripe_api, usd_pack,
                                               send_stripe):
    order = _prepare(owner_client, usd_pack)
    for body in stripe_api.pay(order["checkout"]["session_id"]):
        send_stripe(stripe_api, body)
    payment = Payment.objects.get(payment_id=order["payment_id"])
    page = owner_browser.get(f"/credits/payments/{order['payment_id']}").content.decode()
    assert f'href="{payment.receipt_url}"' in page and "Receipt from Stripe" in page
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    korean = owner_browser.get(f"/credits/payments/{order['payment_id']}").content.decode()
    assert "Stripe 영수증" in korean
    assert owner_client.get(PAYMENTS).json()["results"][0]["receipt_url"] == payment.receipt_url
