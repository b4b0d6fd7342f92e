"""billing/paddle.py against the loopback Paddle API, and Paddle's webhook signature check.

The signature tests use a delivery Paddle signed (the payload, secret key and header of
paddle-python-sdk's own verifier test, Apache-2.0) and deliveries signed the way Paddle documents
("Verify webhook signatures": HMAC-SHA256 of "<ts>:<raw body>" with the destination's secret).
"""

from __future__ import annotations

import json
import time

import pytest

from billing import paddle as paddle_api
from billing.errors import PaymentProviderUnavailable
from testing.paddle_server import event_body, sign_webhook

# A customer.created delivery as Paddle sent and signed it (paddle-python-sdk,
# tests/Unit/Notification/_fixtures/standard_payload.json and test_Verifier.py).
PADDLE_SIGNED_BODY = (
    '{"data":{"id":"ctm_01hs0tqf76sxmp7ba5e4mw1sc8","name":"John Doe","email":"blackhole+verification2@paddle.com",'
    '"locale":"en","status":"active","created_at":"2024-03-15T10:32:37.862Z","updated_at":"2024-03-15T10:32:37.862Z",'
    '"custom_data":null,"import_meta":null,"marketing_consent":false},"event_id":"evt_01hs0tqfme2xwb2hvwv87p8y3w",'
    '"event_type":"customer.created","occurred_at":"2024-03-15T10:32:38.286848Z",'
    '"notification_id":"ntf_01hs0tqfrhgkyp39x4wyvy7h6n"}'
)
PADDLE_SECRET = "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_GrOWLNef+vmtjJYq4mSnHNzvc8uWoJ1I"
PADDLE_SIGNATURE = "ts=1710498758;h1=558bf93944dbeb4790c7a8af6cb2ea435c8ca9c8396aafc1a4e37424ac132744"
SIGNED_AT = 1710498758


def verify(body, signature, *, secrets=(PADDLE_SECRET,), now=SIGNED_AT + 1, tolerance=5):
    raw = body.encode() if isinstance(body, str) else body
    return paddle_api.webhook_verify(body=raw, signature=signature, secrets=list(secrets),
                                     tolerance_seconds=tolerance, now=now)


def refusal_reason(body, signature, **kwargs) -> str:
    with pytest.raises(paddle_api.WebhookRefused) as refused:
        verify(body, signature, **kwargs)
    return refused.value.reason


