"""Serializers for the dubbing jobs API (API.md "Dubbing jobs").

The job itself is not serialized from a model: GET /jobs/{id} answers from the job's polling
snapshot (dubbing.selectors.job_snapshot_build) plus time-limited artifact URLs, built by `job_representation`.
`JobOutputSerializer` describes that shape for the schema and is never run per request: a
polled endpoint should not pay for DRF field machinery it does not need.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from dubbing.backgrounds import default_background
from dubbing.errors import job_error_detail
from dubbing.models import JobStatus, Segment, StepStatus
from dubbing.pipeline.options import (
    BACKGROUNDS,
    DEFAULT_MAX_SPEED,
    GLOSSARY_MAX_CHARS,
    GLOSSARY_MAX_TERMS,
    MAX_SPEAKERS,
    MAX_SPEED,
    MIN_SPEED,
    SUBTITLE_MODES,
)
from dubbing.storage import artifact_url
from onevoice.serializers import InputSerializer

# The snapshot keys a job answer carries as they are (dubbing.selectors.job_snapshot_build).
JOB_FIELDS = (
    "id", "video", "status", "stage", "progress", "cost_credits", "source_language",
    "detected_language", "target_language", "attempt", "render_count", "rendering", "error",
    "steps", "created_at", "finished_at",
)


# Signed links are reused for a while instead of signed on every poll (a finished job has nine:
# signing and reversing them was most of its answer's cost, bench/api.py). A reused link is at
# most LINK_REUSE_SECONDS old, so it stays valid for MEDIA_LINK_MAX_AGE minus that, which the
# answer's `artifacts_expire_in` reports. Per process, bounded, keyed by everything in the link.
LINK_REUSE_SECONDS = 300
_LINKS_MAX = 10_000
_links: dict[tuple, tuple[str, float]] = {}


def _link(job_id, kind: str, item: dict, request, now: float) -> tuple[str, float]:
    host = request.get_host() if request is not None else ""
    scheme = request.scheme if request is not None else ""
    key = (job_id, kind, item["name"], item.get("content_type", ""), scheme, host)
    known = _links.get(key)
    if known is not None and now - known[1] < min(LINK_REUSE_SECONDS, settings.MEDIA_LINK_MAX_AGE / 2):
        return known
    url = artifact_url(job_id=job_id, kind=kind, name=item["name"], content_type=item.get("content_type", ""),
                       request=request)
    if len(_links) >= _LINKS_MAX:
        _links.clear()
    _links[key] = (url, now)
    return url, now


def job_artifact_urls(snapshot: dict, *, request=None) -> tuple[dict[str, str], int]:
    """Time-limited URLs of the job's outputs, and how many seconds they all stay valid."""
    job_id = snapshot["id"]
    now = time.monotonic()
    urls, oldest = {}, now
    for kind, item in (snapshot.get("artifacts") or {}).items():
        urls[kind], signed_at = _link(job_id, kind, item, request, now)
        oldest = min(oldest, signed_at)
    return urls, max(0, int(settings.MEDIA_LINK_MAX_AGE - (now - oldest)))


def job_representation(snapshot: dict, *, request=None) -> dict:
    """The API's job, from its snapshot alone."""
    body = {key: snapshot.get(key) for key in JOB_FIELDS}
    body["steps"] = body["steps"] or []
    if body.get("error"):
        error = body["error"]
        body["error"] = {**error, "detail": job_error_detail(
            error.get("code", ""), error.get("detail", ""), status=body.get("status") or "")}
    body["artifacts"], body["artifacts_expire_in"] = job_artifact_urls(snapshot, request=request)
    body["eta_seconds"] = eta_seconds(snapshot)
    return body


def eta_seconds(snapshot: dict) -> int | None:
    """The seconds the running job is expected to need still, counted down from the finish time
    its worker last estimated; None before recognition has started and once it is not running."""
    eta_at = parse_datetime(snapshot.get("eta_at") or "") if snapshot.get("status") == JobStatus.RUNNING else None
    if eta_at is None:
        return None
    return max(0, round((eta_at - timezone.now()).total_seconds()))


# --- Output shapes (schema) ---------------------------------------------------------------------


class JobErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class JobStepSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=StepStatus.choices)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    seconds = serializers.FloatField(allow_null=True)


