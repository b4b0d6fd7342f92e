"""The local recognizers as one ASR engine: each language goes to the recognizer that knows it,
and `auto` picks the language by the recognizers' confidence on the first 30 seconds."""

from __future__ import annotations

import os
from pathlib import Path

from dubbing.engines.asr.chunked import ChunkedRecognizer, detect_language
from dubbing.engines.base import Transcript, UnsupportedLanguage
from dubbing.engines.vad import speech_regions_parallel

LANGUAGE_NAMES = {"en": "English", "ko": "Korean", "es": "Spanish"}


class NoPairForDetectedLanguage(UnsupportedLanguage):
    """The spoken language was detected, but nothing installed can take it to the target."""

    def __init__(self, language: str, target: str | None, scores: dict[str, float]) -> None:
        name = LANGUAGE_NAMES.get(language, language)
        pair = f"{language}->{target}" if target else f"{language} to this target"
        super().__init__(
            f"Detected {name} ({language}) speech; no installed engine translates {pair}. "
            "Supply --target-subtitles, or use --engines openai.")
        self.language, self.target, self.scores = language, target, scores


class LocalASR:
    name = "local"

    def __init__(self, recognizers: list[ChunkedRecognizer], workers: int | None = None) -> None:
        self.recognizers = {r.language: r for r in recognizers}
        self.workers = workers or os.cpu_count() or 1
        self.name = "+".join(r.name for r in recognizers)
        self.last_detection: dict[str, float] = {}

    def languages(self) -> set[str]:
        return set(self.recognizers)

    def detect(self, audio_path: Path, regions: list[tuple[float, float]] | None = None) -> str:
        """The spoken language, judged by every installed recognizer on the first 30 seconds."""
        if regions is None:
            regions = speech_regions_parallel(Path(audio_path), workers=self.workers)
        language, self.last_detection = detect_language(list(self.recognizers.values()), Path(audio_path), regions)
        return language

    def transcribe(
        self,
        audio_path: Path,
        language: str,
        *,
        regions: list[tuple[float, float]] | None = None,
        candidates: set[str] | None = None,
        target: str | None = None,
    ) -> Transcript:
        """`candidates` are the languages the rest of the dub can handle (those the translator can
        take to `target`). Detection still scores every installed recognizer: speech in a language
        outside the candidates is named as such, never transcribed as if it were one of them."""
        if regions is None:
            regions = speech_regions_parallel(Path(audio_path), workers=self.workers)
        if language == "auto":
            language = self.detect(audio_path, regions)
            if candidates is not None and language not in candidates:
                raise NoPairForDetectedLanguage(language, target, self.last_detection)
        recognizer = self.recognizers.get(language)
        if recognizer is None:
            raise UnsupportedLanguage(
                f"No local recognizer for '{language}' (installed: {', '.join(sorted(self.recognizers))})."
            )
        transcript = recognizer.transcribe(audio_path, language, regions=regions)
        transcript.language = language
        return transcript
