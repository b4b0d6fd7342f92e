"""Edits after a dub: a line's text or speaker, a speaker's voice, and the paid re-render of the
lines that changed. Nothing here runs while the job (or a render of it) is queued or running."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from billing.services.ledger import credits_render_reserve
from dubbing.errors import InvalidOptions, JobRunning, NothingToRender, SegmentNotFound, SpeakerNotFound
from dubbing.languages import language_support
from dubbing.models import ACTIVE_STATUSES, DubbingJob, JobStatus, Segment
from dubbing.pipeline.glossary import misses as glossary_misses
from dubbing.selectors import render_quote, segments_changed
from dubbing.services.transitions import claim_release, job_enqueue, job_lock, job_snapshot_refresh, job_sync


def _editable(job: DubbingJob, message: str | None = None) -> None:
    """409 job_running (saying `message`) while the job or a render of it is active."""
    if job.status in ACTIVE_STATUSES or job.rendering:
        raise JobRunning(message)


def segment_update(*, job: DubbingJob, index: int, target_text: str | None = None,
                   speaker: str | None = None) -> Segment:
    """Edit one line's target text (or speaker). 409 job_running while the job is queued,
    running or rendering; 404 segment_not_found."""
    with transaction.atomic():
        locked = job_lock(job)
        _editable(locked, gettext("This job is running; edit its lines when it has finished."))
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


def _voice_check(job: DubbingJob, voice: str) -> None:
    """400 invalid_options unless `voice` is one of the job's speech engine's voices."""
    available = language_support().voices.get(job.target_language, [])
    if voice in available:
        return
    if not available:
        message = gettext("This language's speech engine has one voice only.")
        raise InvalidOptions(message, errors={"voice": [message]})
    have = ", ".join(available)
    raise InvalidOptions(
        gettext("The voice '%(voice)s' is not one of this language's voices (%(voices)s).") % {
            "voice": voice, "voices": have},
        errors={"voice": [gettext("Choose one of: %(choices)s.") % {"choices": have}]},
    )


def speaker_voice_update(*, job: DubbingJob, speaker: str, voice: str) -> dict:
    """Give one speaker another voice of the job's speech engine (API.md "Speakers"). Its lines
    count as changed until the next render speaks them in that voice. 409 job_running while the
    job is active; 404 speaker_not_found; 400 invalid_options for a voice the engine lacks."""
    voice = (voice or "").strip()
    _voice_check(job, voice)
    with transaction.atomic():
        locked = job_lock(job)
        _editable(locked, gettext("This job is running; change its voices when it has finished."))
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
        job_sync(job, locked)
    return {"speaker": speaker, "voice": voice, "segments": lines.count()}


def dubbing_job_render(*, job: DubbingJob) -> DubbingJob:
    """Re-render the changed lines of a succeeded job: reserve `job_render:{job}:{n}` and send
    the render. 409 job_running / nothing_to_render, 402 insufficient_credits. The previous
    outputs stay downloadable until the new ones are recorded."""
    with transaction.atomic():
        locked = job_lock(job)
        _editable(locked)
        if locked.status != JobStatus.SUCCEEDED:
            raise NothingToRender(gettext("Only a finished dub can be re-rendered; retry the job instead."))
        changed = segments_changed(job=locked)
        if not changed:
            raise NothingToRender()
        quote = render_quote(job=locked, changed=changed)
        render = locked.render_count + 1
        credits_render_reserve(user=locked.owner, job_id=locked.id, render=render, amount=quote.cost_credits)
        locked.render_count = render
        locked.rendering = True
        claim_release(locked, status=JobStatus.QUEUED)
        locked.tries = 0
        locked.stage = ""
        locked.progress = 0
        locked.error_code = locked.error_message = ""
        locked.save()
        job_snapshot_refresh(locked, steps=[])
        job_enqueue(locked)
    return job_sync(job, locked)
