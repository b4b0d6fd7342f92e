"""The built-in test checkout for Paddle buyers: no money moves.

With `DJANGO_DEBUG=1` and no Paddle keys (`PADDLE_TEST_CHECKOUT`, settings.py), `devserver`
calls `start()`: the loopback Paddle API of testing/paddle_server.py listens on 127.0.0.1, the
Paddle settings point at it, its catalog holds our packs' and plans' Paddle prices (the ids
already stored are kept, the missing made by `paddle_catalog_sync`), and the pages load a
stand-in for Paddle.js (billing/static/billing/test-checkout-paddle.js) that shows "Test
payment: no money moves". Its "Pay" asks `sandbox_pay` to do what Paddle's checkout does: the
transaction is paid and completed, and Paddle's signed webhooks are delivered to our endpoint,
so `complete`, the webhook and refunds run exactly the code they run against api.paddle.com.

With debug off nothing here can be started (`SandboxRefused`), and `check --deploy` reports a
`PADDLE_TEST_CHECKOUT` that asks for it (billing/checks.py).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

import httpx
from django.conf import settings
from django.db import DatabaseError
from django.templatetags.static import static

from billing.models import PaddleCatalogPrice
from billing.services.paddle_catalog import catalog_items, paddle_catalog_sync
from billing.sandbox import SandboxRefused

logger = logging.getLogger(__name__)

STAND_IN_STATIC_PATH = "billing/test-checkout-paddle.js"
CLIENT_TOKEN = "test_onevoice_test_checkout_token"
# Paddle's webhooks arrive about when the page calls `complete`, in either order.
WEBHOOK_DELAY_SECONDS = 0.3
_OVERRIDDEN = ("PADDLE_API_BASE", "PADDLE_API_KEY", "PADDLE_CLIENT_TOKEN", "PADDLE_WEBHOOK_SECRET",
               "PADDLE_ENVIRONMENT", "PADDLE_JS_URL")
_lock = threading.Lock()
_running = None  # the FakePaddle while the test checkout is on
_saved: dict[str, object] = {}


def is_running() -> bool:
    return _running is not None and settings.DEBUG


def server():
    """The loopback Paddle API while the test checkout runs, else None."""
    return _running if is_running() else None


def start():
    """Start the loopback Paddle API and point the Paddle settings at it (idempotent). Our
    catalog is loaded into it now when the database is ready, else on the first page that sells
    (`catalog_ensure`): devserver starts before `migrate` on a fresh data folder."""
    global _running
    # Test tooling (testing/): loaded only once the test checkout starts, never by a deployment.
    from testing.paddle_server import FakePaddle

    if not settings.DEBUG:
        raise SandboxRefused("The test checkout runs only with DJANGO_DEBUG=1.")
    with _lock:
        if _running is not None:
            return _running
        fake = FakePaddle(api_key=f"pdl_sdbx_apikey_{secrets.token_hex(16)}")
        base_url = fake.start()
        fake.catalog_loaded = False
        _saved.clear()
        _saved.update({name: getattr(settings, name) for name in _OVERRIDDEN})
        settings.PADDLE_API_BASE = base_url
        settings.PADDLE_API_KEY = fake.api_key
        settings.PADDLE_CLIENT_TOKEN = CLIENT_TOKEN
        settings.PADDLE_WEBHOOK_SECRET = [fake.webhook_secret]
        settings.PADDLE_ENVIRONMENT = "sandbox"
        settings.PADDLE_JS_URL = static(STAND_IN_STATIC_PATH)
        _running = fake
    try:
        catalog_ensure()
    except DatabaseError as error:
        logger.warning("Test checkout for Paddle: catalog not loaded yet (%s); the credits page loads it", error)
    logger.info("Test checkout on: loopback Paddle at %s; no money moves", base_url)
    return fake


def catalog_ensure() -> None:
    """Keep the loopback Paddle's catalog in step with ours: once, the Paddle ids already stored
    (from an earlier run); then new Paddle prices whenever a pack or plan is sold at a price that
    has none yet (staff added or changed it while the site runs), as `paddle_catalog` makes them."""
    fake = server()
    if fake is None:
        return
    with _lock:
        if not fake.catalog_loaded:
            for row in PaddleCatalogPrice.objects.select_related("pack", "plan"):
                fake.adopt_price(product_id=row.paddle_product_id, price_id=row.paddle_price_id, amount=row.amount,
                                 currency=row.currency, monthly=row.plan_id is not None, active=row.active,
                                 name=str(row.pack.name if row.pack_id else row.plan.name))
            fake.catalog_loaded = True
        priced = set(PaddleCatalogPrice.objects.filter(active=True).values_list("pack_id", "plan_id", "currency", "amount"))
        missing = [item for item in catalog_items()
                   if (item.obj.pk if item.kind == "pack" else None, item.obj.pk if item.kind == "plan" else None,
                       item.currency, item.amount) not in priced]
        if missing:
            report = paddle_catalog_sync()
            logger.info("Test checkout for Paddle: catalog brought up to date (%s)", report.summary())


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


def _deliver(fake, *, url: str, events: list[dict]) -> None:
    time.sleep(WEBHOOK_DELAY_SECONDS)
    for event in events:
        body, headers = fake.signed(event)
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=10)
        except httpx.HTTPError as error:
            logger.warning("Test checkout: Paddle webhook to %s failed: %r", url, error)
            continue
        if response.status_code >= 400:
            logger.warning("Test checkout: Paddle webhook to %s answered %s", url, response.status_code)


def sandbox_pay(*, transaction_id: str, webhook_url: str) -> dict:
    """What Paddle's checkout does when the buyer pays: the transaction is paid and completed
    (a recurring price starts a subscription), then Paddle's webhooks are sent."""
    fake = server()
    if fake is None:
        raise SandboxRefused("The test checkout is not running.")
    before = len(fake.events)
    paid = fake.pay(transaction_id)
    threading.Thread(target=_deliver, kwargs={"fake": fake, "url": webhook_url, "events": fake.events[before:]},
                     name="test-checkout-paddle-webhooks", daemon=True).start()
    return {"transaction_id": paid["id"], "status": paid["status"]}
