"""Dubbing's errors: each a ServiceError with the HTTP status and machine code API.md lists."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from onevoice.errors import Conflict, NotFound, ServiceError


class DubbingErrorCode(StrEnum):
    JOB_NOT_FOUND = "job_not_found"
    VIDEO_NOT_FOUND = "video_not_found"
    VIDEO_NOT_READY = "video_not_ready"
    UNSUPPORTED_PAIR = "unsupported_pair"
    INVALID_OPTIONS = "invalid_options"
    JOB_NOT_CANCELLABLE = "job_not_cancellable"
    JOB_NOT_RETRYABLE = "job_not_retryable"
    JOB_RUNNING = "job_running"
    NOTHING_TO_RENDER = "nothing_to_render"
    SEGMENT_NOT_FOUND = "segment_not_found"
    SPEAKER_NOT_FOUND = "speaker_not_found"
    REFUND_NOT_ALLOWED = "refund_not_allowed"


class JobNotFound(NotFound):
    code = DubbingErrorCode.JOB_NOT_FOUND.value
    default_detail = _("Dubbing job not found.")


class VideoNotFound(NotFound):
    code = DubbingErrorCode.VIDEO_NOT_FOUND.value
    default_detail = _("Video not found.")


class VideoNotReady(Conflict):
    code = DubbingErrorCode.VIDEO_NOT_READY.value
    default_detail = _("This video is not ready to be dubbed yet (it is still processing, or it failed).")


class UnsupportedPair(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = DubbingErrorCode.UNSUPPORTED_PAIR.value
    default_detail = _("The configured engines cannot dub between these languages.")


class InvalidOptions(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = DubbingErrorCode.INVALID_OPTIONS.value
    default_detail = _("Some dubbing options are invalid.")


class JobNotCancellable(Conflict):
    code = DubbingErrorCode.JOB_NOT_CANCELLABLE.value
    default_detail = _("This job has already finished and cannot be cancelled.")


class JobNotRetryable(Conflict):
    code = DubbingErrorCode.JOB_NOT_RETRYABLE.value
    default_detail = _("Only a failed or cancelled job can be retried.")


class JobRunning(Conflict):
    code = DubbingErrorCode.JOB_RUNNING.value
    default_detail = _("This job is running; wait until it finishes.")


class NothingToRender(Conflict):
    code = DubbingErrorCode.NOTHING_TO_RENDER.value
    default_detail = _("No line has changed since the last render.")


class SegmentNotFound(NotFound):
    code = DubbingErrorCode.SEGMENT_NOT_FOUND.value
    default_detail = _("Segment not found.")


class SpeakerNotFound(NotFound):
    code = DubbingErrorCode.SPEAKER_NOT_FOUND.value
    default_detail = _("Speaker not found.")


class RefundNotAllowed(Conflict):
    code = DubbingErrorCode.REFUND_NOT_ALLOWED.value
    default_detail = _("This job has nothing left to refund.")
