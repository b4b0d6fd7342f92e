"""Writes for dubbing jobs (DESIGN.md "Jobs and credits", "Durable job state").

The API, the pages, the admin and the actor all call these. State changes that can race (a
user's cancel against the worker finishing, two deliveries of one message, the reaper against a
slow heartbeat) lock the job row with select_for_update, check the state they expect, and move
credits through the ledger in the same transaction, so the final state and the ledger always
agree: a cancelled or failed attempt is refunded exactly once (`job_refund:{job}:{attempt}`), a
failed or cancelled render exactly once (`job_render_refund:{job}:{n}`).

The worker-side functions (claim, heartbeat, finish) take the claim token the worker got when it
claimed the job: a worker that lost its claim (the reaper gave the job to another one) changes
nothing.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from billing.errors import InsufficientCredits
from billing.selectors import credits_balance
from billing.services.ledger import (
    credits_job_staff_refund,
    credits_refund,
    credits_render_refund,
    credits_render_reserve,
    credits_reserve,
)
from dubbing import emails
from dubbing.errors import (
    InvalidOptions,
    JobNotCancellable,
    JobNotRetryable,
    JobRunning,
    NothingToRender,
    RefundNotAllowed,
    SegmentNotFound,
    SpeakerNotFound,
    UnsupportedPair,
    VideoNotFound,
    VideoNotReady,
)
from dubbing.models import (
    ACTIVE_STATUSES,
    Artifact,
    DubbingJob,
    JobStatus,
    JobStep,
    Segment,
    SourceAnalysis,
    StepStatus,
)
from dubbing.pipeline.errors import ErrorCode, PipelineError
from dubbing.pipeline.glossary import misses as glossary_misses
from dubbing.pipeline.options import (
    BACKGROUNDS,
    ENGINE_SETS,
    MAX_SPEED,
    MIN_SPEED,
    SUBTITLE_MODES,
    DubOptions,
    OptionsError,
)
from dubbing.snapshot import job_snapshot_refresh
from dubbing.storage import analysis_prefix, job_prefix, storage_delete_prefix
from onevoice import events
from videos.models import Video, VideoStatus

logger = logging.getLogger(__name__)

MAX_TARGET_LANGUAGES = 5
_OPTION_FIELDS = ("target_language", "source_language", "background", "subtitles", "voice", "max_speed",
                  "glossary", "engines", "source_subtitles", "target_subtitles")


# --- Cost -------------------------------------------------------------------------------------

def _credits_for_seconds(seconds: float) -> int:
    """`ceil(seconds / 60) * CREDITS_PER_MINUTE`: the one formula for jobs and renders."""
    return math.ceil(max(0.0, seconds) / 60) * settings.CREDITS_PER_MINUTE


def dubbing_job_cost(*, duration_seconds: float) -> int:
    """What dubbing `duration_seconds` of media costs (a started minute counts as a minute)."""
    return max(settings.CREDITS_PER_MINUTE, _credits_for_seconds(duration_seconds or 0.0))


# --- Create -----------------------------------------------------------------------------------

def _video_for_owner(*, owner, video_id) -> Video:
    try:
        video_uuid = uuid.UUID(str(video_id))
    except (TypeError, ValueError):
        raise VideoNotFound() from None
    video = Video.objects.filter(id=video_uuid, owner_id=owner.pk).first()
    if video is None:
        raise VideoNotFound()
    if video.status != VideoStatus.READY or not video.duration or not video.has_audio:
        silent = video.status == VideoStatus.READY and not video.has_audio
        raise VideoNotReady(gettext("This video cannot be dubbed: it has no audio track.") if silent else None)
    return video


def _options_error_field(message: str) -> str:
    first = message.split(" ", 1)[0].strip(".:,")
    if first in _OPTION_FIELDS:
        return first
    if "source and target" in message:
        return "target_language"
    return "non_field_errors"


def _dub_options(**fields) -> DubOptions:
    """DubOptions from user input; InvalidOptions (400) with the faulty fields named."""
    errors: dict[str, list[str]] = {}
    glossary = fields.get("glossary")
    if glossary is None:
        fields["glossary"] = {}
    elif not isinstance(glossary, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() for k, v in glossary.items()
    ):
        errors["glossary"] = [gettext("The glossary maps source terms to target terms (text to text).")]
    for name in ("target_language", "source_language"):
        value = fields.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 16:
            errors[name] = [gettext("Give a language code such as en, es or ko.")]
        else:
            fields[name] = value.strip()
    try:
        fields["max_speed"] = float(fields.get("max_speed", 1.3))
    except (TypeError, ValueError):
        errors["max_speed"] = [gettext("max_speed is a number between %(low)s and %(high)s.") % {
            "low": MIN_SPEED, "high": MAX_SPEED}]
    for name in ("voice", "source_subtitles", "target_subtitles"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = [gettext("Must be text.")]
        elif value is not None and not value.strip():
            fields[name] = None
    if errors:
        raise InvalidOptions(next(f"{k}: {v[0]}" for k, v in errors.items()), errors=errors)
    try:
        return DubOptions(**fields)
    except OptionsError as exc:
        field = _options_error_field(str(exc))
        message = _options_error_message(field, str(exc))
        raise InvalidOptions(message, errors={field: [message]}) from None


def _options_error_message(field: str, message: str) -> str:
    """DubOptions' refusal (plain English from the pipeline) in the user's language."""
    if field == "target_language":
        if "same" in message:
            return gettext("The source and target languages are the same.")
        return gettext("Choose a target language.")
    choices = {"background": BACKGROUNDS, "subtitles": SUBTITLE_MODES, "engines": ENGINE_SETS}
    if field in choices:
        return gettext("%(field)s must be one of %(choices)s.") % {"field": field, "choices": ", ".join(choices[field])}
    if field == "max_speed":
        return gettext("max_speed is a number between %(low)s and %(high)s.") % {"low": MIN_SPEED, "high": MAX_SPEED}
    return message


def _engines_check(options: DubOptions) -> dict[str, str]:
    """The engine names a job with `options` would use; 400 when they cannot do the pair."""
    from dubbing.engines.base import EngineUnavailable
    from dubbing.engines.registry import build_engines
    from dubbing.pipeline.runner import check_engines

    try:
        engines = build_engines(options, settings)
        check_engines(engines, options)
    except EngineUnavailable as exc:
        raise UnsupportedPair(gettext("The configured engines cannot run: %(reason)s") % {"reason": exc}) from None
    except PipelineError as exc:
        # The engines' own words (English, from the pipeline) name what is missing; the sentence
        # around them is in the user's language.
        if exc.code == ErrorCode.INVALID_OPTIONS:
            raise InvalidOptions(gettext("These options cannot be used: %(reason)s") % {"reason": exc.message}) from None
        raise UnsupportedPair(_pair_refusal(options, exc.message)) from None
    return engines.names()


def _pair_refusal(options: DubOptions, reason: str) -> str:
    from dubbing.languages import language_name

    names = {"target": language_name(options.target_language), "reason": reason}
    if options.source_language == "auto":
        return gettext("The configured engines cannot dub into %(target)s here: %(reason)s") % names
    return gettext("The configured engines cannot dub %(source)s into %(target)s here: %(reason)s") % {
        **names, "source": language_name(options.source_language)}


def _enqueue(job: DubbingJob, *, delay_seconds: float = 0.0) -> None:
    """Send the job's current run to the workers once the surrounding transaction commits."""
    from dubbing.tasks import job_message_send

    job_id, attempt, render = job.id, job.attempt, (job.render_count if job.rendering else 0)
    duration = job.video.duration
    transaction.on_commit(
        lambda: job_message_send(
            job_id=job_id, attempt=attempt, render=render, delay_seconds=delay_seconds, duration=duration
        )
    )


