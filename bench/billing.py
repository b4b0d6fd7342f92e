"""Credit ledger and payment completion cost, in process, against the loopback PortOne server.

    .venv/bin/python bench/billing.py                    # 500 reserves, 200 payments, 4 threads
    DATABASE_URL=postgres://... .venv/bin/python bench/billing.py --threads 8

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
os.environ["ONEVOICE_DATA_DIR"] = tempfile.mkdtemp(prefix="onevoice-bench-billing-")
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reserves", type=int, default=500)
    parser.add_argument("--payments", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
