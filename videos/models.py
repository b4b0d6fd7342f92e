from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class VideoStatus(models.TextChoices):
    UPLOADING = "uploading", "Uploading"  # a direct upload to object storage not completed yet
    READY = "ready", "Ready"
    INVALID = "invalid", "Invalid"  # found unusable after it was accepted (e.g. by the pipeline)


class Video(models.Model):
    """An uploaded video or audio file, probed. Its bytes live in storage under `storage_key`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos")
    title = models.CharField(max_length=200)
    original_filename = models.CharField(max_length=255, blank=True)
    # Server-generated (never derived from the user's filename), unique per video.
    storage_key = models.CharField(max_length=500, unique=True)
    size = models.BigIntegerField(default=0)  # bytes; for an upload in progress, the declared size
    content_type = models.CharField(max_length=100, blank=True)  # as probed
    format = models.CharField(max_length=50, blank=True)  # the demuxer that read it
    duration = models.FloatField(null=True, blank=True)  # seconds
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    video_codec = models.CharField(max_length=50, blank=True)
    audio_codec = models.CharField(max_length=50, blank=True)
    has_audio = models.BooleanField(default=False)
    has_video = models.BooleanField(default=False)
    thumbnail = models.CharField(max_length=500, blank=True)  # storage key of the JPEG, if any
    status = models.CharField(max_length=20, choices=VideoStatus.choices, default=VideoStatus.UPLOADING)
    invalid_reason = models.CharField(max_length=500, blank=True)
    # The object store's multipart upload id while a direct upload is in progress.
    multipart_upload_id = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
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
