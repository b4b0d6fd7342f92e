"""The line editor's speakers panel: each speaker's name and voice, with a preview of every voice.

The panel's forms post here without JavaScript (the page's script saves them with PATCH
/api/v1/jobs/{id}/speakers/{speaker} instead, without reloading); both call
`services.speaker_update`.
"""

from __future__ import annotations

import re
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from dubbing import selectors, services
from dubbing.errors import JobNotFound
from dubbing.languages import language_support
from dubbing.models import DubbingJob, Segment
from onevoice.errors import ServiceError

_NUMBERED = re.compile(r"speaker_(\d+)")


def speaker_display(label: str, name: str = "") -> str:
    """How the pages call a speaker: its name, else "Speaker 2" for the pipeline's "speaker_2",
    else its label as the recognizer or the subtitles gave it."""
    if name:
        return name
    numbered = _NUMBERED.fullmatch(label or "")
    if numbered:
        return gettext("Speaker %(number)s") % {"number": numbered.group(1)}
    return label or gettext("Speaker")


def speaker_panel(*, job: DubbingJob, segments: list[Segment]) -> list[dict]:
    """The speakers of the job as the panel lists them, and each line's `speaker_display` (set on
    the given segments, so the editor shows the same names)."""
    speakers = selectors.speaker_list(job=job)
    voices = language_support().voices.get(job.target_language, [])
    shown = {s["speaker"]: speaker_display(s["speaker"], s["name"]) for s in speakers}
    for segment in segments:
        segment.speaker_display = shown.get(segment.speaker, segment.speaker)
    rows = []
    for number, speaker in enumerate(speakers, start=1):
        lines = [segment.index + 1 for segment in segments if segment.speaker == speaker["speaker"]]
        rows.append({
            **speaker,
            "number": number,  # for element ids: a label may hold any character
            "display": shown[speaker["speaker"]],
            "lines": lines,
            # A voice the speaker has but the list lacks (another engine's, an old job's) stays choosable.
            "voices": voices if speaker["voice"] in voices or not speaker["voice"] else [speaker["voice"], *voices],
            "editable": bool(speaker["speaker"]),
        })
    return rows


@require_POST
@login_required
def job_speaker(request, job_id: uuid.UUID, speaker: str):
    """Save one speaker's name and voice from the panel's form, then back to the editor."""
    try:
        job = selectors.job_get(owner_id=request.user.pk, job_id=job_id)
    except JobNotFound:
        raise Http404("Job not found.") from None
    name = request.POST.get("name")
    voice = request.POST.get("voice") or None
    current = next((s["voice"] for s in selectors.speaker_list(job=job) if s["speaker"] == speaker), None)
    if voice == current:
        voice = None  # the form sends the voice the speaker has (a clone's too): not a change
    try:
        changed = services.speaker_update(job=job, speaker=speaker, name=name, voice=voice)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        if changed["voice"]:
            count = Segment.objects.filter(job_id=job.id, speaker=speaker).count()
            messages.success(request, ngettext(
                "Voice saved: %(count)d line will be spoken again when you re-render.",
                "Voice saved: %(count)d lines will be spoken again when you re-render.",
                count,
            ) % {"count": count})
        elif changed["name"]:
            messages.success(request, gettext("Name saved. It changes no audio and costs nothing."))
        else:
            messages.info(request, gettext("Nothing changed."))
    return HttpResponseRedirect(reverse("job_lines", kwargs={"job_id": job_id}) + "#speakers")
