"""Fish Audio speech through the official SDK against a loopback server speaking its TTS wire
protocol (msgpack body, reference voice id, MP3 back), with retries on 429 and 5xx."""

from __future__ import annotations

import pytest
import soundfile as sf

from dubbing.engines.base import EngineError, EngineUnavailable

pytestmark = pytest.mark.media

VOICES = {"narrator": "ref-narrator-1", "guest": "ref-guest-2"}


@pytest.fixture(scope="module")
def server():
    from testing.fish_audio_server import FishAudioServer

    with FishAudioServer() as running:
        yield running


def _tts(server, key="test-fish-key"):
    from dubbing.engines.tts.fish import FishAudioTTS

    return FishAudioTTS(key, base_url=server.base_url, voices=VOICES)


def test_it_speaks_with_the_reference_voice_and_returns_wav(server, tmp_path):
    out = _tts(server).synthesize("Good morning, everyone.", "en", "guest", tmp_path / "a.wav")
    info = sf.info(str(out))
    assert info.frames / info.samplerate > 0.5
    sent = server.requests[-1]
    assert sent["path"] == "/v1/tts" and sent["headers"]["Authorization"] == "Bearer test-fish-key"
    assert sent["headers"]["Content-Type"] == "application/msgpack" and sent["headers"]["model"] == "s1"
    assert sent["body"]["text"] == "Good morning, everyone." and sent["body"]["reference_id"] == "ref-guest-2"
    assert sent["body"]["format"] == "mp3"
    assert _tts(server).voices("en") == ["narrator", "guest"]


def test_429_and_5xx_are_retried(server, tmp_path):
    before = server.counts
    server.rate_limit_next(1)
    server.fail_next(1, 502)
    _tts(server).synthesize("Hello.", "en", None, tmp_path / "a.wav")
    assert server.counts - before == 3
    assert server.requests[-1]["body"]["reference_id"] == "ref-narrator-1"  # the first voice by default


def test_a_5xx_storm_fails_retryable_with_the_engine_named(server, tmp_path):
    server.fail_next(10, 503)
    with pytest.raises(EngineError, match=r"Fish Audio speech failed after retries \(HTTP 503\)") as failed:
        _tts(server).synthesize("Hello.", "en", None, tmp_path / "a.wav")
    assert failed.value.retryable and failed.value.code == "engine_server_error"
    server._faults.clear()


def test_a_wrong_key_is_engine_unavailable_naming_the_setting(server, tmp_path):
    with pytest.raises(EngineUnavailable, match="FISH_AUDIO_API_KEY"):
        _tts(server, key="wrong").synthesize("Hello.", "en", None, tmp_path / "a.wav")


def test_a_body_that_is_not_audio_fails_with_the_engine_named(server, tmp_path):
    server.malformed_next(1)
    with pytest.raises(EngineError, match="Fish Audio speech answered something that is not MP3 audio"):
        _tts(server).synthesize("Hello.", "en", None, tmp_path / "a.wav")


def test_no_key_is_refused_before_any_work():
    from dubbing.engines.registry import EngineConfig, build_tts

    with pytest.raises(EngineUnavailable, match="FISH_AUDIO_API_KEY"):
        build_tts("fish", EngineConfig())
