"""The events videos publishes (through `onevoice.events`, after commit): the layers above react
to an upload without videos importing them. Each handler is called as `handler(event,
video_id=..., owner_id=...)`."""

from __future__ import annotations

from django.db import models


class VideoEvent(models.TextChoices):
    READY = "video.ready", "Video ready"  # uploaded and probed: it can be dubbed
