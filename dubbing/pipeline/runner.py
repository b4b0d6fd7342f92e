"""The stage runner (DESIGN.md "Dubbing pipeline"): the same for `manage.py dub` and the jobs.

`run_dub` runs the stages in order over one `Context`. A stage whose key (a hash of the content
of its inputs, see stage.py) matches what the workspace manifest recorded, and whose outputs can
be read back (from the folder or the store), is skipped; so a retry, a redelivered job on a new
machine or a re-render after edits starts at the first stage whose inputs changed, and inside
translate, synthesize and fit at the first unfinished line. The runner emits `Event`s that the
command line draws as a progress bar and the jobs write as JobSteps, and turns every failure
into a `PipelineError` with a code and whether retrying can help.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dubbing.engines.base import EngineError
from dubbing.pipeline.errors import ErrorCode, PipelineCancelled, PipelineError
from dubbing.pipeline.extract import ExtractStage
from dubbing.pipeline.fit import FitStage
from dubbing.pipeline.glossary import misses as glossary_misses
from dubbing.pipeline.mix import MixStage
from dubbing.pipeline.mux import MuxStage
from dubbing.pipeline.options import DubOptions
from dubbing.pipeline.probe import ProbeError, ProbeStage
from dubbing.pipeline.segment import SegmentStage
from dubbing.pipeline.stage import Context, Event, Stage
from dubbing.pipeline.store import ArtifactStore
from dubbing.pipeline.synthesize import SynthesizeStage
from dubbing.pipeline.transcribe import TranscribeStage
from dubbing.pipeline.translate import TranslateStage
from dubbing.pipeline.workspace import SOURCE_STAGES, Workspace, atomic_write_json
from videos.media.ffmpeg import FFmpegError
from videos.media.process import ProcessCancelled, cancel_scope

PIPELINE: tuple[Stage, ...] = (
    ProbeStage(), ExtractStage(), TranscribeStage(), SegmentStage(), TranslateStage(), SynthesizeStage(),
    FitStage(), MixStage(), MuxStage(),
)
STAGES = tuple(s.name for s in PIPELINE) + ("publish",)
# Stages whose "done" event carries the lines so far (the jobs write them as Segment rows).
_SEGMENT_STAGES = {"segment", "translate", "fit"}
DEFAULT_DUCK_DB = -18.0

__all__ = ["STAGES", "DubResult", "Event", "PipelineCancelled", "PipelineError", "SegmentResult", "check_engines",
           "pipeline_error", "run_dub"]


@dataclass
class SegmentResult:
    index: int
    id: str
    start: float
    end: float
    speaker: str | None
    source_text: str
    target_text: str
    speed: float = 1.0
    displacement: float = 0.0
    overrun: float = 0.0
    shortened: bool = False
    glossary_misses: list = field(default_factory=list)  # [{term, translation}] the line lacks

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DubResult:
    files: dict[str, Path]
    segments: list[SegmentResult]
    source_language: str
    engines: dict[str, str]
    report: dict
    video_suffix: str


def pipeline_error(stage: str, segment_id: str | None, exc: BaseException, *, prefix: str = "") -> PipelineError:
    """The PipelineError (code, retryable) for an exception raised inside a stage."""
    if isinstance(exc, PipelineError):
        return exc
    if isinstance(exc, ProcessCancelled):
        return PipelineCancelled(stage, segment_id)
    message = prefix + (str(exc) or type(exc).__name__)
    if isinstance(exc, EngineError):
        return PipelineError(stage, segment_id, message, code=exc.code, retryable=exc.retryable)
    if isinstance(exc, ProbeError):
        return PipelineError(stage, segment_id, message, code=ErrorCode.BAD_MEDIA)
    if isinstance(exc, FFmpegError):
        # ffmpeg refusing the user's file is bad media; refusing our own intermediate files is ours.
        code = ErrorCode.BAD_MEDIA if stage in ("probe", "extract") else ErrorCode.INTERNAL_ERROR
        return PipelineError(stage, segment_id, message, code=code)
    from dubbing.pipeline.subtitles import SubtitleError

    if isinstance(exc, SubtitleError):
        return PipelineError(stage, segment_id, message, code=ErrorCode.INVALID_SUBTITLES)
    if isinstance(exc, TimeoutError):
        return PipelineError(stage, segment_id, message, code=ErrorCode.ENGINE_TIMEOUT)
    if isinstance(exc, OSError):
        # A full disk or a storage hiccup: another try, maybe on another machine, can succeed.
        return PipelineError(stage, segment_id, message, code=ErrorCode.STORAGE_ERROR)
    return PipelineError(stage, segment_id, message, code=ErrorCode.INTERNAL_ERROR)


def check_engines(engines, options: DubOptions) -> None:
    """Refuses, before any work, a dub the configured engines cannot do."""
    target, source = options.target_language, options.source_language
    tts_languages = engines.tts.languages()
    if target not in tts_languages:
        raise PipelineError("check", None, f"The {engines.tts.name} voice engine cannot speak '{target}' "
                                           f"(it speaks {', '.join(sorted(tts_languages))}).",
                            code=ErrorCode.UNSUPPORTED_PAIR)
    if engines.asr is not None and source != "auto" and source not in engines.asr.languages():
        raise PipelineError("check", None, f"The {engines.asr.name} recognizer does not know '{source}' "
                                           f"(it knows {', '.join(sorted(engines.asr.languages()))}).",
                            code=ErrorCode.UNSUPPORTED_PAIR)
    if engines.translator is not None:
        pairs = engines.translator.supported_pairs()
        if source != "auto":
            ok = (source, target) in pairs
        else:
            sources = engines.asr.languages() if engines.asr is not None else {s for s, _ in pairs}
            ok = any((s, target) in pairs for s in sources)
        if not ok:
            have = ", ".join(f"{a}->{b}" for a, b in sorted(pairs)) or "none"
            raise PipelineError("check", None, f"The {engines.translator.name} translator cannot translate "
                                               f"{source}->{target} (installed pairs: {have}).",
                                code=ErrorCode.UNSUPPORTED_PAIR)


def _segment_results(ctx: Context) -> list[SegmentResult]:
    results = []
    glossary = dict(ctx.options.glossary or {})
    for index, seg in enumerate(ctx.segments):
        placed = ctx.fitted.get(seg.id, {})
        target_text = placed.get("text", ctx.texts.get(seg.id, ""))
        results.append(SegmentResult(
            index=index, id=seg.id, start=seg.start, end=seg.end, speaker=seg.speaker, source_text=seg.text,
            target_text=target_text,
            speed=placed.get("speed", 1.0), displacement=placed.get("displacement", 0.0),
            overrun=placed.get("overrun", 0.0), shortened=placed.get("shortened", False),
            glossary_misses=glossary_misses(seg.text, target_text, glossary) if target_text else []))
    return results


def _route(ctx: Context) -> str | None:
    """How the pair was made: "direct", "pivot", "speech_translation" (None: subtitles supplied,
    or a translator that does not say)."""
    translator = ctx.engines.translator
    if ctx.supplied_targets or translator is None or not hasattr(translator, "routes"):
        return None
    return translator.routes().get((ctx.source_language, ctx.options.target_language), "direct")


def _report(ctx: Context, timings: dict[str, dict]) -> dict:
    fitted = ctx.fitted
    return {
        "input": str(ctx.input_path),
        "fingerprint": ctx.fingerprint,
        "options": ctx.options.to_dict(),
        "source_language": ctx.source_language,
        "target_language": ctx.options.target_language,
        "duration": ctx.timeline,
        "engines": ctx.engines.names(),
        "route": _route(ctx),
        "detection": ctx.transcribe_detail.get("detection", {}),
        "loudness": ctx.mix_detail,
        # One voice per speaker for the whole video ("default": the engine's voice for the language).
        "voices": {seg.speaker or "speaker_1": (ctx.clips or {}).get(seg.id, {}).get("voice") or "default"
                   for seg in ctx.segments},
        "segments": [
            {"id": seg.id, "start": seg.start, "end": seg.end, "speaker": seg.speaker, "source_text": seg.text,
             "voice": (ctx.clips or {}).get(seg.id, {}).get("voice") or "default",
             "text": fitted[seg.id]["text"] if seg.id in fitted else ctx.texts.get(seg.id, ""),
             "raw_seconds": fitted.get(seg.id, {}).get("raw_seconds", 0.0),
             "placed_start": fitted.get(seg.id, {}).get("start"),
             "placed_seconds": fitted.get(seg.id, {}).get("length", 0.0),
             "speed": fitted.get(seg.id, {}).get("speed", 1.0),
             "displacement": fitted.get(seg.id, {}).get("displacement", 0.0),
             "overrun": fitted.get(seg.id, {}).get("overrun", 0.0),
             "shortened": fitted.get(seg.id, {}).get("shortened", False),
             "clip": fitted.get(seg.id, {}).get("clip"),
             "fitted_clip": fitted.get(seg.id, {}).get("fitted")}
            for seg in ctx.segments
        ],
        "stages": timings,
        "workspace": str(ctx.ws.root),
        "glossary_misses": [
            {"id": r.id, "index": r.index, "source_text": r.source_text, "text": r.target_text,
             "misses": r.glossary_misses}
            for r in _segment_results(ctx) if r.glossary_misses
        ],
    }


def _run_stage(stage: Stage, ctx: Context, timings: dict[str, dict]) -> None:
    ctx.stage = stage.name
    try:
        key = stage.key(ctx)
        if ctx.ws.stage_done(stage.name, key) and stage.load(ctx):
            timings[stage.name] = {"seconds": 0.0, "cached": True}
            ctx.emit(Event("done", stage.name, fraction=1.0, message="done earlier", cached=True,
                           detail=ctx.ws.stage_detail(stage.name),
                           segments=_segment_results(ctx) if stage.name in _SEGMENT_STAGES else None))
            return
        ctx.check_cancel()
        ctx.emit(Event("started", stage.name))
        began = time.monotonic()
        with cancel_scope(ctx.should_cancel):
            detail = stage.run(ctx) or {}
        seconds = time.monotonic() - began
    except BaseException as exc:
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit, a worker's time limit: not the stage's failure
        error = pipeline_error(stage.name, None, exc)
        ctx.emit(Event("failed", stage.name, message=error.message, code=error.code.value,
                       retryable=error.retryable))
        if error is exc:
            raise
        raise error from exc
    # Recorded only once the stage's outputs are saved (to the store too), so a stage marked done
    # can always be read back.
    ctx.ws.record(stage.name, key, status="done", seconds=seconds, detail=detail)
    timings[stage.name] = {"seconds": round(seconds, 3), "cached": False}
    ctx.emit(Event("done", stage.name, fraction=1.0, seconds=seconds, detail=detail,
                   segments=_segment_results(ctx) if stage.name in _SEGMENT_STAGES else None))


def run_dub(
    input_path: Path,
    options: DubOptions,
    *,
    workspace: Path,
    engines=None,
    store: ArtifactStore | None = None,
    source_store: ArtifactStore | None = None,
    source_lock: Callable[[], AbstractContextManager] | None = None,
    on_event: Callable[[Event], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    duck_db: float = DEFAULT_DUCK_DB,
    threads: int = 1,
    target_overrides: dict[str, str] | None = None,
    max_duration: float | None = None,
    keep_stems: bool = False,
    detect_candidates: set[str] | None = None,
) -> DubResult:
    """Dub `input_path` as `options` say, in `workspace` (a cache of `store` when one is given).

    With `source_store`, the source side (probe, extract, transcribe, segment) is read from and
    written to that store instead, shared with every other job on the same analysis; the caller
    picks the store by what the source side depends on (the video, the source language, the
    recognizer) and may pass `source_lock`, a context manager factory held around those stages so
    that jobs started together wait for one analysis instead of each doing it. With
    source_language "auto", `detect_candidates` fixes the languages detection chooses from, so
    that jobs into different languages make the same analysis.
    Raises PipelineError (PipelineCancelled when `should_cancel()` turned true)."""
    # Absolute: the mux stage runs ffmpeg in its own folder (for the burned-subtitle filter).
    input_path = Path(input_path).absolute()
    emit = on_event or (lambda event: None)
    if engines is None:
        from dubbing.engines.registry import build_engines

        try:
            engines = build_engines(options, threads=threads)
        except EngineError as exc:
            raise PipelineError("check", None, str(exc), code=exc.code) from exc
    check_engines(engines, options)

    ctx = Context(
        input_path=input_path, options=options, engines=engines,
        ws=Workspace(Path(workspace), store, source_store),
        duck_db=duck_db, threads=max(1, threads), keep_stems=keep_stems, max_duration=max_duration,
        target_overrides=dict(target_overrides or {}),
        detect_candidates=frozenset(detect_candidates) if detect_candidates is not None else None,
        should_cancel=should_cancel or (lambda: False), emit=emit,
    )
    timings: dict[str, dict] = {}
    source = [s for s in PIPELINE if s.name in SOURCE_STAGES]
    with (source_lock() if source_lock is not None and source_store is not None else nullcontext()):
        if source_lock is not None and source_store is not None:
            ctx.ws.refresh_source()  # whoever held the lock before us may have finished it
        for stage in source:
            _run_stage(stage, ctx, timings)
    for stage in PIPELINE:
        if stage.name not in SOURCE_STAGES:
            _run_stage(stage, ctx, timings)
    ctx.ws.set("input", {"path": str(input_path), "fingerprint": ctx.fingerprint})

    # publish: the report beside the outputs; the caller copies or uploads them.
    ctx.stage = "publish"
    emit(Event("started", "publish"))
    began = time.monotonic()
    report = _report(ctx, timings)
    report["stages"]["publish"] = {"seconds": 0.0, "cached": False}
    report_path = ctx.ws.path("report.json")
    atomic_write_json(report_path, report)
    files = {**ctx.files, "report": report_path}
    seconds = time.monotonic() - began
    emit(Event("done", "publish", fraction=1.0, seconds=seconds))
    return DubResult(files=files, segments=_segment_results(ctx), source_language=ctx.source_language,
                     engines=engines.names(), report=report, video_suffix=ctx.video_suffix)

