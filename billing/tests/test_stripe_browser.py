"""A Stripe buyer in a real browser: the credits page's script sends them to the (stand-in) hosted
checkout, they pay, come back to the paid result, and Stripe's signed webhooks add nothing.

Runs on the embedded set-up's test checkout for Stripe (billing/stripe_sandbox.py) with Stripe the
configured provider abroad and PortOne off; the Content-Security-Policy must refuse nothing
(testing/browser.py fails the test otherwise).
"""

from __future__ import annotations

import re

import pytest

from accounts.tests.factories import PASSWORD, UserFactory
from billing import stripe_sandbox
from billing.models import CreditPack, CreditPackPrice, LedgerEntry, Payment, WebhookDelivery
from billing.selectors import credits_balance
from testing.browser import Walk
from testing.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stripe_checkout(settings):
    settings.DEBUG = True  # the test checkout runs only with debug on, as under `make run`
    settings.PORTONE_STORE_ID = settings.PORTONE_CHANNEL_KEY = settings.PORTONE_API_SECRET = ""
    settings.PAYMENTS_INTERNATIONAL_PROVIDERS = ["stripe"]
    fake = stripe_sandbox.start()
    yield fake
    stripe_sandbox.stop()


def test_an_en_us_buyer_pays_a_pack_in_dollars_through_stripes_checkout_in_a_real_browser(
    live_server, stripe_checkout, chromium_browser, settings
):
    settings.SITE_URL = live_server.url  # Stripe's return URL is absolute, as devserver sets it under `make run`
    pack = CreditPack.objects.create(name="Standard", credits=100, price=15_000, currency="KRW", sort_order=-5)
    CreditPackPrice.objects.create(pack=pack, currency="USD", amount=1099)
    user = UserFactory(password=PASSWORD, locale="en")
    before = credits_balance(user=user)
    context = chromium_browser.new_context(locale="en-US")
    context.set_default_timeout(30_000)
    page = context.new_page()
    walk = Walk(page, folder="stripe-checkout-en", who="buyer")
    page.goto(f"{live_server.url}/login")
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))

    page.goto(f"{live_server.url}/credits")
    assert "$10.99" in page.content()
    page.click(f"[data-buy-pack='{pack.id}']")
    page.wait_for_url(re.compile(r".*/credits/test-checkout/stripe/cs_[A-Za-z0-9_]+$"))
    assert "no money moves" in page.content() and "$10.99" in page.content()
    walk.check("stripe test checkout")
    page.click("#stripe-test-pay")
    # Stripe sends the buyer back to our return page, which asks Stripe and shows the result.
    page.wait_for_url(re.compile(r".*/credits/payments/(return\?paymentId=)?ov-[0-9a-f]+$"))
    page.locator("#payment-result").wait_for(state="visible")

    assert page.locator("#payment-result").get_attribute("data-status") == "paid"
    payment = Payment.objects.get(user=user)
    assert payment.provider == "stripe" and (payment.currency, payment.amount) == ("USD", 1099)
    assert credits_balance(user=user) == before + pack.credits
    # Stripe's webhooks arrive too and add nothing.
    wait_until(lambda: WebhookDelivery.objects.filter(provider="stripe", processed=True).exists(),
               interval=0.2, what="Stripe's webhook")
    assert credits_balance(user=user) == before + pack.credits
    assert LedgerEntry.objects.filter(payment=payment, kind="purchase").count() == 1
    walk.check("paid")
    assert walk.violations == []
