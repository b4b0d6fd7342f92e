"""Staff and subscriptions (issue 22 item 7): the state, periods and charges without the billing
key; cancel now; a free month granted once however often the form is sent; a month refunded
(its credits removed as for packs, plan credits first)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.db import connection

from billing.models import LedgerEntry, Payment, Subscription
from billing.selectors import credits_balance, plan_credits_left
from billing.services import payment_refund, subscription_renew

pytestmark = pytest.mark.django_db


def _kinds(user) -> list[tuple[str, int]]:
    return [(e.kind, e.amount) for e in LedgerEntry.objects.filter(account__user=user).order_by("created_at", "id")]


def test_staff_see_the_state_periods_and_charges_but_never_the_billing_key(staff_browser, subscribed):
    subscription, key = subscribed
    with connection.cursor() as cursor:
        cursor.execute("SELECT billing_key_encrypted FROM billing_subscription")
        (token,) = cursor.fetchone()

    listing = staff_browser.get("/admin/billing/subscription/").content.decode()
    page = staff_browser.get(f"/admin/billing/subscription/{subscription.pk}/change/").content.decode()

    assert "alice@example.com" in listing and "Active" in listing
    payment = Payment.objects.get()
    assert payment.payment_id in page and "Give the next month free" in page
    for html in (listing, page):
        assert key not in html and token not in html


def test_a_free_month_is_granted_once_however_often_the_form_is_sent(owner, staff_browser, subscribed, portone):
    subscription, _ = subscribed
    url = f"/admin/billing/subscription/{subscription.pk}/free-period/"
    form = staff_browser.get(url).content.decode()
    period = re.search(r'name="period" value="(\d+)"', form).group(1)
    assert period == "2"

    for _ in range(2):
        response = staff_browser.post(url, {"period": period, "reason": "Sorry for the outage"})
        assert response.status_code == 302

    subscription.refresh_from_db()
    assert subscription.period_number == 2 and len(portone.charges()) == 1  # nothing charged
    assert _kinds(owner) == [("plan_grant", 100), ("plan_expiry", -80), ("plan_grant", 100)]
    grant = LedgerEntry.objects.filter(kind="plan_grant").order_by("-created_at").first()
    assert grant.staff is not None and grant.reason == "Sorry for the outage"
    # The next renewal charges month 3, at the end of the free month
    assert subscription_renew(subscription_id=subscription.pk, now=subscription.current_period_end) == "renewed"
    assert Payment.objects.filter(period=3, status="paid").count() == 1


def test_staff_cancel_a_subscription_now(owner, staff_browser, subscribed, portone, django_capture_on_commit_callbacks):
    subscription, key = subscribed

    with django_capture_on_commit_callbacks(execute=True):  # the key is deleted at PortOne after commit
        response = staff_browser.post("/admin/billing/subscription/",
                                      {"action": "cancel_now", "_selected_action": [str(subscription.pk)]}, follow=True)

    assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == "cancelled" and credits_balance(user=owner) == 100  # granted credits stay
    assert portone.billing_keys[key]["status"] == "DELETED"


def test_refunding_a_month_removes_its_credits_plan_credits_first(owner, staff, subscribed, portone, started_on):
    subscription = started_on(subscribed[0], datetime(2027, 1, 31, 9, tzinfo=UTC))
    assert subscription_renew(subscription_id=subscription.pk, now=datetime(2027, 2, 28, 9, tzinfo=UTC)) == "renewed"
    second = Payment.objects.get(period=2)
    assert (credits_balance(user=owner), plan_credits_left(user=owner)) == (120, 120)

    refund = payment_refund(payment=second, amount=5_000, reason="Half a month back", staff=staff)

    assert refund.status == "succeeded" and refund.credits == 50  # ceil(5,000 x 100 / 10,000)
    assert _kinds(owner)[-1] == ("plan_refund", -50)
    assert (credits_balance(user=owner), plan_credits_left(user=owner)) == (70, 70)
    assert portone.get(second.payment_id)["amount"]["cancelled"] == 5_000
    assert Subscription.objects.get().status == "active"