def dubbing_jobs_create(
    *,
    owner,
    video_id,
    target_languages: list[str],
    source_language: str = "auto",
    background: str = "duck",
    subtitles: str = "soft",
    voice: str | None = None,
    max_speed: float = 1.3,
    glossary: dict | None = None,
    source_subtitles: str | None = None,
    target_subtitles: str | None = None,
) -> list[DubbingJob]:
    """One job per target language of one video, the sum reserved at once: 402 and nothing
    created when the balance cannot cover all of them. Each job's message is sent on commit."""
    video = _video_for_owner(owner=owner, video_id=video_id)
    if not isinstance(target_languages, (list, tuple)) or not target_languages:
        raise InvalidOptions(gettext("Give at least one target language."),
                             errors={"target_languages": [gettext("Required.")]})
    if len(target_languages) > MAX_TARGET_LANGUAGES:
        message = gettext("At most %(count)d target languages at once.") % {"count": MAX_TARGET_LANGUAGES}
        raise InvalidOptions(message, errors={"target_languages": [message]})
    if len(set(target_languages)) != len(target_languages):
        message = gettext("A target language is listed twice.")
        raise InvalidOptions(message, errors={"target_languages": [message]})

    planned = []
    for target in target_languages:
        options = _dub_options(
            target_language=target,
            source_language=source_language,
            background=background,
            subtitles=subtitles,
            voice=voice,
            max_speed=max_speed,
            glossary=glossary,
            source_subtitles=source_subtitles,
            target_subtitles=target_subtitles,
        )
        planned.append((options, _engines_check(options)))
    cost = dubbing_job_cost(duration_seconds=video.duration)
    total = cost * len(planned)

    jobs = []
    try:
        with transaction.atomic():
            for options, engine_names in planned:
                job = DubbingJob.objects.create(
                    owner=owner,
                    video=video,
                    source_language=options.source_language,
                    target_language=options.target_language,
                    options=options.to_dict(),
                    engines=engine_names,
                    cost_credits=cost,
                )
                credits_reserve(user=owner, job_id=job.id, attempt=job.attempt, amount=cost)
                job_snapshot_refresh(job, steps=[], artifacts=[])
                _enqueue(job)
                jobs.append(job)
    except InsufficientCredits:
        raise InsufficientCredits(needed=total, balance=credits_balance(user=owner)) from None
    return jobs


