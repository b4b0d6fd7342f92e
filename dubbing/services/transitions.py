"""The state changes that a user's action, the worker and the reaper share.

Each one takes a job row its caller has locked (`job_lock`, inside the caller's transaction) and
leaves the job, the ledger and the snapshot agreeing: a run that ends is refunded through its own
idempotency key (`job_refund:{job}:{attempt}` or `job_render_refund:{job}:{n}`), so whichever
path ends it, it is refunded exactly once. `claim_release` is the one place a worker's claim is
let go of.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.services.ledger import credits_refund, credits_render_refund
from dubbing import emails
from dubbing.events import JobEvent
from dubbing.models import FINAL_STATUSES, Artifact, DubbingJob, JobStatus, JobStep, StepStatus
from dubbing.pipeline.errors import ErrorCode
from dubbing.queue import job_message_send
from dubbing.selectors import job_snapshot_build
from onevoice import events


def job_lock(job: DubbingJob) -> DubbingJob:
    """The job's row, locked until the transaction ends, with its owner and video."""
    return DubbingJob.objects.select_for_update().select_related("owner", "video").get(pk=job.pk)


def job_sync(target: DubbingJob, source: DubbingJob) -> DubbingJob:
    """Copy the locked row's state onto the caller's instance, so it sees what was written."""
    for field in DubbingJob._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


def job_snapshot_refresh(job: DubbingJob, *, save: bool = True, steps: list[JobStep] | None = None,
                         artifacts: list[Artifact] | None = None) -> dict:
    """Rebuild `job.snapshot` from the job, its current steps and its artifacts (two reads).

    Saved with a plain UPDATE of the snapshot column so it never overwrites other fields a
    concurrent writer changed; callers that hold the row lock get a consistent picture.
    """
    job.snapshot = job_snapshot_build(job, steps=steps, artifacts=artifacts)
    if save:
        DubbingJob.objects.filter(pk=job.pk).update(snapshot=job.snapshot)
    return job.snapshot


def job_enqueue(job: DubbingJob, *, delay_seconds: float = 0.0, resend_at=None) -> None:
    """Send the job's current run to the workers once the surrounding transaction commits, and
    note when the message is overdue (`resend_at`, by default when its delay is over plus
    DUBBING_QUEUED_LOST_SECONDS): the reaper re-sends a job still queued then."""
    if resend_at is None:
        resend_at = timezone.now() + timedelta(seconds=max(0.0, delay_seconds) + settings.DUBBING_QUEUED_LOST_SECONDS)
    job.resend_at = resend_at
    DubbingJob.objects.filter(id=job.id).update(resend_at=resend_at)
    job_id, attempt, render, duration = job.id, job.attempt, job.current_render, job.video.duration
    transaction.on_commit(
        lambda: job_message_send(
            job_id=job_id, attempt=attempt, render=render, delay_seconds=delay_seconds, duration=duration
        )
    )


def claim_release(job: DubbingJob, *, status: JobStatus, finished_at=None) -> None:
    """Let go of the job's claim (token, heartbeat, a pending cancel) and put it in `status`: queued
    for the next worker, which records its own name, or final, finished at `finished_at`. The row
    is locked; the caller saves it."""
    job.status = status
    job.claim_token = None
    job.heartbeat_at = None
    job.cancel_requested = False
    if status == JobStatus.QUEUED:
        job.worker = ""
    elif status in FINAL_STATUSES:
        job.finished_at = finished_at


def run_refund(job: DubbingJob) -> None:
    """Give back what the job's current run reserved (idempotent per key)."""
    if job.rendering:
        credits_render_refund(user=job.owner, job_id=job.id, render=job.render_count)
    else:
        credits_refund(user=job.owner, job_id=job.id, attempt=job.attempt)


def render_end(job: DubbingJob, *, now) -> None:
    """A render that did not finish: the job is back to its previous, succeeded outputs."""
    claim_release(job, status=JobStatus.SUCCEEDED, finished_at=job.finished_at or now)
    job.rendering = False
    job.stage = "publish"
    job.progress = 100


def job_cancel_now(job: DubbingJob, *, now) -> None:
    """Finish a job's run as cancelled and refund it (the row is locked)."""
    run_refund(job)
    JobStep.objects.filter(
        job_id=job.id, attempt=job.attempt, render=job.current_render, status=StepStatus.RUNNING,
    ).update(status=StepStatus.CANCELLED, finished_at=now)
    if job.rendering:
        render_end(job, now=now)
        job.error_code, job.error_message = ErrorCode.CANCELLED.value, "The render was cancelled."
    else:
        claim_release(job, status=JobStatus.CANCELLED, finished_at=now)
        job.error_code, job.error_message = ErrorCode.CANCELLED.value, "Cancelled."
    job.save()
    job_snapshot_refresh(job)
    if job.status == JobStatus.CANCELLED:
        events.publish(JobEvent.CANCELLED, job_id=job.id, owner_id=job.owner_id)


def job_fail_now(job: DubbingJob, *, code: str, message: str, now, email: bool = True) -> None:
    """Finish a job's run as failed and refund it (the row is locked): a first run ends failed,
    a render goes back to the previous outputs. The owner is emailed."""
    run_refund(job)
    was_render = job.rendering
    if was_render:
        render_end(job, now=now)
    else:
        claim_release(job, status=JobStatus.FAILED, finished_at=now)
    job.error_code = str(code)[:50]
    job.error_message = message
    job.save()
    job_snapshot_refresh(job)
    if email:
        emails.job_failed_email_queue(job=job, render=was_render)
    if not was_render:  # a failed render leaves the job succeeded with its previous outputs
        events.publish(JobEvent.FAILED, job_id=job.id, owner_id=job.owner_id)


def job_requeue(job: DubbingJob, *, code: str, message: str, delay_seconds: float) -> None:
    """Put a job's run back on the queue after a retryable failure (the row is locked)."""
    JobStep.objects.filter(
        job_id=job.id, attempt=job.attempt, render=job.current_render, status=StepStatus.RUNNING,
    ).update(status=StepStatus.FAILED, finished_at=timezone.now(), error_code=str(code)[:50], error_message=message)
    claim_release(job, status=JobStatus.QUEUED)
    job.error_code = str(code)[:50]
    job.error_message = message
    job.save()
    job_snapshot_refresh(job)
    job_enqueue(job, delay_seconds=delay_seconds)
