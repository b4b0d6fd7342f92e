"""Plans and subscribing (issue 22 items 1, 2 and 5): the plans on offer, a billing key issued
through the browser SDK and checked with PortOne, the first period charged and credited once,
plan credits spent before pack credits."""

from __future__ import annotations

import pytest
from django.db import connection

from billing.models import LedgerEntry, Payment, Plan, Subscription
from billing.selectors import credits_balance, plan_credits_left
from billing.services import credits_refund, credits_reserve
from billing.tests.factories import give_credits


def _entries(user) -> list[tuple[str, int, int]]:
    return [(e.kind, e.amount, e.plan_amount)
            for e in LedgerEntry.objects.filter(account__user=user).order_by("created_at", "id")]


@pytest.mark.django_db
def test_plans_lists_the_active_plans_with_their_terms(owner_client, plan):
    Plan.objects.create(name="Retired", credits_per_period=5, price=1_000, active=False)

    response = owner_client.get("/api/v1/billing/plans")

    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    names = [row["name"] for row in rows]
    assert names[0] == "Test plan" and "Retired" not in names
    assert {"Lite", "Creator", "Studio"} <= set(names)  # seeded by the migration
    assert rows[0] == {"id": str(plan.id), "name": "Test plan", "credits_per_period": 100, "price": 10_000,
                       "currency": "KRW", "rollover_max": 20, "prices": [{"currency": "KRW", "amount": 10_000}]}


@pytest.mark.django_db
def test_subscribing_charges_the_first_period_and_grants_its_credits_once(owner, owner_client, plan, portone, subscribe):
    # Given a plan chosen: the answer is what requestIssueBillingKey needs
    started = owner_client.post("/api/v1/billing/subscription", {"plan_id": str(plan.id)}, format="json")
    assert started.status_code == 201
    order = started.json()
    assert order["store_id"] == portone.store_id and order["billing_key_method"] == "CARD"
    assert order["issue_id"].startswith("ovk-") and order["customer"]["customer_id"] == str(owner.pk)
    key = portone.issue_billing_key(customer_id=str(owner.pk), issue_id=order["issue_id"])

    # When the browser completes, twice
    first = owner_client.post("/api/v1/billing/subscription/complete", {"billing_key_id": key}, format="json")
    again = owner_client.post("/api/v1/billing/subscription/complete", {"billing_key_id": key}, format="json")

    # Then one charge of the plan's price on that key, and its credits once
    assert first.status_code == 200 and again.status_code == 200, (first.json(), again.json())
    body = first.json()
    assert body["status"] == "active" and body["plan"]["id"] == str(plan.id)
    assert body["period_credits_left"] == 100 and body["cancel_at_period_end"] is False
    assert body["next_charge"]["amount"] == 10_000 and body["next_charge"]["at"] == body["current_period_end"]
    charges = portone.charges()
    assert len(charges) == 1 and charges[0]["amount"]["total"] == 10_000 and charges[0]["billingKey"] == key
    assert _entries(owner) == [("plan_grant", 100, 100)]
    payment = Payment.objects.get()
    assert (payment.status, payment.period, payment.purpose, payment.pack_id) == ("paid", 1, "first", None)
    assert owner_client.get("/api/v1/billing/subscription").json()["id"] == body["id"]


@pytest.mark.django_db
def test_the_billing_key_is_stored_encrypted_and_never_returned(owner_client, subscribed):
    subscription, key = subscribed
    with connection.cursor() as cursor:
        cursor.execute("SELECT billing_key_encrypted FROM billing_subscription")
        (stored,) = cursor.fetchone()
    assert stored and key not in stored
    for path in ("/api/v1/billing/subscription", "/api/v1/billing/payments", "/api/v1/billing/ledger"):
        assert key not in owner_client.get(path).content.decode()
    assert subscription.card_label.endswith("1234")


@pytest.mark.django_db
def test_subscribing_twice_is_refused_with_a_code(owner_client, subscribed, big_plan):
    response = owner_client.post("/api/v1/billing/subscription", {"plan_id": str(big_plan.id)}, format="json")

    assert response.status_code == 409 and response.json()["code"] == "already_subscribed"
    assert Subscription.objects.count() == 1


