"""Recognition of long audio split at pauses and run on all cores.

The VAD finds speech, `recognition_chunks` joins it into sentence-sized chunks cut at pauses,
and a process pool recognizes the chunks; each worker reads only its chunk from the WAV and
returns words with absolute times (chunk start + offset inside the chunk), so nothing drifts and
no process ever holds the whole file. Back-ends subclass `ChunkedRecognizer` and provide a
module-level worker (process pools pickle functions by name).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

from dubbing.engines.base import Segment, Transcript, UnsupportedLanguage, Word
from dubbing.engines.vad import SAMPLE_RATE, recognition_chunks, speech_regions_parallel

ChunkJob = tuple[str, float, float]  # wav path, start, end (seconds)


def read_chunk_pcm16(path: str, start: float, end: float) -> bytes:
    data, _ = sf.read(path, start=int(start * SAMPLE_RATE), stop=int(end * SAMPLE_RATE), dtype="int16")
    return np.ascontiguousarray(data).tobytes()


class ChunkedRecognizer:
    name = "chunked"
    language = "en"
    # Chunks decoded per worker task; a few per task amortise the pickling round trip.
    workers: int

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    # Back-ends override these two.
    def _worker(self) -> Callable[[ChunkJob], list[dict]]:
        raise NotImplementedError

    def _initializer(self) -> Callable[[], None] | None:
        return None

    def languages(self) -> set[str]:
        return {self.language}

    def _check_language(self, language: str) -> None:
        if language not in ("auto", self.language):
            raise UnsupportedLanguage(f"{self.name} recognizes only '{self.language}', not '{language}'.")

    def recognize_chunks(self, jobs: list[ChunkJob]) -> list[list[dict]]:
        if not jobs:
            return []
        worker = self._worker()
        if self.workers == 1 or len(jobs) == 1:
            init = self._initializer()
            if init:
                init()
            return [worker(job) for job in jobs]
        # spawn, not fork: the caller may be a threaded Dramatiq worker or a Django process.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(self.workers, len(jobs)), mp_context=context, initializer=self._initializer()
        ) as pool:
            return list(pool.map(worker, jobs))

    def transcribe(
        self,
        audio_path: Path,
        language: str,
        *,
        regions: list[tuple[float, float]] | None = None,
        limit_seconds: float | None = None,
    ) -> Transcript:
        """`regions` lets the caller pass speech regions it already has; `limit_seconds` looks only
        at the start of the file (language detection)."""
        self._check_language(language)
        duration = sf.info(str(audio_path)).frames / SAMPLE_RATE
        if regions is None:
            regions = speech_regions_parallel(Path(audio_path), workers=self.workers)
        if limit_seconds is not None:
            regions = [(a, min(b, limit_seconds)) for a, b in regions if a < limit_seconds]
        chunks = recognition_chunks(regions, duration=duration)
        results = self.recognize_chunks([(str(audio_path), a, b) for a, b in chunks])
        # Workers that score as they decode return {"words", "score", "frames"}: the scores of the
        # first 30 s tell language detection how sure this recognizer is, at no extra cost.
        self.last_head_scores = [
            (r["score"], r["frames"]) for (a, _), r in zip(chunks, results)
            if isinstance(r, dict) and a < DETECTION_SECONDS
        ]
        results = [r["words"] if isinstance(r, dict) else r for r in results]
        segments = []
        confidences = []
        for (a, b), words in zip(chunks, results):
            if not words:
                continue
            ws = [Word(text=w["text"], start=w["start"], end=w["end"], confidence=w["confidence"]) for w in words]
            confidences.extend(w.confidence for w in ws)
            segments.append(
                Segment(
                    id=f"c{len(segments) + 1:04d}",
                    start=ws[0].start,
                    end=ws[-1].end,
                    text=" ".join(w.text for w in ws),
                    words=ws,
                )
            )
        confidence = float(np.mean(confidences)) if confidences else 0.0
        return Transcript(language=self.language, segments=segments, confidence=confidence)


DETECTION_SECONDS = 30.0
DETECTION_THRESHOLD = 0.35


def detect_language(
    recognizers: list[ChunkedRecognizer],
    audio_path: Path,
    regions: list[tuple[float, float]],
    *,
    seconds: float = DETECTION_SECONDS,
    threshold: float = DETECTION_THRESHOLD,
) -> tuple[str, dict[str, float]]:
    """Scores the first `seconds` of speech with every recognizer and keeps the most confident.

    Raises UnsupportedLanguage when none reaches `threshold`: guessing would dub nonsense."""
    from dubbing.engines.base import UnsupportedLanguage as _Unsupported

    head = [(a, min(b, seconds)) for a, b in regions if a < seconds]
    chunks = recognition_chunks(head, duration=seconds)
    jobs = [(str(audio_path), a, b) for a, b in chunks]
    scores = {r.language: round(r.language_score(jobs), 3) for r in recognizers}
    if not scores:
        raise _Unsupported("No speech recognizer is installed to detect the language.")
    best = max(scores, key=scores.get)
    if scores[best] < threshold:
        listed = ", ".join(f"{lang} {score:.2f}" for lang, score in sorted(scores.items()))
        raise _Unsupported(
            f"Could not tell the spoken language (confidence {listed}; needed {threshold:.2f}). "
            "Choose the source language explicitly (--from)."
        )
    return best, scores
