"""Sending a webhook message's try to the delivery workers: below the services and the actor.

The services queue a try by the actor's name (`DELIVER_ACTOR` on `QUEUE`), so they never import
the actor's module; `integrations/tasks.py` declares the actor under that name and imports the
services, never the reverse.
"""

from __future__ import annotations

import dramatiq

QUEUE = "webhooks"
DELIVER_ACTOR = "webhook_deliver"


def webhook_try_send(*, message_id: str, number: int, delay_seconds: float = 0.0) -> None:
    """Send try `number` of one webhook message to the workers, after `delay_seconds`."""
    message = dramatiq.Message(queue_name=QUEUE, actor_name=DELIVER_ACTOR, args=(message_id, int(number)),
                               kwargs={}, options={})
    delay = int(delay_seconds * 1000) if delay_seconds > 0 else None
    dramatiq.get_broker().enqueue(message, delay=delay)
