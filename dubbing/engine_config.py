"""The deployment's engine configuration, read from Django's settings here, above the engines:
the engines and the pipeline read no settings, they are given a plain `EngineConfig`.

Every caller that builds engines for a dub (the jobs' worker, the job services' pair check, the
languages the site offers, `manage.py dub`) goes through `build_engines` below.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from dubbing.engines.base import TTSEngine
from dubbing.engines.registry import EngineChoice, EngineConfig, Engines, build_tts
from dubbing.engines.registry import build_engines as build_engines_from_config


def _voices(listed: str) -> dict[str, str]:
    """FISH_AUDIO_VOICES, ELEVENLABS_VOICES: "name=id,name=id" (the first is the default)."""
    return dict(item.split("=", 1) for item in str(listed or "").split(",") if "=" in item)


def engine_config(settings_obj=None) -> EngineConfig:
    """The engine configuration of `settings_obj` (Django's settings when not given)."""
    s = settings_obj if settings_obj is not None else settings
    return EngineConfig(
        engines=s.DUBBING_ENGINES or "local",
        asr_engine=s.DUBBING_ASR_ENGINE or None,
        translate_engine=s.DUBBING_TRANSLATE_ENGINE or None,
        tts_engine=s.DUBBING_TTS_ENGINE or None,
        model_dir=model_dir(s),
        separation_dir=Path(s.DUBBING_SEPARATION_DIR) if s.DUBBING_SEPARATION_DIR else None,
        speaker_encoder_dir=Path(s.DUBBING_SPEAKER_ENCODER_DIR) if s.DUBBING_SPEAKER_ENCODER_DIR else None,
        whisper_compute_type=s.DUBBING_WHISPER_COMPUTE_TYPE or "int8",
        whisper_beam_size=int(s.DUBBING_WHISPER_BEAM_SIZE or 5),
        openai_api_key=s.OPENAI_API_KEY or "",
        openai_base_url=s.OPENAI_BASE_URL or "https://api.openai.com/v1",
        openai_concurrency=int(s.OPENAI_CONCURRENCY or 8),
        openai_transcribe_model=s.OPENAI_TRANSCRIBE_MODEL or "whisper-1",
        openai_translate_model=s.OPENAI_TRANSLATE_MODEL or "gpt-4o-mini",
        openai_tts_model=s.OPENAI_TTS_MODEL or "gpt-4o-mini-tts",
        openai_tts_voice=s.OPENAI_TTS_VOICE or "alloy",
        elevenlabs_api_key=s.ELEVENLABS_API_KEY or "",
        elevenlabs_base_url=s.ELEVENLABS_BASE_URL or None,
        elevenlabs_voices=_voices(s.ELEVENLABS_VOICES),
        elevenlabs_tts_model=s.ELEVENLABS_TTS_MODEL or "eleven_multilingual_v2",
        fish_audio_api_key=s.FISH_AUDIO_API_KEY or "",
        fish_audio_base_url=s.FISH_AUDIO_BASE_URL or None,
        fish_audio_voices=_voices(s.FISH_AUDIO_VOICES),
    )


def model_dir(settings_obj=None) -> Path:
    """Where models shipped in packages are joined: DUBBING_MODEL_DIR (settings default it to
    DATA_DIR/models)."""
    s = settings_obj if settings_obj is not None else settings
    return Path(s.DUBBING_MODEL_DIR)


def build_engines(options: EngineChoice, settings_obj=None, *, threads: int | None = None) -> Engines:
    """The engines a dub with `options` uses on this deployment (see dubbing.engines.registry)."""
    return build_engines_from_config(options, engine_config(settings_obj), threads=threads)


def build_speech_engine(language: str, *, threads: int | None = 1) -> TTSEngine:
    """The deployment's speech engine for `language` alone, as a dub into it would use (voice
    previews: no recognizer or translator is built)."""
    config = engine_config()
    return build_tts(config.tts_engine or config.engines or "local", config, threads=threads, target=language)
