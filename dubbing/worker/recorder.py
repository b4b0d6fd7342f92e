"""The step recorder: the pipeline's events written as the job's steps, lines and progress."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import structlog

from dubbing import services
from dubbing.models import DubbingJob, StepStatus
from dubbing.pipeline.runner import STAGES
from onevoice import metrics

logger = logging.getLogger(__name__)

# Share of the whole job each stage stands for, for the overall progress bar (sums to 100).
STAGE_WEIGHTS = {
    "probe": 1, "extract": 3, "separate": 6, "transcribe": 19, "segment": 2, "translate": 10, "synthesize": 30,
    "fit": 10, "mix": 8, "mux": 8, "publish": 3,
}


class StepRecorder:
    """Records each stage's start and end as a JobStep of the run (attempt, render), the lines a
    stage made (first runs; a render's lines are applied when it succeeds), the detected
    language, and the overall progress. Progress events may come from a pipeline thread: they
    only touch memory, and the monitor's tick writes them (`flush_if_dirty`). A progress write
    that finds the claim gone calls `on_claim_lost`."""

    def __init__(self, job: DubbingJob, *, render: int, on_claim_lost: Callable[[], None]):
        self.job = job
        self.render = render
        self.claim_token = job.claim_token
        self.on_claim_lost = on_claim_lost
        self.stage = job.stage
        self._lock = threading.Lock()
        self._fraction = 0.0
        self._done_weight = 0.0
        self._finished: set[str] = set()
        self._written: tuple[str, int] | None = None
        self._dirty = False

    # -- progress --

    def _progress(self) -> int:
        current = 0.0 if self.stage in self._finished else STAGE_WEIGHTS.get(self.stage, 0) * self._fraction
        return int(self._done_weight + current)

    def flush_if_dirty(self) -> None:
        if self._dirty:
            self.flush_progress()

    def flush_progress(self, *, detected_language: str = "") -> None:
        with self._lock:
            self._dirty = False
            value = (self.stage, min(99, self._progress()))
            if value == self._written and not detected_language:
                return
            if not services.job_progress_save(job=self.job, claim_token=self.claim_token, stage=value[0],
                                              progress=value[1], detected_language=detected_language):
                self.on_claim_lost()
                return
            self._written = value

    # -- pipeline events --

    def on_event(self, event) -> None:
        if event.kind == "progress":
            # May come from a pipeline thread: only memory here; the monitor writes it.
            with self._lock:
                if event.stage == self.stage:
                    self._fraction = max(self._fraction, min(1.0, float(event.fraction)))
                    self._dirty = True
            return
        position = STAGES.index(event.stage) if event.stage in STAGES else len(STAGES)
        step = {"job": self.job, "attempt": self.job.attempt, "render": self.render, "name": event.stage,
                "position": position}
        if event.kind == "started":
            structlog.contextvars.bind_contextvars(stage=event.stage)
            logger.info("Dubbing job %s: stage %s started", self.job.id, event.stage)
            services.job_step_start(**step)
            with self._lock:
                self.stage, self._fraction = event.stage, 0.0
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
            if event.stage not in self._finished:
                self._finished.add(event.stage)
                self._done_weight += STAGE_WEIGHTS.get(event.stage, 0)
            self.stage, self._fraction = event.stage, 1.0
        detected = ""
        if event.stage == "transcribe":
            detail = event.detail or {}
            detected = str(detail.get("language") or detail.get("source_language") or "")
        self.flush_progress(detected_language=detected[:16])
