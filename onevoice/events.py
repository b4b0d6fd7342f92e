"""A tiny publish/subscribe registry for flows that cross apps against the dependency order.

dubbing tells whoever listens that a job finished without importing them: it calls
`publish(JobEvent.SUCCEEDED, job_id=...)` (the publisher names its events: dubbing.events) inside
its transaction, and every handler subscribed to that event (integrations' webhooks, from its
AppConfig.ready) runs once the transaction commits, so a handler never sees a state that was
rolled back. A failing handler is logged and does not
disturb the publisher or the other handlers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

_handlers: dict[str, list[Callable[..., None]]] = defaultdict(list)


def subscribe(event: str, handler: Callable[..., None]) -> None:
    if handler not in _handlers[event]:
        _handlers[event].append(handler)


def _call(event: str, handler, payload: dict) -> None:
    try:
        handler(event, **payload)
    except Exception:
        logger.exception("Handler %r of event %s failed", handler, event)


def publish(event: str, **payload) -> None:
    """Run the event's handlers after the current transaction commits (at once outside one)."""
    for handler in list(_handlers.get(event, ())):
        transaction.on_commit(lambda h=handler: _call(event, h, payload))