class TestWebhookSignature:
    def test_it_accepts_a_delivery_paddle_signed(self):
        event = verify(PADDLE_SIGNED_BODY, PADDLE_SIGNATURE)
        assert event.event_type == "customer.created"
        assert event.event_id == "evt_01hs0tqfme2xwb2hvwv87p8y3w"
        assert event.notification_id == "ntf_01hs0tqfrhgkyp39x4wyvy7h6n"
        assert event.data["id"] == "ctm_01hs0tqf76sxmp7ba5e4mw1sc8"

    def test_the_loopback_signer_signs_exactly_as_paddle_does(self):
        assert sign_webhook(PADDLE_SECRET, PADDLE_SIGNED_BODY, timestamp=SIGNED_AT) == {
            "Paddle-Signature": PADDLE_SIGNATURE}

    def test_it_refuses_a_body_changed_by_one_character(self):
        tampered = PADDLE_SIGNED_BODY.replace("John Doe", "John Dog")
        assert refusal_reason(tampered, PADDLE_SIGNATURE) == "bad_signature"

    def test_it_verifies_the_raw_bytes_not_a_reserialized_body(self):
        # The same JSON with other spacing is another body: Paddle signed the bytes it sent.
        respaced = json.dumps(json.loads(PADDLE_SIGNED_BODY))
        assert refusal_reason(respaced, PADDLE_SIGNATURE) == "bad_signature"

    def test_it_refuses_another_destinations_secret(self):
        assert refusal_reason(PADDLE_SIGNED_BODY, PADDLE_SIGNATURE, secrets=[PADDLE_SECRET + "x"]) == "bad_signature"

    def test_a_rotated_secret_still_verifies_while_listed(self):
        event = verify(PADDLE_SIGNED_BODY, PADDLE_SIGNATURE, secrets=["pdl_ntfset_new_secret", PADDLE_SECRET])
        assert event.event_id == "evt_01hs0tqfme2xwb2hvwv87p8y3w"

    def test_one_matching_h1_among_several_is_enough(self):
        header = f"ts={SIGNED_AT};h1={'0' * 64};h1=558bf93944dbeb4790c7a8af6cb2ea435c8ca9c8396aafc1a4e37424ac132744"
        assert verify(PADDLE_SIGNED_BODY, header).event_type == "customer.created"

    @pytest.mark.parametrize("age", [6, 3600])
    def test_it_refuses_an_old_timestamp_even_when_the_signature_is_right(self, age):
        assert refusal_reason(PADDLE_SIGNED_BODY, PADDLE_SIGNATURE, now=SIGNED_AT + age) == "stale_timestamp"

    def test_it_refuses_a_timestamp_from_the_future(self):
        assert refusal_reason(PADDLE_SIGNED_BODY, PADDLE_SIGNATURE, now=SIGNED_AT - 60) == "stale_timestamp"

    def test_the_clock_check_ignores_the_sdks_test_mode_switch(self, monkeypatch):
        monkeypatch.setenv("TEST_MODE", "1")  # turns the SDK Verifier's drift check off; not ours
        assert refusal_reason(PADDLE_SIGNED_BODY, PADDLE_SIGNATURE, now=SIGNED_AT + 3600) == "stale_timestamp"

    @pytest.mark.parametrize("header, reason", [
        ("", "missing_signature"),
        ("558bf93944dbeb4790c7a8af6cb2ea435c8ca9c8396aafc1a4e37424ac132744", "malformed_signature"),
        (f"ts={SIGNED_AT}", "malformed_signature"),
        ("ts=yesterday;h1=abc", "malformed_signature"),
        (f"ts={SIGNED_AT};v1=abc", "malformed_signature"),
    ])
    def test_it_refuses_a_missing_or_unreadable_header(self, header, reason):
        assert refusal_reason(PADDLE_SIGNED_BODY, header) == reason

    @pytest.mark.parametrize("body", ["not json", '["a list"]', '{"event_type": "x"}', '{"data": {}}'])
    def test_a_signed_body_that_is_not_an_event_is_refused(self, body):
        now = int(time.time())
        header = sign_webhook(PADDLE_SECRET, body, timestamp=now)["Paddle-Signature"]
        assert refusal_reason(body, header, now=now) == "malformed"

    def test_the_loopback_servers_deliveries_verify_now(self, paddle):
        event = {"event_id": "evt_1", "event_type": "transaction.completed", "occurred_at": "2026-12-06T10:00:00Z",
                 "notification_id": "ntf_1", "data": {"id": "txn_1"}}
        body, headers = paddle.signed(event)
        assert body == event_body(event)
        verified = paddle_api.webhook_verify(body=body.encode(), signature=headers["Paddle-Signature"],
                                             secrets=[paddle.webhook_secret], tolerance_seconds=5)
        assert verified.data == {"id": "txn_1"}


def make_price(*, monthly: bool = False, amount: int = 1500):
    product = paddle_api.product_create(name="OneVoice Standard", custom_data={"onevoice_ref": "pack:test"})
    return paddle_api.price_create(product_id=product.id, description="100 credits", amount=amount, currency="USD",
                                   monthly=monthly, custom_data={"onevoice_ref": "pack:test"})


def make_transaction(price_id: str):
    return paddle_api.transaction_create(price_id=price_id, custom_data={"payment_id": "ov-1"})


def refund(transaction, *, amount):
    return paddle_api.adjustment_create(transaction_id=transaction.id, reason="test refund",
                                        item_id=transaction.items[0].id, amount=amount)


