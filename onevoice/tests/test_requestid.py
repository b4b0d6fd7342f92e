"""Request ids: every response carries X-Request-ID and every log line is JSON with that id."""

from __future__ import annotations

import io
import json
import logging

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/v1/me", "/api/v1/nowhere", "/login", "/no-such-page"])
def test_every_response_has_a_request_id(client, path):
    response = client.get(path)
    assert len(response["X-Request-ID"]) >= 16


def test_each_request_gets_its_own_id(client):
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


def test_a_safe_incoming_id_is_kept(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234.abcd")
    assert response["X-Request-ID"] == "lb-1234.abcd"


def test_an_unsafe_incoming_id_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nInjected: yes")
    assert response["X-Request-ID"] != "bad id\nInjected: yes"
    assert " " not in response["X-Request-ID"]


@pytest.fixture
def log_lines():
    """What the configured console handler writes, captured from the real logging set-up."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [line for line in buffer.getvalue().splitlines() if line.strip()]
    finally:
        handler.setStream(previous)


def test_log_lines_are_json_with_the_request_id(client, log_lines):
    response = client.get("/api/v1/not-a-route")  # Django logs "Not Found: ..." for it
    lines = log_lines()
    assert lines
    records = [json.loads(line) for line in lines]  # every line is JSON
    mine = [r for r in records if "/api/v1/not-a-route" in r["message"]]
    assert mine
    assert all(r["request_id"] == response["X-Request-ID"] for r in mine)
    assert {"time", "level", "logger", "message"} <= set(mine[0])


def test_a_line_logged_inside_a_view_carries_the_request_id(client, log_lines):
    # The accounts service logs this while the view runs (the context variable path).
    response = client.post(
        "/api/v1/auth/password-reset", {"email": "ghost@example.com"}, content_type="application/json"
    )
    assert response.status_code == 202
    records = [json.loads(line) for line in log_lines()]
    inside = [r for r in records if r["logger"] == "accounts.services"]
    assert inside
    assert inside[0]["request_id"] == response["X-Request-ID"]
