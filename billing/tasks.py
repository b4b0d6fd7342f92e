from __future__ import annotations

import dramatiq

from billing.services import payments_sync_pending


@dramatiq.actor(max_retries=0, time_limit=15 * 60 * 1000)
def sync_pending_payments(older_than_seconds: int = 300) -> None:
    """The same re-check as `manage.py sync_payments`, for a scheduler to enqueue."""
    payments_sync_pending(older_than_seconds=older_than_seconds)
