"""What the configured engines can really dub (GET /api/v1/languages and the dub form).

Built from the engines themselves, never from a hand-written list: a pair is offered when the
recognizer can hear its source and the speech engine can speak its target (`languages()`), and
either the translator lists it (`supported_pairs()`: via direct, pivot or speech_translation) or
the user supplies the target subtitles (via "subtitles"). Pairs made with supplied subtitles are
listed between the languages the site offers: those of a translated pair and the site's own
languages (settings.LANGUAGES), so that Korean, which no offline translator here handles, is
offered with the user's subtitles; each such language says in a plain sentence what it needs
(`needs_sentence`). `auto` can detect what the recognizer hears. Voices are listed per target
language where the speech engine names them (`voices(language)`).

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
from dubbing.engines.base import EngineError, can_clone
from dubbing.engines.openai_languages import WHISPER_LANGUAGES
from dubbing.engine_config import build_engines
from dubbing.pipeline.options import DubOptions
from onevoice.korean import particles

# How a pair is made when the translator does not say (`routes()`): straight from source to target.
VIA_DIRECT = "direct"
# A pair no translator here makes: possible with the user's own target subtitles.
VIA_SUBTITLES = "subtitles"


@dataclass(frozen=True)
class LanguageSupport:
    pairs: list[dict] = field(default_factory=list)  # [{"source", "target", "via"}]
    auto_detect: list[str] = field(default_factory=list)
    voices: dict[str, list[str]] = field(default_factory=dict)
    engines: dict[str, str] = field(default_factory=dict)
    background_modes: list[str] = field(default_factory=list)  # what can go under a dub here, the default first
    voice_cloning: bool = False  # the speech engine can clone the speakers' voices (with consent)
    unavailable: str = ""  # why nothing can be dubbed, when the engines cannot be built
    # Whether an administrator could still add a translator (none of the configured ones is a
    # cloud translator, which translates every pair the recognizer and the voices share).
    translator_can_be_added: bool = True
    spoken: frozenset[str] = frozenset()  # every language a voice here speaks (with subtitles, any is a target)

    @property
    def targets(self) -> list[str]:
        """Every language a dub can go into here, with the user's subtitles where needed."""
        return sorted({p["target"] for p in self.pairs}, key=language_name)

    @property
    def translated_targets(self) -> list[str]:
        """The languages a dub can go into without the user's subtitles."""
        return sorted({p["target"] for p in self.pairs if p["via"] != VIA_SUBTITLES}, key=language_name)

    @property
    def sources(self) -> list[str]:
        return sorted({p["source"] for p in self.pairs}, key=language_name)

    def via(self, source: str, target: str) -> str | None:
        """How the pair is made here ("direct", "pivot", "speech_translation", "subtitles"), None
        when it cannot be; with `auto`, the best way from any source."""
        found = [p["via"] for p in self.pairs if p["target"] == target and source in ("auto", p["source"])]
        if not found:
            return None
        translated = [v for v in found if v != VIA_SUBTITLES]
        return translated[0] if translated else VIA_SUBTITLES

    def supports(self, source: str, target: str, *, target_subtitles: bool = False) -> bool:
        """Whether the pair can be dubbed here; without the user's target subtitles, only a pair a
        translator makes."""
        via = self.via(source, target)
        return via is not None and (target_subtitles or via != VIA_SUBTITLES)

    def needs_subtitles(self, code: str) -> dict[str, bool]:
        """For a language the site offers: whether dubbing into it needs the user's subtitles in
        it ("into"), and whether dubbing a video spoken in it does ("from")."""
        into = [p["via"] for p in self.pairs if p["target"] == code]
        out = [p["via"] for p in self.pairs if p["source"] == code]
        return {"into": bool(into) and all(v == VIA_SUBTITLES for v in into),
                "from": bool(out) and all(v == VIA_SUBTITLES for v in out)}

    def needs_sentence(self, code: str) -> str:
        """What a language needs on this server, in a plain sentence in the active language ("" when
        it needs nothing more than a video): never an engine, an option or a code."""
        needs = self.needs_subtitles(code)
        if not needs["into"] and not needs["from"]:
            return ""
        ask = self.translator_can_be_added
        if needs["into"] and needs["from"]:
            sentence = gettext(
                "%(language)s: to dub into %(language)s, upload your %(language)s subtitles; to dub a video spoken "
                "in %(language)s, upload subtitles in the language to dub into, or ask your administrator to enable "
                "a cloud translator.") if ask else gettext(
                "%(language)s: to dub into %(language)s, upload your %(language)s subtitles; to dub a video spoken "
                "in %(language)s, upload subtitles in the language to dub into.")
        elif needs["into"]:
            sentence = gettext(
                "%(language)s: upload your %(language)s subtitles, or ask your administrator to enable a cloud "
                "translator.") if ask else gettext("%(language)s: upload your %(language)s subtitles.")
        else:
            sentence = gettext(
                "%(language)s: to dub a video spoken in %(language)s, upload subtitles in the language to dub "
                "into, or ask your administrator to enable a cloud translator.") if ask else gettext(
                "%(language)s: to dub a video spoken in %(language)s, upload subtitles in the language to dub "
                "into.")
        sentence = sentence % {"language": language_name(code)}
        return particles(sentence)

    def pair_sentence(self, source: str, target: str) -> str:
        """Why a pair no translator here makes needs more, and what (a plain sentence in the active
        language, for the refusal of a job asking it without the target subtitles)."""
        names = {"source": language_name(source), "target": language_name(target)}
        if self.translator_can_be_added:
            sentence = gettext(
                "To dub into %(target)s here, upload your %(target)s subtitles, or ask your administrator to "
                "enable a cloud translator.") if source == "auto" else gettext(
                "To dub %(source)s into %(target)s here, upload your %(target)s subtitles, or ask your "
                "administrator to enable a cloud translator.")
        else:
            sentence = gettext("To dub into %(target)s here, upload your %(target)s subtitles.") if source == "auto" \
                else gettext("To dub %(source)s into %(target)s here, upload your %(target)s subtitles.")
        return particles(sentence % names)

    def as_dict(self) -> dict:
        codes = {*self.auto_detect, *(p["source"] for p in self.pairs), *(p["target"] for p in self.pairs)}
        offered = {*(p["source"] for p in self.pairs), *(p["target"] for p in self.pairs)}
        return {
            "pairs": self.pairs,
            "auto_detect": self.auto_detect,
            "voices": self.voices,
            "names": {code: language_name(code) for code in sorted(codes)},
            "needs": {code: sentence for code in sorted(offered) if (sentence := self.needs_sentence(code))},
            "engines": self.engines,
            "background_modes": self.background_modes,
            "voice_cloning": self.voice_cloning,
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
        bool(settings.FISH_AUDIO_API_KEY),
        bool(settings.ELEVENLABS_API_KEY),
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
    listed = [{"source": s, "target": t, "via": routes.get((s, t), VIA_DIRECT)} for s, t in pairs]
    # The site's languages and those of a translated pair, with the user's target subtitles.
    offered = {code for pair in pairs for code in pair} | {code for code, _ in settings.LANGUAGES}
    translated = set(pairs)
    listed += [{"source": s, "target": t, "via": VIA_SUBTITLES}
               for s in sorted(offered & heard) for t in sorted(offered & spoken)
               if s != t and (s, t) not in translated]
    listed.sort(key=lambda p: (p["source"], p["target"]))
    return LanguageSupport(
        pairs=listed,
        auto_detect=sorted(heard),
        voices=_voices(engines.tts, {p["target"] for p in listed}),
        engines={kind: names[kind] for kind in ("asr", "translate", "tts")},
        background_modes=background_modes(),
        translator_can_be_added=names["translate"] not in CLOUD_TRANSLATORS,
        voice_cloning=can_clone(engines.tts),
        spoken=frozenset(spoken),
    )


# Translators that make every pair the recognizer and the voices share: with one configured, no
# administrator can add more.
CLOUD_TRANSLATORS = frozenset({"openai"})


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
