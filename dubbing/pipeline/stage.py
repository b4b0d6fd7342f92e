"""What a stage is, and the one context every stage reads and fills.

A stage is a small unit in its own module: a `name`, a `version` (bumped when what it writes
changes), a `key(ctx)` computed from the *content* of its inputs (the probe's fingerprint, the
transcript, the text of each line, the options it reads: never the chain of earlier stages'
options), `run(ctx)` which does the work and returns a small JSON-able detail, and `load(ctx)`
which, when the key is unchanged, reads back what an earlier run wrote (from the workspace, or
from the store on a machine that never saw the job). A `load` that cannot find its outputs
returns False and the stage runs again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dubbing.engines.base import Segment, Transcript
from dubbing.pipeline.errors import PipelineCancelled
from dubbing.pipeline.options import DubOptions
from dubbing.pipeline.workspace import Workspace
from videos.media.probe import MediaInfo


@dataclass(frozen=True)
class Event:
    kind: str  # "started" | "progress" | "done" | "failed"
    stage: str
    fraction: float = 0.0
    message: str = ""
    seconds: float = 0.0
    detail: dict = field(default_factory=dict)
    cached: bool = False
    code: str | None = None
    retryable: bool = False
    segments: list | None = None  # on "done" of segment, translate and fit: list[SegmentResult]


@dataclass
class Context:
    input_path: Path
    options: DubOptions
    engines: Any
    ws: Workspace
    duck_db: float = -18.0
    threads: int = 1
    keep_stems: bool = False
    max_duration: float | None = None
    target_overrides: dict[str, str] = field(default_factory=dict)
    # With "auto": the languages detection chooses from, when the caller fixes them for several
    # target languages sharing one analysis (else those with a pair to this job's target).
    detect_candidates: frozenset[str] | None = None
    should_cancel: Callable[[], bool] = lambda: False
    emit: Callable[[Event], None] = lambda event: None
    stage: str = ""  # the stage running now (for progress events)

    # Filled in by the stages, in order.
    fingerprint: str = ""
    info: MediaInfo | None = None
    regions: list[tuple[float, float]] = field(default_factory=list)
    transcript: Transcript | None = None
    transcribe_detail: dict = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    supplied_targets: dict[str, str] = field(default_factory=dict)
    translations: dict[str, str] = field(default_factory=dict)  # the engine's (or supplied) lines
    texts: dict[str, str] = field(default_factory=dict)  # what is spoken: translations + overrides
    clips: dict[str, dict] = field(default_factory=dict)  # segment id -> {path, seconds}
    fitted: dict[str, dict] = field(default_factory=dict)  # segment id -> placement and files
    mix_detail: dict = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    video_suffix: str = ".mp4"

    @property
    def source_language(self) -> str:
        return self.transcript.language if self.transcript is not None else self.options.source_language

    @property
    def timeline(self) -> float:
        from dubbing.pipeline.probe import timeline_duration

        return timeline_duration(self.info)

    def progress(self, fraction: float, message: str = "") -> None:
        self.emit(Event("progress", self.stage, fraction=max(0.0, min(1.0, fraction)), message=message))

    def check_cancel(self, segment_id: str | None = None) -> None:
        if self.should_cancel():
            raise PipelineCancelled(self.stage, segment_id)


class Stage:
    name: str = ""
    version: int = 1

    def key(self, ctx: Context) -> str:
        raise NotImplementedError

    def run(self, ctx: Context) -> dict:
        raise NotImplementedError

    def load(self, ctx: Context) -> bool:
        """Read back the outputs of an earlier run with the same key; False when they are gone."""
        raise NotImplementedError
