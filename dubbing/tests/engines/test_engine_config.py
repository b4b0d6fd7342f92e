"""The deployment's settings reach the engines through one plain configuration
(dubbing.engine_config): the engines and the pipeline read no settings."""

from __future__ import annotations

import pytest

from dubbing.engine_config import engine_config
from dubbing.engines.base import EngineUnavailable
from dubbing.engines.registry import EngineConfig, build_tts


def test_the_settings_become_the_engine_configuration(settings, tmp_path):
    settings.DUBBING_ENGINES = "openai"
    settings.DUBBING_TTS_ENGINE = "fish"
    settings.DUBBING_MODEL_DIR = tmp_path / "models"
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_CONCURRENCY = 3
    settings.FISH_AUDIO_API_KEY = "fish-key"
    settings.FISH_AUDIO_VOICES = "anna=ref-1,ben=ref-2,broken"

    config = engine_config()

    assert (config.engines, config.tts_engine, config.asr_engine) == ("openai", "fish", None)
    assert config.model_dir == tmp_path / "models"
    assert (config.openai_api_key, config.openai_concurrency) == ("sk-test", 3)
    assert config.fish_audio_voices == {"anna": "ref-1", "ben": "ref-2"}  # the first is the default


def test_a_remote_engine_without_its_key_is_refused_by_the_plain_configuration():
    with pytest.raises(EngineUnavailable, match="OPENAI_API_KEY"):
        build_tts("openai", EngineConfig())

