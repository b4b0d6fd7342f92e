"""Renewals (issue 22 item 3 and its faults): our own renewer charges each period once, with a
fixed clock across month ends; declines walk the state machine; a crash after PortOne charged is
reconciled, never charged again; two renewers charge once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import LedgerEntry, Payment, Subscription
from billing.selectors import credits_balance, plan_credits_left
from billing.services import credits_reserve, subscription_renew

JAN_31 = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)


def _at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def _kinds(user) -> list[tuple[str, int]]:
    return [(e.kind, e.amount) for e in LedgerEntry.objects.filter(account__user=user).order_by("created_at", "id")]


@pytest.mark.django_db
def test_periods_follow_the_anchor_day_across_month_ends(owner, subscribed, started_on, portone):
    subscription = started_on(subscribed[0], JAN_31)
    assert subscription.current_period_end == _at("2027-02-28")

    # Nothing is due before the period ends
    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28", 8)) == "skipped"
    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")) == "renewed"
    subscription.refresh_from_db()
    assert (subscription.period_number, subscription.current_period_start, subscription.current_period_end) == (
        2, _at("2027-02-28"), _at("2027-03-31"))

    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-03-31")) == "renewed"
    subscription.refresh_from_db()
    # 31 March, not 28: counted from the anchor, not from February's shortened end
    assert (subscription.current_period_start, subscription.current_period_end) == (_at("2027-03-31"), _at("2027-04-30"))
    assert len(portone.charges()) == 3
    assert [p.period for p in Payment.objects.order_by("period")] == [1, 2, 3]


@pytest.mark.django_db
def test_a_renewal_charges_and_grants_once_however_often_it_runs(owner, subscribed, started_on, portone,
                                                                 outgoing_emails, django_capture_on_commit_callbacks):
    subscription = started_on(subscribed[0], JAN_31)
    credits_reserve(user=owner, job_id="00000000-0000-0000-0000-000000000001", attempt=1, amount=70)

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28", h)) for h in (9, 10, 11)]

    assert outcomes == ["renewed", "skipped", "skipped"]
    assert len(portone.charges()) == 2
    # 30 plan credits were left: 20 (rollover_max) roll over, 10 expire, then 100 granted
    assert _kinds(owner)[-2:] == [("plan_expiry", -10), ("plan_grant", 100)]
    assert (credits_balance(user=owner), plan_credits_left(user=owner)) == (120, 120)
    assert len(outgoing_emails) == 1 and outgoing_emails[0]["recipient"] == owner.email
    assert "renewed" in outgoing_emails[0]["subject"] and "10 unused plan credits" in outgoing_emails[0]["body"]


@pytest.mark.django_db
def test_a_declined_renewal_is_retried_after_one_three_and_five_days_then_cancelled(
        owner, subscribed, started_on, portone, outgoing_emails, django_capture_on_commit_callbacks):
    subscription, key = subscribed
    subscription = started_on(subscription, JAN_31)
    portone.decline_billing_key(key, "Insufficient funds")

    with django_capture_on_commit_callbacks(execute=True):
        first = subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28"))
    subscription.refresh_from_db()
    assert first == "failed" and subscription.status == "past_due"
    assert subscription.next_attempt_at == _at("2027-03-01")
    assert "Insufficient funds" in outgoing_emails[-1]["body"] and "/plans" in outgoing_emails[-1]["body"]

    # Not before the retry is due; then at +1, +3 and +5 days
    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28", 20)) == "skipped"
    with django_capture_on_commit_callbacks(execute=True):
        assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-03-01")) == "failed"
        subscription.refresh_from_db()
        assert subscription.next_attempt_at == _at("2027-03-03")
        assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-03-03")) == "failed"
        subscription.refresh_from_db()
        assert subscription.next_attempt_at == _at("2027-03-05") and subscription.failed_attempts == 3
        assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-03-05")) == "cancelled"

    subscription.refresh_from_db()
    assert subscription.status == "cancelled" and subscription.ended_at == _at("2027-02-28")
    assert subscription.next_attempt_at is None and subscription.billing_key_encrypted == ""
    assert portone.billing_keys[key]["status"] == "DELETED"
    assert len(portone.charges(status="FAILED")) == 4 and len(portone.charges()) == 1
    # One email per failed try (the last one says it was cancelled instead)
    assert [e["subject"] for e in outgoing_emails].count(outgoing_emails[0]["subject"]) == 3
    assert len(outgoing_emails) == 4 and "cancelled" in outgoing_emails[-1]["subject"]
    # The first period's credits stay; nothing was granted for the unpaid one
    assert _kinds(owner) == [("plan_grant", 100)]
    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-04-30")) == "skipped"


@pytest.mark.django_db
def test_a_new_card_while_past_due_is_charged_at_once(owner, owner_client, subscribed, started_on, portone):
    subscription, old_key = subscribed
    started_on(subscription, JAN_31)
    portone.decline_billing_key(old_key)
    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")) == "failed"

    order = owner_client.post("/api/v1/billing/subscription/card").json()
    new_key = portone.issue_billing_key(customer_id=str(owner.pk), issue_id=order["issue_id"])
    response = owner_client.post("/api/v1/billing/subscription/complete", {"billing_key_id": new_key}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "active" and response.json()["current_period_start"].startswith("2027-02-28")
    assert portone.billing_keys[old_key]["status"] == "DELETED"
    assert [c["billingKey"] for c in portone.charges()] == [old_key, new_key]
    assert _kinds(owner)[-1] == ("plan_grant", 100)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["deleted in PortOne's console", "unknown to PortOne"])
def test_a_deleted_or_invalid_billing_key_makes_the_plan_past_due_and_asks_for_a_card(
        owner, subscribed, started_on, portone, outgoing_emails, django_capture_on_commit_callbacks, how):
    subscription, key = subscribed
    started_on(subscription, JAN_31)
    if how == "unknown to PortOne":
        portone.billing_keys.pop(key)
    else:
        portone.delete_billing_key_in_console(key)

    with django_capture_on_commit_callbacks(execute=True):
        assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")) == "failed"

    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    assert Payment.objects.get(period=2).failure_code == "card_unusable"
    assert "update it here" in outgoing_emails[-1]["body"]


@pytest.mark.django_db
def test_cancelling_keeps_the_plan_until_the_period_ends_and_resuming_renews_it(
        owner, owner_client, subscribed, started_on, portone):
    subscription = started_on(subscribed[0], JAN_31)

    response = owner_client.patch("/api/v1/billing/subscription", {"cancel_at_period_end": True}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "active" and response.json()["next_charge"] is None
    resumed = owner_client.patch("/api/v1/billing/subscription", {"cancel_at_period_end": False}, format="json")
    assert resumed.json()["next_charge"]["amount"] == 10_000
    owner_client.patch("/api/v1/billing/subscription", {"cancel_at_period_end": True}, format="json")

    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")) == "cancelled"
    subscription.refresh_from_db()
    assert subscription.status == "cancelled" and subscription.ended_at == _at("2027-02-28")
    assert len(portone.charges()) == 1 and credits_balance(user=owner) == 100  # credits granted stay
    assert owner_client.get("/api/v1/billing/subscription").json()["status"] == "cancelled"
    # A plan can be chosen again afterwards
    assert owner_client.post("/api/v1/billing/subscription", {"plan_id": str(subscription.plan_id)},
                             format="json").status_code == 201


@pytest.mark.django_db
def test_a_downgrade_waits_for_the_renewal_and_an_upgrade_charges_the_difference_now(
        owner, owner_client, plan, big_plan, subscribe, started_on, portone):
    response, _ = subscribe(plan_id=big_plan.id)
    subscription = started_on(Subscription.objects.get(), JAN_31)

    response = owner_client.patch("/api/v1/billing/subscription", {"plan_id": str(plan.id)}, format="json")
    assert response.json()["plan"]["id"] == str(big_plan.id) and response.json()["next_plan"]["id"] == str(plan.id)
    assert response.json()["next_charge"]["amount"] == 10_000
    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")) == "renewed"
    subscription.refresh_from_db()
    assert subscription.plan == plan and subscription.next_plan is None
    assert [c["amount"]["total"] for c in portone.charges()] == [25_000, 10_000]

    # Upgrade halfway through the period (28 Feb to 31 Mar, 31 days: 15.5 left): (25,000 - 10,000) x 15.5 / 31 = 7,500 now
    from billing.services import subscription_update

    subscription_update(user=owner, plan_id=big_plan.id, now=_at("2027-03-15", 21))
    subscription.refresh_from_db()
    assert subscription.plan == big_plan
    assert [c["amount"]["total"] for c in portone.charges()] == [25_000, 10_000, 7_500]
    assert _kinds(owner)[-1] == ("plan_grant", 200)  # 300 - 100 credits at once
    upgrade = Payment.objects.get(purpose="upgrade")
    assert (upgrade.period, upgrade.credits, upgrade.amount) == (2, 200, 7_500)


@pytest.mark.django_db
def test_a_plan_deactivated_while_users_are_on_it_renews_for_them(owner, owner_client, subscribed, started_on, portone):
    subscription = started_on(subscribed[0], JAN_31)
    subscription.plan.active = False
    subscription.plan.save()

    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")) == "renewed"
    subscription.refresh_from_db()
    assert subscription.plan.active is False and subscription.status == "active"
    assert owner_client.get("/api/v1/billing/subscription").json()["plan"]["name"] == "Test plan"
    plans = owner_client.get("/api/v1/billing/plans").json()
    assert "Test plan" not in [p["name"] for p in (plans["results"] if isinstance(plans, dict) else plans)]


@pytest.mark.django_db(transaction=True)  # the renewer runs in a thread of its own
@pytest.mark.parametrize("when", ["before our write", "after our write", "twice around our write"])
def test_a_webhook_for_a_renewal_charge_grants_once(owner, subscribed, started_on, portone, send_webhook, when):
    subscription = started_on(subscribed[0], JAN_31)
    payment_id = f"ovs-{subscription.id.hex}-2-r1"
    if when != "after our write":
        # PortOne charged and its webhook arrived while our renewer had no answer yet (its row
        # is pending, PortOne says PAID)
        hold = portone.hold_next_billing_key_payment()
        import threading

        def renew():
            from django.db import connection

            try:
                outcomes.append(subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")))
            finally:
                connection.close()

        outcomes: list[str] = []
        renewer = threading.Thread(target=renew)
        renewer.start()
        assert hold.arrived.wait(timeout=30)
        assert send_webhook(portone, "Transaction.Paid", payment_id).status_code == 200
        if when == "twice around our write":
            assert send_webhook(portone, "Transaction.Paid", payment_id).status_code == 200
        hold.release.set()
        renewer.join(timeout=30)
        assert outcomes == ["renewed"]
    else:
        assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")) == "renewed"
    if when != "before our write":
        assert send_webhook(portone, "Transaction.Paid", payment_id).status_code == 200

    assert [k for k, _ in _kinds(owner)].count("plan_grant") == 2
    assert len(portone.charges()) == 2
    subscription.refresh_from_db()
    assert subscription.period_number == 2 and Payment.objects.get(payment_id=payment_id).status == "paid"


@pytest.mark.django_db
def test_a_renewal_left_pending_is_reconciled_from_portone_and_not_charged_again(owner, subscribed, started_on, portone):
    # Given a renewer that died after PortOne charged (its payment row pending, PortOne: PAID)
    subscription = started_on(subscribed[0], JAN_31)
    portone.fail_with = 503
    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")) == "unknown"
    pending = Payment.objects.get(period=2)
    assert pending.status == "pending"
    portone.fail_with = None
    portone.set_paid(pending.payment_id, amount=pending.amount)
    portone.payments[pending.payment_id]["billingKey"] = subscribed[1]

    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28", 10)) == "renewed"

    assert [m for m, path, _ in portone.requests if path.endswith("/billing-key")] == ["POST", "POST"]  # 1st + P1
    assert [k for k, _ in _kinds(owner)].count("plan_grant") == 2


@pytest.mark.django_db
def test_a_renewal_portone_never_received_is_charged_under_the_same_payment_id(owner, subscribed, started_on, portone):
    subscription = started_on(subscribed[0], JAN_31)
    portone.fail_with = 503
    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")) == "unknown"
    portone.fail_with = None

    assert subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28", 10)) == "renewed"

    assert Payment.objects.filter(period=2).count() == 1
    assert [c["id"] for c in portone.charges()][-1] == f"ovs-{subscription.id.hex}-2-r1"


@pytest.mark.django_db
def test_renew_subscriptions_renews_what_is_due(owner, subscribed, started_on, portone, settings):
    settings.DEBUG = True  # --now is the embedded set-up's option
    started_on(subscribed[0], JAN_31)
    out = StringIO()

    call_command("renew_subscriptions", "--now", "2027-02-28T09:00:00+00:00", stdout=out)
    call_command("renew_subscriptions", "--now", "2027-02-28T09:00:00+00:00", stdout=out)

    assert out.getvalue().splitlines() == ["renewed=1 failed=0 cancelled=0 unknown=0 skipped=0",
                                           "renewed=0 failed=0 cancelled=0 unknown=0 skipped=0"]
    settings.DEBUG = False
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("renew_subscriptions", "--now", "2027-03-31T09:00:00+00:00", stdout=out)


@pytest.mark.django_db(transaction=True)
def test_the_actor_renews_what_the_command_enqueues(owner, subscribed, started_on, portone, broker, worker):
    from billing.tasks import renew_subscription, subscriptions_renew_enqueue

    subscription = started_on(subscribed[0], datetime.now(UTC) - timedelta(days=40))

    assert subscriptions_renew_enqueue() == 1
    broker.join(renew_subscription.queue_name)
    worker.join()

    subscription.refresh_from_db()
    assert subscription.period_number == 2 and len(portone.charges()) == 2


# --- Real processes and real row locks (PostgreSQL) ------------------------------------------------


def _database_url(connection) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_renewal_killed_after_portone_charged_is_completed_once_by_the_next_run(
        owner, subscribed, started_on, portone, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings
    from django.db import connection

    subscription = started_on(subscribed[0], datetime.now(UTC) - timedelta(days=40))  # due now
    # Given a renewer process SIGKILLed after PortOne charged, before it heard the answer
    hold = portone.hold_next_billing_key_payment()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTONE_")}
    env.update(DATABASE_URL=_database_url(connection), PORTONE_API_BASE_URL=settings.PORTONE_API_BASE_URL,
               PORTONE_STORE_ID=settings.PORTONE_STORE_ID, PORTONE_CHANNEL_KEY=settings.PORTONE_CHANNEL_KEY,
               PORTONE_API_SECRET=settings.PORTONE_API_SECRET, PORTONE_WEBHOOK_SECRET=settings.PORTONE_WEBHOOK_SECRET)
    log = tmp_path / "renew.log"
    process = subprocess.Popen([sys.executable, "manage.py", "renew_subscriptions", "--inline"],
                               cwd=Path(__file__).resolve().parents[2], env=env, stdout=log.open("ab"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert hold.arrived.wait(timeout=60), log.read_text()[-3000:]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    hold.release.set()
    assert len(portone.charges()) == 2  # PortOne charged the second period
    pending = Payment.objects.get(period=2)
    assert pending.status == "pending" and _kinds(owner) == [("plan_grant", 100)]
    subscription.refresh_from_db()
    assert subscription.period_number == 1 and subscription.claimed_until is not None
    # and the dead renewer's claim has run out
    Subscription.objects.filter(pk=subscription.pk).update(claimed_until=datetime.now(UTC) - timedelta(seconds=1))

    # When the renewer runs again (twice)
    outcomes = [subscription_renew(subscription_id=subscription.pk) for _ in range(2)]

    # Then it found the payment at PortOne and completed it once, without charging again
    assert outcomes == ["renewed", "skipped"]
    assert len(portone.charges()) == 2
    assert [m for m, path, _ in portone.requests if path.endswith("/billing-key")] == ["POST", "POST"]
    assert _kinds(owner) == [("plan_grant", 100), ("plan_expiry", -80), ("plan_grant", 100)]
    subscription.refresh_from_db()
    assert subscription.period_number == 2 and Payment.objects.get(period=2).status == "paid"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_renewers_at_once_charge_once(owner, subscribed, started_on, portone):
    import threading

    subscription = started_on(subscribed[0], JAN_31)
    portone.latency = 0.2  # both are inside the renewal while PortOne answers
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def renew():
        from django.db import connection

        try:
            barrier.wait()
            outcomes.append(subscription_renew(subscription_id=subscription.pk, now=_at("2027-02-28")))
        finally:
            connection.close()

    threads = [threading.Thread(target=renew) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["renewed", "skipped"]
    assert len(portone.charges()) == 2 and Payment.objects.filter(period=2).count() == 1
    assert [k for k, _ in _kinds(owner)].count("plan_grant") == 2