def dubbing_job_create(
    *,
    owner,
    video_id,
    target_language: str,
    source_language: str = "auto",
    background: str = "duck",
    subtitles: str = "soft",
    voice: str | None = None,
    max_speed: float = 1.3,
    glossary: dict | None = None,
    source_subtitles: str | None = None,
    target_subtitles: str | None = None,
) -> DubbingJob:
    """A job dubbing the owner's ready video into one language, its cost reserved in the same
    transaction. 404 video_not_found, 409 video_not_ready, 400 invalid_options /
    unsupported_pair, 402 insufficient_credits: nothing created or reserved on any of them."""
    (job,) = dubbing_jobs_create(
        owner=owner,
        video_id=video_id,
        target_languages=[target_language],
        source_language=source_language,
        background=background,
        subtitles=subtitles,
        voice=voice,
        max_speed=max_speed,
        glossary=glossary,
        source_subtitles=source_subtitles,
        target_subtitles=target_subtitles,
    )
    return job


# --- User actions -----------------------------------------------------------------------------

def _lock(job: DubbingJob) -> DubbingJob:
    return DubbingJob.objects.select_for_update().select_related("owner", "video").get(pk=job.pk)


def _sync(target: DubbingJob, source: DubbingJob) -> DubbingJob:
    """Copy the locked row's state onto the caller's instance, so it sees what was written."""
    for field in DubbingJob._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


def _refund_run(job: DubbingJob) -> None:
    """Give back what the job's current run reserved (idempotent per key)."""
    if job.rendering:
        credits_render_refund(user=job.owner, job_id=job.id, render=job.render_count)
    else:
        credits_refund(user=job.owner, job_id=job.id, attempt=job.attempt)


def _end_render(job: DubbingJob, *, now) -> None:
    """A render that did not finish: the job is back to its previous, succeeded outputs."""
    job.status = JobStatus.SUCCEEDED
    job.rendering = False
    job.cancel_requested = False
    job.claim_token = None
    job.heartbeat_at = None
    job.stage = "publish"
    job.progress = 100
    job.finished_at = job.finished_at or now


