from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class VideoStatus(models.TextChoices):
    UPLOADING = "uploading", _("Uploading")  # a direct upload to object storage not completed yet
    READY = "ready", _("Ready")
    INVALID = "invalid", _("Invalid")  # found unusable after it was accepted (e.g. by the pipeline)


class SpokenLanguageStatus(models.TextChoices):
    """Where a video's spoken language came from: "" not asked (an older upload, or no sound)."""

    PENDING = "pending", _("Detecting")
    DETECTED = "detected", _("Detected")
    UNSURE = "unsure", _("Not sure")  # the likeliest language was below the recognizer's threshold
    FAILED = "failed", _("Could not be detected")
    USER = "user", _("Chosen by you")


class Video(models.Model):
    """An uploaded video or audio file, probed. Its bytes live in storage under `storage_key`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos", verbose_name=_("owner"))
    title = models.CharField(max_length=200, verbose_name=_("title"))
    original_filename = models.CharField(max_length=255, blank=True, verbose_name=_("original filename"))
    # Server-generated (never derived from the user's filename), unique per video.
    storage_key = models.CharField(max_length=500, unique=True, verbose_name=_("storage key"))
    size = models.BigIntegerField(default=0, verbose_name=_("size"))  # bytes; for an upload in progress, the declared size
    content_type = models.CharField(max_length=100, blank=True, verbose_name=_("content type"))  # as probed
    format = models.CharField(max_length=50, blank=True, verbose_name=_("format"))  # the demuxer that read it
    duration = models.FloatField(null=True, blank=True, verbose_name=_("duration"))  # seconds
    width = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("width"))
    height = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("height"))
    fps = models.FloatField(null=True, blank=True, verbose_name=_("fps"))
    video_codec = models.CharField(max_length=50, blank=True, verbose_name=_("video codec"))
    audio_codec = models.CharField(max_length=50, blank=True, verbose_name=_("audio codec"))
    has_audio = models.BooleanField(default=False, verbose_name=_("has audio"))
    has_video = models.BooleanField(default=False, verbose_name=_("has video"))
    thumbnail = models.CharField(max_length=500, blank=True, verbose_name=_("thumbnail"))
    # Detected in the background after the upload (dubbing.services.spoken_language), or set by the user.
    spoken_language = models.CharField(max_length=16, blank=True, verbose_name=_("spoken language"))
    spoken_language_confidence = models.FloatField(null=True, blank=True, verbose_name=_("spoken language confidence"))
    spoken_language_status = models.CharField(max_length=10, blank=True, choices=SpokenLanguageStatus.choices,
                                              verbose_name=_("spoken language status"))  # storage key of the JPEG, if any
    status = models.CharField(max_length=20, choices=VideoStatus.choices, default=VideoStatus.UPLOADING, verbose_name=_("status"))
    invalid_reason = models.CharField(max_length=500, blank=True, verbose_name=_("invalid reason"))
    # The object store's multipart upload id while a direct upload is in progress.
    multipart_upload_id = models.CharField(max_length=1024, blank=True, verbose_name=_("multipart upload id"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("video")
        verbose_name_plural = _("videos")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="videos_owner_created_idx"),
            models.Index(fields=["status", "created_at"], name="videos_status_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gte=0), name="videos_size_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.id})"

    @property
    def is_audio_only(self) -> bool:
        return self.has_audio and not self.has_video
