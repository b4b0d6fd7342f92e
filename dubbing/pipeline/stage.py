"""What a stage is, and the one context every stage reads and fills.

A stage is a small unit in its own module: a `name`, a `version` (bumped when what it writes
changes), a `key(ctx)` computed from the *content* of its inputs (the probe's fingerprint, the
transcript, the text of each line, the options it reads: never the chain of earlier stages'
options), `run(ctx)` which does the work and returns a small JSON-able detail, and `load(ctx)`
which, when the key is unchanged, reads back what an earlier run wrote (from the workspace, or
from the store on a machine that never saw the job). A `load` that cannot find its outputs
returns False and the stage runs again.

The data that crosses stages is typed (`Clip`, `FittedLine`, the engines' `Segment` and
`Transcript`), and each `Context` field names the stage that fills it. A stage's `run` reads the
fields it needs, hands them to the stage's own functions as plain arguments (`translate_segments`,
`synthesize_segments`, `plan_fit`, `mix_to_aac`...: testable without a Context), and fills its
own fields with what they return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dubbing.engines.base import Segment, Transcript
from dubbing.engines.registry import Engines
from dubbing.engines.speakers import SpeakerAnalysis
from dubbing.pipeline.clones import VoiceClones
from dubbing.pipeline.errors import PipelineCancelled
from dubbing.pipeline.options import DEFAULT_DUCK_DB, DEFAULT_SEPARATE_DUCK_DB, DubOptions
from dubbing.pipeline.workspace import Workspace
from videos.media.probe import MediaInfo, timeline_duration


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
class Clip:
    """One line's synthesized speech (the synthesize stage), trimmed of the engine's silence."""

    path: Path  # in this workspace
    file: str  # the same, relative to the workspace (what synthesize.json keeps)
    seconds: float
    voice: str | None  # its speaker's voice (None: the engine's default)

    def to_dict(self) -> dict:
        return {"path": str(self.path), "file": self.file, "seconds": self.seconds, "voice": self.voice}

    @classmethod
    def from_dict(cls, data: dict, root: Path) -> Clip:
        """From synthesize.json, its path made again under this workspace's `root`."""
        return cls(path=root / data["file"], file=data["file"], seconds=data["seconds"], voice=data.get("voice"))


@dataclass
class FittedLine:
    """One line placed on the timeline (the fit stage): the clip it was made from, the fitted
    clip at the mix rate and exactly `samples` long, and where and how fast it plays."""

    clip: Path  # the synthesized clip (a shorter line's new clip when it was shortened)
    clip_file: str
    fitted: Path  # the clip stretched to its placed length at the mix rate
    fitted_file: str
    raw_seconds: float
    samples: int
    offset: int  # first sample on the timeline
    text: str  # what is spoken (the shortened text when it was shortened)
    shortened: bool
    start: float  # seconds on the timeline
    length: float  # placed seconds
    speed: float
    displacement: float  # start - the line's own start
    overrun: float  # how far it runs past the next line's start

    def to_dict(self) -> dict:
        data = asdict(self)
        data["clip"], data["fitted"] = str(self.clip), str(self.fitted)
        return data

    @classmethod
    def from_dict(cls, data: dict, root: Path) -> FittedLine:
        """From fit.json, its paths made again under this workspace's `root`."""
        return cls(**{**data, "clip": root / data["clip_file"], "fitted": root / data["fitted_file"]})


@dataclass
class Context:
    """What the caller gives (first block), then what each stage fills, in order. A stage that
    is skipped fills its fields by `load` from what it wrote before."""

    input_path: Path
    options: DubOptions
    engines: Engines
    ws: Workspace
    duck_db: float = DEFAULT_DUCK_DB
    separate_duck_db: float = DEFAULT_SEPARATE_DUCK_DB
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
    clones: VoiceClones | None = None  # the run's cloned voices, with voice_cloning (the runner closes it)

    fingerprint: str = ""  # probe: the input's content fingerprint
    info: MediaInfo | None = None  # probe
    regions: list[tuple[float, float]] = field(default_factory=list)  # extract: speech (VAD)
    transcript: Transcript | None = None  # transcribe
    transcribe_detail: dict = field(default_factory=dict)  # transcribe: language, detection
    segments: list[Segment] = field(default_factory=list)  # segment: the lines, with speakers
    speakers: SpeakerAnalysis | None = None  # segment: how speakers were found, and each one's voice measured
    supplied_targets: dict[str, str] = field(default_factory=dict)  # segment: the user's target lines
    translations: dict[str, str] = field(default_factory=dict)  # translate: the engine's (or supplied) lines
    texts: dict[str, str] = field(default_factory=dict)  # translate: what is spoken, with the edits
    clips: dict[str, Clip] = field(default_factory=dict)  # synthesize: segment id -> its clip
    cloning: dict[str, dict] = field(default_factory=dict)  # synthesize: speaker -> cloned or why not
    fitted: dict[str, FittedLine] = field(default_factory=dict)  # fit: segment id -> its placement
    mix_detail: dict = field(default_factory=dict)  # mix: the loudness figures
    files: dict[str, Path] = field(default_factory=dict)  # mux: artifact kind -> file
    video_suffix: str = ".mp4"  # mux

    @property
    def source_language(self) -> str:
        return self.transcript.language if self.transcript is not None else self.options.source_language

    @property
    def timeline(self) -> float:
        return timeline_duration(self.info)

    def progress(self, fraction: float, message: str = "") -> None:
        self.emit(Event("progress", self.stage, fraction=max(0.0, min(1.0, fraction)), message=message))

    def engine_voice(self, voice: str | None) -> str | None:
        """The voice to hand the speech engine for a clip keyed by `voice`: a speaker's clone
        (made on first use) for a clone's handle, else `voice` itself."""
        return self.clones.engine_voice(voice) if self.clones is not None else voice

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
