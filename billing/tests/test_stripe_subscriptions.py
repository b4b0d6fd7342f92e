"""Plans through Stripe: a Checkout Session in mode subscription, Stripe renewing by itself, each
paid invoice (invoice.paid) crediting its month once through the same plan-credit code as
PortOne's renewals, cancellation at the period's end, and the customer portal link."""

from __future__ import annotations

import pytest

from billing.models import LedgerEntry, Payment, Subscription, WebhookDelivery
from billing.selectors import credits_balance
from billing.services import subscriptions_due
from testing.stripe_server import event_body

pytestmark = pytest.mark.django_db
SUBSCRIPTION = "/api/v1/billing/subscription"


@pytest.fixture
def usd_plan(plan):
    from billing.models import PlanPrice

    PlanPrice.objects.create(plan=plan, currency="USD", amount=799)
    return plan


def _subscribe(owner_client, plan):
    response = owner_client.post(SUBSCRIPTION, {"plan_id": str(plan.id), "currency": "USD"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_plan_in_dollars_opens_a_stripe_subscription_checkout(owner, owner_client, stripe_api, usd_plan):
    started = _subscribe(owner_client, usd_plan)
    assert started["provider"] == "stripe" and started["amount"] == 799 and started["currency"] == "USD"
    session = stripe_api.sessions[started["checkout"]["session_id"]]
    assert session["mode"] == "subscription" and session["amount_total"] == 799
    line = session["_line_items"][0]["price_data"]
    assert line["recurring"]["interval"] == "month" and line["unit_amount"] == "799"
    subscription = Subscription.objects.get(pk=started["subscription_id"])
    assert subscription.provider == "stripe" and subscription.status == "incomplete"
    assert session["_subscription_metadata"]["subscription_id"] == str(subscription.pk)


def test_each_paid_invoice_credits_its_month_once_in_any_order(owner, owner_client, stripe_api, usd_plan,
                                                               send_stripe):
    started = _subscribe(owner_client, usd_plan)
    events = stripe_api.pay(started["checkout"]["session_id"])  # session completed, subscription, invoice.paid
    for body in [*reversed(events), *events, *events]:
        assert send_stripe(stripe_api, body).status_code == 200
    subscription = Subscription.objects.get(pk=started["subscription_id"])
    assert subscription.status == "active" and subscription.period_number == 1
    assert subscription.provider_subscription_id.startswith("sub_") and subscription.provider_customer_id
    assert credits_balance(user=owner) == 100
    first = Payment.objects.get(payment_id=started["payment_id"])
    assert first.status == "paid" and first.provider_payment_id.startswith("pi_")

    # Stripe renews by itself: the next month's invoice, delivered three times.
    renewal = stripe_api.renew(subscription.provider_subscription_id)
    for body in [*renewal, *renewal, *reversed(renewal)]:
        assert send_stripe(stripe_api, body).status_code == 200
    subscription.refresh_from_db()
    assert subscription.period_number == 2
    assert LedgerEntry.objects.filter(kind="plan_grant").count() == 2
    assert Payment.objects.filter(subscription=subscription, status="paid").count() == 2
    # Our own renewer leaves Stripe's subscriptions alone.
    assert subscription.pk not in list(subscriptions_due(now=subscription.current_period_end))


def test_cancel_at_period_end_goes_to_stripe_and_the_end_event_ends_it(owner, owner_client, stripe_api, usd_plan,
                                                                       send_stripe):
    started = _subscribe(owner_client, usd_plan)
    for body in stripe_api.pay(started["checkout"]["session_id"]):
        send_stripe(stripe_api, body)
    response = owner_client.patch(SUBSCRIPTION, {"cancel_at_period_end": True}, format="json")
    assert response.status_code == 200 and response.json()["cancel_at_period_end"] is True
    subscription = Subscription.objects.get(pk=started["subscription_id"])
    assert stripe_api.subscriptions[subscription.provider_subscription_id]["cancel_at_period_end"] is True
    stripe_api.subscriptions[subscription.provider_subscription_id]["status"] = "canceled"
    deleted = event_body("customer.subscription.deleted", stripe_api.subscriptions[subscription.provider_subscription_id])
    assert send_stripe(stripe_api, deleted).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
    # A late "active" event reopens nothing; the month's credits stay.
    stripe_api.subscriptions[subscription.provider_subscription_id]["status"] = "active"
    late = event_body("customer.subscription.updated", stripe_api.subscriptions[subscription.provider_subscription_id])
    send_stripe(stripe_api, late)
    subscription.refresh_from_db()
    assert subscription.status == "cancelled" and credits_balance(user=owner) == 100


def test_the_customer_portal_link_is_stripes_for_the_buyers_customer(owner, owner_client, other_client, stripe_api,
                                                                     usd_plan, send_stripe):
    started = _subscribe(owner_client, usd_plan)
    for body in stripe_api.pay(started["checkout"]["session_id"]):
        send_stripe(stripe_api, body)
    response = owner_client.post(f"{SUBSCRIPTION}/portal")
    assert response.status_code == 200
    assert response.json()["url"].startswith("https://billing.stripe.test/p/session/")
    subscription = Subscription.objects.get(pk=started["subscription_id"])
    (posted,) = [b for m, p, b in stripe_api.requests if p == "/v1/billing_portal/sessions"]
    assert posted["customer"] == subscription.provider_customer_id and posted["return_url"].endswith("/plans")
    assert other_client.post(f"{SUBSCRIPTION}/portal").status_code == 404


def test_an_invoice_for_a_subscription_we_do_not_have_is_ignored_with_a_code(stripe_api, send_stripe):
    invoice = {"id": "in_x", "object": "invoice", "amount_paid": 799, "currency": "usd",
               "parent": {"subscription_details": {"subscription": "sub_unknown", "metadata": {}}}}
    response = send_stripe(stripe_api, event_body("invoice.paid", invoice))
    assert response.status_code == 200 and response.json()["ignored"] == "unknown_subscription"
    assert WebhookDelivery.objects.get().ignored == "unknown_subscription"


def test_a_plan_checkout_never_paid_credits_nothing(owner, owner_client, stripe_api, usd_plan, send_stripe):
    started = _subscribe(owner_client, usd_plan)
    for body in stripe_api.expire(started["checkout"]["session_id"]):
        send_stripe(stripe_api, body)
    owner_client.post(f"/api/v1/billing/payments/{started['payment_id']}/complete")
    assert credits_balance(user=owner) == 0
    assert Payment.objects.get(payment_id=started["payment_id"]).status == "expired"
    assert Subscription.objects.get(pk=started["subscription_id"]).period_number == 0


def test_the_return_page_before_the_invoice_credits_the_first_month_once(owner, owner_client, owner_browser,
                                                                        stripe_api, usd_plan, send_stripe):
    started = _subscribe(owner_client, usd_plan)
    events = stripe_api.pay(started["checkout"]["session_id"])
    owner_browser.get(f"/credits/payments/return?paymentId={started['payment_id']}")  # Stripe sends the buyer back
    assert credits_balance(user=owner) == 100
    for body in events:
        send_stripe(stripe_api, body)
    assert credits_balance(user=owner) == 100
    subscription = Subscription.objects.get(pk=started["subscription_id"])
    assert subscription.period_number == 1 and Payment.objects.filter(subscription=subscription).count() == 1


def test_the_plans_page_offers_dollar_prices_and_stripes_billing_page(owner, owner_client, owner_browser,
                                                                      stripe_api, portone, usd_plan, send_stripe):
    page = owner_browser.get("/plans", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "$7.99 a month" in page
    assert f'data-subscribe="{usd_plan.id}" data-currency="USD"' in page
    won = owner_browser.get("/plans?currency=KRW").content.decode()
    assert f'data-subscribe="{usd_plan.id}">' in won  # its own currency: PortOne's billing key as before
    started = _subscribe(owner_client, usd_plan)
    for body in stripe_api.pay(started["checkout"]["session_id"]):
        send_stripe(stripe_api, body)
    mine = owner_browser.get("/plans").content.decode()
    assert 'data-plan-action="portal"' in mine and 'data-plan-action="card"' not in mine


def test_staff_refund_a_stripe_renewal_month_through_its_payment_intent(owner, owner_client, staff_browser,
                                                                        stripe_api, usd_plan, send_stripe):
    started = _subscribe(owner_client, usd_plan)
    for body in stripe_api.pay(started["checkout"]["session_id"]):
        send_stripe(stripe_api, body)
    subscription = Subscription.objects.get(pk=started["subscription_id"])
    for body in stripe_api.renew(subscription.provider_subscription_id):
        send_stripe(stripe_api, body)
    renewal = Payment.objects.get(subscription=subscription, period=2)
    assert renewal.provider_payment_id in stripe_api.payment_intents
    response = staff_browser.post(f"/admin/billing/payment/{renewal.pk}/refund/", {"amount": "", "reason": "Unused"})
    assert response.status_code == 302
    # Month 1's 100, of which 20 rolled over (80 expired), plus month 2's 100: 120. The refunded
    # month's 100 plan credits leave (plan credits first), through Stripe's Refunds API.
    assert credits_balance(user=owner) == 20
    assert LedgerEntry.objects.get(kind="plan_refund").amount == -100
    (posted,) = [b for m, p, b in stripe_api.requests if (m, p) == ("POST", "/v1/refunds")]
    assert posted["payment_intent"] == renewal.provider_payment_id
