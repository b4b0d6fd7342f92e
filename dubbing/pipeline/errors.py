"""Pipeline failures: the stage, the segment inside per-segment stages, a code from `ErrorCode`,
and whether trying again can help.

Engine timeouts, rate limits (429) and server errors (5xx) are retryable: the same work may
succeed in a minute. Bad media, an unsupported pair, "no speech" and a missing engine are not:
running again gives the same answer, so a job fails at once instead of burning its retries.
`pipeline_error` is the one place that turns whatever a stage raised into a `PipelineError`.
"""

from __future__ import annotations

from dubbing.engines.base import EngineError, ErrorCode
from videos.media.ffmpeg import FFmpegError
from videos.media.process import ProcessCancelled

__all__ = ["RETRYABLE_CODES", "ErrorCode", "PipelineCancelled", "PipelineError", "ProbeError", "pipeline_error"]

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


class ProbeError(Exception):
    """The input cannot be dubbed; the message is fit for the person who gave the file."""


def pipeline_error(stage: str, segment_id: str | None, exc: BaseException, *, prefix: str = "") -> PipelineError:
    """The PipelineError (code, retryable) for an exception raised inside a stage."""
    if isinstance(exc, PipelineError):
        return exc
    if isinstance(exc, ProcessCancelled):
        return PipelineCancelled(stage, segment_id)
    message = prefix + (str(exc) or type(exc).__name__)
    if isinstance(exc, EngineError):  # SubtitleError too: its code is INVALID_SUBTITLES
        return PipelineError(stage, segment_id, message, code=exc.code, retryable=exc.retryable)
    if isinstance(exc, ProbeError):
        return PipelineError(stage, segment_id, message, code=ErrorCode.BAD_MEDIA)
    if isinstance(exc, FFmpegError):
        # ffmpeg refusing the user's file is bad media; refusing our own intermediate files is ours.
        code = ErrorCode.BAD_MEDIA if stage in ("probe", "extract") else ErrorCode.INTERNAL_ERROR
        return PipelineError(stage, segment_id, message, code=code)
    if isinstance(exc, TimeoutError):
        return PipelineError(stage, segment_id, message, code=ErrorCode.ENGINE_TIMEOUT)
    if isinstance(exc, OSError):
        # A full disk or a storage hiccup: another try, maybe on another machine, can succeed.
        return PipelineError(stage, segment_id, message, code=ErrorCode.STORAGE_ERROR)
    return PipelineError(stage, segment_id, message, code=ErrorCode.INTERNAL_ERROR)
