"""The built-in test checkout for Stripe buyers: the loopback Stripe API and this site's stand-in
for Stripe's hosted checkout page, and the same checkout, complete and webhook code as with
Stripe itself (no money moves)."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from billing import stripe_sandbox
from billing.models import LedgerEntry, Payment
from billing.sandbox import SandboxRefused
from billing.selectors import credits_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_checkout(settings):
    settings.DEBUG = True  # pytest-django runs tests with debug off; the sandbox needs it on
    settings.PORTONE_STORE_ID = settings.PORTONE_CHANNEL_KEY = settings.PORTONE_API_SECRET = ""
    settings.PAYMENTS_INTERNATIONAL_PROVIDERS = ["stripe"]
    fake = stripe_sandbox.start()
    yield fake
    stripe_sandbox.stop()


def test_an_english_buyer_pays_a_pack_in_dollars_on_the_test_checkout(owner, owner_browser, stripe_checkout):
    page = owner_browser.get("/credits", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert "$10.99" in page and 'data-currency="USD"' in page
    from billing.models import CreditPack

    standard = CreditPack.objects.get(name="Standard")
    prepared = owner_browser.post("/api/v1/billing/payments", {"pack_id": str(standard.id), "currency": "USD"},
                                  content_type="application/json", HTTP_ACCEPT_LANGUAGE="en-US")
    assert prepared.status_code == 201, prepared.content
    order = prepared.json()
    assert order["provider"] == "stripe"
    assert order["checkout"]["url"] == f"/credits/test-checkout/stripe/{order['checkout']['session_id']}"

    checkout = owner_browser.get(order["checkout"]["url"]).content.decode()
    assert "Test payment: no money moves" in checkout and "$10.99" in checkout
    paid = owner_browser.post(order["checkout"]["url"], {"action": "pay"})
    assert paid.status_code == 302
    assert paid["Location"].endswith(f"/credits/payments/return?paymentId={order['payment_id']}")
    owner_browser.get(paid["Location"], HTTP_ACCEPT_LANGUAGE="en-US")  # Stripe sends the buyer back
    assert credits_balance(user=owner) == 100
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.status == "paid" and payment.amount == 1099 and payment.currency == "USD"
    assert LedgerEntry.objects.filter(kind="purchase").count() == 1


def test_cancel_on_the_test_checkout_goes_back_to_the_credits_page(owner, owner_browser, stripe_checkout, usd_pack):
    order = owner_browser.post("/api/v1/billing/payments", {"pack_id": str(usd_pack.id)},
                               content_type="application/json").json()
    cancelled = owner_browser.post(order["checkout"]["url"], {"action": "cancel"})
    assert cancelled.status_code == 302 and cancelled["Location"].endswith("/credits")
    assert credits_balance(user=owner) == 0


def test_another_user_cannot_open_someone_elses_test_checkout(owner_browser, other_browser, stripe_checkout,
                                                             usd_pack):
    order = owner_browser.post("/api/v1/billing/payments", {"pack_id": str(usd_pack.id)},
                               content_type="application/json").json()
    assert other_browser.get(order["checkout"]["url"]).status_code == 404
    assert other_browser.post(order["checkout"]["url"], {"action": "pay"}).status_code == 404


def test_the_stripe_test_checkout_never_runs_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(SandboxRefused):
        stripe_sandbox.start()
    settings.STRIPE_TEST_CHECKOUT_REQUESTED = True
    errors = [e.id for e in run_checks(include_deployment_checks=True)]
    assert "billing.E005" in errors
