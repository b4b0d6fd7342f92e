"""Billing keys at rest: encrypted with the configured Fernet keys, rotatable, and never with the
published development key in production (`check --deploy`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from billing.billing_keys import billing_key_decrypt, billing_key_encrypt

ROOT = Path(__file__).resolve().parents[2]


def test_a_key_encrypted_before_a_rotation_still_decrypts_and_new_ones_use_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.BILLING_KEY_ENCRYPTION_KEYS = [old]
    token = billing_key_encrypt("billing-key-1")
    assert "billing-key-1" not in token

    settings.BILLING_KEY_ENCRYPTION_KEYS = [new, old]
    assert billing_key_decrypt(token) == "billing-key-1"
    assert Fernet(new.encode()).decrypt(billing_key_encrypt("billing-key-2").encode()) == b"billing-key-2"

    settings.BILLING_KEY_ENCRYPTION_KEYS = [new]
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        billing_key_decrypt(token)


def _check_deploy(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_", "BILLING_KEY"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"], cwd=ROOT,
        env={**clean, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 60, "DJANGO_ALLOWED_HOSTS": "example.com", **env},
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("keys", "error"), [("", "billing.E002"), ("not-a-fernet-key", "billing.E003")])
def test_check_deploy_refuses_the_development_key_and_a_malformed_one(tmp_path, keys, error):
    result = _check_deploy(BILLING_KEY_ENCRYPTION_KEYS=keys, ONEVOICE_DATA_DIR=str(tmp_path))

    assert result.returncode != 0 and error in result.stdout + result.stderr
