from __future__ import annotations

import logging
import threading

import dramatiq

from billing.services import payments_sync_pending, refunds_sync_pending

logger = logging.getLogger(__name__)


@dramatiq.actor(max_retries=0, time_limit=15 * 60 * 1000)
def sync_pending_payments(older_than_seconds: int = 300) -> None:
    """The same re-check as `manage.py sync_payments`, enqueued by `billing_sync_loop`."""
    payments_sync_pending(older_than_seconds=older_than_seconds)


@dramatiq.actor(max_retries=0, time_limit=15 * 60 * 1000)
def sync_pending_refunds() -> None:
    """The same settling as `manage.py sync_refunds` (REFUND_SYNC_AFTER_SECONDS), enqueued by
    `billing_sync_loop`. Two at once are harmless: each refund is settled under its payment's lock."""
    refunds_sync_pending()


def billing_sync_loop(*, interval: float, stop: threading.Event, on_pass=None) -> None:
    """Enqueue both re-checks every `interval` seconds until `stop` is set (`sync_billing
    --loop`, devserver's thread); the workers run them. A failed pass is logged, not fatal."""
    while True:
        try:
            sync_pending_payments.send()
            sync_pending_refunds.send()
            if on_pass is not None:
                on_pass()
        except Exception:  # the loop outlives a broker hiccup
            logger.exception("Billing sync pass failed")
        if stop.wait(interval):
            return
