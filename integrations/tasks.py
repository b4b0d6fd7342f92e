"""The webhook delivery actor: one try of one message; the services decide and schedule the next."""

from __future__ import annotations

import dramatiq

from integrations import services

QUEUE = "webhooks"


# Retries are ours (backoff for WEBHOOK_RETRY_HOURS, every try logged), not Dramatiq's.
@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=120_000)
def webhook_deliver(message_id: str, number: int) -> None:
    services.webhook_attempt_run(message_id=message_id, number=int(number))
