"""The engine sets the pipeline tests dub with: the local set (Spanish, two threads) with some of
its engines replaced, and the engine configuration of a deployment on OpenAI pointed at a
loopback server."""

from __future__ import annotations

from dubbing.engines.registry import EngineConfig
from testing.openai_server import OpenAIServer
from testing.voices import FAST_SPANISH_VOICE


def local_engines(**replaced):
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions

    engines = build_engines(DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, engines="local"), threads=2)
    for name, engine in replaced.items():
        setattr(engines, name, engine)
    return engines


def openai_settings(server: OpenAIServer, concurrency: int = 4) -> EngineConfig:
    """The engine configuration of a deployment on OpenAI, pointed at the loopback server."""
    return EngineConfig(
        engines="openai", openai_api_key="test", openai_base_url=server.base_url,
        openai_transcribe_model="whisper-1", openai_translate_model="gpt-4o-mini",
        openai_tts_model="gpt-4o-mini-tts", openai_tts_voice="alloy", openai_concurrency=concurrency,
    )
