"""Pipeline failures: the stage, the segment inside per-segment stages, a code from `ErrorCode`,
and whether trying again can help.

Engine timeouts, rate limits (429) and server errors (5xx) are retryable: the same work may
succeed in a minute. Bad media, an unsupported pair, "no speech" and a missing engine are not:
running again gives the same answer, so a job fails at once instead of burning its retries.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_OPTIONS = "invalid_options"
    BAD_MEDIA = "bad_media"
    NO_SPEECH = "no_speech"
    SAME_LANGUAGE = "same_language"
    UNSUPPORTED_PAIR = "unsupported_pair"
    LANGUAGE_NOT_DETECTED = "language_not_detected"
    INVALID_SUBTITLES = "invalid_subtitles"
    ENGINE_UNAVAILABLE = "engine_unavailable"
    ENGINE_TIMEOUT = "engine_timeout"
    ENGINE_RATE_LIMITED = "engine_rate_limited"
    ENGINE_SERVER_ERROR = "engine_server_error"
    ENGINE_FAILED = "engine_failed"
    STORAGE_ERROR = "storage_error"
    TIME_LIMIT = "time_limit"
    WORKER_LOST = "worker_lost"
    CANCELLED = "cancelled"
    INTERNAL_ERROR = "internal_error"


RETRYABLE_CODES = frozenset({
    ErrorCode.ENGINE_TIMEOUT,
    ErrorCode.ENGINE_RATE_LIMITED,
    ErrorCode.ENGINE_SERVER_ERROR,
    ErrorCode.STORAGE_ERROR,
    ErrorCode.TIME_LIMIT,
    ErrorCode.WORKER_LOST,
})


class PipelineError(Exception):
    def __init__(self, stage: str, segment_id: str | None, message: str, *,
                 code: ErrorCode | str = ErrorCode.ENGINE_FAILED, retryable: bool | None = None):
        self.stage = stage
        self.segment_id = segment_id
        self.message = message
        self.code = ErrorCode(code)
        self.retryable = self.code in RETRYABLE_CODES if retryable is None else retryable
        where = f"{stage}, segment {segment_id}" if segment_id else stage
        super().__init__(f"{where}: {message}")


class PipelineCancelled(PipelineError):
    def __init__(self, stage: str, segment_id: str | None = None):
        super().__init__(stage, segment_id, "cancelled", code=ErrorCode.CANCELLED, retryable=False)
