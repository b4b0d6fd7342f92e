"""Stage 3: timed words and segments from the ASR engine, or the user's source subtitles."""

from __future__ import annotations

from pathlib import Path

from dubbing.engines.base import Transcript


def transcribe(asr, asr_wav: Path, language: str, regions: list[tuple[float, float]],
               candidates: set[str] | None = None, target: str | None = None) -> Transcript:
    # The local engines reuse the speech regions already found, and refuse by name a detected
    # language outside the candidates (no pair to `target`); remote engines take the file as it is.
    if hasattr(asr, "recognizers"):
        return asr.transcribe(asr_wav, language, regions=regions, candidates=candidates, target=target)
    return asr.transcribe(asr_wav, language)


def transcript_from_subtitles(text: str, language: str) -> Transcript:
    from dubbing.pipeline.subtitles import parse_subtitles

    return Transcript(language=language, segments=parse_subtitles(text), confidence=1.0)
