"""What the configured engines can really dub (GET /api/v1/languages and the dub form).

Built from the engines themselves, never from a hand-written list: a pair is offered when the
translator lists it (`supported_pairs()`), the recognizer can hear its source (`languages()`)
and the speech engine can speak its target (`languages()`). `auto` can detect what the
recognizer hears. Voices are listed per target language where the speech engine names them
(`voices(language)`).

Building the engines asks the machine what is installed (apertium modes, espeak voices, the
recognizers' models), so the answer is cached per process and per engine configuration.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.utils.translation import gettext

from dubbing.backgrounds import background_modes
from dubbing.engines.base import EngineError
from dubbing.engines.openai_languages import WHISPER_LANGUAGES
from dubbing.engine_config import build_engines
from dubbing.pipeline.options import DubOptions

# How a pair is made when the translator does not say (`routes()`): straight from source to target.
VIA_DIRECT = "direct"


@dataclass(frozen=True)
class LanguageSupport:
    pairs: list[dict] = field(default_factory=list)  # [{"source", "target", "via"}]
    auto_detect: list[str] = field(default_factory=list)
    voices: dict[str, list[str]] = field(default_factory=dict)
    engines: dict[str, str] = field(default_factory=dict)
    background_modes: list[str] = field(default_factory=list)  # what can go under a dub here, the default first
    unavailable: str = ""  # why nothing can be dubbed, when the engines cannot be built

    @property
    def targets(self) -> list[str]:
        return sorted({p["target"] for p in self.pairs}, key=language_name)

    @property
    def sources(self) -> list[str]:
        return sorted({p["source"] for p in self.pairs}, key=language_name)

    def supports(self, source: str, target: str) -> bool:
        if source == "auto":
            return any(p["target"] == target for p in self.pairs)
        return any(p["source"] == source and p["target"] == target for p in self.pairs)

    def as_dict(self) -> dict:
        codes = {*self.auto_detect, *(p["source"] for p in self.pairs), *(p["target"] for p in self.pairs)}
        return {
            "pairs": self.pairs,
            "auto_detect": self.auto_detect,
            "voices": self.voices,
            "names": {code: language_name(code) for code in sorted(codes)},
            "engines": self.engines,
            "background_modes": self.background_modes,
        }


def language_name(code: str) -> str:
    """Name of a language code in the active language ("es" -> "Spanish", "스페인어"); the code when unknown."""
    info = LANG_INFO.get(code) or LANG_INFO.get(code.split("-")[0]) or {}
    if "name" in info:
        return gettext(info["name"])  # Django's catalogs name languages in the active language
    whisper = WHISPER_LANGUAGES.get(code.split("-")[0])  # names the recognizers' other codes
    return whisper.title() if whisper else code


def _config_key() -> tuple:
    return (
        settings.DUBBING_ENGINES,
        settings.DUBBING_ASR_ENGINE,
        settings.DUBBING_TRANSLATE_ENGINE,
        settings.DUBBING_TTS_ENGINE,
        bool(settings.OPENAI_API_KEY),
        settings.OPENAI_BASE_URL,
    )


def _voices(tts, targets: set[str]) -> dict[str, list[str]]:
    lister = getattr(tts, "voices", None)
    if not callable(lister):
        return {}
    found = {}
    for target in sorted(targets):
        try:
            names = list(lister(target) or [])
        except EngineError:
            continue
        if names:
            found[target] = names
    return found


def build_language_support() -> LanguageSupport:
    """Ask the configured engines, uncached."""
    try:
        # Any target builds the deployment's engine set; the options only matter for supplied
        # subtitles, which these questions are not about.
        engines = build_engines(DubOptions(target_language="und"), settings)
    except EngineError as exc:
        return LanguageSupport(unavailable=str(exc))
    heard = set(engines.asr.languages()) if engines.asr is not None else set()
    spoken = set(engines.tts.languages())
    translatable = set(engines.translator.supported_pairs()) if engines.translator is not None else set()
    pairs = sorted(
        (s, t) for s, t in translatable if s != t and s in heard and t in spoken
    )
    names = engines.names()
    # How each pair is made, as the translator says (apertium: direct or through a pivot).
    routes = engines.translator.routes() if hasattr(engines.translator, "routes") else {}
    return LanguageSupport(
        pairs=[{"source": s, "target": t, "via": routes.get((s, t), VIA_DIRECT)} for s, t in pairs],
        auto_detect=sorted(heard),
        voices=_voices(engines.tts, {t for _, t in pairs}),
        engines={kind: names[kind] for kind in ("asr", "translate", "tts")},
        background_modes=background_modes(),
    )


_cache: dict[tuple, LanguageSupport] = {}
_lock = threading.Lock()


def language_support() -> LanguageSupport:
    """The cached answer for the current engine configuration (one build per process)."""
    key = _config_key()
    found = _cache.get(key)
    if found is None:
        with _lock:
            found = _cache.get(key)
            if found is None:
                found = _cache[key] = build_language_support()
    return found


def language_support_clear() -> None:
    """Forget the cached answer (tests that install or configure engines)."""
    with _lock:
        _cache.clear()
