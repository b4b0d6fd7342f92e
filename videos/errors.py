"""Video errors: each is a ServiceError with the HTTP status and code API.md lists."""

from __future__ import annotations

import enum

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
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
    INVALID_SPOKEN_LANGUAGE = "invalid_spoken_language"


class InvalidSpokenLanguage(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = VideoErrorCode.INVALID_SPOKEN_LANGUAGE
    default_detail = _("Give a language code such as en, es or ko.")


class EmptyFile(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = VideoErrorCode.EMPTY_FILE
    default_detail = _("The file is empty.")


class FileTooLarge(ServiceError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = VideoErrorCode.FILE_TOO_LARGE
    default_detail = _("The file is too large.")


def file_too_large_detail() -> str:
    return gettext("The file is larger than the %(limit)s MB limit.") % {"limit": settings.MAX_UPLOAD_MB}


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
    default_detail = _(
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
# The probe (videos/media, which knows nothing of Django) words its refusals in English. Those it
# says word for word are marked here so the catalogs carry them; a refusal with numbers in it,
# or one worded since, reads as its error's general sentence in another language.
PROBE_REFUSALS = (
    gettext_noop("Reading the file took too long; it may be damaged."),
    gettext_noop("The file looks like a media file but cannot be read; it may be damaged or incomplete."),
    gettext_noop("The file could not be read."),
    gettext_noop("The file is empty."),
    gettext_noop(
        "This is not a video or audio format we accept (MP4/MOV, WebM/MKV, AVI, MPEG-TS, MP3, AAC, WAV, Ogg, FLAC)."
    ),
    gettext_noop("The file has no audio or video stream."),
    gettext_noop("The video stream has no picture size."),
    gettext_noop("The file's duration cannot be read."),
    gettext_noop("The file has no audio stream, so there is nothing to dub."),
)


def from_media_error(exc: MediaError) -> ServiceError:
    """The API error for a refusal from the (Django-free) probe, in the user's language."""
    error = _BY_CODE.get(exc.code, InvalidMedia)
    detail = gettext(exc.detail)
    if detail == exc.detail and translation.get_language() != settings.LANGUAGE_CODE:
        detail = error.default_detail
    return error(detail)
