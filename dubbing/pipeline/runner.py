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

from dubbing.engines.base import can_clone
from dubbing.engines.registry import Engines
from dubbing.pipeline.clones import CloneLedger, VoiceClones, is_clone
from dubbing.pipeline.errors import ErrorCode, PipelineCancelled, PipelineError, pipeline_error
from dubbing.pipeline.extract import ExtractStage
from dubbing.pipeline.fit import FitStage
from dubbing.pipeline.glossary import misses as glossary_misses
from dubbing.pipeline.mix import MixStage
from dubbing.pipeline.mux import MuxStage
from dubbing.pipeline.options import DEFAULT_DUCK_DB, DEFAULT_SEPARATE_DUCK_DB, DubOptions
from dubbing.pipeline.probe import ProbeStage
from dubbing.pipeline.segment import SegmentStage
from dubbing.pipeline.separate import SeparateStage
from dubbing.pipeline.stage import Context, Event, Stage
from dubbing.pipeline.store import ArtifactStore
from dubbing.pipeline.synthesize import SynthesizeStage, speaker_casts
from dubbing.pipeline.transcribe import TranscribeStage
from dubbing.pipeline.translate import TranslateStage
from dubbing.pipeline.workspace import SOURCE_STAGES, Workspace, atomic_write_json
from videos.media.process import cancel_scope

PIPELINE: tuple[Stage, ...] = (
    ProbeStage(), ExtractStage(), SeparateStage(), TranscribeStage(), SegmentStage(), TranslateStage(),
    SynthesizeStage(),
    FitStage(), MixStage(), MuxStage(),
)
STAGES = tuple(s.name for s in PIPELINE) + ("publish",)
# Stages whose "done" event carries the lines so far (the jobs write them as Segment rows).
_SEGMENT_STAGES = {"segment", "translate", "fit"}

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


def check_engines(engines: Engines, options: DubOptions) -> None:
    """Refuses, before any work, a dub the configured engines cannot do."""
    target, source = options.target_language, options.source_language
    if options.voice_cloning and not can_clone(engines.tts):
        raise PipelineError("check", None, f"The {engines.tts.name} voice engine cannot clone voices.",
                            code=ErrorCode.INVALID_OPTIONS)
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
        placed = ctx.fitted.get(seg.id)
        target_text = placed.text if placed is not None else ctx.texts.get(seg.id, "")
        results.append(SegmentResult(
            index=index, id=seg.id, start=seg.start, end=seg.end, speaker=seg.speaker, source_text=seg.text,
            target_text=target_text,
            speed=placed.speed if placed else 1.0, displacement=placed.displacement if placed else 0.0,
            overrun=placed.overrun if placed else 0.0, shortened=placed.shortened if placed else False,
            glossary_misses=glossary_misses(seg.text, target_text, glossary) if target_text else []))
    return results


def _route(ctx: Context) -> str | None:
    """How the pair was made: "direct", "pivot", "speech_translation" (None: subtitles supplied,
    or a translator that does not say)."""
    translator = ctx.engines.translator
    if ctx.supplied_targets or translator is None or not hasattr(translator, "routes"):
        return None
    return translator.routes().get((ctx.source_language, ctx.options.target_language), "direct")


def _voice(ctx: Context, segment_id: str) -> str:
    clip = ctx.clips.get(segment_id)
    voice = clip.voice if clip is not None else None
    return "clone" if is_clone(voice) else voice or "default"


def _report_line(ctx: Context, seg) -> dict:
    placed = ctx.fitted.get(seg.id)
    line = {"id": seg.id, "start": seg.start, "end": seg.end, "speaker": seg.speaker, "source_text": seg.text,
            "voice": _voice(ctx, seg.id)}
    if placed is None:
        return {**line, "text": ctx.texts.get(seg.id, ""), "raw_seconds": 0.0, "placed_start": None,
                "placed_seconds": 0.0, "speed": 1.0, "displacement": 0.0, "overrun": 0.0, "shortened": False,
                "clip": None, "fitted_clip": None}
    return {**line, "text": placed.text, "raw_seconds": placed.raw_seconds, "placed_start": placed.start,
            "placed_seconds": placed.length, "speed": placed.speed, "displacement": placed.displacement,
            "overrun": placed.overrun, "shortened": placed.shortened,
            # Relative to the work folder: a report is read on other machines (downloaded, attached
            # to a bug) and names no server path.
            "clip": placed.clip_file, "fitted_clip": placed.fitted_file}


def _speaker_detection(ctx: Context) -> dict:
    """`method`: embeddings, features (the encoder could not be used: `fallback` says why),
    recognizer, subtitles; None when the lines carry no speakers."""
    analysis = ctx.speakers
    if analysis is None:
        return {"method": None, "fallback": None}
    return {"method": analysis.method, "fallback": analysis.fallback}