def _cancel_now(job: DubbingJob, *, now) -> None:
    """Finish a job as cancelled and refund its current run (the row is locked)."""
    _refund_run(job)
    JobStep.objects.filter(
        job_id=job.id, attempt=job.attempt, render=job.render_count if job.rendering else 0,
        status=StepStatus.RUNNING,
    ).update(status=StepStatus.CANCELLED, finished_at=now)
    if job.rendering:
        _end_render(job, now=now)
        job.error_code, job.error_message = ErrorCode.CANCELLED.value, "The render was cancelled."
    else:
        job.status = JobStatus.CANCELLED
        job.cancel_requested = False
        job.claim_token = None
        job.heartbeat_at = None
        job.finished_at = now
        job.error_code, job.error_message = ErrorCode.CANCELLED.value, "Cancelled."
    job.save()
    job_snapshot_refresh(job)
    if job.status == JobStatus.CANCELLED:
        events.publish("job.cancelled", job_id=job.id, owner_id=job.owner_id)


def dubbing_job_cancel(*, job: DubbingJob) -> DubbingJob:
    """Cancel a queued or running job (or render). A queued one ends at once and is refunded;
    a running one is asked to stop and its worker ends it (the reaper does when the worker is
    gone). 409 job_not_cancellable when it has finished."""
    with transaction.atomic():
        locked = _lock(job)
        if locked.status not in ACTIVE_STATUSES:
            raise JobNotCancellable()
        if locked.status == JobStatus.QUEUED:
            _cancel_now(locked, now=timezone.now())
        elif not locked.cancel_requested:
            locked.cancel_requested = True
            locked.save(update_fields=["cancel_requested", "updated_at"])
    return _sync(job, locked)


def dubbing_job_retry(*, job: DubbingJob) -> DubbingJob:
    """Run a failed or cancelled job again as a new attempt, which reserves its cost again
    (402 when it cannot) and resumes at the first unfinished stage. 409 job_not_retryable."""
    with transaction.atomic():
        locked = _lock(job)
        if locked.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise JobNotRetryable()
        if locked.video.status != VideoStatus.READY:
            raise VideoNotReady()
        locked.attempt += 1
        credits_reserve(user=locked.owner, job_id=locked.id, attempt=locked.attempt, amount=locked.cost_credits)
        locked.status = JobStatus.QUEUED
        locked.tries = 0
        locked.stage = ""
        locked.progress = 0
        locked.error_code = locked.error_message = ""
        locked.cancel_requested = False
        locked.rendering = False
        locked.claim_token = None
        locked.heartbeat_at = None
        locked.worker = ""
        locked.started_at = locked.finished_at = None
        locked.save()
        job_snapshot_refresh(locked, steps=[])
        _enqueue(locked)
    return _sync(job, locked)


def segment_update(*, job: DubbingJob, index: int, target_text: str | None = None,
                   speaker: str | None = None) -> Segment:
    """Edit one line's target text (or speaker). 409 job_running while the job is queued,
    running or rendering; 404 segment_not_found."""
    with transaction.atomic():
        locked = _lock(job)
        if locked.status in ACTIVE_STATUSES or locked.rendering:
            raise JobRunning(gettext("This job is running; edit its lines when it has finished."))
        segment = Segment.objects.select_for_update().filter(job_id=locked.id, index=index).first()
        if segment is None:
            raise SegmentNotFound()
        fields = ["updated_at"]
        if target_text is not None:
            if not isinstance(target_text, str) or not target_text.strip():
                raise InvalidOptions(gettext("The line cannot be empty."), errors={"target_text": [gettext("Required.")]})
            segment.target_text = target_text.strip()
            segment.glossary_misses = glossary_misses(segment.source_text, segment.target_text,
                                                      (locked.options or {}).get("glossary"))
            fields += ["target_text", "glossary_misses"]
        if speaker is not None:
            segment.speaker = str(speaker).strip()[:50]
            fields.append("speaker")
        segment.save(update_fields=fields)
    return segment


