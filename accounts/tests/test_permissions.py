"""Gates for paid work: EmailVerifiedForPaidWork (DRF) and user_require_verified (services)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from accounts.errors import EmailUnverified
from accounts.permissions import EmailVerifiedForPaidWork
from accounts.selectors import user_must_verify_email
from accounts.services import user_require_verified

pytestmark = pytest.mark.django_db


class PaidWorkApi(APIView):
    permission_classes = [IsAuthenticated, EmailVerifiedForPaidWork]

    def post(self, request):
        return Response({"started": True}, status=201)


def _call(user=None):
    request = APIRequestFactory().post("/api/v1/paid-work", {}, format="json")
    if user is not None:
        force_authenticate(request, user=user)
    return PaidWorkApi.as_view()(request)


def test_an_unverified_user_gets_403_email_unverified_when_required(settings, unverified):
    settings.REQUIRE_EMAIL_VERIFICATION = True
    response = _call(unverified)
    assert response.status_code == 403
    assert response.data["code"] == "email_unverified"
    assert response.data["detail"]


def test_a_verified_user_passes_when_required(settings, owner):
    settings.REQUIRE_EMAIL_VERIFICATION = True
    assert _call(owner).status_code == 201


def test_an_unverified_user_passes_when_not_required(settings, unverified):
    settings.REQUIRE_EMAIL_VERIFICATION = False
    assert _call(unverified).status_code == 201


def test_an_anonymous_caller_gets_401(settings):
    settings.REQUIRE_EMAIL_VERIFICATION = True
    assert _call().status_code == 401


def test_the_service_gate_raises_403_email_unverified(settings, unverified, owner):
    settings.REQUIRE_EMAIL_VERIFICATION = True
    with pytest.raises(EmailUnverified) as caught:
        user_require_verified(user=unverified)
    assert (caught.value.status_code, caught.value.code) == (403, "email_unverified")
    user_require_verified(user=owner)  # verified: no error


def test_the_service_gate_is_open_when_not_required(settings, unverified):
    # Given an unverified user the gate refuses while verification is required
    settings.REQUIRE_EMAIL_VERIFICATION = True
    with pytest.raises(EmailUnverified):
        user_require_verified(user=unverified)

    # When verification is no longer required
    settings.REQUIRE_EMAIL_VERIFICATION = False

    # Then the same user passes the gate, and the pages no longer ask them to verify first
    assert user_require_verified(user=unverified) is None
    assert user_must_verify_email(user=unverified) is False
    assert unverified.email_verified_at is None  # still unverified: the setting, not the user, changed


def test_verification_is_required_by_default_only_when_debug_is_off():
    code = "import django; django.setup(); from django.conf import settings; print(settings.REQUIRE_EMAIL_VERIFICATION)"
    base = {"DJANGO_SETTINGS_MODULE": "onevoice.settings", "DJANGO_SECRET_KEY": "x" * 60}
    env = {k: v for k, v in os.environ.items() if k != "REQUIRE_EMAIL_VERIFICATION"}
    on = subprocess.run(
        [sys.executable, "-c", code], env={**env, **base, "DJANGO_DEBUG": "0"}, capture_output=True, text=True
    )
    off = subprocess.run(
        [sys.executable, "-c", code], env={**env, **base, "DJANGO_DEBUG": "1"}, capture_output=True, text=True
    )
    assert on.stdout.strip() == "True", on.stderr
    assert off.stdout.strip() == "False", off.stderr
