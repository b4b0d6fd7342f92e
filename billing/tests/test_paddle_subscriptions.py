"""A monthly plan sold through Paddle: the overlay checkout for the first month, Paddle's own
renewals credited once each, cancelling at the period's end at Paddle, and its events in any order.

Against the loopback Paddle API (testing/paddle_server.py), whose webhooks are signed as Paddle
documents; our renewer leaves Paddle's subscriptions alone.
"""

from __future__ import annotations

import json

import pytest

from billing.models import LedgerEntry, Payment, PlanPrice, Subscription
from billing.selectors import credits_balance
from billing.services.paddle_catalog import paddle_catalog_sync
from billing.services.subscriptions import subscriptions_due
from testing.paddle_server import sign_webhook

pytestmark = pytest.mark.django_db

SUBSCRIPTION = "/api/v1/billing/subscription"
WEBHOOK = "/api/v1/billing/webhooks/paddle"


@pytest.fixture
def usd_plan(plan):
    PlanPrice.objects.create(plan=plan, currency="USD", amount=799)
    return plan


@pytest.fixture
def catalog(paddle, usd_plan):
    """Paddle's products and monthly prices for our plans, as `manage.py paddle_catalog` makes them."""
    paddle_catalog_sync()
    return paddle


@pytest.fixture
def deliver(api_client, paddle):
    def send(event: dict):
        raw = json.dumps(event, separators=(",", ":"))
        signed = sign_webhook(paddle.webhook_secret, raw)
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.items()}
        return api_client.generic("POST", WEBHOOK, raw, "application/json", **extra)

    return send


def _subscribe(owner_client, plan) -> dict:
    response = owner_client.post(SUBSCRIPTION, {"plan_id": str(plan.id), "currency": "USD"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _events(paddle, *types: str) -> list[dict]:
    return [event for kind in types for event in paddle.events_of(kind)]


def test_a_plan_bought_through_paddle_is_credited_once_a_month_as_paddle_renews_it(
    owner, owner_client, usd_plan, catalog, deliver
):
    started = _subscribe(owner_client, usd_plan)
    assert started["provider"] == "paddle" and started["amount"] == 799 and started["currency"] == "USD"
    transaction = catalog.transactions[started["checkout"]["transaction_id"]]
    assert transaction["custom_data"]["subscription_id"] == started["subscription_id"]
    assert transaction["items"][0]["price"]["billing_cycle"] == {"interval": "month", "frequency": 1}

    # The buyer pays in the overlay; Paddle's events arrive late, repeated and out of order.
    catalog.pay(started["checkout"]["transaction_id"])
    first = _events(catalog, "subscription.created", "transaction.completed")
    for event in [*reversed(first), *first, *first]:
        assert deliver(event).status_code == 200
    subscription = Subscription.objects.get(pk=started["subscription_id"])
    assert subscription.status == "active" and subscription.period_number == 1
    assert subscription.provider_subscription_id.startswith("sub_") and subscription.provider_customer_id
    assert credits_balance(user=owner) == usd_plan.credits_per_period

    # Paddle renews by itself: the next month's transaction, delivered three times.
    renewal = catalog.renew(subscription.provider_subscription_id)
    completed = [e for e in catalog.events_of("transaction.completed") if e["data"]["id"] == renewal["id"]]
    assert len(completed) == 1
    for event in completed * 3:
        assert deliver(event).status_code == 200
    subscription.refresh_from_db()
    assert subscription.period_number == 2
    assert LedgerEntry.objects.filter(kind="plan_grant").count() == 2
    assert Payment.objects.filter(subscription=subscription, status="paid").count() == 2
    assert subscription.pk not in list(subscriptions_due(now=subscription.current_period_end))


def test_cancel_at_period_end_goes_to_paddle_and_its_end_event_ends_the_plan(
    owner, owner_client, usd_plan, catalog, deliver
):
    started = _subscribe(owner_client, usd_plan)
    catalog.pay(started["checkout"]["transaction_id"])
    for event in _events(catalog, "subscription.created", "transaction.completed"):
        deliver(event)
    subscription = Subscription.objects.get(pk=started["subscription_id"])

    response = owner_client.patch(SUBSCRIPTION, {"cancel_at_period_end": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["cancel_at_period_end"] is True
    scheduled = catalog.subscriptions[subscription.provider_subscription_id]["scheduled_change"]
    assert scheduled["action"] == "cancel"
    # Taking it back is Paddle's page's business: a conflict with a code, nothing changed at Paddle.
    resumed = owner_client.patch(SUBSCRIPTION, {"cancel_at_period_end": False}, format="json")
    assert resumed.status_code == 409 and resumed.json()["code"] == "subscription_not_active"
    assert catalog.subscriptions[subscription.provider_subscription_id]["scheduled_change"] == scheduled

    catalog.end_period(subscription.provider_subscription_id)
    for event in catalog.events_of("subscription.canceled"):
        assert deliver(event).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
    assert credits_balance(user=owner) == usd_plan.credits_per_period  # the paid month's credits stay


def test_the_plans_page_loads_paddle_js_where_paddle_sells_the_plans(owner, owner_browser, usd_plan, catalog, settings):
    settings.PADDLE_JS_URL = "https://cdn.paddle.com/paddle/v2/paddle.js"
    response = owner_browser.get("/plans?currency=USD")
    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-subscribe="{usd_plan.id}" data-currency="USD"' in page
    assert 'src="https://cdn.paddle.com/paddle/v2/paddle.js"' in page and "billing/paddle-checkout.js" in page
    policy = response.headers["Content-Security-Policy"]
    assert "https://cdn.paddle.com" in policy.split("script-src", 1)[1].split(";", 1)[0]