def speaker_voice_update(*, job: DubbingJob, speaker: str, voice: str) -> dict:
    """Give one speaker another voice of the job's speech engine (API.md "Speakers"). Its lines
    count as changed until the next render speaks them in that voice. 409 job_running while the
    job is active; 404 speaker_not_found; 400 invalid_options for a voice the engine lacks."""
    from dubbing.languages import language_support

    voice = (voice or "").strip()
    available = language_support().voices.get(job.target_language, [])
    if voice not in available:
        if not available:
            message = gettext("This language's speech engine has one voice only.")
            raise InvalidOptions(message, errors={"voice": [message]})
        have = ", ".join(available)
        raise InvalidOptions(
            gettext("The voice '%(voice)s' is not one of this language's voices (%(voices)s).") % {
                "voice": voice, "voices": have},
            errors={"voice": [gettext("Choose one of: %(choices)s.") % {"choices": have}]},
        )
    with transaction.atomic():
        locked = _lock(job)
        if locked.status in ACTIVE_STATUSES or locked.rendering:
            raise JobRunning(gettext("This job is running; change its voices when it has finished."))
        lines = Segment.objects.select_for_update().filter(job_id=locked.id, speaker=speaker)
        if not lines.exists():
            raise SpeakerNotFound()
        options = dict(locked.options or {})
        chosen = dict(options.get("speaker_voices") or {})
        if chosen.get(speaker) != voice:
            chosen[speaker] = voice
            options["speaker_voices"] = chosen
            locked.options = options
            locked.save(update_fields=["options", "updated_at"])
            # `rendered_text` is what the current outputs say; clearing it marks these lines for
            # the next render (which speaks them in the new voice and sets it back).
            lines.update(rendered_text="")
            job_snapshot_refresh(locked)
        _sync(job, locked)
    return {"speaker": speaker, "voice": voice, "segments": lines.count()}


@dataclass(frozen=True)
class RenderQuote:
    changed_segments: list[int]
    changed_seconds: float
    cost_credits: int
    balance: int


def _changed_segments(job: DubbingJob) -> list[Segment]:
    return [s for s in Segment.objects.filter(job_id=job.id).order_by("index") if s.changed]


def _quote(job: DubbingJob, changed: list[Segment]) -> RenderQuote:
    seconds = round(sum(s.seconds for s in changed), 3)
    return RenderQuote(
        changed_segments=[s.index for s in changed],
        changed_seconds=seconds,
        # A started minute counts, as for a job: even lines of no length are synthesized again.
        cost_credits=max(settings.CREDITS_PER_MINUTE, _credits_for_seconds(seconds)) if changed else 0,
        balance=credits_balance(user=job.owner),
    )


def render_quote(*, job: DubbingJob) -> RenderQuote:
    """What re-rendering the lines edited since the last render would cost:
    ceil(sum of their source seconds / 60) * CREDITS_PER_MINUTE."""
    return _quote(job, _changed_segments(job))


def dubbing_job_render(*, job: DubbingJob) -> DubbingJob:
    """Re-render the changed lines of a succeeded job: reserve `job_render:{job}:{n}` and send
    the render. 409 job_running / nothing_to_render, 402 insufficient_credits. The previous
    outputs stay downloadable until the new ones are recorded."""
    with transaction.atomic():
        locked = _lock(job)
        if locked.status in ACTIVE_STATUSES or locked.rendering:
            raise JobRunning()
        if locked.status != JobStatus.SUCCEEDED:
            raise NothingToRender(gettext("Only a finished dub can be re-rendered; retry the job instead."))
        changed = _changed_segments(locked)
        if not changed:
            raise NothingToRender()
        quote = _quote(locked, changed)
        render = locked.render_count + 1
        credits_render_reserve(user=locked.owner, job_id=locked.id, render=render, amount=quote.cost_credits)
        locked.render_count = render
        locked.rendering = True
        locked.status = JobStatus.QUEUED
        locked.tries = 0
        locked.stage = ""
        locked.progress = 0
        locked.error_code = locked.error_message = ""
        locked.cancel_requested = False
        locked.claim_token = None
        locked.heartbeat_at = None
        locked.save()
        job_snapshot_refresh(locked, steps=[])
        _enqueue(locked)
    return _sync(job, locked)


# --- Staff ------------------------------------------------------------------------------------

