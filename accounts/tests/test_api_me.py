"""/me: read and edit my profile, change my password, delete my account."""

from __future__ import annotations

import pytest
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_me_returns_the_user_object(jwt_client, owner):
    response = jwt_client.get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(owner.id)
    assert body["email"] == owner.email
    assert body["name"] == "Alice"
    assert body["locale"] == "en"
    assert body["email_verified"] is True
    assert isinstance(body["credits"], int)
    assert body["date_joined"].endswith("Z")


def test_me_needs_authentication(api_client):
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_bad_access_token_gets_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_patch_changes_name_and_locale(owner_client, owner):
    response = owner_client.patch("/api/v1/me", {"name": "  Alice B.  ", "locale": "ko"})
    assert response.status_code == 200
    assert response.json()["name"] == "Alice B."
    assert response.json()["locale"] == "ko"
    owner.refresh_from_db()
    assert (owner.name, owner.locale) == ("Alice B.", "ko")


def test_patch_refuses_an_unknown_locale(owner_client, owner):
    response = owner_client.patch("/api/v1/me", {"locale": "xx"})
    assert response.status_code == 400
    assert "locale" in response.json()["errors"]
    owner.refresh_from_db()
    assert owner.locale == "en"


def test_patch_refuses_the_email_by_name(owner_client, owner):
    response = owner_client.patch("/api/v1/me", {"email": "hijack@example.com"})
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field" and set(response.json()["errors"]) == {"email"}
    owner.refresh_from_db()
    assert owner.email == "alice@example.com"


def test_post_to_me_is_405_in_the_error_shape(owner_client):
    response = owner_client.post("/api/v1/me", {})
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# --- password change -------------------------------------------------------------------------


def test_it_changes_the_password_and_logs_out_other_devices(api_client, jwt_client, owner, password, tokens):
    response = jwt_client.post(
        "/api/v1/me/password", {"old_password": password, "new_password": "quiet river 88 lantern"}
    )
    assert response.status_code == 200
    body = response.json()
    owner.refresh_from_db()
    assert owner.check_password("quiet river 88 lantern")
    # The refresh token from before the change is dead; the pair handed back works.
    assert api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}).status_code == 401
    assert api_client.post("/api/v1/auth/token/refresh", {"refresh": body["refresh"]}).status_code == 200


def test_password_change_refuses_a_wrong_old_password(owner_client, owner, password):
    response = owner_client.post(
        "/api/v1/me/password", {"old_password": "guess", "new_password": "quiet river 88 lantern"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "wrong_password"
    assert "old_password" in body["errors"]
    owner.refresh_from_db()
    assert owner.check_password(password)


def test_password_change_refuses_a_weak_new_password(owner_client, owner, password):
    response = owner_client.post("/api/v1/me/password", {"old_password": password, "new_password": "alice"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "weak_password"
    assert body["errors"]["new_password"]
    owner.refresh_from_db()
    assert owner.check_password(password)


def test_password_change_needs_authentication(api_client):
    response = api_client.post("/api/v1/me/password", {"old_password": "a", "new_password": "b"})
    assert response.status_code == 401


# --- deletion ----------------------------------------------------------------------------------


def test_delete_anonymises_the_user_in_place(api_client, jwt_client, owner, password, tokens):
    response = jwt_client.delete("/api/v1/me", {"password": password})
    assert response.status_code == 204

    user = User.objects.get(pk=owner.pk)  # still there: ledger rows and payments point at it
    assert user.email == f"deleted-{owner.id}@deleted.invalid"
    assert user.name == ""
    assert not user.has_usable_password()
    assert user.is_active is False
    assert user.deleted_at is not None
    assert user.email_verified_at is None
    # Every refresh token it had is revoked, and the old address is free again.
    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    assert jwt_client.get("/api/v1/me").status_code == 401  # its unexpired access token is refused too
    assert api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}).status_code == 401
    assert (
        api_client.post("/api/v1/auth/token", {"email": "alice@example.com", "password": password}).status_code == 401
    )
    again = api_client.post("/api/v1/auth/register", {"email": "alice@example.com", "password": "fresh start 2024 ok"})
    assert again.status_code == 201


def test_delete_refuses_a_wrong_password(owner_client, owner):
    response = owner_client.delete("/api/v1/me", {"password": "nope"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "wrong_password"
    assert "password" in body["errors"]
    owner.refresh_from_db()
    assert owner.is_active and owner.email == "alice@example.com"


def test_delete_needs_the_password(owner_client, owner):
    response = owner_client.delete("/api/v1/me", {})
    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    owner.refresh_from_db()
    assert owner.is_active


def test_me_costs_two_queries(jwt_client, django_assert_num_queries):
    # 1: the user behind the access token; 2: their credit balance.
    with django_assert_num_queries(2):
        assert jwt_client.get("/api/v1/me").status_code == 200
