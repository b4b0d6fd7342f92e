"""Two clients presenting the same refresh token at the same moment: only one gets a new pair."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(token: str) -> list[int]:
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def refresh():
        try:
            barrier.wait()
            statuses.append(APIClient().post("/api/v1/auth/token/refresh", {"refresh": token}).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_a_refresh_token_used_twice_at_once_rotates_only_once(owner):
    # Several rounds: one lucky interleaving must not hide a missing lock.
    for _ in range(5):
        token = str(RefreshToken.for_user(owner))
        assert _race(token) == [200, 401]
