"""A worker's claim on a job and everything written under it: the claim, its heartbeat, the
progress, the steps and lines the pipeline reports, the run's end (succeeded, failed, cancelled,
queued again after a retryable error), and the reaper that takes jobs back from dead workers.

Every write after the claim takes the claim token the worker got: a worker that lost its claim
(the reaper gave the job to another one) changes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dubbing import emails
from dubbing.events import JobEvent
from dubbing.models import Artifact, DubbingJob, JobStatus, JobStep, Segment, StepStatus
from dubbing.pipeline.errors import ErrorCode
from dubbing.services.transitions import (
    claim_release,
    job_cancel_now,
    job_enqueue,
    job_fail_now,
    job_requeue,
    job_snapshot_refresh,
)
from onevoice import events
from onevoice.retry import backoff_delay

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


# --- The claim ----------------------------------------------------------------------------------

def dubbing_job_claim(*, job_id, attempt: int, render: int, claim_token: uuid.UUID | None = None) -> DubbingJob | None:
    """Take the job for this worker with a conditional update; None when someone else has it
    (a duplicate delivery, a stale message of an earlier attempt, a cancelled job)."""
    token = claim_token or uuid.uuid4()
    now = timezone.now()
    run = Q(rendering=True, render_count=render) if render else Q(rendering=False)
    claimed = DubbingJob.objects.filter(
        run, id=job_id, status=JobStatus.QUEUED, attempt=attempt, cancel_requested=False
    ).update(
        status=JobStatus.RUNNING,
        claim_token=token,
        heartbeat_at=now,
        worker=worker_name(),
        started_at=now,
        updated_at=now,
    )
    if claimed != 1:
        return None
    job = DubbingJob.objects.select_related("owner", "video").get(id=job_id)
    job_snapshot_refresh(job)
    return job


def dubbing_job_heartbeat(*, job_id, claim_token) -> tuple[bool, bool]:
    """Renew the claim. (held, cancel_requested): held is False when the claim was lost."""
    held = DubbingJob.objects.filter(id=job_id, claim_token=claim_token, status=JobStatus.RUNNING).update(
        heartbeat_at=timezone.now()
    )
    if held != 1:
        return False, True
    cancel = DubbingJob.objects.filter(id=job_id).values_list("cancel_requested", flat=True).first()
    return True, bool(cancel)


def _locked_claimed(job_id, claim_token) -> DubbingJob | None:
    job = DubbingJob.objects.select_for_update().select_related("owner", "video").filter(id=job_id).first()
    if job is None or job.status != JobStatus.RUNNING or (claim_token is not None and job.claim_token != claim_token):
        return None
    return job


# --- What the pipeline reports while it runs ----------------------------------------------------

def job_step_start(*, job: DubbingJob, attempt: int, render: int, name: str, position: int) -> None:
    now = timezone.now()
    JobStep.objects.update_or_create(
        job_id=job.id, attempt=attempt, render=render, name=name,
        defaults={"position": position, "status": StepStatus.RUNNING, "started_at": now, "finished_at": None,
                  "seconds": None, "error_code": "", "error_message": ""},
    )


def job_step_finish(*, job: DubbingJob, attempt: int, render: int, name: str, position: int, status: str,
                    seconds: float | None = None, detail: dict | None = None, error_code: str = "",
                    error_message: str = "") -> None:
    now = timezone.now()
    step, _ = JobStep.objects.get_or_create(
        job_id=job.id, attempt=attempt, render=render, name=name,
        defaults={"position": position, "status": status, "started_at": now},
    )
    step.position = position
    step.status = status
    step.finished_at = now
    step.seconds = seconds
    if detail is not None:
        step.detail = detail
    step.error_code = str(error_code or "")[:50]
    step.error_message = error_message or ""
    step.save()


def job_progress_save(*, job: DubbingJob, claim_token, stage: str, progress: int,
                      detected_language: str = "", eta_at=None) -> bool:
    """Write stage and progress of a claimed job, and its snapshot; False when the claim is lost.

    The row is locked while the snapshot is rebuilt, so a progress write racing the job's end
    (succeed, fail, cancel, all of which lock it too) can never leave a "running" snapshot on a
    finished job.
    """
    with transaction.atomic():
        locked = (DubbingJob.objects.select_for_update()
                  .filter(id=job.id, claim_token=claim_token, status=JobStatus.RUNNING).first())
        if locked is None:
            return False
        locked.stage = stage
        locked.progress = max(0, min(99, int(progress)))
        locked.eta_at = eta_at
        fields = ["stage", "progress", "eta_at", "updated_at"]
        if detected_language:
            locked.detected_language = detected_language
            fields.append("detected_language")
        locked.save(update_fields=fields)
        job_snapshot_refresh(locked)
    job.stage, job.progress, job.eta_at, job.snapshot = locked.stage, locked.progress, locked.eta_at, locked.snapshot
    if detected_language:
        job.detected_language = detected_language
    return True


# Lines written per statement: a bulk update is one CASE WHEN branch per row and field, so an
# unbatched write of thousands of lines was one statement PostgreSQL chewed on for minutes.
SEGMENT_WRITE_BATCH = 100
_SEGMENT_FIELDS = ["segment_id", "start", "end", "speaker", "source_text", "target_text", "rendered_text", "speed",
                   "displacement", "overrun", "shortened", "glossary_misses", "updated_at"]


def _segment_apply(row: Segment, result, *, stage: str, render: bool) -> None:
    """Copy one of the pipeline's lines onto its row (see `segments_upsert` for which fields)."""
    row.segment_id = str(result.id)[:32]
    row.start = float(result.start)
    row.end = float(result.end)
    if not render or not row.speaker:
        row.speaker = (result.speaker or "")[:50]
    row.source_text = result.source_text or ""
    if stage in ("segment", "translate") and not render and (stage == "translate" or result.target_text or not row.pk):
        row.target_text = result.target_text or ""
        row.rendered_text = row.target_text
    if render:
        row.rendered_text = row.target_text
    if stage == "fit" or render:
        row.speed = float(result.speed or 1.0)
        row.displacement = float(result.displacement or 0.0)
        row.overrun = float(result.overrun or 0.0)
        row.shortened = bool(result.shortened)
    misses = getattr(result, "glossary_misses", None)
    if misses is not None:
        row.glossary_misses = list(misses)