def dubbing_job_refund(*, job: DubbingJob, staff, reason: str, idempotency_key: str):
    """Staff give back what a finished job still costs its owner, with a reason. The key comes
    from the admin form when it was rendered, so a double submit refunds once. 409 when the job
    is still running or nothing is left to refund."""
    if not reason or not reason.strip():
        raise InvalidOptions(gettext("A reason is required."), errors={"reason": [gettext("Required.")]})
    with transaction.atomic():
        locked = _lock(job)
        if locked.status in ACTIVE_STATUSES or locked.rendering:
            raise JobRunning(gettext("Cancel the job or wait for it to finish before refunding it."))
        entry = credits_job_staff_refund(
            user=locked.owner, job_id=locked.id, staff=staff, reason=reason, idempotency_key=idempotency_key
        )
        if entry is None:
            raise RefundNotAllowed()
    return entry


def dubbing_jobs_delete(*, video=None, user=None) -> int:
    """Delete the jobs of a video (or of a user) with their stored files and local workspaces:
    call it before deleting the video or erasing the account. A job still queued or running is
    refunded first (its worker finds its claim gone and stops). Returns how many were deleted."""
    if (video is None) == (user is None):
        # A programming error: onevoice.deletion passes one of them, no request chooses.
        raise TypeError("Give a video or a user.")
    jobs = DubbingJob.objects.filter(video_id=video.pk) if video is not None else DubbingJob.objects.filter(
        owner_id=user.pk)
    deleted = 0
    for job_id in list(jobs.values_list("id", flat=True)):
        with transaction.atomic():
            job = DubbingJob.objects.select_for_update().select_related("owner").filter(id=job_id).first()
            if job is None:
                continue
            if job.status in ACTIVE_STATUSES:
                _refund_run(job)
            job.delete()
        deleted += 1
        # Slow storage work outside the transaction; leftovers cost space, never correctness.
        try:
            storage_delete_prefix(job_prefix(job_id))
        except Exception:
            logger.exception("Could not delete the stored files of dubbing job %s", job_id)
        shutil.rmtree(Path(settings.DUBBING_WORKSPACE_DIR) / "jobs" / str(job_id), ignore_errors=True)
    analyses = SourceAnalysis.objects.filter(video_id=video.pk) if video is not None else SourceAnalysis.objects.filter(
        video__owner_id=user.pk)
    for key in list(analyses.values_list("key", flat=True)):
        try:
            storage_delete_prefix(analysis_prefix(key))
        except Exception:
            logger.exception("Could not delete the stored source analysis %s", key)
    analyses.delete()
    return deleted


# --- Worker side ------------------------------------------------------------------------------

def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


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


