"""Refunds left pending (their process died between the ledger entry and PortOne's answer) are
settled by `manage.py sync_refunds`: completed when PortOne cancelled, reversed when it did not,
exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from prometheus_client import REGISTRY

from billing import portone as portone_api
from billing.models import LedgerEntry, PaymentRefund
from billing.selectors import credits_balance
from billing.services.refunds import _refund_begin
from testing.enqueues import recording_enqueues

ROOT = Path(__file__).resolve().parents[2]


def _left_pending(payment, *, staff, amount: int, portone_cancels: bool, minutes_ago: int = 10) -> PaymentRefund:
    """What a refund looks like after its process died: the first step committed (pending,
    credits removed); PortOne asked and answering, or never asked; the answer never recorded."""
    refund, cancellable = _refund_begin(payment=payment, amount=amount, reason="Never rendered", staff=staff)
    if portone_cancels:
        portone_api.payment_cancel(payment_id=payment.payment_id, amount=amount, reason=refund.reason,
                                   current_cancellable_amount=cancellable)
    PaymentRefund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return refund


def _sync(*args) -> str:
    out = StringIO()
    call_command("sync_refunds", *args, stdout=out)
    return out.getvalue().strip()


def _kinds(user) -> list[str]:
    return sorted(LedgerEntry.objects.filter(account__user=user).values_list("kind", flat=True))


def _failures() -> float:
    return REGISTRY.get_sample_value("onevoice_refund_sync_failed_total") or 0.0


@pytest.mark.django_db
def test_it_completes_a_refund_portone_cancelled_once(owner, staff, paid, portone):
    refund = _left_pending(paid, staff=staff, amount=3000, portone_cancels=True)
    assert credits_balance(user=owner) == 80  # ceil(3000 * 100 / 15000) = 20 credits already out

    assert _sync() == "checked=1 succeeded=1 reversed=0 still_pending=0 errors=0"
    assert _sync() == "checked=0 succeeded=0 reversed=0 still_pending=0 errors=0"

    refund.refresh_from_db()
    cancellation = portone.get(paid.payment_id)["cancellations"][0]
    assert (refund.status, refund.amount, refund.provider_cancellation_id) == ("succeeded", 3000, cancellation["id"])
    paid.refresh_from_db()
    assert (paid.status, paid.cancelled_amount) == ("partially_cancelled", 3000)
    assert credits_balance(user=owner) == 80
    assert _kinds(owner) == ["payment_refund", "purchase"]
    # PortOne was only asked what happened, never asked to cancel again.
    assert [m for m, path, _ in portone.requests if path.endswith("/cancel")] == ["POST"]


@pytest.mark.django_db
def test_it_puts_the_credits_back_when_portone_never_cancelled(owner, staff, paid, portone):
    refund = _left_pending(paid, staff=staff, amount=3000, portone_cancels=False)
    assert credits_balance(user=owner) == 80

    assert _sync() == "checked=1 succeeded=0 reversed=1 still_pending=0 errors=0"
    assert _sync() == "checked=0 succeeded=0 reversed=0 still_pending=0 errors=0"

    refund.refresh_from_db()
    assert refund.status == "failed" and "no cancellation" in refund.error
    paid.refresh_from_db()
    assert (paid.status, paid.cancelled_amount) == ("paid", 0)
    assert credits_balance(user=owner) == 100
    assert _kinds(owner) == ["adjustment", "payment_refund", "purchase"]
    # The payment can be refunded again, in full.
    assert LedgerEntry.objects.get(kind="adjustment").idempotency_key == f"payment_refund_reversal:{refund.id}"


@pytest.mark.django_db
def test_it_matches_each_pending_refund_to_its_own_cancellation(owner, staff, paid, portone):
    # Given a console cancellation already known and two refunds of ours left pending, one of
    # which PortOne cancelled
    portone.cancel_in_console(paid.payment_id, amount=1500, reason="console")
    paid.refresh_from_db()
    from billing.services import payment_sync

    payment_sync(payment=paid)
    cancelled = _left_pending(paid, staff=staff, amount=3000, portone_cancels=True)
    never_asked = _left_pending(paid, staff=staff, amount=4500, portone_cancels=False)

    assert _sync() == "checked=2 succeeded=1 reversed=1 still_pending=0 errors=0"

    cancelled.refresh_from_db()
    never_asked.refresh_from_db()
    assert (cancelled.status, never_asked.status) == ("succeeded", "failed")
    paid.refresh_from_db()
    assert paid.cancelled_amount == 4500
    # 10 (console) + 20 taken back for the completed refund; the other's 30 came back.
    assert credits_balance(user=owner) == 70


@pytest.mark.django_db
def test_it_leaves_refunds_younger_than_the_setting_alone(owner, staff, paid, portone, settings):
    settings.REFUND_SYNC_AFTER_SECONDS = 300
    _left_pending(paid, staff=staff, amount=3000, portone_cancels=False, minutes_ago=2)

    assert _sync() == "checked=0 succeeded=0 reversed=0 still_pending=0 errors=0"
    assert _sync("--older-than", "60") == "checked=1 succeeded=0 reversed=1 still_pending=0 errors=0"


@pytest.mark.django_db
def test_it_counts_a_failure_and_keeps_the_refund_pending_while_portone_is_down(owner, staff, paid, portone):
    refund = _left_pending(paid, staff=staff, amount=3000, portone_cancels=True)
    portone.fail_with = 503
    before = _failures()

    assert _sync() == "checked=1 succeeded=0 reversed=0 still_pending=0 errors=1"

    assert _failures() == before + 1
    refund.refresh_from_db()
    assert refund.status == "pending" and credits_balance(user=owner) == 80
    # PortOne back: the next run settles it.
    portone.fail_with = None
    assert _sync() == "checked=1 succeeded=1 reversed=0 still_pending=0 errors=0"
    assert _failures() == before + 1


@pytest.mark.django_db(transaction=True)
def test_the_actor_settles_pending_refunds(owner, staff, paid, portone, broker, worker):
    from billing.tasks import sync_pending_refunds

    refund = _left_pending(paid, staff=staff, amount=3000, portone_cancels=False)

    sync_pending_refunds.send()
    broker.join(sync_pending_refunds.queue_name)
    worker.join()

    refund.refresh_from_db()
    assert refund.status == "failed" and credits_balance(user=owner) == 100


@pytest.mark.django_db
def test_sync_billing_enqueues_both_re_checks(broker):
    with recording_enqueues(broker) as enqueued:  # any broker: the StubBroker here, Redis in CI's second pass
        call_command("sync_billing", stdout=StringIO())
    assert sorted(enqueued.actor_names) == ["sync_pending_payments", "sync_pending_refunds"]


# --- Real processes and real row locks (PostgreSQL) ------------------------------------------------


def _database_url(connection) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _refund_in_a_process(*, payment, staff, log: Path) -> subprocess.Popen:
    """`manage.py shell -c` refunding 3,000 of the payment with the test's database and the
    loopback PortOne, as the admin's refund view does."""
    from django.conf import settings
    from django.db import connection

    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTONE_")}
    env.update(
        DATABASE_URL=_database_url(connection),
        PORTONE_API_BASE_URL=settings.PORTONE_API_BASE_URL,
        PORTONE_STORE_ID=settings.PORTONE_STORE_ID,
        PORTONE_CHANNEL_KEY=settings.PORTONE_CHANNEL_KEY,
        PORTONE_API_SECRET=settings.PORTONE_API_SECRET,
        PORTONE_WEBHOOK_SECRET=settings.PORTONE_WEBHOOK_SECRET,
    )
    code = (
        "from billing.models import Payment; from accounts.models import User; "
        "from billing.services import payment_refund; "
        f"payment_refund(payment=Payment.objects.get(pk='{payment.pk}'), amount=3000, "
        f"reason='Never rendered', staff=User.objects.get(pk='{staff.pk}'))"
    )
    return subprocess.Popen([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("portone_cancels", [True, False], ids=["portone-cancelled", "portone-refused"])
def test_a_refund_whose_process_was_killed_waiting_for_portone_is_settled_once(
        owner, staff, paid, portone, tmp_path, portone_cancels):
    # Given a refund process SIGKILLed after its ledger entry, while PortOne holds its cancel request
    hold = portone.hold_next_cancel()
    process = _refund_in_a_process(payment=paid, staff=staff, log=tmp_path / "refund.log")
    try:
        assert hold.arrived.wait(timeout=60), (tmp_path / "refund.log").read_text()[-3000:]
        refund = PaymentRefund.objects.get()
        assert refund.status == "pending" and credits_balance(user=owner) == 80
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    # and PortOne deciding afterwards: it cancels, or the PG refuses
    if not portone_cancels:
        portone.fail_next_cancel()
    hold.release.set()
    assert hold.decided.wait(timeout=10)
    assert bool(portone.get(paid.payment_id)["cancellations"]) == portone_cancels
    refund.refresh_from_db()
    assert refund.status == "pending"  # nobody recorded PortOne's answer

    # When sync_refunds runs (twice)
    PaymentRefund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    first, second = _sync(), _sync()

    # Then the refund is settled once, by what PortOne did
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert second == "checked=0 succeeded=0 reversed=0 still_pending=0 errors=0"
    if portone_cancels:
        assert first == "checked=1 succeeded=1 reversed=0 still_pending=0 errors=0"
        assert refund.status == "succeeded" and paid.cancelled_amount == 3000
        assert credits_balance(user=owner) == 80
        assert _kinds(owner) == ["payment_refund", "purchase"]
    else:
        assert first == "checked=1 succeeded=0 reversed=1 still_pending=0 errors=0"
        assert refund.status == "failed" and paid.cancelled_amount == 0
        assert credits_balance(user=owner) == 100
        assert _kinds(owner) == ["adjustment", "payment_refund", "purchase"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sync_runs_settle_a_refund_once(owner, staff, paid, portone):
    import threading

    from billing.services import refunds_sync_pending

    _left_pending(paid, staff=staff, amount=3000, portone_cancels=False)
    barrier = threading.Barrier(2)
    results: list = []

    def run():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            results.append(refunds_sync_pending())
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r["reversed"] for r in results) == [0, 1]
    assert credits_balance(user=owner) == 100
    assert _kinds(owner) == ["adjustment", "payment_refund", "purchase"]