def _report(ctx: Context, timings: dict[str, dict]) -> dict:
    """What the dub did, with no server path in it: the input by its file name, the work files
    relative to the work folder, the outputs (added by whoever publishes them) relative to theirs."""
    return {
        "input": ctx.input_path.name,
        "fingerprint": ctx.fingerprint,
        "options": ctx.options.to_dict(),
        "source_language": ctx.source_language,
        "target_language": ctx.options.target_language,
        "duration": ctx.timeline,
        "engines": ctx.engines.names(),
        "route": _route(ctx),
        "detection": ctx.transcribe_detail.get("detection", {}),
        # With the user's target subtitles: their cues against the recognised lines, by time.
        "subtitles_match": ctx.ws.stage_detail("segment").get("subtitles_match"),
        "loudness": ctx.mix_detail,
        # One voice per speaker for the whole video ("default": the engine's voice for the language).
        "voices": {seg.speaker or "speaker_1": _voice(ctx, seg.id) for seg in ctx.segments},
        # With voice_cloning: per speaker, cloned (from how many seconds of their speech) or why not.
        "cloning": ctx.cloning,
        # How speakers were told apart, and each one's voice, why, and seconds (docs/engines.md "Speakers").
        "speaker_detection": _speaker_detection(ctx),
        "speakers": {speaker: cast.to_dict() for speaker, cast in speaker_casts(ctx).items()},
        "segments": [_report_line(ctx, seg) for seg in ctx.segments],
        "stages": timings,
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


def _run_stages(ctx: Context, timings: dict[str, dict], *, shared_source: bool,
                source_lock: Callable[[], AbstractContextManager] | None) -> None:
    source = [s for s in PIPELINE if s.name in SOURCE_STAGES]
    with (source_lock() if source_lock is not None and shared_source else nullcontext()):
        if source_lock is not None and shared_source:
            ctx.ws.refresh_source()  # whoever held the lock before us may have finished it
        for stage in source:
            _run_stage(stage, ctx, timings)
    for stage in PIPELINE:
        if stage.name not in SOURCE_STAGES:
            _run_stage(stage, ctx, timings)
    ctx.ws.set("input", {"path": str(ctx.input_path), "fingerprint": ctx.fingerprint})


def _publish(ctx: Context, timings: dict[str, dict]) -> DubResult:
    """The report beside the outputs; the caller copies or uploads them."""
    ctx.stage = "publish"
    ctx.emit(Event("started", "publish"))
    began = time.monotonic()
    report = _report(ctx, timings)
    report["stages"]["publish"] = {"seconds": 0.0, "cached": False}
    report_path = ctx.ws.path("report.json")
    atomic_write_json(report_path, report)
    files = {**ctx.files, "report": report_path}
    ctx.emit(Event("done", "publish", fraction=1.0, seconds=time.monotonic() - began))
    return DubResult(files=files, segments=_segment_results(ctx), source_language=ctx.source_language,
                     engines=ctx.engines.names(), report=report, video_suffix=ctx.video_suffix)


def run_dub(
    input_path: Path,
    options: DubOptions,
    *,
    workspace: Path,
    engines: Engines,
    store: ArtifactStore | None = None,
    source_store: ArtifactStore | None = None,
    source_lock: Callable[[], AbstractContextManager] | None = None,
    on_event: Callable[[Event], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    duck_db: float | None = None,
    separate_duck_db: float | None = None,
    threads: int = 1,
    target_overrides: dict[str, str] | None = None,
    max_duration: float | None = None,
    keep_stems: bool = False,
    detect_candidates: set[str] | None = None,
    clone_ledger: CloneLedger | None = None,
) -> DubResult:
    """Dub `input_path` as `options` say with `engines` (built by the caller: the pipeline reads
    no settings), in `workspace` (a cache of `store` when one is given).

    With `source_store`, the source side (probe, extract, transcribe, segment) is read from and
    written to that store instead, shared with every other job on the same analysis; the caller
    picks the store by what the source side depends on (the video, the source language, the
    recognizer) and may pass `source_lock`, a context manager factory held around those stages so
    that jobs started together wait for one analysis instead of each doing it. With
    source_language "auto", `detect_candidates` fixes the languages detection chooses from, so
    that jobs into different languages make the same analysis. With `voice_cloning`, the
    speakers' clones are made as lines need them and deleted when the run ends, however it ends;
    `clone_ledger` is told of each before the provider is asked (see pipeline/clones.py).
    Raises PipelineError (PipelineCancelled when `should_cancel()` turned true)."""
    check_engines(engines, options)
    ctx = Context(
        # Absolute: the mux stage runs ffmpeg in its own folder (for the burned-subtitle filter).
        input_path=Path(input_path).absolute(), options=options, engines=engines,
        ws=Workspace(Path(workspace), store, source_store),
        duck_db=DEFAULT_DUCK_DB if duck_db is None else duck_db,
        separate_duck_db=DEFAULT_SEPARATE_DUCK_DB if separate_duck_db is None else separate_duck_db,
        threads=max(1, threads),
        keep_stems=keep_stems, max_duration=max_duration,
        target_overrides=dict(target_overrides or {}),
        detect_candidates=frozenset(detect_candidates) if detect_candidates is not None else None,
        should_cancel=should_cancel or (lambda: False), emit=on_event or (lambda event: None),
        clones=VoiceClones(engines.tts, ledger=clone_ledger)
        if options.voice_cloning else None,
    )
    timings: dict[str, dict] = {}
    try:
        _run_stages(ctx, timings, shared_source=source_store is not None, source_lock=source_lock)
        return _publish(ctx, timings)
    finally:
        if ctx.clones is not None:
            ctx.clones.close()
