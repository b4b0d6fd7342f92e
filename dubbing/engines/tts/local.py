"""The offline voices as one TTS engine: each language is spoken by the engine chosen for it by
measured intelligibility (bench/engines.py: the WER of the bundled Whisper transcribing each
voice's speech of known sentences), espeak-ng for every language no neural voice speaks.

A voice name picks its engine wherever it appears ("joe" is Piper, "m3" an espeak-ng variant),
so a speaker can be given any voice listed for the target language."""

from __future__ import annotations

from pathlib import Path

from dubbing.engines.base import EngineUnavailable, UnsupportedLanguage

# Language -> the engine whose default voice was measured the most intelligible (bench/engines.py;
# Korean, French, German and Spanish by bench/sound.py, docs/sound.md: Kokoro through espeak-ng's
# IPA at CER 0.18 / WER 0.55 / WER 0.13 / WER 0.07 against espeak-ng's 0.76 / 1.10 / 0.67 / 0.27).
DEFAULT_ENGINE = {"en": "piper", "ja": "kokoro", "ko": "kokoro", "fr": "kokoro", "de": "kokoro", "es": "kokoro"}
# Language -> the engine voice measured more intelligible than the engine's plain one.
DEFAULT_VOICE = {"ko": "jm_kumo", "fr": "jm_kumo", "de": "jm_kumo"}


class LocalTTS:
    def __init__(self, engines: dict, target: str | None = None, voice: str | None = None) -> None:
        """`engines`: name -> engine, espeak first among them as the fallback. `target`, when
        known, names this engine after the one that speaks it (a job's record says which): the
        engine of `voice` when the dub names one, else the language's default."""
        if not engines:
            raise EngineUnavailable("No offline voice engine is installed (apt-get install espeak-ng).")
        self.engines = engines
        speaker = self.engine_for(target, voice) if target and target in self.languages() else None
        self.name = speaker.name if speaker is not None else "local"
        self.concurrency = int(getattr(speaker, "concurrency", 1)) if speaker is not None else max(
            int(getattr(e, "concurrency", 1)) for e in engines.values())

    def languages(self) -> set[str]:
        return set().union(*(e.languages() for e in self.engines.values()))

    def engine_for(self, language: str, voice: str | None = None):
        if voice:
            for engine in self.engines.values():
                if voice in _voices(engine, language):
                    return engine
        preferred = self.engines.get(DEFAULT_ENGINE.get(language, ""))
        if preferred is not None and language in preferred.languages():
            return preferred
        for engine in self.engines.values():
            if language in engine.languages():
                return engine
        raise UnsupportedLanguage(f"No offline voice speaks '{language}'.")

    def voices(self, language: str) -> list[str]:
        """The default engine's voices first (its first is the default voice), then the others'."""
        try:
            first = self.engine_for(language)
        except UnsupportedLanguage:
            return []
        names = list(_voices(first, language))
        if DEFAULT_VOICE.get(language) in names:
            names.remove(DEFAULT_VOICE[language])
            names.insert(0, DEFAULT_VOICE[language])
        for engine in self.engines.values():
            if engine is not first:
                names += [v for v in _voices(engine, language) if v not in names]
        return names

    def synthesize(self, text: str, language: str, voice: str | None, out_path: Path) -> Path:
        voice = voice or DEFAULT_VOICE.get(language)
        engine = self.engine_for(language, voice)
        if voice and voice not in _voices(engine, language):
            voice = None if engine.name != "espeak" else voice  # a full espeak voice name stays
        return engine.synthesize(text, language, voice, out_path)


def _voices(engine, language: str) -> list[str]:
    lister = getattr(engine, "voices", None)
    return list(lister(language)) if callable(lister) else []
