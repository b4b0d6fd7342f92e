"""Reads for dubbing jobs: lists, the polling snapshot, lines and speakers, the render quote.

A selector never writes. What a user asks for by id is scoped to its owner: another user's id is
simply not found (404, never 403). Writes live in `dubbing/services/`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import Greatest
from django.utils.translation import gettext

from billing.selectors import credits_balance
from dubbing.errors import JobNotFound
from dubbing.models import ACTIVE_STATUSES, Artifact, DubbingJob, JobStatus, JobStep, Segment, StepStatus
from dubbing.pricing import dubbing_job_cost
from dubbing.pipeline.clones import MIN_SECONDS

# "active" is what the pages' filter calls queued and running together.
STATUS_FILTERS = {s.value: (s.value,) for s in JobStatus} | {"active": tuple(s.value for s in ACTIVE_STATUSES)}


def _as_uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def job_list(
    *, owner_id, status: str | Iterable[str] | None = None, video_id=None, target_language: str | None = None
) -> QuerySet[DubbingJob]:
    """My jobs, newest first (index dub_job_owner_created), filtered as GET /jobs allows.

    Unknown filter values match nothing rather than everything: a client that asks for
    `?status=finished` learns that no job is in that state.
    """
    jobs = DubbingJob.objects.filter(owner_id=owner_id)
    if status:
        statuses = STATUS_FILTERS.get(status, (status,)) if isinstance(status, str) else tuple(status)
        jobs = jobs.filter(status__in=statuses)
    if video_id:
        video_uuid = _as_uuid(video_id)
        jobs = jobs.filter(video_id=video_uuid) if video_uuid else jobs.none()
    if target_language:
        jobs = jobs.filter(target_language=target_language)
    return jobs.order_by("-created_at", "-id")


def job_get(*, owner_id, job_id) -> DubbingJob:
    job_uuid = _as_uuid(job_id)
    job = DubbingJob.objects.filter(id=job_uuid, owner_id=owner_id).first() if job_uuid else None
    if job is None:
        raise JobNotFound()
    return job


def job_get_with_video(*, owner_id, job_id) -> DubbingJob:
    """The same row, with its video (pages show the title)."""
    job_uuid = _as_uuid(job_id)
    job = (
        DubbingJob.objects.select_related("video").filter(id=job_uuid, owner_id=owner_id).first()
        if job_uuid
        else None
    )
    if job is None:
        raise JobNotFound()
    return job


@dataclass(frozen=True)
class JobVideo:
    """The video a job dubbed, as the credit history names it."""

    id: uuid.UUID
    title: str


def job_videos(*, owner_id, job_ids: Iterable[str]) -> dict[str, JobVideo]:
    """job id -> its video, for the owner's jobs among `job_ids`, in one query. A job that is
    not there was deleted (with its video)."""
    ids = [job_uuid for job_id in job_ids if (job_uuid := _as_uuid(job_id)) is not None]
    if not ids:
        return {}
    rows = DubbingJob.objects.filter(owner_id=owner_id, id__in=ids).values_list("id", "video_id", "video__title")
    return {str(job_id): JobVideo(id=video_id, title=title) for job_id, video_id, title in rows}


# --- The polling snapshot (what GET /jobs/{id} answers, kept on the job row) ----------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def job_cancel_requested(*, job_id) -> bool:
    """Whether the job's cancel was asked for: the worker's read between heartbeats (one row by
    its key, one column)."""
    return bool(DubbingJob.objects.filter(id=job_id).values_list("cancel_requested", flat=True).first())


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
    """The job as a polling client sees it (the services store it on the row at every change)."""
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
        # Only while it runs: a finished, failed or queued job has no time left to tell.
        "eta_at": _iso(job.eta_at) if job.status == JobStatus.RUNNING else None,
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


def _snapshot_sql() -> str:
    # SELECT snapshot FROM dubbing_dubbingjob WHERE id = %s AND owner_id = %s, written once.
    qn = connection.ops.quote_name
    meta = DubbingJob._meta
    return (
        f"SELECT {qn(meta.get_field('snapshot').column)} FROM {qn(meta.db_table)} "
        f"WHERE {qn(meta.pk.column)} = %s AND {qn(meta.get_field('owner').column)} = %s"
    )


def job_snapshot_get(*, owner_id, job_id) -> dict:
    """The job's polling snapshot: one indexed row read of one column, no user query.

    Clients poll this every second, so it skips the ORM's query building: measured on
    PostgreSQL, `filter(...).values_list("snapshot")` took ~0.5 ms of CPU per call against
    ~0.08 ms for the same statement on the cursor (bench/api.py). The values still go through
    the fields' own conversions, so SQLite (UUIDs as hex) and PostgreSQL behave alike.
    """
    job_uuid, owner_uuid = _as_uuid(job_id), _as_uuid(owner_id)
    if job_uuid is None or owner_uuid is None:
        raise JobNotFound()
    meta = DubbingJob._meta
    params = [
        meta.pk.get_db_prep_value(job_uuid, connection),
        meta.get_field("owner").target_field.get_db_prep_value(owner_uuid, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_snapshot_sql(), params)
        row = cursor.fetchone()
    if row is None:
        raise JobNotFound()
    snapshot = meta.get_field("snapshot").from_db_value(row[0], None, connection)
    if not snapshot:
        # A row written before the snapshot existed (or by hand): built here, not stored (a
        # selector never writes; the job's next state change stores one).
        snapshot = job_snapshot_build(DubbingJob.objects.get(id=job_uuid))
    return snapshot


def video_job_list(*, owner_id, video_id, limit: int = 10) -> list[DubbingJob]:
    """The latest dubs of one video (its page lists them under the dub form)."""
    return list(DubbingJob.objects.filter(owner_id=owner_id, video_id=video_id).order_by("-created_at", "-id")[:limit])


def segment_list(*, job: DubbingJob) -> QuerySet[Segment]:
    return Segment.objects.filter(job_id=job.id).order_by("index")


def _cast(job: DubbingJob) -> dict:
    """What the job's latest synthesis recorded about its speakers (the synthesize step's detail:
    `voices`, speaker -> the voice that spoke it, and whatever casting adds beside it)."""
    step = (
        JobStep.objects.filter(job_id=job.id, name="synthesize", status__in=(StepStatus.DONE, StepStatus.SKIPPED))
        .order_by("-attempt", "-render", "-id")
        .only("detail")
        .first()
    )
    return (step.detail or {}) if step is not None else {}


def _per_speaker(detail: dict, key: str, speaker: str):
    found = detail.get(key)
    return found.get(speaker or "speaker_1") if isinstance(found, dict) else None


def voice_reason_text(cast: dict | None, *, chosen: bool, recorded: str = "") -> str:
    """Why a speaker has their voice, in the reader's language: from the cast the synthesis
    recorded (`speakers` in its detail: a `reason` code and the pitches, docs/engines.md
    "Speakers"); `recorded` (the step's `voice_reasons`, English) where another stage said more
    (cloning) or the cast has no code."""
    if chosen:
        return gettext("Chosen for this speaker.")
    if not isinstance(cast, dict) or recorded != cast.get("voice_reason", recorded):
        return recorded
    reason, speaker_hz, voice_hz = cast.get("reason"), cast.get("speaker_hz"), cast.get("voice_hz")
    if reason == "closest" and speaker_hz and voice_hz:
        return gettext("The free voice closest to this speaker's pitch and character (their median pitch is "
                       "%(speaker)d Hz, the voice's %(voice)d Hz).") % {"speaker": speaker_hz, "voice": voice_hz}
    if reason == "closest":
        return gettext("The closest free voice (this speaker's pitch could not be measured).")
    if reason == "reused":
        return gettext("There are more speakers than voices, so this voice is shared with another speaker.")
    if reason == "dub_voice":
        return gettext("The voice chosen for this dub.")
    if reason == "unmeasured" and speaker_hz:
        return gettext("This speech engine's voices have not been measured, so they are given in its order.")
    if reason == "unmeasured":
        return gettext("The speakers' voices could not be measured, so voices are given in the engine's order.")
    if reason == "one_voice":
        return gettext("The speech engine has one voice for this language.")
    return recorded


def cloning_reason_text(cloning: dict | None) -> str:
    """Why a speaker of a job with voice_cloning is (or is not) speaking in a clone of their voice,
    in the reader's language, from what the synthesis recorded (`cloning` in its detail: a
    `reason` code and the reference's seconds, pipeline/clones.py); "" when it says nothing."""
    if not isinstance(cloning, dict):
        return ""
    seconds = float(cloning.get("reference_seconds") or 0.0)
    if cloning.get("cloned"):
        return gettext("A clone of this speaker's own voice, made from %(seconds).1f s of their speech.") % {
            "seconds": seconds}
    if cloning.get("reason") == "too_little_speech":
        return gettext("Not cloned: this speaker has only %(seconds).1f s of clear speech alone (at least "
                       "%(min)d s are needed), so a cast voice speaks.") % {"seconds": seconds, "min": MIN_SECONDS}
    if cloning.get("reason") == "refused":
        return gettext("Not cloned: the speech provider refused this speaker's voice sample, so a cast voice "
                       "speaks.")
    return ""


def speaker_list(*, job: DubbingJob) -> list[dict]:
    """Each speaker of the job: its name, voice, why it has that voice, whether the voice is a
    clone of theirs, and how many lines (and source seconds) it has.

    A line without a speaker label belongs to the speaker "" (a one-voice recognizer; the pipeline
    calls it "speaker_1"). The voice is the speaker's own when one was chosen
    (`options["speaker_voices"]`), else the one the last synthesis cast, else the job's voice.
    Two queries: the lines grouped by speaker, the latest synthesize step."""
    rows = (
        Segment.objects.filter(job_id=job.id)
        .values("speaker")
        .annotate(segments=Count("id"), seconds=Sum(Greatest(F("end"), F("start")) - F("start")))
        .order_by("speaker")
    )
    options = job.options or {}
    chosen = options.get("speaker_voices") or {}
    names = job.speaker_names or {}
    default = options.get("voice")
    cast = _cast(job)
    return [
        {
            "speaker": row["speaker"],
            "name": names.get(row["speaker"], ""),
            "voice": chosen.get(row["speaker"]) or _per_speaker(cast, "voices", row["speaker"]) or default,
            "voice_reason": (not chosen.get(row["speaker"]) and cloning_reason_text(
                _per_speaker(cast, "cloning", row["speaker"]))) or voice_reason_text(
                _per_speaker(cast, "speakers", row["speaker"]), chosen=bool(chosen.get(row["speaker"])),
                recorded=_per_speaker(cast, "voice_reasons", row["speaker"]) or ""),
            "cloned": bool(_per_speaker(cast, "cloned", row["speaker"])),
            "segments": row["segments"],
            "seconds": round(float(row["seconds"] or 0.0), 3),
        }
        for row in rows
    ]


def speaker_label(*, job: DubbingJob, speaker: str) -> str:
    """How a speaker is shown and labelled in subtitles: its name, else its label."""
    return (job.speaker_names or {}).get(speaker) or speaker


def cue_voices(*, job: DubbingJob) -> dict[str, str]:
    """Segment id -> the voice label its subtitle cues carry (its speaker's name, else label)."""
    names = job.speaker_names or {}
    return {
        segment_id: names.get(speaker) or speaker
        for segment_id, speaker in Segment.objects.filter(job_id=job.id).values_list("segment_id", "speaker")
    }


# --- Re-rendering edited lines -------------------------------------------------------------------

@dataclass(frozen=True)
class RenderQuote:
    changed_segments: list[int]
    changed_seconds: float
    cost_credits: int
    balance: int


def segments_changed(*, job: DubbingJob) -> list[Segment]:
    """The lines whose text (or voice) changed since the outputs were last made."""
    return [s for s in Segment.objects.filter(job_id=job.id).order_by("index") if s.changed]


def render_quote(*, job: DubbingJob, changed: list[Segment] | None = None) -> RenderQuote:
    """What re-rendering the lines edited since the last render would cost:
    ceil(sum of their source seconds / 60) * CREDITS_PER_MINUTE (nothing when none changed).
    `changed`: the changed lines when the caller has read them already."""
    if changed is None:
        changed = segments_changed(job=job)
    seconds = round(sum(s.seconds for s in changed), 3)
    return RenderQuote(
        changed_segments=[s.index for s in changed],
        changed_seconds=seconds,
        # A started minute counts, as for a job: even lines of no length are synthesized again.
        cost_credits=dubbing_job_cost(duration_seconds=seconds) if changed else 0,
        balance=credits_balance(user=job.owner),
    )


def target_overrides(*, job: DubbingJob) -> dict[str, str]:
    """segment_id -> target text, for every line of the job: a render speaks these. Unchanged
    lines give the text translation gave them before, so their clips come from the cache and
    only the edited lines are synthesized again (an edit from an earlier render is kept)."""
    return {s.segment_id: s.target_text for s in Segment.objects.filter(job_id=job.id)}
