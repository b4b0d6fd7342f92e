"""API.md "Auth and account": register, verify, log in, refresh, log out, password reset."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import signing
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tokens import email_verification_token_make, password_reset_token_make

pytestmark = pytest.mark.django_db

USER_FIELDS = {"id", "email", "name", "locale", "email_verified", "credits", "date_joined"}


def _signed_in_the_past(monkeypatch, seconds: int):
    """Make django.core.signing stamp tokens `seconds` ago (the clock lives in Django, not in us)."""
    past = signing.b62_encode(int(timezone.now().timestamp()) - seconds)
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: past)


# --- register ---------------------------------------------------------------------------------


def test_it_registers_a_user_and_returns_it(api_client, strong_password, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(
            "/api/v1/auth/register", {"email": "new@Example.COM", "password": strong_password, "name": "Nia"}
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == "new@example.com"  # the domain is normalised
    assert body["name"] == "Nia"
    assert body["email_verified"] is False
    assert body["credits"] == settings.SIGNUP_BONUS_CREDITS
    user = User.objects.get(id=body["id"])
    assert user.check_password(strong_password)
    assert len(callbacks) == 1  # the verification email waits for the commit


def test_an_email_taken_in_another_letter_case_gets_the_same_answer_and_no_account(api_client, owner,
                                                                                     strong_password):
    # Sign-up does not tell whether an address has an account (test_sessions_end has the rest).
    response = api_client.post("/api/v1/auth/register", {"email": owner.email.upper(), "password": strong_password})
    assert response.status_code == 201
    assert set(response.json()) == USER_FIELDS
    assert User.objects.filter(email__iexact=owner.email).count() == 1


@pytest.mark.parametrize(
    "password, reason",
    [("password", "too common"), ("short1", "too short"), ("83920174655", "entirely numeric")],
)
def test_it_refuses_a_weak_password_with_reasons(api_client, password, reason):
    response = api_client.post("/api/v1/auth/register", {"email": "weak@example.com", "password": password})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "weak_password"
    assert any(reason in message for message in body["errors"]["password"])
    assert not User.objects.filter(email="weak@example.com").exists()


def test_it_refuses_a_password_like_the_email(api_client):
    response = api_client.post(
        "/api/v1/auth/register", {"email": "marguerite.dupont@example.com", "password": "marguerite.dupont"}
    )
    assert response.status_code == 400
    assert any("similar" in m for m in response.json()["errors"]["password"])


def test_it_requires_email_and_password(api_client):
    response = api_client.post("/api/v1/auth/register", {})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"email", "password"}


def test_it_refuses_an_invalid_email(api_client, strong_password):
    response = api_client.post("/api/v1/auth/register", {"email": "not-an-email", "password": strong_password})
    assert response.status_code == 400
    assert "email" in response.json()["errors"]


def test_it_answers_400_to_malformed_json(api_client):
    response = api_client.post(
        "/api/v1/auth/register", data='{"email": "x@example.com",', content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_json"
    assert body["detail"]


# --- verify email -------------------------------------------------------------------------------


def test_it_verifies_the_email_with_the_token(api_client, unverified):
    token = email_verification_token_make(user=unverified)
    response = api_client.post("/api/v1/auth/verify-email", {"token": token})
    assert response.status_code == 200
    assert response.json()["email_verified"] is True
    unverified.refresh_from_db()
    assert unverified.email_verified_at is not None


def test_verifying_twice_is_harmless(api_client, unverified):
    token = email_verification_token_make(user=unverified)
    api_client.post("/api/v1/auth/verify-email", {"token": token})
    first = User.objects.get(pk=unverified.pk).email_verified_at
    response = api_client.post("/api/v1/auth/verify-email", {"token": token})
    assert response.status_code == 200
    assert User.objects.get(pk=unverified.pk).email_verified_at == first


def test_it_refuses_a_tampered_verification_token(api_client, unverified):
    token = email_verification_token_make(user=unverified)
    response = api_client.post("/api/v1/auth/verify-email", {"token": token[:-2] + "xx"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"
    assert not User.objects.get(pk=unverified.pk).email_verified


def test_it_refuses_an_expired_verification_token(api_client, unverified, monkeypatch):
    _signed_in_the_past(monkeypatch, settings.EMAIL_VERIFICATION_MAX_AGE + 60)
    token = email_verification_token_make(user=unverified)
    monkeypatch.undo()
    response = api_client.post("/api/v1/auth/verify-email", {"token": token})
    assert response.status_code == 400
    assert response.json()["code"] == "token_expired"
    assert not User.objects.get(pk=unverified.pk).email_verified


def test_a_verification_token_dies_when_the_email_changes(api_client, unverified):
    token = email_verification_token_make(user=unverified)
    User.objects.filter(pk=unverified.pk).update(email="elsewhere@example.com")
    response = api_client.post("/api/v1/auth/verify-email", {"token": token})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


def test_a_password_reset_token_does_not_verify_an_email(api_client, unverified):
    token = password_reset_token_make(user=unverified)  # signed, but with another salt
    response = api_client.post("/api/v1/auth/verify-email", {"token": token})
    assert response.status_code == 400


def test_resend_queues_a_new_verification_email(
    api_client, unverified, strong_password, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(unverified)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post("/api/v1/auth/verify-email/resend")
    assert response.status_code == 202
    assert len(callbacks) == 1


def test_resend_needs_authentication(api_client):
    response = api_client.post("/api/v1/auth/verify-email/resend")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_resend_refuses_an_already_verified_user(owner_client):
    response = owner_client.post("/api/v1/auth/verify-email/resend")
    assert response.status_code == 409
    assert response.json()["code"] == "already_verified"


def test_resend_is_throttled(api_client, unverified):
    api_client.force_authenticate(unverified)
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["verify_resend"].split("/")[0])
    for _ in range(rate):
        assert api_client.post("/api/v1/auth/verify-email/resend").status_code == 202
    response = api_client.post("/api/v1/auth/verify-email/resend")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response


# --- tokens ------------------------------------------------------------------------------------


def test_it_logs_in_with_email_in_any_case(api_client, owner, password):
    response = api_client.post("/api/v1/auth/token", {"email": owner.email.upper(), "password": password})
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_the_access_token_authenticates(api_client, tokens, owner):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = api_client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["email"] == owner.email


def test_wrong_credentials_get_401(api_client, owner):
    response = api_client.post("/api/v1/auth/token", {"email": owner.email, "password": "not it at all"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_an_unknown_email_gets_the_same_401(api_client):
    response = api_client.post("/api/v1/auth/token", {"email": "nobody@example.com", "password": "whatever 123"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_login_needs_both_fields(api_client):
    response = api_client.post("/api/v1/auth/token", {"email": "a@example.com"})
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_a_deleted_user_cannot_log_in(api_client, owner, password):
    from accounts.services import user_delete

    email = owner.email
    user_delete(user=owner, password=password)
    response = api_client.post("/api/v1/auth/token", {"email": email, "password": password})
    assert response.status_code == 401


def test_refresh_rotates_and_the_old_refresh_token_is_refused(api_client, tokens):
    first = api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]})
    assert first.status_code == 200
    rotated = first.json()
    assert set(rotated) == {"access", "refresh"}
    assert rotated["refresh"] != tokens["refresh"]

    reused = api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]})
    assert reused.status_code == 401
    assert reused.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}

    # The rotated token itself keeps working.
    assert api_client.post("/api/v1/auth/token/refresh", {"refresh": rotated["refresh"]}).status_code == 200


def test_an_expired_refresh_token_is_refused(api_client, owner):
    refresh = RefreshToken.for_user(owner)
    refresh.set_exp(from_time=timezone.now() - timedelta(days=8))
    response = api_client.post("/api/v1/auth/token/refresh", {"refresh": str(refresh)})
    assert response.status_code == 401


def test_garbage_is_not_a_refresh_token(api_client):
    response = api_client.post("/api/v1/auth/token/refresh", {"refresh": "nonsense"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_an_access_token_is_not_a_refresh_token(api_client, tokens):
    response = api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["access"]})
    assert response.status_code == 401


# --- logout ------------------------------------------------------------------------------------


def test_logout_revokes_the_refresh_token(api_client, tokens):
    response = api_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]})
    assert response.status_code == 205
    assert response.content == b""
    refused = api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]})
    assert refused.status_code == 401


def test_logout_leaves_other_sessions_alone(api_client, owner, password, tokens):
    other_login = api_client.post("/api/v1/auth/token", {"email": owner.email, "password": password}).json()
    api_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]})
    assert api_client.post("/api/v1/auth/token/refresh", {"refresh": other_login["refresh"]}).status_code == 200


def test_logout_twice_gets_401(api_client, tokens):
    api_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]})
    response = api_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]})
    assert response.status_code == 401


def test_logout_needs_a_refresh_token(api_client):
    response = api_client.post("/api/v1/auth/logout", {})
    assert response.status_code == 400
    assert "refresh" in response.json()["errors"]


# --- password reset -------------------------------------------------------------------------------


def test_password_reset_answers_202_for_a_known_address(api_client, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post("/api/v1/auth/password-reset", {"email": owner.email.upper()})
    assert response.status_code == 202
    assert len(callbacks) == 1


def test_password_reset_answers_202_for_an_unknown_address_and_sends_nothing(
    api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post("/api/v1/auth/password-reset", {"email": "ghost@example.com"})
    assert response.status_code == 202
    assert callbacks == []


def test_password_reset_refuses_a_non_email(api_client):
    response = api_client.post("/api/v1/auth/password-reset", {"email": "ghost"})
    assert response.status_code == 400


def test_password_reset_is_throttled(api_client):
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["password_reset"].split("/")[0])
    for _ in range(rate):
        assert api_client.post("/api/v1/auth/password-reset", {"email": "a@example.com"}).status_code == 202
    assert api_client.post("/api/v1/auth/password-reset", {"email": "a@example.com"}).status_code == 429


def test_password_reset_confirm_sets_the_password_once(api_client, owner, password, tokens, strong_password):
    owner.refresh_from_db()  # logging in moved last_login, which the reset token is bound to
    token = password_reset_token_make(user=owner)
    response = api_client.post("/api/v1/auth/password-reset/confirm", {"token": token, "password": strong_password})
    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.check_password(strong_password)
    # The token is single use: the new password hash invalidates it.
    again = api_client.post("/api/v1/auth/password-reset/confirm", {"token": token, "password": "another fine pass 9"})
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_token"
    # Devices logged in with the old password are logged out.
    assert api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}).status_code == 401
    assert api_client.post("/api/v1/auth/token", {"email": owner.email, "password": password}).status_code == 401


def test_password_reset_confirm_verifies_the_email(api_client, unverified):
    token = password_reset_token_make(user=unverified)
    api_client.post("/api/v1/auth/password-reset/confirm", {"token": token, "password": "brand new words 55"})
    assert User.objects.get(pk=unverified.pk).email_verified


def test_password_reset_confirm_refuses_a_weak_password_and_keeps_the_token(api_client, owner, password):
    token = password_reset_token_make(user=owner)
    response = api_client.post("/api/v1/auth/password-reset/confirm", {"token": token, "password": "12345678"})
    assert response.status_code == 400
    assert response.json()["code"] == "weak_password"
    assert "password" in response.json()["errors"]
    owner.refresh_from_db()
    assert owner.check_password(password)
    retry = api_client.post("/api/v1/auth/password-reset/confirm", {"token": token, "password": "brand new words 55"})
    assert retry.status_code == 200


def test_password_reset_confirm_refuses_a_forged_token(api_client, owner):
    forged = signing.dumps({"u": str(owner.id), "t": "abc-def"}, salt="somebody-else")
    response = api_client.post(
        "/api/v1/auth/password-reset/confirm", {"token": forged, "password": "brand new words 55"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


def test_password_reset_confirm_refuses_an_expired_token(api_client, owner, settings, monkeypatch):
    token = password_reset_token_make(user=owner)
    settings.PASSWORD_RESET_TIMEOUT = 60
    # default_token_generator reads its clock through _now(); move it past the timeout.
    from django.contrib.auth.tokens import default_token_generator

    later = timezone.now().replace(tzinfo=None) + timedelta(hours=1)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)
    response = api_client.post(
        "/api/v1/auth/password-reset/confirm", {"token": token, "password": "brand new words 55"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"
