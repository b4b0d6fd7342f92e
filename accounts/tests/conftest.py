"""Fixtures for the accounts tests."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory

STRONG_PASSWORD = "violet tangerine 7 harbour"


@pytest.fixture
def strong_password() -> str:
    return STRONG_PASSWORD


@pytest.fixture
def unverified(db):
    return UserFactory(email="dora@example.com", password=STRONG_PASSWORD, name="Dora", unverified=True)


@pytest.fixture
def tokens(api_client, owner, password) -> dict:
    """A real access/refresh pair for `owner`, obtained through the login endpoint."""
    response = api_client.post("/api/v1/auth/token", {"email": owner.email, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def jwt_client(tokens) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client
