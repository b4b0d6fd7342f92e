"""Pipeline failures name the stage and, inside per-segment stages, the segment."""

from __future__ import annotations


class PipelineError(Exception):
    def __init__(self, stage: str, segment_id: str | None, message: str):
        self.stage = stage
        self.segment_id = segment_id
        self.message = message
        where = f"{stage}, segment {segment_id}" if segment_id else stage
        super().__init__(f"{where}: {message}")


class PipelineCancelled(PipelineError):
    def __init__(self, stage: str, segment_id: str | None = None):
        super().__init__(stage, segment_id, "cancelled")
