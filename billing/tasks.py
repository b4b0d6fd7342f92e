from __future__ import annotations

import logging
import threading

import dramatiq

from django.utils.dateparse import parse_datetime

from billing.services import payments_sync_pending, refunds_sync_pending, subscription_renew, subscriptions_due

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


@dramatiq.actor(max_retries=0, time_limit=5 * 60 * 1000)
def renew_subscription(subscription_id: str, now: str | None = None) -> None:
    """Renew one due subscription (`subscription_renew`). Sent once per due subscription by
    `renew_subscriptions`; a duplicate message finds the claim taken or the period renewed.
    `now` (ISO 8601) moves the clock for this renewal: the embedded set-up's test option only."""
    subscription_renew(subscription_id=subscription_id, now=parse_datetime(now) if now else None)


def subscriptions_renew_enqueue(*, now=None) -> int:
    """Send `renew_subscription` for every subscription due at `now`; returns how many."""
    sent = 0
    for subscription_id in subscriptions_due(now=now).iterator():
        renew_subscription.send(str(subscription_id), now.isoformat() if now else None)
        sent += 1
    return sent


def renewal_loop(*, interval: float, stop: threading.Event, on_pass=None) -> None:
    """Enqueue the due renewals every `interval` seconds until `stop` is set (`renew_subscriptions
    --loop`, devserver's thread). A failed pass is logged, not fatal."""
    while True:
        try:
            subscriptions_renew_enqueue()
            if on_pass is not None:
                on_pass()
        except Exception:  # the loop outlives a database or broker hiccup
            logger.exception("Subscription renewal pass failed")
        if stop.wait(interval):
            return
