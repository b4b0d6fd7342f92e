"""Two clients presenting the same refresh token at the same moment: only one gets a new pair."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from testing.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _refresh_twice_at_once(token: str) -> list[int]:
    return sorted(race([lambda: APIClient().post("/api/v1/auth/token/refresh", {"refresh": token}).status_code] * 2))


def test_a_refresh_token_used_twice_at_once_rotates_only_once(owner):
    # Several rounds: one lucky interleaving must not hide a missing lock.
    for _ in range(5):
        token = str(RefreshToken.for_user(owner))
        assert _refresh_twice_at_once(token) == [200, 401]