def segments_upsert(*, job: DubbingJob, segments: list, stage: str = "", render: bool = False) -> int:
    """Write the pipeline's lines (SegmentResult) as Segment rows, keyed by index.

    A line's target text is what translation gave it (the engine's, or the user's edit): set by
    the translate stage, and the outputs speak it (rendered_text), so it is unchanged. The fit
    stage only adds how the line was placed (speed, overrun, shortened): a line shortened to fit
    still counts as unchanged. `render`: a re-render's final lines, applied when it succeeds;
    rendered_text becomes the edited text that was spoken.
    """
    existing = {s.index: s for s in Segment.objects.filter(job_id=job.id)}
    create, update = [], []
    for result in segments:
        row = existing.get(result.index) or Segment(job_id=job.id, index=result.index)
        _segment_apply(row, result, stage=stage, render=render)
        (update if row.pk else create).append(row)
    now = timezone.now()
    for row in update:
        row.updated_at = now
    with transaction.atomic():
        if update:
            Segment.objects.bulk_update(update, _SEGMENT_FIELDS, batch_size=SEGMENT_WRITE_BATCH)
        if create:
            Segment.objects.bulk_create(create, batch_size=SEGMENT_WRITE_BATCH)
    return len(create) + len(update)


# --- The run's end --------------------------------------------------------------------------------

@dataclass
class PublishedFile:
    kind: str
    name: str
    filename: str
    size: int
    content_type: str


