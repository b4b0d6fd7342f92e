"""Whisper's speech translation into English, where no text pair exists: the recognizer listens
to each source line again and says it in English; a target other than English is then reached
from English by the text translator (ja->es: speech translation, then apertium en->es).

Offered only for the sources where bench/engines.py measured it usable (`SOURCES`): Japanese
(Kokoro's voices) came out about as close to the reference English as the offline text route
es->en does, while Korean and German (espeak-ng voices) came out as unrelated sentences.
`/api/v1/languages` names these pairs `via: "speech_translation"`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dubbing.engines.base import Segment, UnsupportedLanguage

VIA_SPEECH = "speech_translation"
SOURCES = frozenset({"ja"})


class SpeechTranslator:
    """A text translator with Whisper's speech translation for the pairs the text one lacks."""

    concurrency = 1

    def __init__(self, text, asr, sources: frozenset[str] = SOURCES) -> None:
        self.text, self.asr = text, asr
        self.sources = frozenset(s for s in sources if s in asr.languages() and s != "en")

    @property
    def name(self) -> str:
        return self.text.name

    @property
    def glossary_strategy(self) -> str:
        return getattr(self.text, "glossary_strategy", "instruct")

    def _speech_pairs(self) -> set[tuple[str, str]]:
        text = self.text.supported_pairs()
        to = {"en"} | {t for s, t in text if s == "en"}
        return {(s, t) for s in self.sources for t in to if t != s and (s, t) not in text}

    def supported_pairs(self) -> set[tuple[str, str]]:
        return set(self.text.supported_pairs()) | self._speech_pairs()

    def routes(self) -> dict[tuple[str, str], str]:
        routes = dict(self.text.routes()) if hasattr(self.text, "routes") else {}
        return {**routes, **{pair: VIA_SPEECH for pair in self._speech_pairs()}}

    def needs_audio(self, source: str, target: str) -> bool:
        return (source, target) in self._speech_pairs()

    def translate(self, segments: list[Segment], source: str, target: str, context: dict) -> dict[str, str]:
        if not self.needs_audio(source, target):
            return self.text.translate(segments, source, target, context)
        audio = context.get("audio")
        if not audio:
            raise UnsupportedLanguage(f"{source}->{target} is made by speech translation, which needs the audio.")
        english = self.asr.translate_speech(Path(audio), source, [(s.start, s.end) for s in segments])
        lines = [replace(seg, text=text) for seg, text in zip(segments, english, strict=True)]
        if target == "en":
            return {seg.id: seg.text for seg in lines}
        heard = [seg for seg in lines if seg.text]
        out = self.text.translate(heard, "en", target, context) if heard else {}
        return {seg.id: out.get(seg.id, "") for seg in lines}
