"""The account pages, driven through the Django test client."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY

from accounts.models import User
from accounts.tokens import email_verification_token_make, password_reset_token_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


# --- layout and home ---------------------------------------------------------------------------


def test_home_explains_the_product_and_invites_to_sign_up(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "OneVoice" in html and "Sign up" in html
    for href in ('href="/videos"', 'href="/credits"', 'href="/account"', 'href="/login"', 'href="/signup"'):
        assert href in html
    assert "Log out" not in html
    assert "css/onevoice.css" in html
    assert "cdn" not in html.lower().replace("cdn.portone", "")  # our own CSS, nothing from a CDN


def test_the_nav_offers_log_out_to_a_logged_in_user(logged_in):
    html = logged_in.get("/").content.decode()
    assert "Log out" in html
    assert 'action="/logout"' in html
    assert 'href="/login"' not in html


def test_an_unverified_user_sees_a_resend_banner(client, unverified):
    client.force_login(unverified)
    html = client.get("/").content.decode()
    assert 'action="/verify-email/resend"' in html


def test_the_page_urls_have_the_names_others_use():
    from django.urls import reverse

    assert [reverse(n) for n in ("home", "login", "logout", "signup", "account")] == [
        "/",
        "/login",
        "/logout",
        "/signup",
        "/account",
    ]


# --- sign up ----------------------------------------------------------------------------------


def test_signup_creates_the_account_and_sends_the_visitor_to_check_the_inbox(
        client, strong_password, django_capture_on_commit_callbacks):
    assert client.get("/signup").status_code == 200
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/signup", {"name": "Hana", "email": "hana@example.com", "password": strong_password})
    assert response.status_code == 302 and response["Location"] == "/signup/sent"
    assert User.objects.filter(email="hana@example.com").exists()
    assert SESSION_KEY not in client.session  # logged in only after logging in, as a taken address would be
    assert len(callbacks) == 1  # the verification email
    page = client.get(response["Location"]).content.decode()
    assert "Check your inbox" in page and "We sent an email to hana@example.com." in page


def test_signup_shows_a_weak_password_error_next_to_the_field(client):
    response = client.post("/signup", {"email": "ivy@example.com", "password": "password"})
    assert response.status_code == 200
    form = response.context["form"]
    assert any("too common" in e for e in form.errors["password"])
    assert 'id="id_password_errors"' in response.content.decode()
    assert not User.objects.filter(email="ivy@example.com").exists()


def _signup_answer(client, email: str, password: str):
    """What a visitor sees of a sign-up: the answer's status, where it sends them, the cookies it
    sets, and the page they land on (the address replaced, so two addresses can be compared)."""
    response = client.post("/signup?next=/videos", {"name": "Someone", "email": email, "password": password,
                                                    "next": "/videos"})
    landing = client.get(response["Location"])
    page = landing.content.decode().replace(email, "EMAIL")
    # The form's CSRF token differs per page load; everything else must match.
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return response.status_code, response["Location"], sorted(response.cookies), landing.status_code, page


def test_signup_with_a_taken_address_looks_exactly_like_a_new_one(owner, strong_password, settings,
                                                                  django_capture_on_commit_callbacks):
    # Whether an address has an account is not told: the same answer, the same page, nobody
    # logged in; the owner of the taken address is emailed instead (test_email_queue).
    from django.test import Client

    new_visitor, other_visitor = Client(), Client()
    with django_capture_on_commit_callbacks() as callbacks:
        new = _signup_answer(new_visitor, "newcomer@example.com", strong_password)
        taken = _signup_answer(other_visitor, "ALICE@example.com", strong_password)
    assert new == taken
    assert new[:2] == (302, "/signup/sent?next=%2Fvideos")
    assert 'href="/login?next=/videos"' in new[4] or 'href="/login?next=%2Fvideos"' in new[4]
    assert SESSION_KEY not in new_visitor.session and SESSION_KEY not in other_visitor.session
    assert len(callbacks) == 2  # a verification email, and the taken address's owner's email
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1
    owner.refresh_from_db()
    assert owner.name == "Alice"  # nothing of the account changed


# --- log in / log out --------------------------------------------------------------------------


def test_login_with_email_and_password(client, owner, password):
    assert client.get("/login").status_code == 200
    response = client.post("/login", {"username": "Alice@Example.com", "password": password})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(owner.pk)


def test_login_goes_back_to_next(client, owner, password):
    response = client.post("/login?next=/account", {"username": owner.email, "password": password, "next": "/account"})
    assert response["Location"] == "/account"


def test_login_refuses_wrong_credentials_with_a_message(client, owner):
    response = client.post("/login", {"username": owner.email, "password": "wrong"})
    assert response.status_code == 200
    assert "The email or password is not correct." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_logout_is_a_post(logged_in):
    assert logged_in.get("/logout").status_code == 405
    assert SESSION_KEY in logged_in.session
    response = logged_in.post("/logout")
    assert response.status_code == 302
    assert SESSION_KEY not in logged_in.session


# --- verify email -----------------------------------------------------------------------------


def test_the_email_link_verifies(client, unverified):
    token = email_verification_token_make(user=unverified)
    response = client.get(f"/verify-email/{token}")
    assert response.status_code == 200
    assert "Email confirmed" in response.content.decode()
    assert User.objects.get(pk=unverified.pk).email_verified


def test_a_bad_link_offers_a_new_one(client, unverified):
    client.force_login(unverified)
    response = client.get("/verify-email/broken-token")
    assert response.status_code == 400
    html = response.content.decode()
    assert "did not work" in html
    assert "Send me a new link" in html


def test_the_resend_button_queues_an_email(client, unverified, django_capture_on_commit_callbacks):
    client.force_login(unverified)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/verify-email/resend")
    assert response.status_code == 302
    assert len(callbacks) == 1


def test_resend_needs_login(client):
    response = client.post("/verify-email/resend")
    assert response.status_code == 302
    assert response["Location"].startswith("/login")


# --- password reset ----------------------------------------------------------------------------


def test_password_reset_request_page(client, owner, django_capture_on_commit_callbacks):
    assert client.get("/password-reset").status_code == 200
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/password-reset", {"email": owner.email})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent"
    assert len(callbacks) == 1
    assert client.get("/password-reset/sent").status_code == 200


def test_password_reset_request_looks_the_same_for_an_unknown_address(client):
    response = client.post("/password-reset", {"email": "ghost@example.com"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent"


def test_set_new_password_page_shows_errors_by_the_fields(client, owner, password):
    token = password_reset_token_make(user=owner)
    response = client.post(f"/password-reset/{token}", {"password": "apple tree 77 x", "password_confirm": "other"})
    assert response.status_code == 200
    assert response.context["form"].errors["password_confirm"]
    response = client.post(f"/password-reset/{token}", {"password": "12345678", "password_confirm": "12345678"})
    assert response.context["form"].errors["password"]
    owner.refresh_from_db()
    assert owner.check_password(password)


def test_set_new_password_page_then_done(client, owner):
    token = password_reset_token_make(user=owner)
    response = client.post(
        f"/password-reset/{token}", {"password": "apple tree 77 x", "password_confirm": "apple tree 77 x"}
    )
    assert response["Location"] == "/password-reset/done"
    assert client.get("/password-reset/done").status_code == 200
    assert client.login(username=owner.email, password="apple tree 77 x")


def test_a_bad_reset_link_says_so(client):
    response = client.get("/password-reset/not-a-token")
    assert response.status_code == 400
    assert "Ask for a new link" in response.content.decode()


# --- account -----------------------------------------------------------------------------------


def test_account_needs_login(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/account"


def test_account_page_shows_the_three_forms(logged_in, owner):
    response = logged_in.get("/account")
    assert response.status_code == 200
    html = response.content.decode()
    assert owner.email in html
    for action in ('action="/account"', 'action="/account/password"', 'action="/account/delete"'):
        assert action in html


def test_account_saves_name_and_locale(logged_in, owner):
    response = logged_in.post("/account", {"name": "Alicia", "locale": "es"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.name, owner.locale) == ("Alicia", "es")


def test_account_refuses_an_unknown_locale_next_to_the_field(logged_in):
    response = logged_in.post("/account", {"name": "A", "locale": "zz"})
    assert response.status_code == 400
    assert response.context["profile_form"].errors["locale"]


def test_account_password_change_keeps_this_session(logged_in, owner, password):
    response = logged_in.post("/account/password", {"old_password": password, "new_password": "lemon grove 31 sky"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("lemon grove 31 sky")
    assert logged_in.get("/account").status_code == 200  # still logged in


def test_account_password_change_shows_a_wrong_old_password(logged_in):
    response = logged_in.post("/account/password", {"old_password": "nope", "new_password": "lemon grove 31 sky"})
    assert response.status_code == 400
    assert response.context["password_form"].errors["old_password"]


def test_account_delete_needs_the_right_password(logged_in, owner):
    response = logged_in.post("/account/delete", {"password": "nope"})
    assert response.status_code == 400
    assert response.context["delete_form"].errors["password"]
    owner.refresh_from_db()
    assert owner.is_active


def test_account_delete_anonymises_and_logs_out(logged_in, owner, password):
    response = logged_in.post("/account/delete", {"password": password})
    assert response["Location"] == "/"
    assert SESSION_KEY not in logged_in.session
    owner.refresh_from_db()
    assert owner.email.startswith("deleted-") and not owner.is_active


def test_pages_are_throttled_like_the_api(client):
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["password_reset"].split("/")[0])
    for _ in range(rate):
        client.post("/password-reset", {"email": "a@example.com"})
    response = client.post("/password-reset", {"email": "a@example.com"})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
