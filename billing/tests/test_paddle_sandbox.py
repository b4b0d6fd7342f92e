"""The built-in test checkout for Paddle buyers: the loopback Paddle API and the stand-in Paddle.js,
and the same checkout, complete and webhook code as production (no money moves)."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import Client

from billing import paddle_sandbox
from billing.models import PaddleCatalogPrice, Payment
from billing.sandbox import SandboxRefused
from billing.selectors import credits_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def paddle_checkout(settings):
    """Started after the test's pack exists: its start makes the missing Paddle prices."""
    settings.DEBUG = True  # pytest-django runs tests with debug off; the sandbox needs it on
    settings.PORTONE_STORE_ID = settings.PORTONE_CHANNEL_KEY = settings.PORTONE_API_SECRET = ""
    fake = paddle_sandbox.start()
    yield fake
    paddle_sandbox.stop()


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def prepare(client, pack) -> dict:
    response = client.post("/api/v1/billing/payments", {"pack_id": str(pack.id)}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_it_points_paddle_at_the_loopback_server_with_our_catalog(pack, paddle_checkout, settings):
    assert settings.PADDLE_API_BASE == paddle_checkout.base_url
    assert settings.PADDLE_JS_URL.endswith("billing/test-checkout-paddle.js")
    row = PaddleCatalogPrice.objects.get(pack=pack, active=True)
    assert paddle_checkout.prices[row.paddle_price_id]["unit_price"]["amount"] == str(pack.price)


def test_a_restart_keeps_the_paddle_ids_already_stored(settings, pack):
    settings.DEBUG = True
    paddle_sandbox.start()
    first = set(PaddleCatalogPrice.objects.values_list("paddle_price_id", flat=True))
    paddle_sandbox.stop()
    fake = paddle_sandbox.start()
    try:
        assert set(PaddleCatalogPrice.objects.values_list("paddle_price_id", flat=True)) == first
        assert first <= set(fake.prices)
    finally:
        paddle_sandbox.stop()


def test_a_paddle_buyer_pays_in_the_test_checkout_and_is_credited_by_complete(pack, paddle_checkout, owner):
    client = browser(owner)
    page = client.get("/credits")
    assert b"test-checkout-paddle.js" in page.content and b"paddle-checkout.js" in page.content
    assert "no money moves".encode() in page.content
    order = prepare(client, pack)
    assert order["checkout"]["provider"] == "paddle"
    before = credits_balance(user=owner)

    paid = client.post("/credits/test-checkout/paddle/pay", {"transactionId": order["checkout"]["transaction_id"]},
                       content_type="application/json")
    assert paid.status_code == 200 and paid.json()["status"] == "completed"
    completed = client.post(f"/api/v1/billing/payments/{order['payment_id']}/complete")

    assert completed.json()["status"] == "paid"
    assert credits_balance(user=owner) == before + pack.credits
    assert Payment.objects.get(payment_id=order["payment_id"]).provider == "paddle"


def test_the_stand_in_pays_only_the_payers_own_checkouts(pack, paddle_checkout, owner, other):
    order = prepare(browser(owner), pack)
    response = browser(other).post("/credits/test-checkout/paddle/pay",
                                   {"transactionId": order["checkout"]["transaction_id"]},
                                   content_type="application/json")
    assert response.status_code == 404
    assert paddle_checkout.transactions[order["checkout"]["transaction_id"]]["status"] == "draft"


def test_without_the_test_checkout_the_pay_endpoint_does_not_exist(owner):
    response = browser(owner).post("/credits/test-checkout/paddle/pay", {"transactionId": "txn_1"},
                                   content_type="application/json")
    assert response.status_code == 404


def test_with_debug_off_it_cannot_be_started(settings):
    settings.DEBUG = False
    with pytest.raises(SandboxRefused):
        paddle_sandbox.start()
    assert paddle_sandbox.server() is None


def test_check_deploy_reports_it_asked_for_with_debug_off(settings):
    settings.DEBUG = False
    settings.PADDLE_TEST_CHECKOUT_REQUESTED = True
    assert [m.id for m in run_checks(include_deployment_checks=True) if m.id.startswith("billing.E004")] == [
        "billing.E004"]


def test_beside_portones_test_checkout_a_dollar_buyer_gets_paddles(settings, owner):
    """The embedded set-up: both test checkouts on; won to PortOne's, dollars to Paddle's."""
    from billing import sandbox
    from billing.models import CreditPack

    settings.DEBUG = True
    pack = next(p for p in CreditPack.objects.filter(active=True) if p.price_in("USD"))
    sandbox.start()
    paddle_sandbox.start()
    try:
        client = browser(owner)
        won = prepare(client, pack)
        assert Payment.objects.get(payment_id=won["payment_id"]).provider == "portone"
        response = client.post("/api/v1/billing/payments", {"pack_id": str(pack.id), "currency": "USD"},
                               content_type="application/json", HTTP_ACCEPT_LANGUAGE="en-US")
        order = response.json()
        assert order["checkout"]["provider"] == "paddle" and order["amount"] == pack.price_in("USD")
        before = credits_balance(user=owner)
        client.post("/credits/test-checkout/paddle/pay", {"transactionId": order["checkout"]["transaction_id"]},
                    content_type="application/json")
        assert client.post(f"/api/v1/billing/payments/{order['payment_id']}/complete").json()["status"] == "paid"
        assert credits_balance(user=owner) == before + pack.credits
    finally:
        paddle_sandbox.stop()
        sandbox.stop()
