"""Buying credits waits for a confirmed email address when REQUIRE_EMAIL_VERIFICATION is on:
POST /api/v1/billing/payments answers 403 email_unverified, and the credits page offers the
verification email again instead of its buy buttons."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Payment

pytestmark = pytest.mark.django_db

PAYMENTS = "/api/v1/billing/payments"
GATE = b'id="verify-email-gate"'


def test_an_unverified_user_cannot_prepare_a_payment_when_verification_is_required(
        settings, unverified_owner, owner_client, pack, portone):
    settings.REQUIRE_EMAIL_VERIFICATION = True

    response = owner_client.post(PAYMENTS, {"pack_id": str(pack.id)}, format="json",
                                 HTTP_IDEMPOTENCY_KEY="buy-1")

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "email_unverified" and body["detail"]
    assert not Payment.objects.exists()
    # reads stay open
    assert owner_client.get(PAYMENTS).status_code == 200
    # once confirmed, the same key prepares the payment (the refusal was not stored as its answer)
    unverified_owner.email_verified_at = unverified_owner.date_joined
    unverified_owner.save(update_fields=["email_verified_at"])
    again = owner_client.post(PAYMENTS, {"pack_id": str(pack.id)}, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")
    assert again.status_code == 201, again.content


def test_an_unverified_user_can_prepare_a_payment_when_verification_is_not_required(
        settings, unverified_owner, owner_client, pack, portone):
    settings.REQUIRE_EMAIL_VERIFICATION = False

    response = owner_client.post(PAYMENTS, {"pack_id": str(pack.id)}, format="json")

    assert response.status_code == 201, response.content


def test_a_verified_user_prepares_a_payment_when_verification_is_required(settings, owner_client, pack, portone):
    settings.REQUIRE_EMAIL_VERIFICATION = True

    assert owner_client.post(PAYMENTS, {"pack_id": str(pack.id)}, format="json").status_code == 201


def test_the_credits_page_offers_the_verification_email_instead_of_the_buy_buttons(
        settings, unverified_owner, owner_browser, pack, portone):
    settings.REQUIRE_EMAIL_VERIFICATION = True

    response = owner_browser.get("/credits")

    assert response.status_code == 200
    html = response.content
    assert GATE in html and b"Resend the verification email" in html
    assert f'action="{reverse("verify_email_resend")}"'.encode() in html
    assert b'name="next" value="/credits"' in html
    assert b"data-buy-pack" not in html and b"credits.js" not in html
    assert pack.name.encode() in html  # the packs are still shown, with their prices

    # The button sends the email again and comes back to the owner_browser.
    resent = owner_browser.post(reverse("verify_email_resend"), {"next": "/credits"})
    assert resent.status_code == 302 and resent["Location"] == "/credits"


@pytest.mark.parametrize("required, verified", [(False, False), (True, True)], ids=["not-required", "verified"])
def test_the_credits_page_sells_when_the_gate_is_open(settings, owner, owner_browser, pack, portone, required, verified):
    settings.REQUIRE_EMAIL_VERIFICATION = required
    if not verified:
        owner.email_verified_at = None
        owner.save(update_fields=["email_verified_at"])

    html = owner_browser.get("/credits").content

    assert GATE not in html
    assert f'data-buy-pack="{pack.id}"'.encode() in html and b"credits.js" in html


def test_the_gate_speaks_korean(settings, unverified_owner, owner_browser, pack, portone):
    settings.REQUIRE_EMAIL_VERIFICATION = True
    unverified_owner.locale = "ko"
    unverified_owner.save(update_fields=["locale"])

    html = owner_browser.get("/credits").content.decode()

    assert "확인 메일 다시 보내기" in html
    assert "크레딧을 구매하거나 영상을 더빙하기 전에 이메일 주소를 확인하세요." in html
    api = Client()
    api.force_login(unverified_owner)
    refused = api.post(PAYMENTS, {"pack_id": str(pack.id)}, content_type="application/json",
                       HTTP_ACCEPT_LANGUAGE="ko")
    assert refused.status_code == 403 and refused.json() == {
        "detail": "유료 작업을 시작하기 전에 이메일 주소를 확인하세요.", "code": "email_unverified"}
