"""Prices per currency (issue 23 item 5): packs carry a price in KRW, USD and EUR; the buyer sees
their currency (their choice, else their browser's country or language) written in their locale's
format; a currency a pack has no price in is 400 currency_unavailable and stores nothing."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import translation

from billing.buyers import buyer_currency
from billing.currencies import money_format, to_minor
from billing.models import CreditPack, CreditPackPrice, Payment
from billing.tests.factories import CreditPackFactory

pytestmark = pytest.mark.django_db
PAYMENTS = "/api/v1/billing/payments"


def _standard() -> CreditPack:
    return CreditPack.objects.get(name="Standard", currency="KRW")


def test_the_default_packs_carry_prices_in_krw_usd_and_eur(owner_client):
    listed = {p["name"]: p for p in owner_client.get("/api/v1/billing/packs").json()["results"]}
    assert listed["Standard"]["prices"] == [{"currency": "KRW", "amount": 15000},
                                            {"currency": "EUR", "amount": 999}, {"currency": "USD", "amount": 1099}]
    plans = {p["name"]: p for p in owner_client.get("/api/v1/billing/plans").json()["results"]}
    assert {"currency": "USD", "amount": 1799} in plans["Creator"]["prices"]


def test_a_pack_bought_in_usd_is_charged_its_usd_price(owner_client, stripe_api):
    response = owner_client.post(PAYMENTS, {"pack_id": str(_standard().id), "currency": "usd"}, format="json")
    assert response.status_code == 201, response.json()
    order = response.json()
    assert (order["provider"], order["amount"], order["currency"], order["credits"]) == ("stripe", 1099, "USD", 100)
    assert stripe_api.sessions[order["checkout"]["session_id"]]["amount_total"] == 1099


def test_a_currency_the_pack_has_no_price_in_is_400_and_stores_nothing(owner_client, stripe_api, settings):
    settings.STRIPE_CURRENCIES = ["USD", "EUR", "KRW", "GBP"]
    response = owner_client.post(PAYMENTS, {"pack_id": str(_standard().id), "currency": "GBP"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "currency_unavailable" and "GBP" in body["errors"]["currency"][0]
    assert Payment.objects.count() == 0 and stripe_api.sessions == {}


def test_a_currency_that_is_no_code_is_400_naming_the_field(owner_client, stripe_api):
    response = owner_client.post(PAYMENTS, {"pack_id": str(_standard().id), "currency": "dollars"}, format="json")
    assert response.status_code == 400 and "currency" in response.json()["errors"]


@pytest.mark.parametrize(("language", "amount", "currency", "shown"), [
    ("en", 1099, "USD", "$10.99"),
    ("en", 15000, "KRW", "₩15,000"),
    ("ko", 1234567, "KRW", "₩1,234,567"),
    ("ko", 999, "EUR", "€9.99"),
    ("es", 999, "EUR", "9,99 €"),
])
def test_money_is_written_in_the_readers_locale(language, amount, currency, shown):
    with translation.override(language):
        assert money_format(amount, currency) == shown


def test_staff_amounts_convert_to_the_smallest_unit():
    from decimal import Decimal

    assert to_minor(Decimal("10.99"), "USD") == 1099 and to_minor(Decimal("15000"), "KRW") == 15000
    with pytest.raises(ValueError):
        to_minor(Decimal("1.5"), "KRW")


@pytest.mark.parametrize(("accept", "expected"), [
    ("en-US,en;q=0.9", "USD"), ("de-DE,de;q=0.9", "EUR"), ("ko-KR,ko;q=0.9", "KRW"), ("ko", "KRW"), ("fr-FR", "EUR"),
])
def test_the_buyers_currency_follows_their_browser_when_each_is_payable(accept, expected, stripe_api, portone):
    request = RequestFactory().get("/credits", HTTP_ACCEPT_LANGUAGE=accept)
    request.session = {}
    assert buyer_currency(request) == expected


def test_with_portone_alone_an_english_browser_still_sees_won(portone):
    request = RequestFactory().get("/credits", HTTP_ACCEPT_LANGUAGE="en-US")
    request.session = {}
    assert buyer_currency(request) == "KRW"


def test_the_credits_page_shows_the_buyers_currency_and_remembers_a_choice(owner_browser, stripe_api, portone):
    browser = owner_browser
    page = browser.get("/credits", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "$10.99" in page and "₩15,000" not in page
    assert 'data-buy-pack' in page and 'data-currency="USD"' in page
    chosen = browser.get("/credits?currency=EUR", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "€9.99" in chosen and 'aria-current="true" class="is-current">EUR<' in chosen
    again = browser.get("/credits", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "€9.99" in again  # remembered in the session
    korean = browser.get("/credits?currency=KRW", HTTP_ACCEPT_LANGUAGE="ko-KR").content.decode()
    assert "₩15,000" in korean


def test_a_pack_without_a_price_in_the_currency_says_so_and_offers_no_button(owner, owner_browser, stripe_api,
                                                                             portone):
    browser = owner_browser
    pack = CreditPackFactory(name="Korea only", price=9_000, sort_order=-5)
    assert not CreditPackPrice.objects.filter(pack=pack).exists()
    page = browser.get("/credits?currency=USD").content.decode()
    assert "Not sold in USD." in page
    assert f'data-buy-pack="{pack.id}"' not in page
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    korean = browser.get("/credits?currency=USD").content.decode()
    assert "USD로는 판매하지 않습니다." in korean