class JobArtifactsSerializer(serializers.Serializer):
    """Time-limited URLs of the job's outputs; a kind is absent until it exists."""

    dubbed_video = serializers.URLField(required=False)
    dubbed_audio = serializers.URLField(required=False)
    subtitles_source_srt = serializers.URLField(required=False)
    subtitles_source_vtt = serializers.URLField(required=False)
    subtitles_target_srt = serializers.URLField(required=False)
    subtitles_target_vtt = serializers.URLField(required=False)
    subtitles_bilingual_srt = serializers.URLField(required=False)
    subtitles_bilingual_vtt = serializers.URLField(required=False)
    report = serializers.URLField(required=False)



class JobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    video = serializers.UUIDField(help_text="The dubbed video's id.")
    status = serializers.ChoiceField(choices=JobStatus.choices)
    stage = serializers.CharField(help_text="The stage running or last run (empty before the first).")
    progress = serializers.IntegerField(min_value=0, max_value=100)
    eta_seconds = serializers.IntegerField(
        allow_null=True, min_value=0,
        help_text="While running, once recognition has started: an estimate of the seconds left; else null.")
    cost_credits = serializers.IntegerField()
    source_language = serializers.CharField(help_text='As asked: a code or "auto".')
    detected_language = serializers.CharField(help_text="What recognition found (empty until then).")
    target_language = serializers.CharField()
    attempt = serializers.IntegerField(help_text="1, then one more for each retry of a failed job.")
    render_count = serializers.IntegerField(help_text="Re-renders after edits so far.")
    rendering = serializers.BooleanField(help_text="A re-render is queued or running.")
    error = JobErrorSerializer(allow_null=True)
    steps = JobStepSerializer(many=True)
    artifacts = JobArtifactsSerializer()
    artifacts_expire_in = serializers.IntegerField(help_text="Seconds the artifact URLs stay valid.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class SegmentOutputSerializer(serializers.ModelSerializer):
    changed = serializers.BooleanField(read_only=True, help_text="Edited since the last render.")

    class Meta:
        model = Segment
        fields = [
            "index", "start", "end", "speaker", "source_text", "target_text", "speed",
            "displacement", "overrun", "shortened", "changed", "glossary_misses",
        ]
        read_only_fields = fields


class SpeakerOutputSerializer(serializers.Serializer):
    speaker = serializers.CharField(help_text='The label ("" when the recognizer names no speakers).')
    name = serializers.CharField(allow_blank=True, help_text='The name its owner gave it ("" when none).')
    voice = serializers.CharField(allow_null=True)
    voice_reason = serializers.CharField(allow_blank=True, help_text="Why the speaker has that voice.")
    seconds = serializers.FloatField(help_text="The source seconds of the speaker's lines.")
    segments = serializers.IntegerField(help_text="How many lines the speaker has.")
    cloned = serializers.BooleanField(help_text="Whether the voice is a clone of the speaker's own.")


class RenderQuoteOutputSerializer(serializers.Serializer):
    changed_segments = serializers.ListField(child=serializers.IntegerField())
    changed_seconds = serializers.FloatField()
    cost_credits = serializers.IntegerField()
    balance = serializers.IntegerField()


class LanguagePairSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    via = serializers.ChoiceField(
        choices=["direct", "pivot", "speech_translation", "subtitles"],
        help_text='"subtitles": possible only with the user\'s own target subtitles.',
    )


class LanguagesOutputSerializer(serializers.Serializer):
    pairs = LanguagePairSerializer(many=True)
    auto_detect = serializers.ListField(child=serializers.CharField(), help_text='Languages "auto" can detect.')
    voices = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Voices per target language, where the speech engine names them.",
    )
    names = serializers.DictField(child=serializers.CharField(), help_text="Name of each code, in the reader's language.")
    needs = serializers.DictField(
        child=serializers.CharField(),
        help_text="Per language that needs more than a video here, a plain sentence of what it needs.",
    )
    engines = serializers.DictField(child=serializers.CharField())
    background_modes = serializers.ListField(child=serializers.CharField())
    voice_cloning = serializers.BooleanField(help_text="Whether this server's speech engine can clone voices.")
    voice_cloning_consent_text = serializers.CharField(
        help_text="What voice_cloning_consent: true agrees to, in the request's language.")


# --- Input ----------------------------------------------------------------------------------------


