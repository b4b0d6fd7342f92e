"""Reads for videos. Everything is scoped to an owner: another user's id is simply not found."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from videos.errors import VideoNotFound
from videos.models import Video, VideoStatus


def video_list(*, owner) -> QuerySet[Video]:
    return Video.objects.filter(owner=owner).order_by("-created_at", "-id")


def video_get(*, owner, video_id: uuid.UUID | str) -> Video:
    try:
        return Video.objects.get(owner=owner, id=video_id)
    except (Video.DoesNotExist, ValueError):
        raise VideoNotFound() from None


def upload_get(*, owner, upload_id: uuid.UUID | str) -> Video:
    """A direct upload in progress, by the id POST /uploads returned."""
    try:
        return Video.objects.get(owner=owner, id=upload_id, status=VideoStatus.UPLOADING)
    except (Video.DoesNotExist, ValueError):
        raise VideoNotFound(_("Upload not found.")) from None
