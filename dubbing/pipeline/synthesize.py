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

from dubbing.engines.base import Segment, TTSEngine
from dubbing.pipeline.concurrency import run_each
from dubbing.pipeline.errors import PipelineCancelled, PipelineError, pipeline_error
from dubbing.pipeline.stage import Clip, Context, Stage
from dubbing.pipeline.workspace import Workspace, digest, temp_path_for

SILENCE_DB = -45.0
KEEP_SECONDS = 0.02
SYNTHESIZED = "synthesize.json"


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


def speaker_voices(tts: TTSEngine, language: str, segments: list[Segment], voice: str | None,
                   chosen: dict[str, str] | None = None) -> dict[str, str | None]:
    """One voice per speaker for the whole video: the user's choice for a speaker first
    (`chosen`), the dub's `voice` (None: the engine's default) for the first speaker, and for
    the others the engine's voices for `language` in its order, each distinct from the voices
    already taken while the engine has enough."""
    chosen = dict(chosen or {})
    speakers: list[str] = []
    for seg in segments:
        if (seg.speaker or "speaker_1") not in speakers:
            speakers.append(seg.speaker or "speaker_1")
    lister = getattr(tts, "voices", None)
    available = list(lister(language)) if callable(lister) else []
    first_voice = voice or (available[0] if available else None)
    taken = {v for v in chosen.values()} | ({first_voice} if first_voice else set())
    pool = [v for v in available if v not in taken]
    assigned: dict[str, str | None] = {}
    for index, speaker in enumerate(speakers):
        if speaker in chosen:
            assigned[speaker] = chosen[speaker]
        elif index == 0:
            assigned[speaker] = voice
        elif pool:
            assigned[speaker] = pool.pop(0)
        else:  # more speakers than voices: they share, in turn
            assigned[speaker] = available[index % len(available)] if available else voice
    return assigned


def segment_voices(ctx: Context) -> dict[str, str | None]:
    """Segment id -> the voice that speaks it (its speaker's)."""
    options = ctx.options
    by_speaker = speaker_voices(ctx.engines.tts, options.target_language, ctx.segments, options.voice,
                                options.speaker_voices)
    return {seg.id: by_speaker[seg.speaker or "speaker_1"] for seg in ctx.segments}


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
) -> dict[str, Path]:
    """`voices` (segment id -> voice) overrides `voice` line by line (one voice per speaker)."""
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
            synthesize_one(tts, texts[seg.id], language, voices[seg.id], paths[seg.id])
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


class SynthesizeStage(Stage):
    """Writes synth/<segment>-<hash>.wav per line (each saved to the store as it is finished) and
    synthesize.json: segment id -> the clip's file (relative to the workspace) and seconds."""

    name = "synthesize"
    version = 3

    def key(self, ctx: Context) -> str:
        return digest(self.name, self.version, ctx.texts, ctx.options.target_language, segment_voices(ctx),
                      ctx.engines.names()["tts"])

    def run(self, ctx: Context) -> dict:
        voices = segment_voices(ctx)
        paths = synthesize_segments(ctx.engines.tts, ctx.segments, ctx.texts, language=ctx.options.target_language,
                                    voice=ctx.options.voice, folder=ctx.ws.root / "synth", ws=ctx.ws,
                                    should_cancel=ctx.should_cancel, progress=ctx.progress, voices=voices)
        ctx.clips = {sid: Clip(path=p, file=ctx.ws.rel(p), seconds=clip_seconds(p), voice=voices[sid])
                     for sid, p in paths.items()}
        ctx.ws.write_json(ctx.ws.path(SYNTHESIZED), {sid: clip.to_dict() for sid, clip in ctx.clips.items()})
        by_speaker = {seg.speaker or "speaker_1": voices[seg.id] for seg in ctx.segments}
        return {"clips": len(paths), "voices": by_speaker}

    def load(self, ctx: Context) -> bool:
        try:
            clips = ctx.ws.read_json(ctx.ws.path(SYNTHESIZED))
        except FileNotFoundError:
            return False
        # Clips are fetched here only if fit has to run again; fitted clips are what mix reads.
        ctx.clips = {sid: Clip.from_dict(data, ctx.ws.root) for sid, data in clips.items()}
        return True