class TextField(serializers.CharField):
    """A CharField that takes JSON text only: DRF's turns 1 into "1", so `{"a": 1}` or a voice
    of 7 passed as if the client had sent text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only: DRF's BooleanField also takes "yes", "on" or 1, and a consent
    must not be given by accident."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class JobCreateInputSerializer(InputSerializer):
    # A string, not a UUIDField: a malformed id is a video that does not exist (404), like any
    # other id that is not one of mine.
    video_id = serializers.CharField(max_length=64)
    target_language = serializers.CharField(max_length=16, required=False)
    target_languages = serializers.ListField(
        child=serializers.CharField(max_length=16), required=False, min_length=1, max_length=5,
        help_text="Instead of target_language: up to 5 languages, one job each.",
    )
    source_language = serializers.CharField(max_length=16, default="auto")
    background = serializers.ChoiceField(
        choices=BACKGROUNDS, default=default_background,
        help_text="separate (the default where the server has the voice separator: the music and effects "
                  "without the original voice), duck, keep, or drop (silence under the dub). "
                  "GET /api/v1/languages lists this server's background_modes.")
    subtitles = serializers.ChoiceField(choices=SUBTITLE_MODES, default="soft")
    voice = TextField(max_length=100, required=False, allow_null=True, allow_blank=True,
                      help_text="One of the voices /languages lists for the target; absent for the default.")
    max_speed = serializers.FloatField(min_value=MIN_SPEED, max_value=MAX_SPEED, default=DEFAULT_MAX_SPEED)
    glossary = serializers.DictField(
        child=TextField(max_length=GLOSSARY_MAX_CHARS, allow_blank=False),
        required=False,
        allow_empty=True,
        help_text="{source term: target term}",
    )
    source_subtitles = TextField(required=False, allow_blank=True, help_text="SRT or VTT text.")
    target_subtitles = TextField(required=False, allow_blank=True, help_text="SRT or VTT text.")
    num_speakers = serializers.IntegerField(
        min_value=0, max_value=MAX_SPEAKERS, default=0,
        help_text=f"How many people speak: 0 (the default) detects it from their voices, else 1-{MAX_SPEAKERS}.")
    voice_cloning = StrictBooleanField(
        default=False,
        help_text="Speak each speaker in a clone of their own voice (GET /api/v1/languages says whether this "
                  "server can: `voice_cloning`). Needs voice_cloning_consent.")
    voice_cloning_consent = StrictBooleanField(
        default=False,
        help_text="True: the user agrees to `voice_cloning_consent_text` of GET /api/v1/languages (stored with "
                  "the time and their IP address). Required with voice_cloning; ignored without it.")

    def validate_glossary(self, glossary: dict) -> dict:
        if len(glossary) > GLOSSARY_MAX_TERMS:
            raise serializers.ValidationError(gettext("At most %(count)d terms.") % {"count": GLOSSARY_MAX_TERMS})
        for term in glossary:
            if not term.strip() or len(term) > GLOSSARY_MAX_CHARS:
                raise serializers.ValidationError(
                    gettext("Each term must be 1-%(count)d characters.") % {"count": GLOSSARY_MAX_CHARS})
        return {term.strip(): value.strip() for term, value in glossary.items()}

    def validate_voice(self, voice):
        return voice or None

    def to_internal_value(self, data):
        # One of target_language / target_languages is required: name it beside any other
        # missing field, not only once the others are fixed.
        missing_target = hasattr(data, "get") and not data.get("target_language") and not data.get("target_languages")
        required = serializers.Field.default_error_messages["required"]  # DRF's words, in its catalog
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if missing_target and isinstance(exc.detail, dict):
                exc.detail.setdefault("target_language", [serializers.ErrorDetail(str(required), "required")])
            raise
        if missing_target:
            raise serializers.ValidationError({"target_language": [required]})
        return value

    def validate(self, data):
        if "target_language" in data and "target_languages" in data:
            raise serializers.ValidationError(
                {"target_languages": [_("Send target_language or target_languages, not both.")]}
            )
        for name in ("source_subtitles", "target_subtitles"):
            if not data.get(name):
                data.pop(name, None)
        return data


class SegmentUpdateInputSerializer(InputSerializer):
    target_text = serializers.CharField(required=False, allow_blank=False, max_length=2000, trim_whitespace=True)
    speaker = serializers.CharField(required=False, allow_blank=True, max_length=50)

    def validate(self, data):
        if not data:
            raise serializers.ValidationError(_("Send target_text or speaker."))
        return data


class SpeakerUpdateInputSerializer(InputSerializer):
    name = TextField(required=False, allow_blank=True, max_length=200, trim_whitespace=True,
                     help_text='What to call the speaker (at most 50 characters; "" takes the name away). '
                               "Changes no audio and costs nothing.")
    voice = TextField(required=False, max_length=100,
                      help_text="One of the voices /languages lists for the job's language; the speaker's "
                                "lines then count as changed until the next render.")

    def validate(self, data):
        if not data:
            raise serializers.ValidationError(_("Send name or voice."))
        return data
