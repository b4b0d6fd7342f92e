"""/healthz and /readyz (API.md "Operations")."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db


def test_healthz_answers_200(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_part_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"database": "ok", "broker": "ok", "storage": "ok"}


def test_readyz_reports_a_broken_database_as_503(client):
    def refuse(execute, sql, params, many, context):
        # Django's documented hook at the driver boundary: every query fails like a dead server.
        raise OperationalError("could not connect to server: Connection refused")

    with connection.execute_wrapper(refuse):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"].startswith("error")
    assert body["broker"] == "ok" and body["storage"] == "ok"
    assert body["code"] == "not_ready"
    assert "database" in body["detail"]


def test_healthz_stays_up_when_the_database_is_down(client):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("down")

    with connection.execute_wrapper(refuse):
        assert client.get("/healthz").status_code == 200
