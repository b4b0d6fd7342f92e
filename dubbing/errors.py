"""Dubbing's errors: each a ServiceError with the HTTP status and machine code API.md lists."""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from dubbing.engines.base import ErrorCode
from onevoice.errors import Conflict, NotFound, ServiceError


class DubbingErrorCode(StrEnum):
    JOB_NOT_FOUND = "job_not_found"
    VIDEO_NOT_FOUND = "video_not_found"
    VIDEO_NOT_READY = "video_not_ready"
    UNSUPPORTED_PAIR = "unsupported_pair"
    INVALID_OPTIONS = "invalid_options"
    SEPARATION_UNAVAILABLE = "separation_unavailable"
    SAME_LANGUAGE = "same_language"
    SOURCE_LANGUAGE_UNSURE = "source_language_unsure"
    JOB_NOT_CANCELLABLE = "job_not_cancellable"
    JOB_NOT_RETRYABLE = "job_not_retryable"
    JOB_RUNNING = "job_running"
    NOTHING_TO_RENDER = "nothing_to_render"
    SEGMENT_NOT_FOUND = "segment_not_found"
    SPEAKER_NOT_FOUND = "speaker_not_found"
    VOICE_NOT_FOUND = "voice_not_found"
    LINE_AUDIO_NOT_FOUND = "line_audio_not_found"
    PREVIEW_UNAVAILABLE = "preview_unavailable"
    REFUND_NOT_ALLOWED = "refund_not_allowed"
    INVALID_SUBTITLES = "invalid_subtitles"
    TOO_MANY_SUBTITLE_CUES = "too_many_subtitle_cues"
    SUBTITLE_CUE_TOO_SHORT = "subtitle_cue_too_short"
    SUBTITLES_OUTSIDE_MEDIA = "subtitles_outside_media"
    CONSENT_REQUIRED = "consent_required"
    VOICE_CLONING_UNAVAILABLE = "voice_cloning_unavailable"


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


class InvalidSubtitles(ServiceError):
    """Supplied subtitles that cannot be read (binary, prose, broken or reversed timings)."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = DubbingErrorCode.INVALID_SUBTITLES.value
    default_detail = _("The subtitles cannot be read.")


class TooManySubtitleCues(InvalidSubtitles):
    code = DubbingErrorCode.TOO_MANY_SUBTITLE_CUES.value


class SubtitleCueTooShort(InvalidSubtitles):
    code = DubbingErrorCode.SUBTITLE_CUE_TOO_SHORT.value


class SubtitlesOutsideMedia(InvalidSubtitles):
    code = DubbingErrorCode.SUBTITLES_OUTSIDE_MEDIA.value


class SeparationUnavailable(ServiceError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = DubbingErrorCode.SEPARATION_UNAVAILABLE.value
    default_detail = _("This server cannot separate the voice from the music; choose another background.")


class ConsentRequired(ServiceError):
    """`voice_cloning` without `voice_cloning_consent`: refused before anything is reserved."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = DubbingErrorCode.CONSENT_REQUIRED.value
    default_detail = _("Cloning the speakers' voices needs your consent (voice_cloning_consent).")


class VoiceCloningUnavailable(ServiceError):
    """`voice_cloning` with a speech engine that cannot clone voices."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = DubbingErrorCode.VOICE_CLONING_UNAVAILABLE.value
    default_detail = _("This server's speech engine cannot clone voices.")


class SameLanguage(InvalidOptions):
    """The source and target languages are the same: refused before anything is reserved."""

    code = DubbingErrorCode.SAME_LANGUAGE.value
    default_detail = _("The source and target languages are the same.")


class SourceLanguageUnsure(InvalidOptions):
    """`auto` on a video whose spoken language detection could not tell: the user chooses it."""

    code = DubbingErrorCode.SOURCE_LANGUAGE_UNSURE.value
    default_detail = _("We could not tell which language is spoken in this video. Choose the spoken language "
                       "and try again.")


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


class VoiceNotFound(NotFound):
    code = DubbingErrorCode.VOICE_NOT_FOUND.value
    default_detail = _("This language has no such voice here.")


class LineAudioNotFound(NotFound):
    code = DubbingErrorCode.LINE_AUDIO_NOT_FOUND.value
    default_detail = _("This line has no dubbed audio yet.")


class PreviewUnavailable(ServiceError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = DubbingErrorCode.PREVIEW_UNAVAILABLE.value
    default_detail = _("The voice could not be previewed just now; try again in a moment.")


class RefundNotAllowed(Conflict):
    code = DubbingErrorCode.REFUND_NOT_ALLOWED.value
    default_detail = _("This job has nothing left to refund.")


# What a failed job says, per pipeline error code (`ErrorCode`, the engines' and the pipeline's
# enum, re-exported here for the layers above), to a reader of another language than the
# pipeline's English. The pipeline's own words (they name the stage, the line, the engine) stay
# for readers of the site's default language.
JOB_ERROR_DETAILS = {
    ErrorCode.INVALID_OPTIONS: _("Some dubbing options are invalid."),
    ErrorCode.BAD_MEDIA: _("The file cannot be read as video or audio."),
    ErrorCode.NO_SPEECH: _("No speech was found in the audio, so there is nothing to dub."),
    ErrorCode.SAME_LANGUAGE: _("The speech is already in the language to dub into."),
    ErrorCode.UNSUPPORTED_PAIR: _("The configured engines cannot dub between these languages."),
    ErrorCode.LANGUAGE_NOT_DETECTED: _("The spoken language could not be recognized. Choose it on the form and try again."),
    ErrorCode.INVALID_SUBTITLES: _("The subtitles could not be read."),
    ErrorCode.ENGINE_UNAVAILABLE: _("A dubbing engine is not available on this server."),
    ErrorCode.ENGINE_TIMEOUT: _("A dubbing engine did not answer in time."),
    ErrorCode.ENGINE_RATE_LIMITED: _("A dubbing engine is busy. Try again in a moment."),
    ErrorCode.ENGINE_SERVER_ERROR: _("A dubbing engine failed on its side. Try again in a moment."),
    ErrorCode.ENGINE_FAILED: _("A dubbing engine failed."),
    ErrorCode.STORAGE_ERROR: _("The files could not be stored. Try again in a moment."),
    ErrorCode.TIME_LIMIT: _("The dub took longer than its time limit."),
    ErrorCode.WORKER_LOST: _("The worker dubbing this video stopped answering."),
    ErrorCode.CANCELLED: _("The dub was cancelled."),
    ErrorCode.INTERNAL_ERROR: _("Something went wrong on our side. It has been logged."),
}


# A cancelled re-render leaves the job succeeded with its last dub, under the same code.
RENDER_CANCELLED_DETAIL = _("The re-render was cancelled. The last dub is still there.")


def job_error_detail(code: str, stored: str, *, status: str = "") -> str:
    """A failed job's error for the reader: the stored (pipeline or service) words in the site's
    default language, else the sentence for its code (and the job's state) in the reader's."""
    sentence = JOB_ERROR_DETAILS.get(code)
    if code == "cancelled" and status == "succeeded":
        sentence = RENDER_CANCELLED_DETAIL
    if sentence is None or translation.get_language() == settings.LANGUAGE_CODE:
        return stored
    return str(sentence)