@dataclass
class PublishedFile:
    kind: str
    name: str
    filename: str
    size: int
    content_type: str


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
    new_names = [f.name for f in files]
    with transaction.atomic():
        job = _locked_claimed(job_id, claim_token)
        if job is None:
            return None, new_names
        if job.cancel_requested:
            _cancel_now(job, now=now)
            return None, new_names
        previous = {a.kind: a for a in Artifact.objects.filter(job_id=job.id)}
        render = job.render_count if job.rendering else 0
        keep = {f.kind for f in files}
        stale = [a.name for kind, a in previous.items() if a.name not in new_names]
        Artifact.objects.filter(job_id=job.id).exclude(kind__in=keep).delete()
        for f in files:
            Artifact.objects.update_or_create(
                job_id=job.id,
                kind=f.kind,
                defaults={"name": f.name, "filename": f.filename, "size": f.size,
                          "content_type": f.content_type, "render": render},
            )
        if segments is not None:
            segments_upsert(job=job, segments=segments, render=True)
        if engines:
            job.engines = engines
        if detected_language:
            job.detected_language = detected_language
        was_render = job.rendering
        job.status = JobStatus.SUCCEEDED
        job.rendering = False
        job.stage = "publish"
        job.progress = 100
        job.error_code = job.error_message = ""
        job.claim_token = None
        job.heartbeat_at = None
        job.finished_at = now
        job.save()
        job_snapshot_refresh(job)
        emails.job_succeeded_email_queue(job=job)
        events.publish("job.render_succeeded" if was_render else "job.succeeded", job_id=job.id,
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
        _fail_locked(job, code=code, message=message, now=now, email=email)
    return job


def _fail_locked(job: DubbingJob, *, code: str, message: str, now, email: bool = True) -> None:
    _refund_run(job)
    was_render = job.rendering
    if was_render:
        _end_render(job, now=now)
    else:
        job.status = JobStatus.FAILED
        job.claim_token = None
        job.heartbeat_at = None
        job.cancel_requested = False
        job.finished_at = now
    job.error_code = str(code)[:50]
    job.error_message = message
    job.save()
    job_snapshot_refresh(job)
    if email:
        emails.job_failed_email_queue(job=job, render=was_render)
    if not was_render:  # a failed render leaves the job succeeded with its previous outputs
        events.publish("job.failed", job_id=job.id, owner_id=job.owner_id)


def dubbing_job_cancelled(*, job_id, claim_token) -> DubbingJob | None:
    """The worker stopped because a cancel was requested: end the run cancelled, refunded."""
    with transaction.atomic():
        job = _locked_claimed(job_id, claim_token)
        if job is None:
            return None
        _cancel_now(job, now=timezone.now())
    return job


def retry_delay_seconds(tries: int) -> float:
    """Exponential backoff before try `tries + 1`: base * 2^(tries-1), capped."""
    base = settings.DUBBING_JOB_RETRY_BACKOFF
    return min(settings.DUBBING_JOB_RETRY_BACKOFF_MAX, base * (2 ** max(0, tries - 1)))


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
            _cancel_now(job, now=now)
            return job, False
        if job.tries >= settings.DUBBING_JOB_MAX_TRIES:
            _fail_locked(job, code=code, message=f"{message} (gave up after {job.tries} tries)", now=now)
            return job, False
        _requeue_locked(job, code=code, message=message, delay_seconds=retry_delay_seconds(job.tries))
    return job, True


def _requeue_locked(job: DubbingJob, *, code: str, message: str, delay_seconds: float) -> None:
    JobStep.objects.filter(
        job_id=job.id, attempt=job.attempt, render=job.render_count if job.rendering else 0,
        status=StepStatus.RUNNING,
    ).update(status=StepStatus.FAILED, finished_at=timezone.now(), error_code=str(code)[:50], error_message=message)
    job.status = JobStatus.QUEUED
    job.claim_token = None
    job.heartbeat_at = None
    job.worker = ""
    job.error_code = str(code)[:50]
    job.error_message = message
    job.save()
    job_snapshot_refresh(job)
    _enqueue(job, delay_seconds=delay_seconds)


def dubbing_jobs_reap(*, now=None) -> dict[str, int]:
    """Put back on the queue the jobs whose worker is gone, and re-send lost messages.

    - running with a heartbeat older than DUBBING_HEARTBEAT_STALE_SECONDS: the worker died
      (or was cut off). Cancelled if a cancel was requested, failed when it has used its tries,
      else queued again for another worker (which resumes from the stored workspace).
    - queued for longer than DUBBING_QUEUED_RESEND_SECONDS with no claim: its message may have
      been lost (a broker restart); sent again. A duplicate is harmless: the claim is conditional.
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
        with transaction.atomic():
            job = DubbingJob.objects.select_for_update().select_related("owner", "video").filter(
                id=job_id, status=JobStatus.RUNNING
            ).first()
            if job is None or (job.heartbeat_at is not None and job.heartbeat_at >= stale_before):
                continue  # finished or renewed since the scan
            message = f"The worker {job.worker or '?'} stopped answering."
            if job.cancel_requested:
                _cancel_now(job, now=now)
                counts["cancelled"] += 1
                continue
            job.tries += 1
            if job.tries >= settings.DUBBING_JOB_MAX_TRIES:
                _fail_locked(job, code=ErrorCode.WORKER_LOST, message=message, now=now)
                counts["failed"] += 1
                continue
            _requeue_locked(job, code=ErrorCode.WORKER_LOST, message=message, delay_seconds=0)
            counts["requeued"] += 1
            logger.warning("Re-queued dubbing job %s: %s", job.id, message)

    lost_before = now - timedelta(seconds=settings.DUBBING_QUEUED_RESEND_SECONDS)
    for job in DubbingJob.objects.filter(status=JobStatus.QUEUED, updated_at__lt=lost_before).select_related("video"):
        # Touch updated_at so the next pass waits another interval before sending it again.
        touched = DubbingJob.objects.filter(id=job.id, status=JobStatus.QUEUED, updated_at=job.updated_at).update(
            updated_at=now
        )
        if touched == 1:
            with transaction.atomic():
                _enqueue(job)
            counts["resent"] += 1
    return counts


# --- Shared source analyses (the actor's lock around the source stages) -------------------------

def source_analysis_key(*, video_id, video_key: str, options: DubOptions, recognizer: str,
                        recognizer_options=None, candidates: list[str] | None = None) -> str:
    """What the source side depends on: the video (its stored file), the source language (and
    with "auto", the languages detection chooses from), supplied subtitles, the recognizer and
    its options. Jobs with the same key share one analysis."""
    import hashlib
    import json

    from dubbing.pipeline.transcribe import text_hash

    parts = [str(video_id), video_key, options.source_language, text_hash(options.source_subtitles),
             text_hash(options.target_subtitles), recognizer, recognizer_options, sorted(candidates or [])]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def source_analysis_claim(*, key: str, video_id, source_language: str, recognizer: str, token: uuid.UUID) -> bool:
    """Take the analysis for this job: True when it had no holder or its holder's heartbeat is
    stale (a dead worker); False while another job holds it."""
    SourceAnalysis.objects.get_or_create(key=key, defaults={"video_id": video_id, "source_language": source_language,
                                                            "recognizer": recognizer[:100]})
    now = timezone.now()
    stale = now - timedelta(seconds=settings.DUBBING_HEARTBEAT_STALE_SECONDS)
    from django.db.models import F

    return SourceAnalysis.objects.filter(
        Q(claim_token__isnull=True) | Q(heartbeat_at__lt=stale), key=key
    ).update(claim_token=token, heartbeat_at=now, updated_at=now, uses=F("uses") + 1) == 1


def source_analysis_heartbeat(*, key: str, token: uuid.UUID) -> bool:
    return SourceAnalysis.objects.filter(key=key, claim_token=token).update(heartbeat_at=timezone.now()) == 1


def source_analysis_release(*, key: str, token: uuid.UUID) -> None:
    SourceAnalysis.objects.filter(key=key, claim_token=token).update(claim_token=None, heartbeat_at=None,
                                                                      updated_at=timezone.now())


# --- Events from the pipeline (the actor's recorder calls these) -------------------------------

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
                      detected_language: str = "") -> bool:
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
        fields = ["stage", "progress", "updated_at"]
        if detected_language:
            locked.detected_language = detected_language
            fields.append("detected_language")
        locked.save(update_fields=fields)
        job_snapshot_refresh(locked)
    job.stage, job.progress, job.snapshot = locked.stage, locked.progress, locked.snapshot
    if detected_language:
        job.detected_language = detected_language
    return True


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
    texts_from_result = stage in ("segment", "translate") and not render
    for result in segments:
        row = existing.get(result.index) or Segment(job_id=job.id, index=result.index)
        row.segment_id = str(result.id)[:32]
        row.start = float(result.start)
        row.end = float(result.end)
        if not render or not row.speaker:
            row.speaker = (result.speaker or "")[:50]
        row.source_text = result.source_text or ""
        if texts_from_result and (stage == "translate" or result.target_text or not row.pk):
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
        (update if row.pk else create).append(row)
    now = timezone.now()
    for row in update:
        row.updated_at = now
    with transaction.atomic():
        if update:
            Segment.objects.bulk_update(
                update,
                ["segment_id", "start", "end", "speaker", "source_text", "target_text", "rendered_text", "speed",
                 "displacement", "overrun", "shortened", "glossary_misses", "updated_at"],
            )
        if create:
            Segment.objects.bulk_create(create)
    return len(create) + len(update)


def target_overrides(*, job: DubbingJob) -> dict[str, str]:
    """segment_id -> target text, for every line of the job: a render speaks these. Unchanged
    lines give the text translation gave them before, so their clips come from the cache and
    only the edited lines are synthesized again (an edit from an earlier render is kept)."""
    return {s.segment_id: s.target_text for s in Segment.objects.filter(job_id=job.id)}
