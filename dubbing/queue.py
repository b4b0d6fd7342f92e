"""Sending a job's run to the dubbing workers: below the services and the actors.

The services queue work by the actor's name (`RUN_JOB_ACTOR` on `QUEUE`), so they never import
the actors' module; `dubbing/tasks.py` declares the actor under that name and imports the
services, never the reverse. A message carries its own time limit, scaled to the media's length.
"""

from __future__ import annotations

import dramatiq
from django.conf import settings
from django.db import transaction

QUEUE = settings.DUBBING_QUEUE  # `dubbing`; GPU workers listen on their own (settings)
RUN_JOB_ACTOR = "run_dubbing_job"
# A video's spoken language, detected after its upload: a short job on the general queue that
# every worker consumes (not the dubbing one, where it would wait behind long dubs).
DETECT_ACTOR = "detect_spoken_language"
DETECT_QUEUE = "default"


def job_time_limit_ms(duration: float | None) -> int:
    """How long one delivery may run: a base plus a factor of the media's duration."""
    seconds = settings.DUBBING_TIME_LIMIT_BASE + settings.DUBBING_TIME_LIMIT_FACTOR * float(duration or 0.0)
    return int(seconds * 1000)


def job_message_send(*, job_id, attempt: int, render: int, delay_seconds: float = 0.0,
                     duration: float | None = None) -> None:
    """Send one run of a job (its attempt, or its render n) to the workers, after `delay_seconds`."""
    message = dramatiq.Message(
        queue_name=QUEUE,
        actor_name=RUN_JOB_ACTOR,
        args=(str(job_id), int(attempt), int(render)),
        kwargs={},
        options={"time_limit": job_time_limit_ms(duration)},
    )
    delay = int(delay_seconds * 1000) if delay_seconds > 0 else None
    dramatiq.get_broker().enqueue(message, delay=delay)


def detect_message_send(*, video_id) -> None:
    """Queue the detection of a video's spoken language, once the current transaction commits."""
    message = dramatiq.Message(queue_name=DETECT_QUEUE, actor_name=DETECT_ACTOR, args=(str(video_id),),
                               kwargs={}, options={})
    transaction.on_commit(lambda: dramatiq.get_broker().enqueue(message))
