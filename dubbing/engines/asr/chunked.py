"""Recognition of long audio split at pauses and run on all cores.

The VAD finds speech, `recognition_chunks` joins it into sentence-sized chunks cut at pauses,
and a process pool recognizes the chunks; each worker reads only its chunk from the WAV and
returns words with absolute times (chunk start + offset inside the chunk), so nothing drifts and
no process ever holds the whole file. Back-ends subclass `ChunkedRecognizer` and provide a
module-level worker (process pools pickle functions by name).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from dubbing.engines.base import Segment, Transcript, UnsupportedLanguage, Word
from dubbing.engines.vad import SAMPLE_RATE, recognition_chunks, speech_regions_parallel
from videos.media.process import ProcessCancelled, cancelled, process_map

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
            results = []
            for job in jobs:
                if cancelled():
                    raise ProcessCancelled()
                results.append(worker(job))
            return results
        # Stopped early when the job is cancelled (the pipeline's cancel scope).
        return process_map(worker, jobs, workers=self.workers, initializer=self._initializer())

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
# A language is taken when its score (0..1, each recognizer calibrated on its own measure) is at
# least DETECTION_THRESHOLD and beats every other by DETECTION_MARGIN. Measured on the fixtures:
# English speech en 0.97 / ko 0.31; Korean speech ko 0.91 / en 0.03; Spanish, German, reversed
# speech and noisy English all below 0.5 for both. A close call is refused, never guessed.
DETECTION_THRESHOLD = 0.5
DETECTION_MARGIN = 0.25


class LanguageNotDetected(UnsupportedLanguage):
    code = "language_not_detected"

    def __init__(self, message: str, scores: dict[str, float], *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.scores = scores


def detection_jobs(audio_path: Path, regions: list[tuple[float, float]], seconds: float = DETECTION_SECONDS
                   ) -> list[ChunkJob]:
    head = [(a, min(b, seconds)) for a, b in regions if a < seconds]
    return [(str(audio_path), a, b) for a, b in recognition_chunks(head, duration=seconds)]


def detect_language(
    recognizers: list[ChunkedRecognizer],
    audio_path: Path,
    regions: list[tuple[float, float]],
    *,
    seconds: float = DETECTION_SECONDS,
    threshold: float = DETECTION_THRESHOLD,
    margin: float = DETECTION_MARGIN,
) -> tuple[str, dict[str, float]]:
    """Scores the first `seconds` of speech with every recognizer and keeps the most confident.

    Raises LanguageNotDetected when none reaches `threshold` or the best does not beat the next by
    `margin`: guessing would dub nonsense."""
    if not recognizers:
        raise UnsupportedLanguage("No speech recognizer is installed to detect the language.")
    jobs = detection_jobs(audio_path, regions, seconds)
    if not jobs:
        raise LanguageNotDetected(
            f"No speech was found in the first {seconds:.0f} seconds, so the spoken language cannot be "
            "detected. Choose the source language explicitly (--from).", {}, code="no_speech")
    # One at a time, in this process: a few decodes of at most 30 s are cheaper than a process pool.
    scores = {r.language: round(r.language_score(jobs), 3) for r in recognizers}
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best, top = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    listed = ", ".join(f"{lang} {score:.2f}" for lang, score in ranked)
    if top < threshold:
        raise LanguageNotDetected(
            f"Could not tell the spoken language: no recognizer is confident (scores {listed}; "
            f"needed {threshold:.2f}). Choose the source language explicitly (--from).", scores)
    if top - runner_up < margin:
        raise LanguageNotDetected(
            f"Could not tell the spoken language: {ranked[0][0]} and {ranked[1][0]} score too close "
            f"(scores {listed}). Choose the source language explicitly (--from).", scores)
    return best, scores
