"""Speech through the speech API, against the loopback server (espeak-ng renders real audio)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import soundfile as sf

from dubbing.engines.base import EngineError, UnsupportedLanguage
from dubbing.engines.openai_client import OpenAIClient
from dubbing.engines.tts.openai import OpenAITTS, fix_streamed_wav_sizes

pytestmark = pytest.mark.media


def _tts(server, **kwargs) -> OpenAITTS:
    client = OpenAIClient(base_url=server.base_url, api_key="test", concurrency=2,
                          backoff_base=0.01, max_attempts=2)
    return OpenAITTS(server.base_url, "test", client=client, **kwargs)


def test_it_writes_the_spoken_line_as_a_wav_file(openai_server, tmp_path):
    out = _tts(openai_server).synthesize("  Hola,   mi amigo. ", "es", None, tmp_path / "clips" / "s1.wav")

    audio, rate = sf.read(out)
    assert out == tmp_path / "clips" / "s1.wav"
    assert rate > 8000 and 0.5 < len(audio) / rate < 5
    assert np.sqrt(np.mean(np.square(audio))) > 0.01  # speech, not silence
    assert openai_server.speech_texts == ["Hola, mi amigo."]
    [task] = openai_server.records("speech")
    assert task.status == 200


def test_the_line_is_spoken_in_the_target_language(openai_server, tmp_path):
    # espeak-ng follows the language named in the instructions: Spanish and English
    # pronunciations of the same letters differ in length.
    tts = _tts(openai_server)
    spanish = sf.info(tts.synthesize("uno dos tres", "es", None, tmp_path / "es.wav")).duration
    english = sf.info(tts.synthesize("uno dos tres", "en", None, tmp_path / "en.wav")).duration

    assert spanish != english


def test_a_failed_request_leaves_no_clip_behind(openai_server, tmp_path):
    openai_server.fail_next(2, status=500)

    with pytest.raises(EngineError, match="failed after 2 attempts"):
        _tts(openai_server).synthesize("Hello.", "en", None, tmp_path / "s1.wav")

    assert list(tmp_path.iterdir()) == []


def test_it_refuses_what_it_cannot_speak_before_sending(openai_server, tmp_path):
    tts = _tts(openai_server)

    with pytest.raises(UnsupportedLanguage):
        tts.synthesize("Hello.", "xx", None, tmp_path / "a.wav")
    with pytest.raises(EngineError, match="no text"):
        tts.synthesize("   ", "en", None, tmp_path / "a.wav")
    with pytest.raises(EngineError, match="too long"):
        tts.synthesize("word " * 1000, "en", None, tmp_path / "a.wav")
    assert openai_server.counts["speech"] == 0


def test_it_uses_the_voice_asked_for_and_the_configured_one_otherwise(openai_server, tmp_path):
    tts = _tts(openai_server, voice="nova")
    tts.synthesize("One.", "en", None, tmp_path / "a.wav")
    tts.synthesize("Two.", "en", "onyx", tmp_path / "b.wav")

    assert [(r.text, r.voice) for r in openai_server.records("speech")] == [
        ("One.", "nova"), ("Two.", "onyx")]


def test_streamed_wav_placeholders_are_replaced_by_the_real_sizes(tmp_path):
    samples = (np.sin(np.arange(2400) / 5) * 10000).astype("<i2").tobytes()
    header = (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
              + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 24000, 48000, 2, 16)
              + b"data" + struct.pack("<I", 0xFFFFFFFF))

    fixed = fix_streamed_wav_sizes(header + samples)

    (tmp_path / "a.wav").write_bytes(fixed)
    assert sf.info(tmp_path / "a.wav").frames == 2400
    assert struct.unpack_from("<I", fixed, 4)[0] == len(fixed) - 8
