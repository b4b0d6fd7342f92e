"""Edits after a dub: a line's text or speaker, a speaker's voice, and the paid re-render of the
lines that changed. Nothing here runs while the job (or a render of it) is queued or running."""

from __future__ import annotations

import unicodedata

from django.db import transaction
from django.utils.translation import gettext

from billing.services.ledger import credits_render_reserve
from dubbing.errors import InvalidOptions, JobRunning, NothingToRender, SegmentNotFound, SpeakerNotFound
from dubbing.languages import language_support
from dubbing.models import ACTIVE_STATUSES, DubbingJob, JobStatus, Segment
from dubbing.pipeline.glossary import misses as glossary_misses
from dubbing.selectors import render_quote, segments_changed, speaker_list
from dubbing.services.labels import job_outputs_relabel
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


SPEAKER_NAME_MAX = 50


def _name_clean(job: DubbingJob, speaker: str, name: str) -> str:
    """A speaker's name as stored: one line, spaces collapsed, at most SPEAKER_NAME_MAX characters,
    not another speaker's name (subtitles label lines by it). "" takes the name away."""
    cleaned = " ".join(str(name).split())
    problem = None
    if len(cleaned) > SPEAKER_NAME_MAX:
        problem = gettext("A name has at most %(count)d characters.") % {"count": SPEAKER_NAME_MAX}
    elif any(unicodedata.category(char) in ("Cc", "Cf") for char in cleaned):
        problem = gettext("A name cannot contain control characters.")
    else:
        taken = {other: named for other, named in (job.speaker_names or {}).items() if other != speaker}
        others = set(Segment.objects.filter(job_id=job.id).exclude(speaker=speaker).values_list("speaker", flat=True))
        clash = {n.casefold() for n in taken.values()} | {o.casefold() for o in others if o not in taken}
        if cleaned and cleaned.casefold() in clash:
            problem = gettext("Another speaker of this dub is called “%(name)s”.") % {"name": cleaned}
    if problem:
        raise InvalidOptions(problem, errors={"name": [problem]})
    return cleaned


def speaker_update(*, job: DubbingJob, speaker: str, name: str | None = None, voice: str | None = None) -> dict:
    """Name a speaker, or give them another voice of the job's speech engine (API.md "Speakers").

    A new voice makes the speaker's lines count as changed until the next render speaks them in
    it (the render quote prices them); a new name changes no audio and costs nothing: it is
    written into the job's WebVTT voice labels and report at once. 409 job_running while the job
    is active; 404 speaker_not_found; 400 invalid_options naming `name` or `voice`.
    Returns what changed: {"name": bool, "voice": bool}."""
    if voice is not None:
        voice = voice.strip()
        _voice_check(job, voice)
    with transaction.atomic():
        locked = job_lock(job)
        _editable(locked, gettext("This job is running; change its speakers when it has finished."))
        lines = Segment.objects.select_for_update().filter(job_id=locked.id, speaker=speaker)
        if not lines.exists():
            raise SpeakerNotFound()
        changed = {"name": False, "voice": False}
        fields = ["updated_at"]
        if name is not None:
            cleaned = _name_clean(locked, speaker, name)
            names = dict(locked.speaker_names or {})
            if names.get(speaker, "") != cleaned:
                if cleaned:
                    names[speaker] = cleaned
                else:
                    names.pop(speaker, None)
                locked.speaker_names = names
                fields.append("speaker_names")
                changed["name"] = True
        if voice is not None:
            current = next(s["voice"] for s in speaker_list(job=locked) if s["speaker"] == speaker)
            options = dict(locked.options or {})
            chosen = dict(options.get("speaker_voices") or {})
            if chosen.get(speaker) != voice:
                chosen[speaker] = voice
                options["speaker_voices"] = chosen
                locked.options = options
                fields.append("options")
            if current != voice:
                # `rendered_text` is what the current outputs say; clearing it marks these lines
                # for the next render (which speaks them in the new voice and sets it back).
                lines.update(rendered_text="")
                changed["voice"] = True
        if len(fields) > 1:
            locked.save(update_fields=fields)
            job_snapshot_refresh(locked)
        job_sync(job, locked)
    if changed["name"]:
        job_outputs_relabel(job=job)
    return changed


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
        locked.eta_at = None
        locked.error_code = locked.error_message = ""
        locked.save()
        job_snapshot_refresh(locked, steps=[])
        job_enqueue(locked)
    return job_sync(job, locked)
