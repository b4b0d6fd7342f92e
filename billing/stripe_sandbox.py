"""The built-in test checkout for Stripe buyers: no money moves.

With `DJANGO_DEBUG=1` and no Stripe key (`STRIPE_TEST_CHECKOUT`, settings.py), `devserver` calls
`start()`: the loopback Stripe API of testing/stripe_server.py listens on 127.0.0.1 and the Stripe
settings point at it, so Checkout Sessions, `complete`, the webhooks and refunds run exactly the
code they run against api.stripe.com. Its sessions' URL is this site's own test page
(`/credits/test-checkout/stripe/<session>`), marked "Test payment: no money moves", standing in
for Stripe's hosted checkout: its "Pay" asks `sandbox_pay` to do what Stripe does when a buyer
pays (the session completes, a PaymentIntent and Charge are made) and delivers Stripe's signed
webhooks to our endpoint. Stripe is the provider for buyers abroad when it comes first in
PAYMENTS_INTERNATIONAL_PROVIDERS, or Paddle is off.

With debug off nothing here can be started (`SandboxRefused`), and `check --deploy` reports a
`STRIPE_TEST_CHECKOUT` that asks for it (billing/checks.py).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

import httpx
from django.conf import settings

from billing.sandbox import SandboxRefused

logger = logging.getLogger(__name__)

CHECKOUT_PATH = "/credits/test-checkout/stripe/"
# Stripe's webhooks arrive about when the buyer is sent back to our return page, in either order.
WEBHOOK_DELAY_SECONDS = 0.3
_OVERRIDDEN = ("STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_MAX_NETWORK_RETRIES")
_lock = threading.Lock()
_running = None  # the FakeStripe while the test checkout is on
_saved: dict[str, object] = {}


def is_running() -> bool:
    return _running is not None and settings.DEBUG


def server():
    """The loopback Stripe API while the test checkout runs, else None."""
    return _running if is_running() else None


def start():
    """Start the loopback Stripe API and point the Stripe settings at it (idempotent)."""
    global _running
    # Test tooling (testing/): loaded only once the test checkout starts, never by a deployment.
    from testing.stripe_server import FakeStripe

    if not settings.DEBUG:
        raise SandboxRefused("The test checkout runs only with DJANGO_DEBUG=1.")
    with _lock:
        if _running is not None:
            return _running
        fake = FakeStripe(api_key=f"sk_test_{secrets.token_hex(16)}", checkout_url_base=CHECKOUT_PATH)
        base_url = fake.start()
        _saved.clear()
        _saved.update({name: getattr(settings, name) for name in _OVERRIDDEN})
        settings.STRIPE_API_BASE = base_url
        settings.STRIPE_SECRET_KEY = fake.api_key
        settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
        settings.STRIPE_MAX_NETWORK_RETRIES = 0
        _running = fake
    logger.info("Test checkout on: loopback Stripe at %s; no money moves", base_url)
    return fake


def stop() -> None:
    global _running
    with _lock:
        if _running is None:
            return
        _running.stop()
        for name, value in _saved.items():
            setattr(settings, name, value)
        _saved.clear()
        _running = None


def session_get(session_id: str) -> dict | None:
    fake = server()
    return None if fake is None else fake.sessions.get(session_id)


def _deliver(fake, *, url: str, bodies: list[str]) -> None:
    # Test tooling, as in start(): only the running test checkout gets here.
    from testing.stripe_server import sign

    time.sleep(WEBHOOK_DELAY_SECONDS)
    for body in bodies:
        headers = {"Content-Type": "application/json", "Stripe-Signature": sign(fake.webhook_secret, body)}
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=10)
        except httpx.HTTPError as error:
            logger.warning("Test checkout: Stripe webhook to %s failed: %r", url, error)
            continue
        if response.status_code >= 400:
            logger.warning("Test checkout: Stripe webhook to %s answered %s", url, response.status_code)


def sandbox_pay(*, session_id: str, webhook_url: str) -> str:
    """What Stripe does when the buyer pays on its page: the session completes, then Stripe's
    webhooks are sent. Returns the session's success URL (where Stripe sends the buyer)."""
    fake = server()
    if fake is None:
        raise SandboxRefused("The test checkout is not running.")
    bodies = fake.pay(session_id)
    threading.Thread(target=_deliver, kwargs={"fake": fake, "url": webhook_url, "bodies": bodies},
                     name="test-checkout-stripe-webhooks", daemon=True).start()
    return fake.sessions[session_id]["success_url"]