def _artifacts_replace(job: DubbingJob, files: list[PublishedFile]) -> list[str]:
    """The run's files become the job's artifacts; returns the storage names no longer referenced."""
    new_names = {f.name for f in files}
    stale = [a.name for a in Artifact.objects.filter(job_id=job.id) if a.name not in new_names]
    Artifact.objects.filter(job_id=job.id).exclude(kind__in={f.kind for f in files}).delete()
    for f in files:
        Artifact.objects.update_or_create(
            job_id=job.id,
            kind=f.kind,
            defaults={"name": f.name, "filename": f.filename, "size": f.size,
                      "content_type": f.content_type, "render": job.current_render},
        )
    return stale


def dubbing_job_succeed(
    *,
    job_id,
    claim_token,
    files: list[PublishedFile],
    engines: dict | None = None,
    detected_language: str = "",
    segments: list | None = None,
) -> tuple[DubbingJob | None, list[str]]:
    """Record a finished run: its artifacts replace the previous ones, the job succeeds and its
    owner is emailed. Returns (job, storage names no longer referenced: the caller deletes
    them). A run whose cancel was requested before this point ends cancelled and refunded
    instead (job None; the new files are returned for deletion). A lost claim changes nothing.

    `segments` (render runs): the pipeline's final lines, applied only now so that a failed
    render leaves the lines (and their "changed" marks) as they were.
    """
    now = timezone.now()
    with transaction.atomic():
        job = _locked_claimed(job_id, claim_token)
        if job is None or job.cancel_requested:
            if job is not None:
                job_cancel_now(job, now=now)
            return None, [f.name for f in files]
        stale = _artifacts_replace(job, files)
        if segments is not None:
            segments_upsert(job=job, segments=segments, render=True)
        if engines:
            job.engines = engines
        if detected_language:
            job.detected_language = detected_language
        was_render = job.rendering
        claim_release(job, status=JobStatus.SUCCEEDED, finished_at=now)
        job.rendering = False
        job.stage = "publish"
        job.progress = 100
        job.error_code = job.error_message = ""
        job.save()
        job_snapshot_refresh(job)
        emails.job_succeeded_email_queue(job=job)
        events.publish(JobEvent.RENDER_SUCCEEDED if was_render else JobEvent.SUCCEEDED, job_id=job.id,
                       owner_id=job.owner_id)
    return job, stale


def dubbing_job_fail(*, job_id, claim_token, code: str, message: str, email: bool = True) -> DubbingJob | None:
    """A run failed for good: refund it once; a first run ends failed, a render goes back to
    the previous outputs. The owner is emailed. None when the claim was lost."""
    now = timezone.now()
    with transaction.atomic():
        job = _locked_claimed(job_id, claim_token)
        if job is None:
            return None
        job_fail_now(job, code=code, message=message, now=now, email=email)
    return job


def dubbing_job_end_cancelled(*, job_id, claim_token) -> DubbingJob | None:
    """The worker stopped because the user's cancel (`dubbing_job_cancel`) was requested: end
    the run cancelled, refunded. None when the claim was lost."""
    with transaction.atomic():
        job = _locked_claimed(job_id, claim_token)
        if job is None:
            return None
        job_cancel_now(job, now=timezone.now())
    return job


def retry_delay_seconds(tries: int) -> float:
    """Exponential backoff before try `tries + 1` (onevoice.retry): base * 2^(tries-1), capped."""
    return backoff_delay(tries, base=settings.DUBBING_JOB_RETRY_BACKOFF, cap=settings.DUBBING_JOB_RETRY_BACKOFF_MAX)


