"""A user's jobs: create (one per target language, paid at once), cancel, retry, and staff's
refund; deleting a video's or a user's jobs with their files."""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext

from billing.errors import InsufficientCredits
from billing.selectors import credits_balance
from billing.services.ledger import credits_job_staff_refund, credits_reserve
from dubbing.backgrounds import default_background
from dubbing.cloning import consent_text
from dubbing.errors import (
    InvalidOptions,
    JobNotCancellable,
    JobNotRetryable,
    JobRunning,
    RefundNotAllowed,
    VideoNotFound,
    VideoNotReady,
)
from dubbing.models import ACTIVE_STATUSES, DubbingJob, JobStatus, SourceAnalysis, VoiceCloningConsent
from dubbing.pipeline.options import DEFAULT_MAX_SPEED
from dubbing.pricing import dubbing_job_cost
from dubbing.services.options import (
    dub_options_parse,
    engines_check,
    pair_check,
    subtitles_check,
    target_languages_check,
)
from dubbing.services.spoken_language import source_language_resolve
from dubbing.services.transitions import (
    claim_release,
    job_cancel_now,
    job_enqueue,
    job_lock,
    job_snapshot_refresh,
    job_sync,
    run_refund,
)
from dubbing.storage import analysis_prefix, job_prefix, storage_delete_prefix
from videos.models import Video, VideoStatus

logger = logging.getLogger(__name__)


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


def dubbing_jobs_create(
    *,
    owner,
    video_id,
    target_languages: list[str],
    source_language: str = "auto",
    background: str | None = None,
    subtitles: str = "soft",
    voice: str | None = None,
    max_speed: float = DEFAULT_MAX_SPEED,
    glossary: dict | None = None,
    source_subtitles: str | None = None,
    target_subtitles: str | None = None,
    num_speakers: int | str | None = 0,
    voice_cloning: bool = False,
    voice_cloning_consent: bool = False,
    consent_address: str | None = None,
) -> list[DubbingJob]:
    """One job per target language of one video, the sum reserved at once: 402 and nothing
    created when the balance cannot cover all of them. Each job's message is sent on commit.

    With `voice_cloning`, `voice_cloning_consent` must be true (400 consent_required) and the
    speech engine able to clone (400 voice_cloning_unavailable), both before anything is
    reserved; each job then gets a VoiceCloningConsent row (the text in the active language,
    `consent_address` the caller's IP address). A consent on a job that does not clone is
    dropped."""
    video = _video_for_owner(owner=owner, video_id=video_id)
    target_languages_check(target_languages)
    # `auto` becomes the language detected at upload: its pair is judged here, before any charge.
    source_language = source_language_resolve(video=video, source_language=source_language,
                                              target_languages=list(target_languages),
                                              source_subtitles=source_subtitles)
    planned = []
    for target in target_languages:
        options = dub_options_parse(
            target_language=target,
            source_language=source_language,
            background=background or default_background(),
            subtitles=subtitles,
            voice=voice,
            max_speed=max_speed,
            glossary=glossary,
            source_subtitles=source_subtitles,
            target_subtitles=target_subtitles,
            num_speakers=num_speakers,
            voice_cloning=voice_cloning,
            voice_cloning_consent=voice_cloning_consent,
        )
        pair_check(options, field="target_language" if len(target_languages) == 1 else "target_languages")
        planned.append((options, engines_check(options)))
    # The same subtitles go with every target: read them once.
    subtitles_check(options=planned[0][0], media_seconds=video.duration)
    cost = dubbing_job_cost(duration_seconds=video.duration)
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
                if options.voice_cloning:
                    _consent_record(owner=owner, job=job, address=consent_address)
                job_snapshot_refresh(job, steps=[], artifacts=[])
                job_enqueue(job)
                jobs.append(job)
    except InsufficientCredits:
        raise InsufficientCredits(needed=cost * len(planned), balance=credits_balance(user=owner)) from None
    return jobs


def _consent_record(*, owner, job: DubbingJob, address: str | None) -> VoiceCloningConsent:
    return VoiceCloningConsent.objects.create(
        user=owner, job=job, job_ref=job.id, ip_address=address or None, text=consent_text(),
        language=translation.get_language() or settings.LANGUAGE_CODE)


def dubbing_job_create(
    *,
    owner,
    video_id,
    target_language: str,
    source_language: str = "auto",
    background: str | None = None,
    subtitles: str = "soft",
    voice: str | None = None,
    max_speed: float = DEFAULT_MAX_SPEED,
    glossary: dict | None = None,
    source_subtitles: str | None = None,
    target_subtitles: str | None = None,
    num_speakers: int | str | None = 0,
    voice_cloning: bool = False,
    voice_cloning_consent: bool = False,
    consent_address: str | None = None,
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
        num_speakers=num_speakers,
        voice_cloning=voice_cloning,
        voice_cloning_consent=voice_cloning_consent,
        consent_address=consent_address,
    )
    return job


def dubbing_job_cancel(*, job: DubbingJob) -> DubbingJob:
    """The user cancels a queued or running job (or render). A queued one ends at once and is
    refunded; a running one is asked to stop and its worker ends it (`dubbing_job_end_cancelled`;
    the reaper does when the worker is gone). 409 job_not_cancellable when it has finished."""
    with transaction.atomic():
        locked = job_lock(job)
        if locked.status not in ACTIVE_STATUSES:
            raise JobNotCancellable()
        if locked.status == JobStatus.QUEUED:
            job_cancel_now(locked, now=timezone.now())
        elif not locked.cancel_requested:
            locked.cancel_requested = True
            locked.save(update_fields=["cancel_requested", "updated_at"])
    return job_sync(job, locked)


def dubbing_job_retry(*, job: DubbingJob) -> DubbingJob:
    """Run a failed or cancelled job again as a new attempt, which reserves its cost again
    (402 when it cannot) and resumes at the first unfinished stage. 409 job_not_retryable."""
    with transaction.atomic():
        locked = job_lock(job)
        if locked.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise JobNotRetryable()
        if locked.video.status != VideoStatus.READY:
            raise VideoNotReady()
        locked.attempt += 1
        credits_reserve(user=locked.owner, job_id=locked.id, attempt=locked.attempt, amount=locked.cost_credits)
        claim_release(locked, status=JobStatus.QUEUED)
        locked.tries = 0
        locked.stage = ""
        locked.progress = 0
        locked.eta_at = None
        locked.error_code = locked.error_message = ""
        locked.rendering = False
        locked.started_at = locked.finished_at = None
        locked.save()
        job_snapshot_refresh(locked, steps=[])
        job_enqueue(locked)
    return job_sync(job, locked)


def dubbing_job_refund(*, job: DubbingJob, staff, reason: str, idempotency_key: str):
    """Staff give back what a finished job still costs its owner, with a reason. The key comes
    from the admin form when it was rendered, so a double submit refunds once. 409 when the job
    is still running or nothing is left to refund."""
    if not reason or not reason.strip():
        raise InvalidOptions(gettext("A reason is required."), errors={"reason": [gettext("Required.")]})
    with transaction.atomic():
        locked = job_lock(job)
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
        # A programming error: portal.deletion passes one of them, no request chooses.
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
                run_refund(job)
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
    _analyses_delete(analyses)
    return deleted


def _analyses_delete(analyses) -> None:
    for key in list(analyses.values_list("key", flat=True)):
        try:
            storage_delete_prefix(analysis_prefix(key))
        except Exception:
            logger.exception("Could not delete the stored source analysis %s", key)
    analyses.delete()
