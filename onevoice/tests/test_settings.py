"""Start-up refuses bad settings; production settings pass `check --deploy`; the schema is clean."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bad_debug_value_stops_start_up_naming_the_variable():
    result = _manage("check", DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr
    assert "maybe" in result.stderr


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="example.com",
        ONEVOICE_DATA_DIR=str(tmp_path),
        BILLING_KEY_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _manage("check", DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="example.com", ONEVOICE_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_the_schema_has_no_warnings_for_the_accounts_endpoints(client):
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    messages = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    mine = [m for m in messages if "accounts" in m or "/api/v1/auth" in m or "/api/v1/me" in m]
    assert mine == []
    paths = response.json()["paths"]
    for path in (
        "/api/v1/auth/register",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/verify-email/resend",
        "/api/v1/auth/token",
        "/api/v1/auth/token/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/me",
        "/api/v1/me/password",
    ):
        assert path in paths
    assert set(paths["/api/v1/me"]) == {"get", "patch", "delete"}
    assert "requestBody" in paths["/api/v1/me"]["delete"]
