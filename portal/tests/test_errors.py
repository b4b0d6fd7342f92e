"""The API's one error shape, {"detail", "code"}, on 400, 404, 405, 429 and 500, DEBUG on or off."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("portal.tests.urls")]


def _shape(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert "X-Request-ID" in response
    return body


@pytest.fixture
def quiet_client() -> Client:
    # The test client re-raises view exceptions by default; we want to see the 500 response.
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_api_path_is_404_in_the_error_shape(client, settings, debug):
    settings.DEBUG = debug
    _shape(client.get("/api/v1/no/such/thing"), 404, "not_found")
    _shape(client.get("/api/nothing-here"), 404, "not_found")


def test_an_unknown_page_is_an_html_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("debug", [False, True])
def test_a_wrong_method_is_405_in_the_error_shape(client, settings, debug, owner):
    settings.DEBUG = debug
    client.force_login(owner)
    _shape(client.put("/api/v1/me", {}, content_type="application/json"), 405, "method_not_allowed")  # DRF
    response = client.post("/api/v1/test/plain-get-only")  # a plain Django view
    _shape(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/v1/test/plain-boom", "/api/v1/test/drf-boom"])
def test_an_unhandled_api_error_is_500_in_the_error_shape(quiet_client, settings, debug, path):
    settings.DEBUG = debug
    body = _shape(quiet_client.get(path), 500, "server_error")
    assert "Boom" not in body["detail"]  # no internals leak to the client


def test_an_unhandled_page_error_is_the_html_500_page(quiet_client):
    response = quiet_client.get("/test/page-boom")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_throttling_is_429_in_the_error_shape(client, settings):
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    for _ in range(rate):
        client.post("/api/v1/auth/token", {"email": "x@example.com", "password": "y"}, content_type="application/json")
    response = client.post(
        "/api/v1/auth/token", {"email": "x@example.com", "password": "y"}, content_type="application/json"
    )
    _shape(response, 429, "throttled")
    assert "Retry-After" in response


def test_malformed_json_is_400_in_the_error_shape(client):
    response = client.post("/api/v1/auth/token", "{not json", content_type="application/json")
    _shape(response, 400, "invalid_json")


def test_a_validation_error_names_the_fields(client):
    response = client.post("/api/v1/auth/register", {"email": "nope"}, content_type="application/json")
    body = _shape(response, 400, "invalid")
    assert set(body["errors"]) == {"email", "password"}
    assert all(isinstance(m, list) and m for m in body["errors"].values())


def test_unauthenticated_is_401_in_the_error_shape(client):
    _shape(client.get("/api/v1/me"), 401, "not_authenticated")
