"""Structured logs (onevoice/logs.py): request ids in and out, JSON lines carrying them, routes
instead of paths. The journey (a job's story under its request id, no secret logged) is in
portal/tests/test_logs_journey.py."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid

import pytest

from onevoice.logs import logging_config

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/v1/me", "/api/v1/nowhere", "/login", "/no-such-page"])
def test_every_response_has_a_request_id(client, path):
    response = client.get(path)
    assert len(response["X-Request-ID"]) >= 16


def test_each_request_gets_its_own_id(client):
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


def test_an_incoming_id_is_kept_only_from_a_trusted_proxy(client, settings):
    settings.NUM_PROXIES = 0  # nobody in front: a client could forge it
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234.abcd")["X-Request-ID"] != "lb-1234.abcd"
    settings.NUM_PROXIES = 1
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1234.abcd")["X-Request-ID"] == "lb-1234.abcd"


def test_an_unsafe_incoming_id_is_replaced_even_from_a_proxy(client, settings):
    settings.NUM_PROXIES = 1
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nInjected: yes")
    assert response["X-Request-ID"] != "bad id\nInjected: yes"
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.fixture
def json_logs():
    """The production set-up (JSON lines) on a handler of the root logger, read back as records."""
    from logging.config import DictConfigurator

    config = logging_config(level="INFO", json_lines=True)
    stream = io.StringIO()
    formatter = DictConfigurator(config).configure_formatter(config["formatters"]["structured"])
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)


def test_lines_are_json_with_the_request_id_user_and_route_never_the_path(owner_client, owner, json_logs):
    job_id = uuid.uuid4()
    response = owner_client.get(f"/api/v1/jobs/{job_id}?secret=query")
    assert response.status_code == 404
    records = json_logs()
    finished = [r for r in records if r.get("message") == "request_finished"]
    assert finished, records
    line = finished[-1]
    assert line["request_id"] == response["X-Request-ID"]
    # A client error finishes at INFO; the code that refused it logs its own warning where it matters.
    assert line["user_id"] == str(owner.pk) and line["code"] == 404 and line["level"] == "info"
    assert line["request"] == "GET /api/v1/jobs/<uuid:job_id>"
    assert {"time", "logger"} <= set(line)
    text = json.dumps(records)
    assert str(job_id) not in text and "secret=query" not in text


def test_a_line_logged_inside_a_view_carries_the_request_id(client, json_logs):
    response = client.post(
        "/api/v1/auth/password-reset", {"email": "ghost@example.com"}, content_type="application/json"
    )
    assert response.status_code == 202
    inside = [r for r in json_logs() if r["logger"] == "accounts.services"]
    assert inside
    assert inside[0]["request_id"] == response["X-Request-ID"]
