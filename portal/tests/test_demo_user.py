"""`manage.py ensure_demo_user`: the demo account, with the sign-up bonus when it is new."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from billing.selectors import credits_balance

pytestmark = pytest.mark.django_db


def _run() -> str:
    out = StringIO()
    call_command("ensure_demo_user", stdout=out)
    return out.getvalue()


def test_it_creates_a_verified_demo_user_and_prints_the_password(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    output = _run()
    assert "demo@onevoice.local" in output
    assert "onevoice-demo" in output
    user = User.objects.get(email="demo@onevoice.local")
    assert user.email_verified and user.is_active
    assert user.check_password("onevoice-demo")


def test_it_is_idempotent_and_resets_the_password(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "first-secret")
    _run()
    user = User.objects.get(email="demo@onevoice.local")
    user.set_password("changed by someone")
    user.save()
    monkeypatch.setenv("DEMO_PASSWORD", "second-secret")
    output = _run()
    assert "second-secret" in output
    assert User.objects.filter(email__iexact="demo@onevoice.local").count() == 1
    assert User.objects.get(email="demo@onevoice.local").check_password("second-secret")


def test_the_demo_user_can_log_in_through_the_api(api_client, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    _run()
    response = api_client.post("/api/v1/auth/token", {"email": "demo@onevoice.local", "password": "onevoice-demo"})
    assert response.status_code == 200


def test_a_new_demo_user_gets_the_signup_bonus_once(monkeypatch, settings):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    _run()
    _run()
    assert credits_balance(user=User.objects.get(email="demo@onevoice.local")) == settings.SIGNUP_BONUS_CREDITS
