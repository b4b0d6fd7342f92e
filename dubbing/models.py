"""Dubbing jobs and their durable state (DESIGN.md "Jobs and credits", "Durable job state").

A job dubs one video into one language. Its steps (per attempt and render), its segments and
its artifacts are rows written as stages finish; the files behind them live in the configured
storage, so any worker can pick a job up where another one died.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from dubbing.pipeline.options import DubOptions


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class DubbingJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dubbing_jobs", verbose_name=_("owner"))
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="dubbing_jobs", verbose_name=_("video"))
    # As asked ("auto" allowed) and as found by recognition.
    source_language = models.CharField(max_length=16, default="auto", verbose_name=_("source language"))
    detected_language = models.CharField(max_length=16, blank=True, verbose_name=_("detected language"))
    target_language = models.CharField(max_length=16, verbose_name=_("target language"))
    options = models.JSONField(default=dict, help_text=_("DubOptions.to_dict() of the job."), verbose_name=_("options"))
    engines = models.JSONField(default=dict, blank=True, help_text=_("Engine names per kind, as used."), verbose_name=_("engines"))
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED, verbose_name=_("status"))
    stage = models.CharField(max_length=20, blank=True, verbose_name=_("stage"))
    progress = models.PositiveSmallIntegerField(default=0, verbose_name=_("progress"))  # 0-100
    # When the running job is expected to finish (dubbing/worker/progress.py); null before
    # recognition has started. The API says it as eta_seconds, counted down at each read.
    eta_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expected to finish at"))
    cost_credits = models.PositiveIntegerField(verbose_name=_("cost credits"))
    error_code = models.CharField(max_length=50, blank=True, verbose_name=_("error code"))
    error_message = models.TextField(blank=True, verbose_name=_("error message"))
    # A user's retry of a failed job is a new attempt (a new reservation); deliveries within an
    # attempt that failed on a retryable error are counted in `tries`.
    attempt = models.PositiveIntegerField(default=1, verbose_name=_("attempt"))
    tries = models.PositiveIntegerField(default=0, verbose_name=_("tries"))
    # Renders after edits: `render_count` is n of the latest `job_render:{job}:{n}` reservation;
    # `rendering` is true while that render is queued or running.
    render_count = models.PositiveIntegerField(default=0, verbose_name=_("render count"))
    rendering = models.BooleanField(default=False, verbose_name=_("rendering"))
    cancel_requested = models.BooleanField(default=False, verbose_name=_("cancel requested"))
    # Who holds the job: a worker's claim token, renewed by its heartbeat.
    claim_token = models.UUIDField(null=True, blank=True, verbose_name=_("claim token"))
    worker = models.CharField(max_length=200, blank=True, verbose_name=_("worker"))
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("heartbeat at"))
    # When a queued job's message is overdue: set when it is sent (after a retry's delay, plus
    # DUBBING_QUEUED_LOST_SECONDS); the reaper re-sends a job still queued past it.
    resend_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resend at"))
    # What a polling client needs, kept current by the services and the worker, so that the
    # job-detail endpoint is one indexed row read (bench/api.py).
    snapshot = models.JSONField(default=dict, blank=True, verbose_name=_("snapshot"))
    # Speaker label ("speaker_1") -> the name its owner gave it ("Minji"): shown in the line
    # editor and written into the WebVTT voice labels; it changes no audio.
    speaker_names = models.JSONField(default=dict, blank=True, verbose_name=_("speaker names"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("dubbing job")
        verbose_name_plural = _("dubbing jobs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="dub_job_owner_created"),
            models.Index(fields=["owner", "status"], name="dub_job_owner_status"),
            models.Index(fields=["owner", "target_language"], name="dub_job_owner_target"),
            models.Index(fields=["video", "-created_at"], name="dub_job_video_created"),
            models.Index(fields=["status", "heartbeat_at"], name="dub_job_status_heartbeat"),
            models.Index(fields=["status", "-created_at"], name="dub_job_status_created"),
            models.Index(fields=["stage"], name="dub_job_stage"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="dub_job_progress_lte_100"),
            models.CheckConstraint(condition=Q(attempt__gte=1), name="dub_job_attempt_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.video_id} -> {self.target_language} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def dub_options(self) -> DubOptions:
        return DubOptions.from_dict(self.options)

    @property
    def current_render(self) -> int:
        """The render number of the job's current run: its latest render while rendering, else 0
        (an attempt's own run). Steps and artifacts are recorded under it."""
        return self.render_count if self.rendering else 0


class StepStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Done earlier")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class JobStep(models.Model):
    """One stage of one run of a job: an attempt (render 0) or a render after edits (render n)."""

    job = models.ForeignKey(DubbingJob, on_delete=models.CASCADE, related_name="steps", verbose_name=_("job"))
    attempt = models.PositiveIntegerField(verbose_name=_("attempt"))
    render = models.PositiveIntegerField(default=0, verbose_name=_("render"))
    name = models.CharField(max_length=20, verbose_name=_("name"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))  # the stage's place in the pipeline
    status = models.CharField(max_length=20, choices=StepStatus.choices, default=StepStatus.RUNNING, verbose_name=_("status"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    seconds = models.FloatField(null=True, blank=True, verbose_name=_("seconds"))
    detail = models.JSONField(default=dict, blank=True, verbose_name=_("detail"))
    error_code = models.CharField(max_length=50, blank=True, verbose_name=_("error code"))
    error_message = models.TextField(blank=True, verbose_name=_("error message"))

    class Meta:
        verbose_name = _("job step")
        verbose_name_plural = _("job steps")
        ordering = ["attempt", "render", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt", "render", "name"], name="dub_step_unique_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class Segment(models.Model):
    """One line of a job, as the pipeline placed it. `target_text` is what the user sees and
    edits; `rendered_text` is the text the current outputs speak, so a line whose two differ has
    changed since the last render."""

    job = models.ForeignKey(DubbingJob, on_delete=models.CASCADE, related_name="segments", verbose_name=_("job"))
    index = models.PositiveIntegerField(verbose_name=_("index"))
    segment_id = models.CharField(max_length=32, verbose_name=_("segment id"))  # the pipeline's id ("s0001"), stable across renders
    start = models.FloatField(verbose_name=_("start"))
    end = models.FloatField(verbose_name=_("end"))
    speaker = models.CharField(max_length=50, blank=True, verbose_name=_("speaker"))
    source_text = models.TextField(verbose_name=_("source text"))
    target_text = models.TextField(blank=True, verbose_name=_("target text"))
    rendered_text = models.TextField(blank=True, verbose_name=_("rendered text"))
    speed = models.FloatField(default=1.0, verbose_name=_("speed"))
    displacement = models.FloatField(default=0.0, verbose_name=_("displacement"))
    overrun = models.FloatField(default=0.0, verbose_name=_("overrun"))
    shortened = models.BooleanField(default=False, verbose_name=_("shortened"))
    glossary_misses = models.JSONField(default=list, blank=True, verbose_name=_("glossary misses"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="dub_segment_unique_index"),
            models.UniqueConstraint(fields=["job", "segment_id"], name="dub_segment_unique_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.index} {self.target_text[:40]}"

    @property
    def changed(self) -> bool:
        return self.target_text != self.rendered_text

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


class ArtifactKind(models.TextChoices):
    DUBBED_VIDEO = "dubbed_video", _("Dubbed video")
    DUBBED_AUDIO = "dubbed_audio", _("Dubbed audio")
    SUBTITLES_SOURCE_SRT = "subtitles_source_srt", _("Source subtitles (SRT)")
    SUBTITLES_SOURCE_VTT = "subtitles_source_vtt", _("Source subtitles (VTT)")
    SUBTITLES_TARGET_SRT = "subtitles_target_srt", _("Translated subtitles (SRT)")
    SUBTITLES_TARGET_VTT = "subtitles_target_vtt", _("Translated subtitles (VTT)")
    SUBTITLES_BILINGUAL_SRT = "subtitles_bilingual_srt", _("Bilingual subtitles (SRT)")
    SUBTITLES_BILINGUAL_VTT = "subtitles_bilingual_vtt", _("Bilingual subtitles (VTT)")
    REPORT = "report", _("Report (JSON)")


class Artifact(models.Model):
    """One output of a job's latest successful run, stored under the job in the media storage."""

    job = models.ForeignKey(DubbingJob, on_delete=models.CASCADE, related_name="artifacts", verbose_name=_("job"))
    kind = models.CharField(max_length=30, choices=ArtifactKind.choices, verbose_name=_("kind"))
    name = models.CharField(max_length=500, verbose_name=_("name"))  # storage name
    filename = models.CharField(max_length=255, verbose_name=_("filename"))  # what a download is called
    size = models.BigIntegerField(default=0, verbose_name=_("size"))
    content_type = models.CharField(max_length=100, verbose_name=_("content type"))
    render = models.PositiveIntegerField(default=0, verbose_name=_("render"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("artifact")
        verbose_name_plural = _("artifacts")
        ordering = ["kind"]
        constraints = [models.UniqueConstraint(fields=["job", "kind"], name="dub_artifact_unique_kind")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.job_id}"


class SourceAnalysis(models.Model):
    """The source side of dubbing one video (probe, extract, transcription, segmentation,
    speakers), shared by every job on the same video, source language and recognizer with its
    options, so five target languages transcribe once (DESIGN.md "Durable job state").

    The files live in the storage under `analyses/<key>/`; this row is the lock around making
    them: a job claims it with a conditional update (no holder, or a holder whose heartbeat is
    older than DUBBING_HEARTBEAT_STALE_SECONDS) and the other jobs on it wait, then read what the
    holder stored instead of recognizing the audio again."""

    key = models.CharField(primary_key=True, max_length=64, verbose_name=_("key"))
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="source_analyses", verbose_name=_("video"))
    source_language = models.CharField(max_length=16, verbose_name=_("source language"))
    recognizer = models.CharField(max_length=100, verbose_name=_("recognizer"))
    claim_token = models.UUIDField(null=True, blank=True, verbose_name=_("claim token"))
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("heartbeat at"))
    uses = models.PositiveIntegerField(default=0, verbose_name=_("uses"))  # jobs that ran their source side on it
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("source analysis")
        verbose_name_plural = _("source analyses")

    def __str__(self) -> str:
        return f"{self.video_id} {self.source_language} {self.recognizer}"



class VoiceCloningConsent(models.Model):
    """One user's consent to clone the voices of one job's speakers: who, when, from which
    address, the exact text they agreed to (in the language it was shown in) and, once the job
    has cloned them, which speakers. Written by the job services and the worker; staff read it in
    the admin. It outlives the job (deleting a video keeps the record of what was agreed)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_cloning_consents",
                             verbose_name=_("user"))
    job = models.ForeignKey(DubbingJob, on_delete=models.SET_NULL, null=True, blank=True,
                            related_name="voice_cloning_consents", verbose_name=_("job"))
    job_ref = models.UUIDField(verbose_name=_("job ID"), help_text=_("Kept after the job is deleted."))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("agreed at"))
    ip_address = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("IP address"))
    text = models.TextField(verbose_name=_("text agreed to"))
    language = models.CharField(max_length=16, verbose_name=_("language of the text"))
    speakers = models.JSONField(default=list, blank=True, verbose_name=_("speakers cloned"))

    class Meta:
        verbose_name = _("voice cloning consent")
        verbose_name_plural = _("voice cloning consents")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["job_ref"], name="dub_consent_job_ref")]

    def __str__(self) -> str:
        return f"{self.user_id} for {self.job_ref} at {self.created_at:%Y-%m-%d %H:%M}"


class ClonedVoice(models.Model):
    """A voice made at a provider from a job's speaker (ElevenLabs' instant voice cloning), written
    down before the provider is asked, so that none is forgotten: the run deletes it when it ends
    (`deleted_at`), and the sweep deletes any a crash or a failed delete left behind (by
    `voice_id`, or by `name` when the crash came before the id was written)."""

    provider = models.CharField(max_length=30, verbose_name=_("provider"))
    name = models.CharField(max_length=100, unique=True, verbose_name=_("name at the provider"))
    voice_id = models.CharField(max_length=100, blank=True, verbose_name=_("voice ID"))
    speaker = models.CharField(max_length=50, blank=True, verbose_name=_("speaker"))
    job = models.ForeignKey(DubbingJob, on_delete=models.SET_NULL, null=True, blank=True,
                            related_name="cloned_voices", verbose_name=_("job"))
    claim_token = models.UUIDField(null=True, blank=True, verbose_name=_("claim token"))  # the run that made it
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    deleted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("deleted at"))
    delete_attempts = models.PositiveIntegerField(default=0, verbose_name=_("delete attempts"))
    retry_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next delete attempt"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))

    class Meta:
        verbose_name = _("cloned voice")
        verbose_name_plural = _("cloned voices")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["deleted_at", "retry_at"], name="dub_cloned_voice_pending")]

    def __str__(self) -> str:
        return f"{self.provider} {self.voice_id or self.name}"
