"""Scoped throttles on login, counted per client address (behind NUM_PROXIES proxies)."""

from __future__ import annotations

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

LOGIN_RATE = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])


def _login(client, owner, password, **headers):
    return client.post("/api/v1/auth/token", {"email": owner.email, "password": password}, **headers)


def test_repeated_failed_logins_get_429(api_client, owner, password):
    for _ in range(LOGIN_RATE):
        assert _login(api_client, owner, "wrong guess").status_code == 401
    response = _login(api_client, owner, "wrong guess")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    # Even the right password waits now: the guesser cannot tell which try was right.
    assert _login(api_client, owner, password).status_code == 429


def test_the_login_page_shares_the_api_login_budget(api_client, client, owner):
    for _ in range(LOGIN_RATE):
        _login(api_client, owner, "wrong guess")
    response = client.post("/login", {"username": owner.email, "password": "wrong guess"})
    assert response.status_code == 429


def test_behind_one_proxy_two_clients_are_throttled_separately(api_client, owner, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    first = {"HTTP_X_FORWARDED_FOR": "203.0.113.7", "REMOTE_ADDR": "10.0.0.2"}
    second = {"HTTP_X_FORWARDED_FOR": "198.51.100.9", "REMOTE_ADDR": "10.0.0.2"}
    for _ in range(LOGIN_RATE):
        _login(api_client, owner, "wrong guess", **first)
    assert _login(api_client, owner, "wrong guess", **first).status_code == 429
    assert _login(api_client, owner, "wrong guess", **second).status_code == 401


def test_a_spoofed_forwarded_for_header_does_not_escape_the_proxy_count(api_client, owner, settings):
    # The client prepends its own fake address; with one proxy only the address the proxy
    # appended (the last one) counts.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for n in range(LOGIN_RATE):
        _login(api_client, owner, "wrong guess", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.7")
    response = _login(api_client, owner, "wrong guess", HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7")
    assert response.status_code == 429


def test_without_proxies_the_forwarded_for_header_is_ignored(api_client, owner):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    for n in range(LOGIN_RATE):
        _login(api_client, owner, "wrong guess", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert _login(api_client, owner, "wrong guess", HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 429


def test_registration_is_throttled(api_client):
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["register"].split("/")[0])
    for n in range(rate):
        api_client.post("/api/v1/auth/register", {"email": f"u{n}@example.com", "password": "pw"})
    response = api_client.post(
        "/api/v1/auth/register", {"email": "late@example.com", "password": "late bloomer 7 rose"}
    )
    assert response.status_code == 429
