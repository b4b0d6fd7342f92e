"""Video errors: each is a ServiceError with the HTTP status and code API.md lists."""

from __future__ import annotations

import enum

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from onevoice.errors import Conflict, NotFound, ServiceError
from videos.media.probe import MediaError


class VideoErrorCode(enum.StrEnum):
    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    QUOTA_EXCEEDED = "quota_exceeded"
    UNSUPPORTED_MEDIA = "unsupported_media"
    INVALID_MEDIA = "invalid_media"
    DIRECT_UPLOAD_UNAVAILABLE = "direct_upload_unavailable"
    UPLOAD_NOT_IN_PROGRESS = "upload_not_in_progress"
    INVALID_PARTS = "invalid_parts"


class EmptyFile(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = VideoErrorCode.EMPTY_FILE
    default_detail = _("The file is empty.")


class FileTooLarge(ServiceError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = VideoErrorCode.FILE_TOO_LARGE
    default_detail = _("The file is too large.")


class QuotaExceeded(ServiceError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = VideoErrorCode.QUOTA_EXCEEDED
    default_detail = _("This upload would take you over your storage quota. Delete some videos first.")


class UnsupportedMedia(ServiceError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = VideoErrorCode.UNSUPPORTED_MEDIA
    default_detail = _("This is not a video or audio format we accept.")


class InvalidMedia(ServiceError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = VideoErrorCode.INVALID_MEDIA
    default_detail = _("The file cannot be read as video or audio.")


class DirectUploadUnavailable(Conflict):
    """409: this deployment stores media on its own disk, so uploads go through POST /videos."""

    code = VideoErrorCode.DIRECT_UPLOAD_UNAVAILABLE
    default_detail = (
        "Direct upload needs object storage (S3), which this server does not use. "
        "Upload the file with POST /api/v1/videos instead."
    )


class UploadNotInProgress(Conflict):
    code = VideoErrorCode.UPLOAD_NOT_IN_PROGRESS
    default_detail = _("This upload is not in progress (it was completed or aborted).")


class InvalidParts(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = VideoErrorCode.INVALID_PARTS
    default_detail = _("The uploaded parts do not match what the storage received.")


class VideoNotFound(NotFound):
    default_detail = _("Video not found.")


_BY_CODE = {cls.code: cls for cls in (EmptyFile, UnsupportedMedia, InvalidMedia)}


def from_media_error(exc: MediaError) -> ServiceError:
    """The API error for a refusal from the (Django-free) probe."""
    return _BY_CODE.get(exc.code, InvalidMedia)(exc.detail)
