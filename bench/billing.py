"""Credit ledger and payment completion cost, in process, against the loopback PortOne server;
and plan renewals by one and by two worker processes.

    .venv/bin/python bench/billing.py                    # 500 reserves, 200 payments, 4 threads
    DATABASE_URL=postgres://... .venv/bin/python bench/billing.py --threads 8
    DATABASE_URL=postgres://... .venv/bin/python bench/billing.py --renewals 10000 --latency-ms 50

--renewals N makes N subscriptions due at once and renews them against the loopback PortOne
server answering each request after --latency-ms: first with one worker process, then (the next
month) with two, each running --renewal-threads threads that call `subscription_renew` as the
`renew_subscription` actor does (the due ids split between the processes as the queue would split
the messages). It prints the time and charges per second, and checks that PortOne holds exactly
one paid charge per subscription and month. Use PostgreSQL: SQLite serialises every writer.

Prints per-operation mean and worst milliseconds for `credits_reserve` (one user, sequential),
concurrent reserves by several threads on one account (they queue on the account row lock), and
prepare + complete of a payment through the API with PortOne answering over loopback HTTP.
Uses a fresh temporary data folder (SQLite unless DATABASE_URL is set).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The renewal worker processes this bench starts share its data folder (its SQLite file).
os.environ["ONEVOICE_DATA_DIR"] = os.environ.get("BENCH_BILLING_DATA_DIR") or tempfile.mkdtemp(
    prefix="onevoice-bench-billing-")
os.environ["BENCH_BILLING_DATA_DIR"] = os.environ["ONEVOICE_DATA_DIR"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")
os.environ["LOG_LEVEL"] = "ERROR"
os.environ["THROTTLE_USER"] = "1000000/min"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from testing.portone_server import FakePortOne  # noqa: E402


def report(label: str, samples: list[float]) -> None:
    print(
        f"{label:<44} n={len(samples):<5} mean {statistics.mean(samples):7.2f} ms"
        f"   worst {max(samples):7.2f} ms"
    )


def renewal_child(now_iso: str, ids_file: str, part: int, parts: int, threads: int) -> None:
    """One worker process: renew its share of the due ids (as the queue would hand out their
    messages) at `now_iso` with `threads` threads."""
    import queue

    from django.utils.dateparse import parse_datetime

    from billing.services import subscription_renew

    now = parse_datetime(now_iso)
    todo: queue.Queue = queue.Queue()
    for index, pk in enumerate(Path(ids_file).read_text().split()):
        if index % parts == part:
            todo.put(pk)
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def work():
        try:
            while True:
                try:
                    pk = todo.get_nowait()
                except queue.Empty:
                    return
                outcome = subscription_renew(subscription_id=pk, now=now)
                with lock:
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
        finally:
            connection.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    print(" ".join(f"{k}={v}" for k, v in sorted(outcomes.items())), flush=True)


def bench_renewals(*, count: int, latency_ms: float, threads: int) -> None:
    import subprocess
    from datetime import UTC, datetime, timedelta

    from django.contrib.auth import get_user_model

    from billing.billing_keys import billing_key_encrypt
    from billing.models import Payment, Plan, Subscription
    from billing.services import subscriptions_due
    from billing.services.plans import period_bounds

    fake = FakePortOne(api_secret="bench-renewal-secret", store_id="store-bench")
    base_url = fake.start()
    os.environ.update(PORTONE_API_BASE_URL=base_url, PORTONE_STORE_ID=fake.store_id,
                      PORTONE_CHANNEL_KEY="channel-key-bench", PORTONE_API_SECRET=fake.api_secret)
    plan = Plan.objects.create(name=f"Bench {uuid.uuid4().hex[:6]}", credits_per_period=100, price=10_000)
    tag = uuid.uuid4().hex[:8]
    users = get_user_model().objects.bulk_create(
        [get_user_model()(email=f"renew-{tag}-{i}@example.com", password="!") for i in range(count)],
        batch_size=1000)
    anchor = datetime.now(UTC) - timedelta(days=45)
    start, end = period_bounds(anchor=anchor, number=1)
    subscriptions = []
    for user in users:
        key = fake.issue_billing_key(customer_id=str(user.pk))
        subscriptions.append(Subscription(
            user=user, plan=plan, status="active", billing_key_encrypted=billing_key_encrypt(key),
            anchor_at=anchor, period_number=1, current_period_start=start, current_period_end=end,
            next_attempt_at=end))
    Subscription.objects.bulk_create(subscriptions, batch_size=1000)
    fake.latency = latency_ms / 1000
    print(f"{count} subscriptions due; PortOne answers after {latency_ms:g} ms; {threads} threads per process")

    for month, processes in ((2, 1), (3, 2)):
        now = period_bounds(anchor=anchor, number=month)[0]
        ids_file = Path(os.environ["ONEVOICE_DATA_DIR"]) / f"due-{month}.txt"
        ids_file.write_text("\n".join(str(pk) for pk in subscriptions_due(now=now).filter(plan=plan)))
        env = {**os.environ}
        started = time.perf_counter()
        children = [subprocess.Popen([sys.executable, __file__, "--renewal-child", now.isoformat(), str(ids_file),
                                      str(part), str(processes), str(threads)],
                                     env=env, stdout=subprocess.PIPE, text=True)
                    for part in range(processes)]
        results = [child.communicate()[0].strip() for child in children]
        seconds = time.perf_counter() - started
        paid = Payment.objects.filter(subscription__plan=plan, period=month, status="paid").count()
        print(f"month {month}: {processes} worker process(es): {seconds:7.1f} s, {paid / seconds:6.1f} charges/s"
              f"   [{'; '.join(results)}]")
        charges: dict[str, int] = {}  # subscription -> PortOne's paid charges for this month
        for payment in fake.charges():
            _, subscription_hex, period, _attempt = payment["id"].split("-")
            if period == str(month):
                charges[subscription_hex] = charges.get(subscription_hex, 0) + 1
        once = sum(1 for n in charges.values() if n == 1)
        print(f"{'':<10} charged exactly once: {once} of {count} subscriptions"
              f" (more than once: {sum(1 for n in charges.values() if n > 1)}, never: {count - len(charges)})")
    fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reserves", type=int, default=500)
    parser.add_argument("--payments", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--renewals", type=int, default=0, help="Subscriptions to renew (0: skip).")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--renewal-threads", type=int, default=8)
    parser.add_argument("--renewal-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.renewal_child:
        now_iso, ids_file, part, parts, threads = args.renewal_child
        renewal_child(now_iso, ids_file, int(part), int(parts), int(threads))
        return

    if connection.vendor == "postgresql":
        print("PostgreSQL: use a throwaway database, this one gets migrated and written.")
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from billing.models import CreditPack
    from billing.selectors import credits_balance
    from billing.services import credits_grant, credits_reserve

    users = get_user_model().objects
    user = users.create_user(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", password=None)
    staff = users.create_user(email=f"staff-{uuid.uuid4().hex[:8]}@example.com", password=None, is_staff=True)
    credits_grant(
        user=user, amount=10**6, staff=staff, reason="bench", idempotency_key=f"bench:{uuid.uuid4()}"
    )

    samples = []
    for _ in range(args.reserves):
        start = time.perf_counter()
        credits_reserve(user=user, job_id=uuid.uuid4(), attempt=1, amount=1)
        samples.append((time.perf_counter() - start) * 1000)
    report("credits_reserve, sequential", samples)

    per_thread = args.reserves // args.threads
    lock = threading.Lock()
    threaded: list[float] = []

    def spend():
        mine = []
        try:
            for _ in range(per_thread):
                start = time.perf_counter()
                credits_reserve(user=user, job_id=uuid.uuid4(), attempt=1, amount=1)
                mine.append((time.perf_counter() - start) * 1000)
        finally:
            connection.close()
        with lock:
            threaded.extend(mine)

    wall = time.perf_counter()
    workers = [threading.Thread(target=spend) for _ in range(args.threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - wall
    report(f"credits_reserve, {args.threads} threads on one account", threaded)
    print(f"{'':<44} {len(threaded) / wall:7.0f} reserves/s on one account")

    fake = FakePortOne(api_secret="bench-secret", store_id="store-bench")
    settings.PORTONE_API_BASE_URL = fake.start()
    settings.PORTONE_STORE_ID = fake.store_id
    settings.PORTONE_CHANNEL_KEY = "channel-key-bench"
    settings.PORTONE_API_SECRET = fake.api_secret
    pack = CreditPack.objects.filter(active=True).order_by("price").first()
    client = APIClient()
    client.force_authenticate(user)
    before = credits_balance(user=user)
    prepare, complete = [], []
    for _ in range(args.payments):
        start = time.perf_counter()
        order = client.post("/api/v1/billing/payments", {"pack_id": str(pack.id)}, format="json").json()
        prepare.append((time.perf_counter() - start) * 1000)
        fake.set_paid(order["payment_id"], amount=pack.price)
        start = time.perf_counter()
        response = client.post(f"/api/v1/billing/payments/{order['payment_id']}/complete")
        complete.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200 and response.json()["status"] == "paid", response.content
    fake.stop()
    report("POST /billing/payments (prepare)", prepare)
    report("POST .../complete (PortOne over loopback)", complete)
    assert credits_balance(user=user) == before + args.payments * pack.credits
    if args.renewals:
        bench_renewals(count=args.renewals, latency_ms=args.latency_ms, threads=args.renewal_threads)


if __name__ == "__main__":
    main()