def dubbing_job_retry_later(*, job_id, claim_token, code: str, message: str) -> tuple[DubbingJob | None, bool]:
    """A run failed on a retryable error: queue it again with a delay, or fail it (refunded,
    owner emailed) when it has used DUBBING_JOB_MAX_TRIES. Returns (job, requeued)."""
    now = timezone.now()
    with transaction.atomic():
        job = _locked_claimed(job_id, claim_token)
        if job is None:
            return None, False
        job.tries += 1
        if job.cancel_requested:
            job_cancel_now(job, now=now)
            return job, False
        if job.tries >= settings.DUBBING_JOB_MAX_TRIES:
            job_fail_now(job, code=code, message=f"{message} (gave up after {job.tries} tries)", now=now)
            return job, False
        job_requeue(job, code=code, message=message, delay_seconds=retry_delay_seconds(job.tries))
    return job, True


# --- Reaping the claims of dead workers -------------------------------------------------------------

def _stale_job_reap(job_id, *, stale_before, now) -> str | None:
    """Take one job back from a worker that stopped answering; what became of it, or None when
    it finished or was renewed since the scan."""
    with transaction.atomic():
        job = DubbingJob.objects.select_for_update().select_related("owner", "video").filter(
            id=job_id, status=JobStatus.RUNNING
        ).first()
        if job is None or (job.heartbeat_at is not None and job.heartbeat_at >= stale_before):
            return None
        message = f"The worker {job.worker or '?'} stopped answering."
        if job.cancel_requested:
            job_cancel_now(job, now=now)
            return "cancelled"
        job.tries += 1
        if job.tries >= settings.DUBBING_JOB_MAX_TRIES:
            job_fail_now(job, code=ErrorCode.WORKER_LOST, message=message, now=now)
            return "failed"
        job_requeue(job, code=ErrorCode.WORKER_LOST, message=message, delay_seconds=0)
    logger.warning("Re-queued dubbing job %s: %s", job.id, message)
    return "requeued"


def dubbing_jobs_reap(*, now=None) -> dict[str, int]:
    """Put back on the queue the jobs whose worker is gone, and re-send lost messages.

    - running with a heartbeat older than DUBBING_HEARTBEAT_STALE_SECONDS: the worker died
      (or was cut off). Cancelled if a cancel was requested, failed when it has used its tries,
      else queued again for another worker (which resumes from the stored workspace).
    - queued and unclaimed past its `resend_at` (DUBBING_QUEUED_LOST_SECONDS after its message
      was due; a retry's delay counts, so backoff is kept): its message was lost (a broker
      restart); sent again once, then again every DUBBING_QUEUED_RESEND_SECONDS. A duplicate is
      harmless: the claim is conditional.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.DUBBING_HEARTBEAT_STALE_SECONDS)
    counts = {"requeued": 0, "failed": 0, "cancelled": 0, "resent": 0}
    stale_ids = list(
        DubbingJob.objects.filter(status=JobStatus.RUNNING)
        .filter(Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True))
        .values_list("id", flat=True)
    )
    for job_id in stale_ids:
        outcome = _stale_job_reap(job_id, stale_before=stale_before, now=now)
        if outcome is not None:
            counts[outcome] += 1

    # Rows queued before resend_at existed fall back to the long interval since their last write.
    lost_before = now - timedelta(seconds=settings.DUBBING_QUEUED_RESEND_SECONDS)
    overdue = DubbingJob.objects.filter(status=JobStatus.QUEUED).filter(
        Q(resend_at__lt=now) | Q(resend_at__isnull=True, updated_at__lt=lost_before))
    for job in overdue.select_related("video"):
        # Moving resend_at is the claim on re-sending (a second reaper's update finds it moved),
        # and the next re-send waits the long interval: lost once is re-sent soon, once.
        again_at = now + timedelta(seconds=settings.DUBBING_QUEUED_RESEND_SECONDS)
        touched = DubbingJob.objects.filter(id=job.id, status=JobStatus.QUEUED, resend_at=job.resend_at).update(
            resend_at=again_at)
        if touched == 1:
            with transaction.atomic():
                job_enqueue(job, resend_at=again_at)
            counts["resent"] += 1
    return counts
