"""ElevenLabs speech-to-text through the official SDK, against a loopback server that speaks
Scribe's wire protocol (testing/elevenlabs_server.py) and does the recognition for real."""

from __future__ import annotations

import re

import pytest

from dubbing.engines.base import EngineError, EngineUnavailable
from dubbing.tests.conftest import MEDIA

pytestmark = pytest.mark.media


@pytest.fixture(scope="module")
def server():
    from testing.elevenlabs_server import ElevenLabsServer

    with ElevenLabsServer() as running:
        yield running


@pytest.fixture(scope="module")
def dialogue_wav(tmp_path_factory):
    from testing.speech_clips import dialogue

    return dialogue(tmp_path_factory.mktemp("eleven") / "dialogue.wav")


def _asr(server, key="test-eleven-key"):
    from dubbing.engines.asr.elevenlabs import ElevenLabsASR

    return ElevenLabsASR(key, base_url=server.base_url)


def test_it_transcribes_with_word_times_and_the_speakers_of_its_diarization(server, dialogue_wav):
    import jiwer

    from testing.speech_clips import DIALOGUE

    wav, _ = dialogue_wav
    transcript = _asr(server).transcribe(wav, "auto")
    assert transcript.language == "en"  # Scribe's "eng"
    sent = server.requests[-1]
    assert sent["path"] == "/v1/speech-to-text" and sent["headers"]["xi-api-key"] == "test-eleven-key"
    assert sent["fields"]["model_id"] == "scribe_v1" and sent["fields"]["diarize"] == "true"
    assert sent["fields"]["timestamps_granularity"] == "word"

    def norm(t):
        return " ".join(re.sub(r"[^a-z' ]", " ", t.lower()).split())

    assert jiwer.wer(norm(" ".join(DIALOGUE)), norm(" ".join(w.text for w in transcript.words))) <= 0.15
    assert all(w.end >= w.start for w in transcript.words)
    # Two voices take turns: the segments alternate between two speakers.
    assert len({s.speaker for s in transcript.segments}) == 2
    assert all(s.speaker in ("speaker_0", "speaker_1") for s in transcript.segments)


def test_429_and_5xx_are_retried_by_the_sdk(server, tmp_path):
    from testing.speech_clips import SPEECH_EN, wav16k

    wav = wav16k(SPEECH_EN, tmp_path / "en.wav")
    before = server.counts
    server.rate_limit_next(1)
    server.fail_next(1, 503)
    transcript = _asr(server).transcribe(wav, "en")
    assert server.counts - before == 3
    assert "demonstration" in " ".join(w.text for w in transcript.words).lower()
    assert (MEDIA / "speech_en.txt").exists()


def test_a_429_storm_fails_retryable_with_the_engine_named(server, tmp_path):
    wav = tmp_path / "s.wav"
    wav.write_bytes(b"RIFF")
    server.rate_limit_next(10)
    with pytest.raises(EngineError, match=r"ElevenLabs speech-to-text failed after retries \(HTTP 429\)") as failed:
        _asr(server).transcribe(wav, "en")
    assert failed.value.retryable and failed.value.code == "engine_rate_limited"
    server._faults.clear()


def test_a_wrong_key_is_engine_unavailable_naming_the_setting(server, tmp_path):
    wav = tmp_path / "s.wav"
    wav.write_bytes(b"RIFF")
    with pytest.raises(EngineUnavailable, match="ELEVENLABS_API_KEY") as refused:
        _asr(server, key="wrong").transcribe(wav, "en")
    assert not refused.value.retryable


def test_a_malformed_body_fails_with_the_engine_named_not_a_traceback(server, tmp_path):
    wav = tmp_path / "s.wav"
    wav.write_bytes(b"RIFF")
    server.malformed_next(1)
    with pytest.raises(EngineError, match="ElevenLabs speech-to-text"):
        _asr(server).transcribe(wav, "en")


def test_no_key_is_refused_before_any_work():
    from dubbing.engines.registry import EngineConfig, build_asr

    with pytest.raises(EngineUnavailable, match="ELEVENLABS_API_KEY"):
        build_asr("elevenlabs", EngineConfig())
