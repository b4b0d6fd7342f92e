"""What each Paddle event means here: the provider's reading of verified deliveries
(billing/providers/paddle.py `classify`), from the events the loopback Paddle records."""

from __future__ import annotations

import json

import pytest

from billing import paddle as paddle_api
from billing.providers.base import EventKind
from billing.providers.paddle import classify

pytestmark = pytest.mark.django_db


def read(fake, event: dict):
    body, headers = fake.signed(event)
    verified = paddle_api.webhook_verify(body=body.encode(), signature=headers["Paddle-Signature"],
                                         secrets=[fake.webhook_secret], tolerance_seconds=5)
    return classify(verified)


@pytest.fixture
def subscribed(paddle):
    """A monthly price bought through the overlay: Paddle made a subscription."""
    product = paddle_api.product_create(name="OneVoice Creator", custom_data={})
    price = paddle_api.price_create(product_id=product.id, description="300 credits a month", amount=9900,
                                    currency="USD", monthly=True, custom_data={})
    transaction = paddle_api.transaction_create(
        price_id=price.id, custom_data={"payment_id": "ov-plan-1", "user_id": "u-1", "plan_id": "p-1"})
    paid = paddle.pay(transaction.id)
    return paid


def test_a_checkouts_transaction_events_name_our_payment_and_the_transaction(paddle, subscribed):
    event = read(paddle, paddle.events_of("transaction.completed")[-1])
    assert event.kind == EventKind.PAYMENT
    assert (event.payment_id, event.provider_ref) == ("ov-plan-1", subscribed["id"])
    assert event.event_id.startswith("evt_")


def test_subscription_events_carry_the_state_in_our_terms(paddle, subscribed):
    created = read(paddle, paddle.events_of("subscription.created")[-1])
    assert created.kind == EventKind.SUBSCRIPTION
    state = created.subscription
    assert state.provider_subscription_id == subscribed["subscription_id"]
    assert (state.status, state.cancel_at_period_end) == ("active", False)
    assert (state.plan_id, state.user_id) == ("p-1", "u-1")
    assert state.current_period_end > state.current_period_start

    paddle.fail_renewal(subscribed["subscription_id"])
    assert read(paddle, paddle.events_of("subscription.past_due")[-1]).subscription.status == "past_due"
    paddle.cancel_in_dashboard(subscribed["subscription_id"], effective_from="next_billing_period")
    scheduled = read(paddle, paddle.events_of("subscription.updated")[-1]).subscription
    assert scheduled.cancel_at_period_end and scheduled.status == "past_due"
    paddle.end_period(subscribed["subscription_id"])
    assert read(paddle, paddle.events_of("subscription.canceled")[-1]).subscription.status == "cancelled"


def test_a_renewal_paddle_made_is_a_subscription_charge_not_a_checkout(paddle, subscribed):
    renewal = paddle.renew(subscribed["subscription_id"])
    event = read(paddle, paddle.events_of("transaction.completed")[-1])
    assert event.kind == EventKind.SUBSCRIPTION_CHARGE and not event.payment_id
    charge = event.charge
    assert (charge.provider_subscription_id, charge.provider_payment_id) == (subscribed["subscription_id"], renewal["id"])
    assert (charge.amount, charge.currency) == (9900, "USD")
    assert charge.period_start.isoformat()[:10] == subscribed["billing_period"]["ends_at"][:10]


def test_a_renewal_not_yet_completed_is_ignored(paddle, subscribed):
    renewal = paddle.renew(subscribed["subscription_id"])
    billed = {**paddle.events_of("transaction.completed")[-1]}
    billed["data"] = {**renewal, "status": "billed"}
    assert read(paddle, billed).kind == EventKind.IGNORED


def test_adjustment_events_sync_the_transactions_payment(paddle, subscribed):
    paddle.refund_in_dashboard(subscribed["id"])
    event = read(paddle, paddle.events_of("adjustment.updated")[-1])
    assert event.kind == EventKind.PAYMENT and event.provider_ref == subscribed["id"] and not event.payment_id


def test_other_events_are_ignored(paddle):
    event = {"event_id": "evt_x", "event_type": "customer.updated", "occurred_at": "2026-12-06T00:00:00Z",
             "notification_id": "ntf_x", "data": {"id": "ctm_1"}}
    assert read(paddle, json.loads(json.dumps(event))).kind == EventKind.IGNORED
