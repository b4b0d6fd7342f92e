"""Auth endpoint cost with the production password hasher (PBKDF2), in process.

    .venv/bin/python bench/auth.py             # 10 logins, 50 refreshes, 200 /me reads
    .venv/bin/python bench/auth.py --logins 20

Login is deliberately slow (the hasher is the brute-force defence), so it sets how many logins
one web worker can take per second; refresh and /me should stay cheap. Uses a fresh temporary
data folder and SQLite database; prints the mean and worst milliseconds per request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["ONEVOICE_DATA_DIR"] = tempfile.mkdtemp(prefix="onevoice-bench-auth-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")
os.environ["LOG_LEVEL"] = "ERROR"
os.environ["THROTTLE_LOGIN"] = "100000/min"  # measure the work, not the throttle
os.environ["THROTTLE_ANON"] = "100000/min"
os.environ["THROTTLE_USER"] = "100000/min"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

PASSWORD = "bench mark 42 lighthouse"


def timed(label: str, n: int, call) -> None:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    print(f"{label:<28} n={n:<4} mean {statistics.mean(samples):8.1f} ms   worst {max(samples):8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=10)
    parser.add_argument("--refreshes", type=int, default=50)
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    from accounts.services import user_register

    user = user_register(email="bench@example.com", password=PASSWORD)
    client = APIClient()

    def login():
        response = client.post("/api/v1/auth/token", {"email": user.email, "password": PASSWORD}, format="json")
        assert response.status_code == 200, response.content

    tokens = client.post("/api/v1/auth/token", {"email": user.email, "password": PASSWORD}, format="json").json()
    state = {"refresh": tokens["refresh"]}

    def refresh():
        response = client.post("/api/v1/auth/token/refresh", {"refresh": state["refresh"]}, format="json")
        assert response.status_code == 200, response.content
        state["refresh"] = response.json()["refresh"]

    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    def me():
        assert reader.get("/api/v1/me").status_code == 200

    timed("POST /auth/token (PBKDF2)", args.logins, login)
    timed("POST /auth/token/refresh", args.refreshes, refresh)
    timed("GET /me", args.reads, me)


if __name__ == "__main__":
    main()
