"""The local recognizers as one ASR engine: each language goes to the recognizer that knows it,
and `auto` picks the language by the recognizers' confidence on the first 30 seconds."""

from __future__ import annotations

import os
from pathlib import Path

from dubbing.engines.asr.chunked import DETECTION_THRESHOLD, ChunkedRecognizer, detect_language
from dubbing.engines.base import Transcript, UnsupportedLanguage
from dubbing.engines.vad import speech_regions_parallel


class LocalASR:
    name = "local"

    def __init__(self, recognizers: list[ChunkedRecognizer], workers: int | None = None) -> None:
        self.recognizers = {r.language: r for r in recognizers}
        self.workers = workers or os.cpu_count() or 1
        self.name = "+".join(r.name for r in recognizers)
        self.last_detection: dict[str, float] = {}

    def languages(self) -> set[str]:
        return set(self.recognizers)

    def transcribe(
        self,
        audio_path: Path,
        language: str,
        *,
        regions: list[tuple[float, float]] | None = None,
        candidates: set[str] | None = None,
    ) -> Transcript:
        """`candidates` narrows `auto` to the languages the rest of the dub can handle (those the
        translator can take to the target): no time is spent scoring the others."""
        if regions is None:
            regions = speech_regions_parallel(Path(audio_path), workers=self.workers)
        if language == "auto":
            pool = [r for lang, r in self.recognizers.items() if candidates is None or lang in candidates]
            if not pool:
                raise UnsupportedLanguage("None of the installed recognizers' languages can be dubbed to this target.")
            if len(pool) == 1 and hasattr(pool[0], "score_from"):
                # One candidate: transcribe once and judge the language from the same decode.
                recognizer = pool[0]
                transcript = recognizer.transcribe(audio_path, recognizer.language, regions=regions)
                if not transcript.segments:
                    return transcript  # no speech at all: the pipeline says so, not "unknown language"
                score = round(recognizer.score_from(recognizer.last_head_scores), 3)
                self.last_detection = {recognizer.language: score}
                if score < DETECTION_THRESHOLD:
                    raise UnsupportedLanguage(
                        f"Could not tell the spoken language ({recognizer.language} confidence {score:.2f}; "
                        f"needed {DETECTION_THRESHOLD:.2f}). Choose the source language explicitly (--from).")
                return transcript
            language, self.last_detection = detect_language(pool, audio_path, regions)
        recognizer = self.recognizers.get(language)
        if recognizer is None:
            raise UnsupportedLanguage(
                f"No local recognizer for '{language}' (installed: {', '.join(sorted(self.recognizers))})."
            )
        transcript = recognizer.transcribe(audio_path, language, regions=regions)
        transcript.language = language
        return transcript
