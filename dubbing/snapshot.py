"""The job's polling snapshot: what GET /jobs/{id} answers, kept on the job row.

Every state change (create, claim, stage events, succeed, fail, cancel, retry, render) rebuilds it,
so the job-detail endpoint is one indexed row read plus time-limited URLs (bench/api.py).
"""

from __future__ import annotations

from datetime import datetime

from dubbing.models import Artifact, DubbingJob, JobStep


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def job_current_steps(job: DubbingJob) -> list[JobStep]:
    """Steps of the job's current run: its attempt and its latest render."""
    return list(
        JobStep.objects.filter(job_id=job.id, attempt=job.attempt, render=job.render_count).order_by("position", "id")
    )


def step_snapshot(step: JobStep) -> dict:
    return {
        "name": step.name,
        "status": step.status,
        "started_at": _iso(step.started_at),
        "finished_at": _iso(step.finished_at),
        "seconds": round(step.seconds, 3) if step.seconds is not None else None,
    }


def artifact_snapshot(artifact: Artifact) -> dict:
    return {
        "name": artifact.name,
        "filename": artifact.filename,
        "size": artifact.size,
        "content_type": artifact.content_type,
    }


def job_snapshot_build(job: DubbingJob, *, steps: list[JobStep] | None = None,
                       artifacts: list[Artifact] | None = None) -> dict:
    if steps is None:
        steps = job_current_steps(job)
    if artifacts is None:
        artifacts = list(Artifact.objects.filter(job_id=job.id))
    error = {"code": job.error_code, "detail": job.error_message} if job.error_code else None
    return {
        "id": str(job.id),
        "video": str(job.video_id),
        "status": job.status,
        "stage": job.stage,
        "progress": job.progress,
        "cost_credits": job.cost_credits,
        "source_language": job.source_language,
        "detected_language": job.detected_language,
        "target_language": job.target_language,
        "attempt": job.attempt,
        "render_count": job.render_count,
        "rendering": job.rendering,
        "error": error,
        "steps": [step_snapshot(step) for step in steps],
        "artifacts": {artifact.kind: artifact_snapshot(artifact) for artifact in artifacts},
        "created_at": _iso(job.created_at),
        "finished_at": _iso(job.finished_at),
    }


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