@pytest.mark.django_db
def test_choosing_again_before_the_card_changes_the_plan(owner_client, plan, big_plan, portone):
    owner_client.post("/api/v1/billing/subscription", {"plan_id": str(plan.id)}, format="json")
    response = owner_client.post("/api/v1/billing/subscription", {"plan_id": str(big_plan.id)}, format="json")

    assert response.status_code == 201 and response.json()["plan"]["id"] == str(big_plan.id)
    assert Subscription.objects.get().plan == big_plan


@pytest.mark.django_db
@pytest.mark.parametrize("whose", ["another customer", "another request", "unknown key", "deleted key", "test channel"])
def test_a_billing_key_that_is_not_this_requests_is_refused(owner, other, owner_client, plan, portone, whose):
    order = owner_client.post("/api/v1/billing/subscription", {"plan_id": str(plan.id)}, format="json").json()
    customer, issue = str(owner.pk), order["issue_id"]
    if whose == "another customer":
        customer = str(other.pk)
    if whose == "another request":
        issue = "ovk-someone-elses"
    key = portone.issue_billing_key(customer_id=customer, issue_id=issue,
                                    channel_type="TEST" if whose == "test channel" else "LIVE")
    if whose == "unknown key":
        key = "billing-key-nobody-issued"
    if whose == "deleted key":
        portone.delete_billing_key_in_console(key)

    response = owner_client.post("/api/v1/billing/subscription/complete", {"billing_key_id": key}, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "billing_key_invalid" and "billing_key_id" in response.json()["errors"]
    assert portone.charges() == [] and credits_balance(user=owner) == 0
    assert Subscription.objects.get().status == "incomplete"


@pytest.mark.django_db
def test_a_declined_first_charge_leaves_no_plan_and_a_new_card_can_pay(owner, owner_client, plan, portone, subscribe):
    response, key = subscribe(before_complete=lambda key: portone.decline_billing_key(key, "Card expired"))

    assert response.status_code == 409 and response.json()["code"] == "payment_failed"
    assert "Card expired" in response.json()["detail"]
    assert Subscription.objects.get().status == "incomplete" and credits_balance(user=owner) == 0

    # A second card (the plan chosen again, a new key) pays; the first key is deleted at PortOne.
    response, second = subscribe()
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert portone.billing_keys[key]["status"] == "DELETED"
    assert [c["billingKey"] for c in portone.charges()] == [second]
    assert _entries(owner) == [("plan_grant", 100, 100)]


@pytest.mark.django_db
def test_someone_elses_subscription_is_not_found(other_client, subscribed):
    subscription, key = subscribed

    assert other_client.get("/api/v1/billing/subscription").status_code == 404
    assert other_client.patch("/api/v1/billing/subscription", {"cancel_at_period_end": True},
                              format="json").status_code == 404
    response = other_client.post("/api/v1/billing/subscription/complete", {"billing_key_id": key}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert other_client.post("/api/v1/billing/subscription/card").status_code == 404
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end is False


@pytest.mark.django_db
def test_plan_credits_are_spent_before_pack_credits_and_refunds_go_back_where_they_came_from(owner, subscribed):
    give_credits(owner, 50)  # pack-like credits (a grant): never expire

    first = credits_reserve(user=owner, job_id="00000000-0000-0000-0000-000000000001", attempt=1, amount=80)
    second = credits_reserve(user=owner, job_id="00000000-0000-0000-0000-000000000002", attempt=1, amount=40)

    assert (first.amount, first.plan_amount) == (-80, -80)
    assert (second.amount, second.plan_amount) == (-40, -20)  # the last 20 plan credits, then 20 others
    assert (credits_balance(user=owner), plan_credits_left(user=owner)) == (30, 0)
    refund = credits_refund(user=owner, job_id="00000000-0000-0000-0000-000000000002", attempt=1)
    assert (refund.amount, refund.plan_amount) == (40, 20)
    assert (credits_balance(user=owner), plan_credits_left(user=owner)) == (70, 20)


@pytest.mark.django_db
def test_subscribing_needs_a_plan_that_is_on_offer(owner_client, portone):
    retired = Plan.objects.create(name="Retired", credits_per_period=5, price=1_000, active=False)

    for plan_id in (str(retired.id), "00000000-0000-0000-0000-000000000000"):
        response = owner_client.post("/api/v1/billing/subscription", {"plan_id": plan_id}, format="json")
        assert response.status_code == 400 and response.json()["code"] == "plan_unavailable"
    response = owner_client.post("/api/v1/billing/subscription", {"plan_id": "not-a-uuid"}, format="json")
    assert response.status_code == 400 and "plan_id" in response.json()["errors"]
