"""The product's own Prometheus metrics, served with django-prometheus's at /metrics.

Counters are incremented where the event happens; gauges that are a reading of the database or
the broker (jobs by status, queue depth) are collected at scrape time instead of being kept.
"""

from __future__ import annotations

from prometheus_client import Counter

webhook_rejected = Counter(
    "onevoice_portone_webhook_rejected_total",
    "PortOne webhook attempts refused before anything was stored, by reason.",
    ["reason"],
)
webhook_failed = Counter(
    "onevoice_portone_webhook_failed_total",
    "Verified PortOne webhook deliveries whose processing failed.",
)
payment_sync_failed = Counter(
    "onevoice_payment_sync_failed_total",
    "Payments sync_payments could not bring up to date with PortOne.",
)
refund_sync_failed = Counter(
    "onevoice_refund_sync_failed_total",
    "Pending refunds sync_refunds could not settle with PortOne.",
)
