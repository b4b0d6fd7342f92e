"""OpenAI transcription against the loopback server, which really recognises the uploaded audio
(pocketsphinx), so word times and texts here come from the audio that was sent."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import jiwer
import pytest

from dubbing.engines.asr.openai import API_UPLOAD_LIMIT, OpenAIASR, Piece, plan_pieces
from dubbing.engines.base import UnsupportedLanguage
from dubbing.engines.openai_client import OpenAIClient
from testing.media import FIXTURE_MEDIA

pytestmark = pytest.mark.media

MEDIA = FIXTURE_MEDIA


def _wav(source: Path, out: Path, *extra: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), *extra, str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> Path:
    return _wav(MEDIA / "speech_en.mp4", tmp_path_factory.mktemp("asr") / "en.wav",
                "-vn", "-ac", "1", "-ar", "16000")


def _asr(server, **kwargs) -> OpenAIASR:
    client = OpenAIClient(base_url=server.base_url, api_key="test", concurrency=4, backoff_base=0.01)
    return OpenAIASR(server.base_url, "test", concurrency=4, client=client, **kwargs)


def _times(transcript, text: str) -> list[float]:
    return [w.start for w in transcript.words if w.text.lower() == text]


def test_it_transcribes_speech_to_timed_words_and_segments(openai_server, speech_wav):
    transcript = _asr(openai_server).transcribe(speech_wav, "auto")

    assert transcript.language == "en"
    assert 0 < transcript.confidence <= 1
    assert [s.id for s in transcript.segments] == [f"s{i:04d}" for i in
                                                   range(1, len(transcript.segments) + 1)]
    spoken = " ".join(w.text.lower() for w in transcript.words)
    reference = re.sub(r"[^a-z' ]", " ", (MEDIA / "speech_en.txt").read_text().lower())
    assert jiwer.wer(" ".join(reference.split()), spoken) <= 0.4
    for segment in transcript.segments:
        assert segment.words and segment.start <= segment.words[0].start
        assert all(segment.start - 0.05 <= w.start <= w.end <= segment.end + 0.05
                   for w in segment.words)
    # The pauses of the fixture: "afternoon" is in the third sentence, after 8 s.
    assert 8.0 < _times(transcript, "afternoon")[0] < 11.0
    upload = openai_server.upload_sizes[0]
    assert upload < speech_wav.stat().st_size / 2  # sent compressed, not as the WAV


def test_it_refuses_an_unsupported_language_before_sending_anything(openai_server, speech_wav):
    with pytest.raises(UnsupportedLanguage):
        _asr(openai_server).transcribe(speech_wav, "xx")

    assert openai_server.counts["transcriptions"] == 0


@pytest.mark.slow
def test_audio_over_25_mb_is_cut_at_pauses_into_pieces_with_absolute_times(
    openai_server, speech_wav, tmp_path
):
    # Given 4 repetitions of the 18 s speech clip with a noise floor, as 48 kHz stereo 32-bit
    # float WAV (what an editor exports): about 28 MB, which the API would refuse as it is.
    repeats = 4
    period = float(subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
         str(speech_wav)], capture_output=True, text=True, check=True).stdout)
    long_wav = tmp_path / "long.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(repeats - 1), "-i", str(speech_wav),
         "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.003:sample_rate=48000",
         "-filter_complex",
         "[0:a]aresample=48000[s];[s][1:a]amix=inputs=2:duration=first:normalize=0",
         "-ac", "2", "-ar", "48000", "-c:a", "pcm_f32le", str(long_wav)],
        check=True,
    )
    assert long_wav.stat().st_size > API_UPLOAD_LIMIT
    refused = httpx.post(f"{openai_server.base_url}/audio/transcriptions",
                         headers={"Authorization": "Bearer test"},
                         data={"model": "whisper-1"},
                         files={"file": ("long.wav", long_wav.read_bytes(), "audio/wav")},
                         timeout=60)
    assert refused.status_code == 413
    assert refused.json()["error"]["message"].startswith("Maximum content size limit (26214400)")
    openai_server.reset()
    one = _asr(openai_server).transcribe(speech_wav, "en")
    reference = {word: _times(one, word)[0] for word in ("afternoon", "morning")}
    openai_server.reset()

    # When it is transcribed with pieces of at most 25 s
    transcript = _asr(openai_server, max_piece_seconds=25).transcribe(long_wav, "auto")

    # Then several compact pieces were sent, each under the limit,
    sizes = openai_server.upload_sizes
    assert len(sizes) >= 3 and all(size < API_UPLOAD_LIMIT for size in sizes)
    # sent concurrently (the server held more than one at a time),
    records = openai_server.records("transcriptions")
    assert any(a.received_at < b.responding_at and b.received_at < a.responding_at
               for a in records for b in records if a is not b)
    # and every repetition's words are found at their own absolute time.
    for word, first_time in reference.items():
        found = _times(transcript, word)
        for k in range(repeats):
            expected = first_time + k * period
            assert any(abs(t - expected) < 0.35 for t in found), (word, k, expected, found)
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)
    assert transcript.language == "en"


def test_pieces_are_cut_in_the_middle_of_the_longest_pause_and_never_exceed_the_limit():
    silences = [(8.0, 8.2), (14.0, 15.0), (19.0, 19.4), (31.0, 33.0), (47.0, 47.5)]

    pieces = plan_pieces(60.0, silences, max_seconds=20.0)

    assert pieces == [Piece(0, 0.0, 14.5), Piece(1, 14.5, 32.0), Piece(2, 32.0, 47.25),
                      Piece(3, 47.25, 60.0)]


def test_without_a_pause_a_piece_is_cut_at_the_limit():
    assert plan_pieces(25.0, [], max_seconds=10.0) == [
        Piece(0, 0.0, 10.0), Piece(1, 10.0, 20.0), Piece(2, 20.0, 25.0)]


def test_the_piece_length_follows_the_upload_limit_and_bit_rate(openai_server):
    asr = _asr(openai_server, max_upload_bytes=API_UPLOAD_LIMIT, bitrate_kbps=64,
               max_piece_seconds=10_000)

    # 64 kbit/s is 8,000 bytes a second: 25 MB holds about 54 minutes, less a safety margin.
    assert 3000 < asr.max_piece_seconds < API_UPLOAD_LIMIT / 8000
