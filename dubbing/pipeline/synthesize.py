"""Stage 6: speech per segment in its speaker's voice (one voice per speaker for the whole
video), concurrently up to the engine's `concurrency`, checkpointed per segment: a clip's file
name carries a hash of its text, language, voice and engine, so a resumed run, or a re-render
after editing a few lines, synthesizes only what is missing or changed.

Each clip is trimmed of the engine's leading and trailing silence: the fit stage places the
first sound of the line at the line's start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.engines.base import CloneRefused, Segment, TTSEngine
from dubbing.pipeline.audio import ensure_audio
from dubbing.pipeline.casting import Cast, cast_for
from dubbing.pipeline.clones import (
    CHOSEN_VOICE,
    REFUSED,
    TOO_LITTLE_SPEECH,
    MIN_SECONDS,
    ReferencePlan,
    is_clone,
    reference_plans,
)
from dubbing.pipeline.concurrency import run_each
from dubbing.pipeline.separate import VOCALS_WAV
from dubbing.pipeline.errors import PipelineCancelled, PipelineError, pipeline_error
from dubbing.pipeline.stage import Clip, Context, Stage
from dubbing.pipeline.workspace import Workspace, digest, temp_path_for

SILENCE_DB = -45.0
KEEP_SECONDS = 0.02
SYNTHESIZED = "synthesize.json"
CLONING = "cloning.json"


class VoiceRefused(Exception):
    """The provider refused the cloned voice `voice` (a clone's handle) while speaking a line."""

    def __init__(self, voice: str, message: str) -> None:
        super().__init__(message)
        self.voice = voice


def clip_path(folder: Path, seg_id: str, text: str, language: str, voice: str | None, engine: str) -> Path:
    return folder / f"{seg_id}-{digest(text, language, voice, engine)}.wav"


def trim_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    if samples.size == 0:
        return samples
    level = np.abs(samples)
    loud = np.flatnonzero(level > 10 ** (SILENCE_DB / 20))
    if loud.size == 0:
        return samples[:0]
    keep = int(KEEP_SECONDS * rate)
    return samples[max(0, loud[0] - keep) : loud[-1] + keep + 1]


def synthesize_one(tts: TTSEngine, text: str, language: str, voice: str | None, out: Path) -> float:
    """Synthesizes, trims and writes `out` atomically; returns the clip's length in seconds."""
    raw = temp_path_for(out.with_name(out.stem + ".raw.wav"))
    try:
        tts.synthesize(text, language, voice, raw)
        samples, rate = sf.read(str(raw), dtype="float32", always_2d=True)
    finally:
        raw.unlink(missing_ok=True)
    mono = trim_silence(samples.mean(axis=1), rate)
    tmp = temp_path_for(out)
    sf.write(str(tmp), mono, rate, subtype="FLOAT")
    tmp.replace(out)
    return len(mono) / rate


def speaker_casts(ctx: Context) -> dict[str, Cast]:
    """Each speaker's voice and why (dubbing.pipeline.casting): cast from how they sound, the
    user's choice per speaker winning."""
    options = ctx.options
    profiles = ctx.speakers.profiles if ctx.speakers is not None else {}
    return cast_for(ctx.engines.tts, options.target_language, ctx.segments, profiles, dub_voice=options.voice,
                    chosen=options.speaker_voices)


def segment_voices(ctx: Context, casts: dict[str, Cast] | None = None) -> dict[str, str | None]:
    """Segment id -> the voice that speaks it (its speaker's cast voice)."""
    casts = casts if casts is not None else speaker_casts(ctx)
    return {seg.id: casts[seg.speaker or "speaker_1"].voice for seg in ctx.segments}


def synthesize_segments(
    tts: TTSEngine,
    segments: list[Segment],
    texts: dict[str, str],
    *,
    language: str,
    voice: str | None,
    folder: Path,
    ws: Workspace | None = None,
    should_cancel: Callable[[], bool] = lambda: False,
    progress: Callable[[float, str], None] = lambda f, m: None,
    voices: dict[str, str | None] | None = None,
    resolve: Callable[[str | None], str | None] = lambda voice: voice,
) -> dict[str, Path]:
    """`voices` (segment id -> voice) overrides `voice` line by line (one voice per speaker).
    Clips are keyed by those voices; `resolve` gives the engine's voice for one (a cloned
    voice's handle -> the clone, made on first use). VoiceRefused when the provider refuses a
    clone."""
    ws = ws or Workspace(folder.parent)
    folder.mkdir(parents=True, exist_ok=True)
    engine = getattr(tts, "name", "?")
    voices = {s.id: (voices or {}).get(s.id, voice) for s in segments}
    paths = {s.id: clip_path(folder, s.id, texts[s.id], language, voices[s.id], engine) for s in segments}
    # A clip in the folder or the store is finished: it was renamed into place only when whole.
    todo = [s for s in segments if texts[s.id].strip() and not ws.ensure(paths[s.id])]
    finished = len(segments) - len(todo)

    def work(seg: Segment) -> None:
        if should_cancel():
            raise PipelineCancelled("synthesize", seg.id)
        try:
            synthesize_one(tts, texts[seg.id], language, resolve(voices[seg.id]), paths[seg.id])
        except CloneRefused as exc:
            raise VoiceRefused(voices[seg.id], str(exc)) from exc
        except PipelineError:
            raise
        except Exception as exc:
            raise pipeline_error("synthesize", seg.id, exc) from exc
        ws.save(paths[seg.id])

    def done(seg: Segment, _result) -> None:
        nonlocal finished
        finished += 1
        progress(finished / max(1, len(segments)), f"{finished}/{len(segments)} lines")

    run_each(todo, work, workers=max(1, int(getattr(tts, "concurrency", 1))), on_done=done)
    return {sid: p for sid, p in paths.items() if p.exists()}


def clip_seconds(path: Path) -> float:
    info = sf.info(str(path))
    return info.frames / info.samplerate


def clone_plans(ctx: Context) -> dict[str, ReferencePlan]:
    """Each speaker's reference when the dub clones voices (none otherwise), handed to the run's
    clones so that a clone can be made whenever a line needs it (here, or in fit)."""
    if ctx.clones is None:
        return {}
    plans = reference_plans(ctx.segments, ctx.regions)
    ctx.clones.prepare(plans.values(), ws=ctx.ws, source=lambda: _reference_source(ctx),
                       language=ctx.source_language)
    return plans


def _reference_source(ctx: Context) -> Path:
    """The separated voice stem when the dub has one, else the extracted audio."""
    vocals = ctx.ws.path(*VOCALS_WAV)
    if ctx.options.background == "separate" and ctx.ws.ensure(vocals):
        return vocals
    return ensure_audio(ctx.ws, ctx.input_path, ctx.info)[1]


def cloned_voices(ctx: Context, plans: dict[str, ReferencePlan], refused: dict[str, str],
                  casts: dict[str, Cast] | None = None) -> tuple[dict[str, str | None], dict[str, dict]]:
    """Segment id -> the voice its clip is keyed by (a speaker's clone where there is one, else
    the cast voice), and per speaker whether they are cloned and why not."""
    cast = segment_voices(ctx, casts)
    if not plans:
        return cast, {}
    chosen = ctx.options.speaker_voices or {}
    outcome: dict[str, dict] = {}
    for speaker, plan in plans.items():
        if speaker in chosen:
            outcome[speaker] = {"cloned": False, "reason": CHOSEN_VOICE, "reference_seconds": plan.seconds,
                                "detail": f"not cloned: the voice {chosen[speaker]} was chosen for this speaker"}
        elif not plan.enough:
            outcome[speaker] = {"cloned": False, "reason": TOO_LITTLE_SPEECH, "reference_seconds": plan.seconds,
                                "detail": f"not cloned: only {plan.seconds:.1f} s of clear speech alone "
                                          f"(at least {MIN_SECONDS:.0f} s needed); a cast voice speaks"}
        elif speaker in refused:
            outcome[speaker] = {"cloned": False, "reason": REFUSED, "reference_seconds": plan.seconds,
                                "detail": f"not cloned: the provider refused the voice ({refused[speaker]}); "
                                          "a cast voice speaks"}
        else:
            outcome[speaker] = {"cloned": True, "reason": "", "reference_seconds": plan.seconds,
                                "reference_lines": plan.lines,
                                "detail": f"a clone of their own voice, from {plan.seconds:.1f} s of their speech"}
    voices = {}
    for seg in ctx.segments:
        speaker = seg.speaker or "speaker_1"
        voices[seg.id] = plans[speaker].handle if outcome[speaker]["cloned"] else cast[seg.id]
    return voices, outcome


class SynthesizeStage(Stage):
    """Writes synth/<segment>-<hash>.wav per line (each saved to the store as it is finished) and
    synthesize.json: segment id -> the clip's file (relative to the workspace) and seconds; with
    voice_cloning, cloning.json: per speaker, cloned or why not."""

    name = "synthesize"
    version = 3

    def key(self, ctx: Context) -> str:
        voices, _ = cloned_voices(ctx, clone_plans(ctx), {})
        return digest(self.name, self.version, ctx.texts, ctx.options.target_language, voices,
                      ctx.engines.names()["tts"])

    def run(self, ctx: Context) -> dict:
        plans = clone_plans(ctx)
        casts = speaker_casts(ctx)
        refused: dict[str, str] = {}
        while True:
            voices, outcome = cloned_voices(ctx, plans, refused, casts)
            try:
                self._make_clones(ctx, voices)
                paths = synthesize_segments(
                    ctx.engines.tts, ctx.segments, ctx.texts, language=ctx.options.target_language,
                    voice=ctx.options.voice, folder=ctx.ws.root / "synth", ws=ctx.ws,
                    should_cancel=ctx.should_cancel, progress=ctx.progress, voices=voices,
                    resolve=ctx.engine_voice)
                break
            except VoiceRefused as exc:
                # That speaker goes on in their cast voice; the lines already spoken stay.
                speaker = next(s for s, plan in plans.items() if plan.handle == exc.voice)
                refused[speaker] = str(exc)
                ctx.clones.refuse(exc.voice, str(exc))
        ctx.clips = {sid: Clip(path=p, file=ctx.ws.rel(p), seconds=clip_seconds(p), voice=voices[sid])
                     for sid, p in paths.items()}
        ctx.cloning = outcome
        ctx.ws.write_json(ctx.ws.path(SYNTHESIZED), {sid: clip.to_dict() for sid, clip in ctx.clips.items()})
        if outcome:
            ctx.ws.write_json(ctx.ws.path(CLONING), outcome)
        by_speaker = {seg.speaker or "speaker_1": "clone" if is_clone(voices[seg.id]) else voices[seg.id]
                      for seg in ctx.segments}
        # The job's speakers (GET /jobs/{id}/speakers) read this step's detail: docs/engines.md "Speakers".
        detail = {"clips": len(paths), "voices": by_speaker,
                  "voice_reasons": {speaker: cast.voice_reason for speaker, cast in casts.items()},
                  "speakers": {speaker: cast.to_dict() for speaker, cast in casts.items()}}
        if outcome:
            detail["cloned"] = {speaker: o["cloned"] for speaker, o in outcome.items()}
            detail["cloning"] = outcome  # the reader's words are made from it (dubbing.selectors)
            detail["voice_reasons"].update({speaker: o["detail"] for speaker, o in outcome.items()})
        return detail

    @staticmethod
    def _make_clones(ctx: Context, voices: dict[str, str | None]) -> None:
        """The clones the lines still to speak need, made here, in the stage's own thread (the
        ledger writes rows; the lines run on a pool); VoiceRefused for one the provider refuses."""
        folder, engine = ctx.ws.root / "synth", ctx.engines.names()["tts"]
        needed = dict.fromkeys(
            voices[seg.id] for seg in ctx.segments
            if is_clone(voices[seg.id]) and ctx.texts[seg.id].strip() and not ctx.ws.ensure(
                clip_path(folder, seg.id, ctx.texts[seg.id], ctx.options.target_language, voices[seg.id], engine)))
        for handle in needed:
            try:
                ctx.engine_voice(handle)
            except CloneRefused as exc:
                raise VoiceRefused(handle, str(exc)) from exc

    def load(self, ctx: Context) -> bool:
        try:
            clips = ctx.ws.read_json(ctx.ws.path(SYNTHESIZED))
            ctx.cloning = ctx.ws.read_json(ctx.ws.path(CLONING)) if ctx.clones is not None else {}
        except FileNotFoundError:
            return False
        # Clips are fetched here only if fit has to run again; fitted clips are what mix reads.
        ctx.clips = {sid: Clip.from_dict(data, ctx.ws.root) for sid, data in clips.items()}
        return True
