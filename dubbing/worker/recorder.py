"""The step recorder: the pipeline's events written as the job's steps, lines and progress."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import structlog
from django.utils import timezone

from dubbing import services
from dubbing.models import DubbingJob, StepStatus
from dubbing.pipeline.runner import STAGES
from dubbing.worker.progress import ProgressClock, stage_seconds
from onevoice import metrics

logger = logging.getLogger(__name__)

# A new time-left estimate is written when it moves by more than this many seconds (or the
# percent moves): each write is a locked row update.
ETA_REWRITE_SECONDS = 5.0


class StepRecorder:
    """Records each stage's start and end as a JobStep of the run (attempt, render), the lines a
    stage made (first runs; a render's lines are applied when it succeeds), the detected
    language, and the overall progress. Progress events may come from a pipeline thread: they
    only touch memory, and the monitor's tick writes them (`flush_if_dirty`). A progress write
    that finds the claim gone calls `on_claim_lost`."""

    def __init__(self, job: DubbingJob, *, render: int, on_claim_lost: Callable[[], None],
                 clock: Callable[[], float] = time.monotonic):
        self.job = job
        self.render = render
        self.claim_token = job.claim_token
        self.on_claim_lost = on_claim_lost
        self.stage = job.stage
        self.clock = clock
        self._lock = threading.Lock()
        self.progress = ProgressClock(
            expected=stage_seconds(media_seconds=job.video.duration,
                                   separate=job.dub_options.background == "separate"),
            order=tuple(STAGES))
        self._written: tuple[str, int] | None = None
        self._written_left: float | None = None
        self._written_at = 0.0

    # -- progress --

    def flush_if_dirty(self) -> None:
        """The monitor's tick: write when the percent or the time left has moved (a stage
        without progress events moves by the clock alone)."""
        self.flush_progress(only_if_moved=True)

    def _moved(self, value: tuple[str, int], left: float | None, now: float) -> bool:
        if value != self._written or (left is None) != (self._written_left is None):
            return True
        if left is None:
            return False
        # What was written counts down by itself; only a change of the estimate is news.
        drift = abs((self._written_left - (now - self._written_at)) - left)
        return drift > ETA_REWRITE_SECONDS

    def flush_progress(self, *, detected_language: str = "", only_if_moved: bool = False) -> None:
        with self._lock:
            now = self.clock()
            value = (self.stage, self.progress.percent(now=now))
            left = self.progress.seconds_left(now=now)
            if not detected_language and not self._moved(value, left, now):
                return
            eta_at = timezone.now() + timedelta(seconds=left) if left is not None else None
            if not services.job_progress_save(job=self.job, claim_token=self.claim_token, stage=value[0],
                                              progress=value[1], detected_language=detected_language,
                                              eta_at=eta_at):
                self.on_claim_lost()
                return
            self._written, self._written_left, self._written_at = value, left, now

    # -- pipeline events --

    def on_event(self, event) -> None:
        if event.kind == "progress":
            # May come from a pipeline thread: only memory here; the monitor writes it.
            with self._lock:
                if event.stage == self.stage:
                    self.progress.advance(event.stage, float(event.fraction))
            return
        position = STAGES.index(event.stage) if event.stage in STAGES else len(STAGES)
        step = {"job": self.job, "attempt": self.job.attempt, "render": self.render, "name": event.stage,
                "position": position}
        if event.kind == "started":
            structlog.contextvars.bind_contextvars(stage=event.stage)
            logger.info("Dubbing job %s: stage %s started", self.job.id, event.stage)
            services.job_step_start(**step)
            with self._lock:
                self.stage = event.stage
                self.progress.start(event.stage, now=self.clock())
            self.flush_progress()
        elif event.kind == "done":
            self._on_done(event, step)
        elif event.kind == "failed":
            services.job_step_finish(**step, status=StepStatus.FAILED, error_code=event.code or "",
                                     error_message=event.message)

    def _on_done(self, event, step: dict) -> None:
        logger.info("Dubbing job %s: stage %s %s", self.job.id, event.stage,
                    "reused" if event.cached else f"done in {float(event.seconds):.2f} s")
        services.job_step_finish(
            **step, status=StepStatus.SKIPPED if event.cached else StepStatus.DONE,
            seconds=0.0 if event.cached else float(event.seconds), detail=dict(event.detail or {}),
        )
        if not event.cached:  # a reused stage took no time; counting it would drag every bucket to 0
            metrics.pipeline_stage_seconds.labels(stage=event.stage).observe(float(event.seconds))
        if event.segments is not None and not self.render:
            services.segments_upsert(job=self.job, segments=event.segments, stage=event.stage)
        cloned = (event.detail or {}).get("cloned") if event.stage == "synthesize" else None
        if cloned:
            services.voice_cloning_consent_speakers_record(
                job_id=self.job.id, speakers=[speaker for speaker, yes in cloned.items() if yes])
        with self._lock:
            if event.stage not in self.progress.finished:
                self.progress.finish(event.stage, cached=bool(event.cached), seconds=float(event.seconds or 0.0))
            self.stage = event.stage
        detected = ""
        if event.stage == "transcribe":
            detail = event.detail or {}
            detected = str(detail.get("language") or detail.get("source_language") or "")
        self.flush_progress(detected_language=detected[:16])
