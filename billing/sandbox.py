"""The built-in test checkout (sandbox): buy credits on the embedded default, no money moved.

With `DJANGO_DEBUG=1` and no PortOne keys (`PORTONE_TEST_CHECKOUT`, settings.py), `devserver`
calls `start()`: the loopback PortOne V2 server of testing/portone_server.py listens on
127.0.0.1 and the PortOne settings point at it, so `payment_complete`, the webhook and refunds
run exactly the code they run against api.portone.io. The pages load a stand-in for PortOne's
browser SDK (billing/static/billing/test-checkout-sdk.js) that shows "Test payment: no money
moves" and, when the user confirms, asks `sandbox_pay` to do what the PG would have done:
record the payment as PAID on a TEST channel for the amount the browser asked for, and deliver
PortOne's signed `Transaction.Paid` webhook.

With debug off nothing here can be started (`SandboxRefused`), and `check --deploy`
reports a `PORTONE_TEST_CHECKOUT` that asks for it (billing/checks.py).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static

logger = logging.getLogger(__name__)

STORE_ID = "store-onevoice-test-checkout"
CHANNEL_KEY = "channel-key-onevoice-test-checkout"
SDK_STATIC_PATH = "billing/test-checkout-sdk.js"
# How long the stand-in PG waits before delivering its webhook: PortOne's arrives about when the
# browser calls `complete`, in either order; both are idempotent.
WEBHOOK_DELAY_SECONDS = 0.3

_OVERRIDDEN = (
    "PORTONE_API_BASE_URL",
    "PORTONE_STORE_ID",
    "PORTONE_CHANNEL_KEY",
    "PORTONE_API_SECRET",
    "PORTONE_WEBHOOK_SECRET",
    "PORTONE_ALLOW_TEST_CHANNEL",
    "PORTONE_BROWSER_SDK_URL",
)
_lock = threading.Lock()
_running = None  # the FakePortOne while the test checkout is on
_saved: dict[str, object] = {}


class SandboxRefused(ImproperlyConfigured):
    """The test checkout was asked for where it must never run (debug off, real keys set)."""


def requested() -> bool:
    return bool(getattr(settings, "PORTONE_TEST_CHECKOUT", False))


def is_running() -> bool:
    return _running is not None and settings.DEBUG


def server():
    """The loopback PortOne server while the test checkout runs, else None."""
    return _running if is_running() else None


def start():
    """Start the loopback PortOne server and point the PortOne settings at it (idempotent)."""
    global _running
    # Test tooling (testing/): loaded only once the test checkout starts, never by a deployment.
    from testing.portone_server import FakePortOne, make_webhook_secret

    if not settings.DEBUG:
        raise SandboxRefused("The test checkout runs only with DJANGO_DEBUG=1.")
    with _lock:
        if _running is not None:
            return _running
        fake = FakePortOne(api_secret=secrets.token_urlsafe(24), store_id=STORE_ID)
        base_url = fake.start()
        fake.webhook_secret = make_webhook_secret()
        _saved.clear()
        _saved.update({name: getattr(settings, name) for name in _OVERRIDDEN})
        settings.PORTONE_API_BASE_URL = base_url
        settings.PORTONE_STORE_ID = fake.store_id
        settings.PORTONE_CHANNEL_KEY = CHANNEL_KEY
        settings.PORTONE_API_SECRET = fake.api_secret
        settings.PORTONE_WEBHOOK_SECRET = fake.webhook_secret
        # The stand-in PG pays on a TEST channel, as PortOne's test mode does.
        settings.PORTONE_ALLOW_TEST_CHANNEL = True
        settings.PORTONE_BROWSER_SDK_URL = static(SDK_STATIC_PATH)
        _running = fake
        logger.info("Test checkout on: loopback PortOne V2 at %s; no money moves", base_url)
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


def _deliver_webhook(fake, *, url: str, payment_id: str, event_type: str) -> None:
    # Test tooling, as in start(): only the running test checkout gets here.
    from testing.portone_server import sign_webhook, webhook_body

    time.sleep(WEBHOOK_DELAY_SECONDS)
    body = webhook_body(event_type, payment_id=payment_id, store_id=fake.store_id)
    headers = {"Content-Type": "application/json", **sign_webhook(fake.webhook_secret, body)}
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=10)
    except httpx.HTTPError as error:
        logger.warning("Test checkout webhook to %s failed: %r", url, error)
        return
    if response.status_code >= 400:
        logger.warning("Test checkout webhook to %s answered %s", url, response.status_code)


def sandbox_pay(
    *, payment_id: str, amount: int, currency: str, order_name: str, webhook_url: str
) -> dict:
    """What the PG does when the user pays: PortOne records the payment, then sends its webhook.

    The amount is what the browser asked the SDK to charge, not the order's price, so the
    server's check of amount, currency and store still decides whether credits are added.
    """
    fake = server()
    if fake is None:
        raise SandboxRefused("The test checkout is not running.")
    paid = fake.set_paid(
        payment_id, amount=amount, currency=currency, order_name=order_name, channel_type="TEST"
    )
    threading.Thread(
        target=_deliver_webhook,
        kwargs={"fake": fake, "url": webhook_url, "payment_id": payment_id, "event_type": "Transaction.Paid"},
        name="test-checkout-webhook",
        daemon=True,
    ).start()
    return {"paymentId": payment_id, "txId": paid["transactionId"], "transactionType": "PAYMENT"}


def sandbox_issue_billing_key(*, customer_id: str, issue_id: str, issue_name: str) -> dict:
    """What the card company does when the user registers a card: PortOne issues a billing key
    (on a TEST channel) and the SDK hands it to the page, as `requestIssueBillingKey` answers."""
    fake = server()
    if fake is None:
        raise SandboxRefused("The test checkout is not running.")
    billing_key = fake.issue_billing_key(
        customer_id=customer_id, issue_id=issue_id, issue_name=issue_name, channel_type="TEST"
    )
    return {"billingKey": billing_key, "transactionType": "ISSUE_BILLING_KEY"}
