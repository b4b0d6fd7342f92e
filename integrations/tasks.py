"""The webhook delivery actor: one try of one message; the services decide and schedule the next
(they send by the actor's name, integrations/queue.py, and never import this module)."""

from __future__ import annotations

import dramatiq

from integrations import services
from integrations.queue import DELIVER_ACTOR, QUEUE


# Retries are ours (backoff for WEBHOOK_RETRY_HOURS, every try logged), not Dramatiq's.
@dramatiq.actor(actor_name=DELIVER_ACTOR, queue_name=QUEUE, max_retries=0, time_limit=120_000)
def webhook_deliver(message_id: str, number: int) -> None:
    services.webhook_attempt_run(message_id=message_id, number=int(number))
