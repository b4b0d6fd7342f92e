"""Which engine back-ends a dub uses: `DubOptions.engines` or the deployment's DUBBING_ENGINES,
then the per-kind overrides DUBBING_ASR_ENGINE / DUBBING_TRANSLATE_ENGINE / DUBBING_TTS_ENGINE.

Remote engines are imported lazily so that a deployment without their packages still runs the
local set; a back-end that cannot run raises EngineUnavailable with what to install or set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dubbing.engines.base import EngineUnavailable
from dubbing.pipeline.options import DubOptions

ASR_CHOICES = ("local", "whisper", "openai", "elevenlabs", "whisperx", "subtitles")
TRANSLATE_CHOICES = ("local", "apertium", "openai", "subtitles")
TTS_CHOICES = ("local", "espeak", "piper", "kokoro", "openai", "fish")


@dataclass
class Engines:
    asr: Any | None  # None when the user supplies the source subtitles ("subtitles")
    translator: Any | None  # None when the user supplies the target subtitles ("subtitles")
    tts: Any
    vad: Any | None = None

    def names(self) -> dict[str, str]:
        return {
            "asr": getattr(self.asr, "name", "subtitles"),
            "translate": getattr(self.translator, "name", "subtitles"),
            "tts": getattr(self.tts, "name", "?"),
            "vad": getattr(self.vad, "name", "none"),
        }


def _setting(settings_obj, name: str, default=None):
    if settings_obj is None:
        try:
            from django.conf import settings as django_settings

            settings_obj = django_settings
            settings_obj.DEBUG  # raises when Django is not configured
        except Exception:
            return default
    return getattr(settings_obj, name, default) or default


def _openai_kwargs(settings_obj, model_setting: str, model_default: str) -> dict:
    key = _setting(settings_obj, "OPENAI_API_KEY", "")
    if not key:
        raise EngineUnavailable("The openai engines need OPENAI_API_KEY to be set.")
    return {
        "base_url": _setting(settings_obj, "OPENAI_BASE_URL", "https://api.openai.com/v1"),
        "api_key": key,
        "model": _setting(settings_obj, model_setting, model_default),
        "concurrency": int(_setting(settings_obj, "OPENAI_CONCURRENCY", 8)),
    }


def _import(module: str, cls: str):
    import importlib

    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise EngineUnavailable(f"The engine {module}.{cls} is not available here: {exc}") from exc


def model_dir(settings_obj=None) -> Path:
    """Where models shipped in packages are joined: DUBBING_MODEL_DIR, else DATA_DIR/models."""
    folder = _setting(settings_obj, "DUBBING_MODEL_DIR", None)
    if folder:
        return Path(folder)
    data = _setting(settings_obj, "DATA_DIR", None)
    return Path(data) / "models" if data else Path.home() / ".cache" / "onevoice" / "models"


def build_asr(kind: str, settings_obj=None, *, threads: int | None = None):
    if kind in ("local", "whisper"):
        from dubbing.engines.asr.whisper import WhisperASR

        return WhisperASR(
            model_dir(settings_obj),
            compute_type=_setting(settings_obj, "DUBBING_WHISPER_COMPUTE_TYPE", "int8"),
            beam_size=int(_setting(settings_obj, "DUBBING_WHISPER_BEAM_SIZE", 5)),
            threads=threads,
        )
    if kind == "openai":
        return _import("dubbing.engines.asr.openai", "OpenAIASR")(
            **_openai_kwargs(settings_obj, "OPENAI_TRANSCRIBE_MODEL", "whisper-1")
        )
    if kind == "elevenlabs":
        key = _setting(settings_obj, "ELEVENLABS_API_KEY", "")
        if not key:
            raise EngineUnavailable("The elevenlabs engine needs ELEVENLABS_API_KEY to be set.")
        return _import("dubbing.engines.asr.elevenlabs", "ElevenLabsASR")(
            key, base_url=_setting(settings_obj, "ELEVENLABS_BASE_URL", None))
    if kind == "whisperx":
        return _import("dubbing.engines.asr.whisperx", "WhisperXASR")()
    if kind == "subtitles":
        return None
    raise EngineUnavailable(f"Unknown ASR engine '{kind}' (choose from {', '.join(ASR_CHOICES)}).")


def build_translator(kind: str, settings_obj=None):
    if kind in ("local", "apertium"):
        from dubbing.engines.translate.apertium import ApertiumTranslator

        return ApertiumTranslator()
    if kind == "openai":
        return _import("dubbing.engines.translate.openai", "OpenAITranslator")(
            **_openai_kwargs(settings_obj, "OPENAI_TRANSLATE_MODEL", "gpt-4o-mini")
        )
    if kind == "subtitles":
        return None
    raise EngineUnavailable(f"Unknown translation engine '{kind}' (choose from {', '.join(TRANSLATE_CHOICES)}).")


def build_tts(kind: str, settings_obj=None, *, threads: int | None = None, target: str | None = None):
    if kind == "local":
        from dubbing.engines.tts.espeak import EspeakTTS
        from dubbing.engines.tts.local import LocalTTS
        from dubbing.engines.tts.piper import PiperTTS

        from dubbing.engines.tts.kokoro import KokoroTTS

        # Every voice of the set is a pinned requirement: one missing is refused by name here.
        return LocalTTS({"espeak": EspeakTTS(concurrency=threads), "piper": PiperTTS(threads=threads),
                         "kokoro": KokoroTTS(model_dir(settings_obj), threads=threads)}, target=target)
    if kind == "espeak":
        from dubbing.engines.tts.espeak import EspeakTTS

        return EspeakTTS(concurrency=threads)
    if kind == "piper":
        from dubbing.engines.tts.piper import PiperTTS

        return PiperTTS(threads=threads)
    if kind == "kokoro":
        from dubbing.engines.tts.kokoro import KokoroTTS

        return KokoroTTS(model_dir(settings_obj), threads=threads)
    if kind == "openai":
        return _import("dubbing.engines.tts.openai", "OpenAITTS")(
            **_openai_kwargs(settings_obj, "OPENAI_TTS_MODEL", "gpt-4o-mini-tts"),
            voice=_setting(settings_obj, "OPENAI_TTS_VOICE", "alloy"),
        )
    if kind == "fish":
        key = _setting(settings_obj, "FISH_AUDIO_API_KEY", "")
        if not key:
            raise EngineUnavailable("The fish engine needs FISH_AUDIO_API_KEY to be set.")
        # FISH_AUDIO_VOICES: "name=reference_id,name=reference_id" (the first is the default).
        voices = dict(item.split("=", 1) for item in str(_setting(settings_obj, "FISH_AUDIO_VOICES", "")).split(",")
                      if "=" in item)
        return _import("dubbing.engines.tts.fish", "FishAudioTTS")(
            key, base_url=_setting(settings_obj, "FISH_AUDIO_BASE_URL", None), voices=voices)
    raise EngineUnavailable(f"Unknown TTS engine '{kind}' (choose from {', '.join(TTS_CHOICES)}).")


def build_engines(options: DubOptions, settings_obj=None, *, threads: int | None = None) -> Engines:
    """The engines for `options`. `threads` bounds the CPU threads local engines use (None: all
    cores); remote engines size their concurrency by OPENAI_CONCURRENCY instead."""
    engine_set = options.engines or _setting(settings_obj, "DUBBING_ENGINES", "local")
    asr_kind = _setting(settings_obj, "DUBBING_ASR_ENGINE", None) or engine_set
    translate_kind = _setting(settings_obj, "DUBBING_TRANSLATE_ENGINE", None) or engine_set
    tts_kind = _setting(settings_obj, "DUBBING_TTS_ENGINE", None) or engine_set
    # Supplied subtitles replace a stage, so its engine is never built (nor required).
    if options.source_subtitles:
        asr_kind = "subtitles"
    if options.target_subtitles:
        translate_kind = "subtitles"
    from dubbing.engines.vad import SileroVAD

    asr = build_asr(asr_kind, settings_obj, threads=threads)
    translator = build_translator(translate_kind, settings_obj)
    if asr_kind in ("local", "whisper") and translate_kind in ("local", "apertium"):
        from dubbing.engines.translate.speech import SpeechTranslator

        # Whisper's speech translation into English for the sources measured usable (ja).
        translator = SpeechTranslator(translator, asr)
    return Engines(
        asr=asr,
        translator=translator,
        tts=build_tts(tts_kind, settings_obj, threads=threads, target=options.target_language),
        vad=SileroVAD(),
    )
