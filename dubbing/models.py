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


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class DubbingJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dubbing_jobs")
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="dubbing_jobs")
    # As asked ("auto" allowed) and as found by recognition.
    source_language = models.CharField(max_length=16, default="auto")
    detected_language = models.CharField(max_length=16, blank=True)
    target_language = models.CharField(max_length=16)
    options = models.JSONField(default=dict, help_text="DubOptions.to_dict() of the job.")
    engines = models.JSONField(default=dict, blank=True, help_text="Engine names per kind, as used.")
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    stage = models.CharField(max_length=20, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # 0-100
    cost_credits = models.PositiveIntegerField()
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    # A user's retry of a failed job is a new attempt (a new reservation); deliveries within an
    # attempt that failed on a retryable error are counted in `tries`.
    attempt = models.PositiveIntegerField(default=1)
    tries = models.PositiveIntegerField(default=0)
    # Renders after edits: `render_count` is n of the latest `job_render:{job}:{n}` reservation;
    # `rendering` is true while that render is queued or running.
    render_count = models.PositiveIntegerField(default=0)
    rendering = models.BooleanField(default=False)
    cancel_requested = models.BooleanField(default=False)
    # Who holds the job: a worker's claim token, renewed by its heartbeat.
    claim_token = models.UUIDField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # What a polling client needs, kept current by the services and the worker, so that the
    # job-detail endpoint is one indexed row read (bench/api.py).
    snapshot = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
    def dub_options(self):
        from dubbing.pipeline.options import DubOptions

        return DubOptions.from_dict(self.options)


class StepStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Done earlier")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class JobStep(models.Model):
    """One stage of one run of a job: an attempt (render 0) or a render after edits (render n)."""

    job = models.ForeignKey(DubbingJob, on_delete=models.CASCADE, related_name="steps")
    attempt = models.PositiveIntegerField()
    render = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=20)
    position = models.PositiveSmallIntegerField(default=0)  # the stage's place in the pipeline
    status = models.CharField(max_length=20, choices=StepStatus.choices, default=StepStatus.RUNNING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
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

    job = models.ForeignKey(DubbingJob, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    segment_id = models.CharField(max_length=32)  # the pipeline's id ("s0001"), stable across renders
    start = models.FloatField()
    end = models.FloatField()
    speaker = models.CharField(max_length=50, blank=True)
    source_text = models.TextField()
    target_text = models.TextField(blank=True)
    rendered_text = models.TextField(blank=True)
    speed = models.FloatField(default=1.0)
    displacement = models.FloatField(default=0.0)
    overrun = models.FloatField(default=0.0)
    shortened = models.BooleanField(default=False)
    glossary_misses = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
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
    DUBBED_VIDEO = "dubbed_video", "Dubbed video"
    DUBBED_AUDIO = "dubbed_audio", "Dubbed audio"
    SUBTITLES_SOURCE_SRT = "subtitles_source_srt", "Source subtitles (SRT)"
    SUBTITLES_SOURCE_VTT = "subtitles_source_vtt", "Source subtitles (VTT)"
    SUBTITLES_TARGET_SRT = "subtitles_target_srt", "Translated subtitles (SRT)"
    SUBTITLES_TARGET_VTT = "subtitles_target_vtt", "Translated subtitles (VTT)"
    SUBTITLES_BILINGUAL_SRT = "subtitles_bilingual_srt", "Bilingual subtitles (SRT)"
    SUBTITLES_BILINGUAL_VTT = "subtitles_bilingual_vtt", "Bilingual subtitles (VTT)"
    REPORT = "report", "Report (JSON)"


class Artifact(models.Model):
    """One output of a job's latest successful run, stored under the job in the media storage."""

    job = models.ForeignKey(DubbingJob, on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=30, choices=ArtifactKind.choices)
    name = models.CharField(max_length=500)  # storage name
    filename = models.CharField(max_length=255)  # what a download is called
    size = models.BigIntegerField(default=0)
    content_type = models.CharField(max_length=100)
    render = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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

    key = models.CharField(primary_key=True, max_length=64)
    video = models.ForeignKey("videos.Video", on_delete=models.CASCADE, related_name="source_analyses")
    source_language = models.CharField(max_length=16)
    recognizer = models.CharField(max_length=100)
    claim_token = models.UUIDField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)  # jobs that ran their source side on it
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "source analyses"

    def __str__(self) -> str:
        return f"{self.video_id} {self.source_language} {self.recognizer}"
