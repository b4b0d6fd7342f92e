"""Rotating DJANGO_SECRET_KEY with the old key in DJANGO_SECRET_KEY_FALLBACKS keeps what the old key
signed working (docs/deployment.md, "Rotating secrets")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = "o" * 50 + "-old-key", "n" * 50 + "-new-key"


def _django(code: str, **env) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SECRET_KEY_FALLBACKS"}
    environment.update(DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="localhost", **env)
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]  # shell prints what it imported first


def test_a_link_signed_with_the_old_key_still_opens_after_a_rotation_with_the_old_key_kept_as_fallback():
    signed = _django("from django.core import signing; print(signing.dumps('video-42'))", DJANGO_SECRET_KEY=OLD)
    check = f"from django.core import signing\ntry:\n print(signing.loads({signed!r}))\nexcept signing.BadSignature:\n print('refused')"
    assert _django(check, DJANGO_SECRET_KEY=NEW) == "refused"
    assert _django(check, DJANGO_SECRET_KEY=NEW, DJANGO_SECRET_KEY_FALLBACKS=OLD) == "video-42"
