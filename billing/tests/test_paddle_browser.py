"""A Paddle buyer in a real browser: the credits page's script opens the (stand-in) Paddle.js
overlay, pays, and lands on the paid result; Paddle's signed webhooks follow and add nothing.

Runs on the embedded set-up's test checkout for Paddle (billing/paddle_sandbox.py), PortOne off,
so every pack is sold through Paddle: in dollars to a browser that says en-US, in won to ko-KR. The Content-Security-Policy the page sends for Paddle.js
must refuse nothing (testing/browser.py fails the test otherwise).
"""

from __future__ import annotations

import re

import pytest

from accounts.tests.factories import PASSWORD, UserFactory
from billing import paddle_sandbox
from billing.models import CreditPack, CreditPackPrice, LedgerEntry, Payment, WebhookDelivery
from billing.selectors import credits_balance
from testing.browser import Walk
from testing.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paddle_checkout(settings):
    settings.DEBUG = True  # the test checkout runs only with debug on, as under `make run`
    settings.PORTONE_STORE_ID = settings.PORTONE_CHANNEL_KEY = settings.PORTONE_API_SECRET = ""
    fake = paddle_sandbox.start()
    yield fake
    paddle_sandbox.stop()


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_a_paddle_buyer_pays_through_the_overlay_in_a_real_browser(live_server, paddle_checkout, chromium_browser, locale):
    pack = CreditPack.objects.create(name="Standard", credits=100, price=15_000, currency="KRW", sort_order=-5)
    CreditPackPrice.objects.create(pack=pack, currency="USD", amount=1099)
    # en-US sees dollars, ko-KR won; PortOne is off, so Paddle sells both.
    currency, amount = {"en": ("USD", 1099), "ko": ("KRW", 15_000)}[locale]
    user = UserFactory(password=PASSWORD, locale=locale)
    before = credits_balance(user=user)
    context = chromium_browser.new_context(locale={"ko": "ko-KR", "en": "en-US"}[locale])
    context.set_default_timeout(30_000)
    page = context.new_page()
    walk = Walk(page, folder=f"paddle-checkout-{locale}", who="buyer")
    page.goto(f"{live_server.url}/login")
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))

    page.goto(f"{live_server.url}/credits")
    page.click(f"[data-buy-pack='{pack.id}']")
    dialog = page.locator("#test-checkout")
    dialog.wait_for(state="visible")
    assert ("돈은 오가지 않습니다" if locale == "ko" else "no money moves") in dialog.inner_text()
    walk.check("paddle test checkout")
    page.click("#test-checkout-pay")
    page.wait_for_url(re.compile(r".*/credits/payments/ov-[0-9a-f]+$"))

    assert page.locator("#payment-result").get_attribute("data-status") == "paid"
    payment = Payment.objects.get(user=user)
    assert payment.provider == "paddle" and payment.provider_status == "completed"
    assert (payment.currency, payment.amount) == (currency, amount)
    transaction = paddle_checkout.transactions[payment.provider_checkout_id]
    assert transaction["currency_code"] == currency and transaction["details"]["totals"]["subtotal"] == str(amount)
    assert credits_balance(user=user) == before + pack.credits
    # Paddle's webhooks (transaction.paid, transaction.completed) arrive too and add nothing.
    wait_until(lambda: WebhookDelivery.objects.filter(provider="paddle", event_type="transaction.completed",
                                                      processed=True).exists(), interval=0.2, what="the webhook")
    assert credits_balance(user=user) == before + pack.credits
    assert LedgerEntry.objects.filter(payment=payment, kind="purchase").count() == 1
    walk.check("paid")
    assert walk.violations == []