class TestApi:
    def test_a_transaction_is_created_for_the_price_and_read_back_once_paid(self, paddle):
        price = make_price()
        created = make_transaction(price.id)
        assert created.status == "draft" and not created.completed
        assert created.custom_data == {"payment_id": "ov-1"}
        assert created.subtotal == created.grand_total == 1500 and created.currency == "USD"
        assert [(i.price_id, i.quantity) for i in created.items] == [(price.id, 1)]
        paddle.pay(created.id)
        fetched = paddle_api.transaction_fetch(transaction_id=created.id)
        assert fetched.completed and fetched.customer_id.startswith("ctm_")
        assert fetched.billed_at is not None and fetched.updated_at > created.updated_at
        method, path, _ = paddle.requests[-1]
        assert (method, path) == ("GET", f"/transactions/{created.id}?include=adjustment")

    def test_the_tax_paddle_adds_shows_in_the_grand_total_not_the_subtotal(self, paddle):
        paddle.tax_rate = "0.2"
        created = make_transaction(make_price().id)
        assert (created.subtotal, created.grand_total) == (1500, 1800)

    def test_an_unknown_transaction_reads_as_none(self, paddle):
        assert paddle_api.transaction_fetch(transaction_id="txn_01hzzzzzzzzzzzzzzzzzzzzzzz") is None

    def test_a_wrong_api_key_is_paddles_refusal(self, paddle, settings):
        price = make_price()
        settings.PADDLE_API_KEY = "pdl_sdbx_apikey_wrong"
        with pytest.raises(paddle_api.PaddleRefused) as refused:
            make_transaction(price.id)
        assert refused.value.code == "forbidden" and refused.value.status == 403

    def test_paddle_answering_503_is_provider_unavailable(self, paddle):
        price = make_price()
        paddle.fail_with = 503
        with pytest.raises(PaymentProviderUnavailable) as error:
            make_transaction(price.id)
        assert error.value.status_code == 502 and error.value.code == "provider_unavailable"

    def test_paddle_timing_out_is_provider_unavailable(self, paddle, settings):
        settings.PADDLE_TIMEOUT_SECONDS = 0.3
        paddle.latency = 2.0
        with pytest.raises(PaymentProviderUnavailable):
            paddle_api.transaction_fetch(transaction_id="txn_01hzzzzzzzzzzzzzzzzzzzzzzz")

    def test_paddle_unreachable_is_provider_unavailable(self, paddle, settings):
        settings.PADDLE_API_BASE = paddle.unreachable_url()
        with pytest.raises(PaymentProviderUnavailable):
            paddle_api.products_list()

    def test_listings_follow_paddles_pages(self, paddle):
        paddle.max_per_page = 2
        product = paddle_api.product_create(name="OneVoice Standard", custom_data={})
        made = {paddle_api.price_create(product_id=product.id, description=f"{n} credits", amount=n, currency="USD",
                                        monthly=False, custom_data={}).id for n in range(1, 6)}
        assert {p.id for p in paddle_api.prices_list()} == made
        assert sum(1 for m, path, _ in paddle.requests if m == "GET" and path.startswith("/prices")) == 3

    def test_a_partial_refund_is_an_adjustment_on_the_line_item(self, paddle):
        created = make_transaction(make_price().id)
        paddle.pay(created.id)
        adjustment = refund(created, amount=500)
        assert adjustment.status == "pending_approval" and adjustment.total == 500
        assert adjustment.transaction_id == created.id
        _, _, body = paddle.requests[-1]
        assert body == {"action": "refund", "type": "partial", "reason": "test refund", "transaction_id": created.id,
                        "items": [{"item_id": created.items[0].id, "type": "partial", "amount": "500"}]}
        paddle.approve_adjustment(adjustment.id)
        fetched = paddle_api.transaction_fetch(transaction_id=created.id)
        assert [(a.id, a.status, a.subtotal) for a in fetched.adjustments] == [(adjustment.id, "approved", 500)]

    def test_prices_are_one_unit_per_checkout(self, paddle):
        price = make_price()
        assert paddle.prices[price.id]["quantity"] == {"minimum": 1, "maximum": 1}

    def test_a_full_refund_names_no_items(self, paddle):
        created = make_transaction(make_price().id)
        paddle.pay(created.id)
        adjustment = refund(created, amount=None)
        assert adjustment.total == 1500
        _, _, body = paddle.requests[-1]
        assert body["type"] == "full" and "items" not in body

    def test_a_refund_paddle_refuses_is_paddles_code(self, paddle):
        created = make_transaction(make_price().id)
        paddle.pay(created.id)
        with pytest.raises(paddle_api.PaddleRefused) as refused:
            refund(created, amount=2000)
        assert refused.value.code == "transaction_adjustment_amount_above_remaining_allowed"

    def test_a_subscription_cancelled_at_period_end_runs_until_then(self, paddle):
        price = make_price(monthly=True)
        paid = paddle.pay(make_transaction(price.id).id)
        subscription = paddle_api.subscription_fetch(subscription_id=paid["subscription_id"])
        assert subscription.status == "active" and subscription.price_ids == (price.id,)
        assert subscription.custom_data == {"payment_id": "ov-1"}
        assert subscription.current_period_end > subscription.current_period_start
        scheduled = paddle_api.subscription_cancel(subscription_id=subscription.id, immediately=False)
        assert scheduled.status == "active" and scheduled.cancel_scheduled
        ended = paddle_api.subscription_cancel(subscription_id=subscription.id, immediately=True)
        assert ended.status == "canceled" and ended.canceled_at is not None
        with pytest.raises(paddle_api.PaddleRefused) as refused:
            paddle_api.subscription_cancel(subscription_id=subscription.id, immediately=True)
        assert refused.value.code == "subscription_locked_canceled"
