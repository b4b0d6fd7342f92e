"""What was sent to the broker: a Dramatiq middleware that records every enqueue (actor, arguments,
delay), on any broker (the StubBroker, or Redis in CI's second pass), instead of reading queues."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dramatiq


@dataclass(frozen=True)
class Enqueued:
    actor_name: str
    args: tuple
    kwargs: dict
    delay: int | None  # milliseconds, as the sender asked; None when sent to run now


class EnqueueRecorder(dramatiq.Middleware):
    def __init__(self) -> None:
        self.messages: list[Enqueued] = []
        self._seen: set[str] = set()

    @property
    def actor_names(self) -> list[str]:
        return [m.actor_name for m in self.messages]

    def before_enqueue(self, broker, message, delay):
        # A worker moving a due delayed message onto its queue (or Dramatiq's retries) enqueues the
        # same message again: only its first enqueue is a send.
        if message.message_id in self._seen:
            return
        self._seen.add(message.message_id)
        self.messages.append(Enqueued(message.actor_name, tuple(message.args), dict(message.kwargs), delay or None))


@contextmanager
def recording_enqueues(broker: dramatiq.Broker) -> Iterator[EnqueueRecorder]:
    """Record what is enqueued on `broker` inside the block."""
    recorder = EnqueueRecorder()
    broker.middleware.append(recorder)
    try:
        yield recorder
    finally:
        broker.middleware.remove(recorder)
