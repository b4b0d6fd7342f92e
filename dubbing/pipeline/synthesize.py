"""Stage 6: speech per segment, concurrently up to the engine's `concurrency`, checkpointed per
segment: a clip's file name carries a hash of its text, language, voice and engine, so a resumed
run, or a re-render after editing a few lines, synthesizes only what is missing or changed.

Each clip is trimmed of the engine's leading and trailing silence: the fit stage places the
first sound of the line at the line's start."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

from dubbing.engines.base import Segment
from dubbing.pipeline.concurrency import run_each
from dubbing.pipeline.errors import PipelineCancelled, PipelineError
from dubbing.pipeline.workspace import digest, temp_path_for

SILENCE_DB = -45.0
KEEP_SECONDS = 0.02


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


def synthesize_one(tts, text: str, language: str, voice: str | None, out: Path) -> float:
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


def synthesize_segments(
    tts,
    segments: list[Segment],
    texts: dict[str, str],
    *,
    language: str,
    voice: str | None,
    folder: Path,
    should_cancel: Callable[[], bool] = lambda: False,
    progress: Callable[[float, str], None] = lambda f, m: None,
) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    engine = getattr(tts, "name", "?")
    paths = {s.id: clip_path(folder, s.id, texts[s.id], language, voice, engine) for s in segments}
    todo = [s for s in segments if texts[s.id].strip() and not paths[s.id].exists()]
    finished = len(segments) - len(todo)

    def work(seg: Segment) -> None:
        if should_cancel():
            raise PipelineCancelled("synthesize", seg.id)
        try:
            synthesize_one(tts, texts[seg.id], language, voice, paths[seg.id])
        except PipelineError:
            raise
        except Exception as exc:
            raise PipelineError("synthesize", seg.id, str(exc) or type(exc).__name__) from exc

    def done(seg: Segment, _result) -> None:
        nonlocal finished
        finished += 1
        progress(finished / max(1, len(segments)), f"{finished}/{len(segments)} lines")

    run_each(todo, work, workers=max(1, int(getattr(tts, "concurrency", 1))), on_done=done)
    return {sid: p for sid, p in paths.items() if p.exists()}
