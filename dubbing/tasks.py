"""The dubbing actor: one delivery runs one job's attempt (or one render) on this worker.

The machinery (claim, heartbeat and cancel monitor, step recorder, artifact publisher, the
shared source analysis) is in `dubbing/worker/`; messages are sent by `dubbing/queue.py`, under
the actor's name, so the services never import this module.

Retries are ours, not Dramatiq's (max_retries=0): a retryable PipelineError (timeouts, 429, 5xx,
storage hiccups, the time limit) re-sends the message with exponential backoff until the
attempt has used DUBBING_JOB_MAX_TRIES; a non-retryable one fails the job at once. Failing
refunds the attempt once and emails the owner (services).
"""

from __future__ import annotations

import dramatiq
from django.conf import settings

from dubbing.queue import DETECT_ACTOR, DETECT_QUEUE, QUEUE, RUN_JOB_ACTOR
from dubbing.services.spoken_language import spoken_language_detect
from dubbing.worker.run import job_run


# The time limit here is the floor; each message carries its own, scaled to the media's length.
@dramatiq.actor(actor_name=RUN_JOB_ACTOR, queue_name=QUEUE, max_retries=0,
                time_limit=int(settings.DUBBING_TIME_LIMIT_BASE * 1000))
def run_dubbing_job(job_id: str, attempt: int, render: int = 0) -> None:
    job_run(job_id=job_id, attempt=int(attempt), render=int(render))


@dramatiq.actor(actor_name=DETECT_ACTOR, queue_name=DETECT_QUEUE, max_retries=0, time_limit=10 * 60 * 1000)
def detect_spoken_language(video_id: str) -> None:
    spoken_language_detect(video_id=video_id)
