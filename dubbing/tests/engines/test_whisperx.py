"""The whisperx adapter's conversion of whisperx's documented result shape (whisperx itself is
a GPU-only extra and is not installed here)."""

from __future__ import annotations

import importlib.util

import pytest

from dubbing.engines.asr.whisperx import WhisperXASR, whisperx_result_to_transcript
from dubbing.engines.base import EngineUnavailable, UnsupportedLanguage

# What whisperx.align + whisperx.assign_word_speakers return (whisperx 3.x).
RESULT = {
    "segments": [
        {
            "start": 0.52, "end": 3.1, "text": " Hello there, it costs 25 dollars.",
            "speaker": "SPEAKER_00",
            "words": [
                {"word": "Hello", "start": 0.52, "end": 0.9, "score": 0.91, "speaker": "SPEAKER_00"},
                {"word": "there,", "start": 0.95, "end": 1.2, "score": 0.88, "speaker": "SPEAKER_00"},
                {"word": "it", "start": 1.4, "end": 1.5, "score": 0.7, "speaker": "SPEAKER_00"},
                {"word": "costs", "start": 1.55, "end": 1.9, "score": 0.8, "speaker": "SPEAKER_00"},
                {"word": "25"},  # digits cannot be aligned: no start, end or score
                {"word": "dollars.", "start": 2.6, "end": 3.1, "score": 0.95, "speaker": "SPEAKER_00"},
            ],
        },
        {
            "start": 4.0, "end": 5.0, "text": "Yes!",
            "words": [{"word": "Yes!", "start": 4.1, "end": 4.6, "score": 0.5, "speaker": "SPEAKER_01"}],
        },
        {"start": 6.0, "end": 7.0, "text": "   ", "words": []},
        {"start": 8.0, "end": 10.0, "text": "§§ 12 ¶", "words": [
            {"word": "§§"}, {"word": "12"}, {"word": "¶"}]},
    ],
    "word_segments": [],
    "language": "en",
}


def test_it_converts_segments_words_scores_and_speakers():
    transcript = whisperx_result_to_transcript(RESULT, "auto")

    assert transcript.language == "en"
    assert [(s.id, s.start, s.end, s.text, s.speaker) for s in transcript.segments] == [
        ("s0001", 0.52, 3.1, "Hello there, it costs 25 dollars.", "SPEAKER_00"),
        ("s0002", 4.0, 5.0, "Yes!", "SPEAKER_01"),  # taken from its words
        ("s0003", 8.0, 10.0, "§§ 12 ¶", None),
    ]
    first = transcript.segments[0].words
    assert [w.text for w in first] == ["Hello", "there,", "it", "costs", "25", "dollars."]
    assert first[0].confidence == 0.91 and first[0].speaker == "SPEAKER_00"
    assert transcript.confidence == pytest.approx((0.91 + 0.88 + 0.7 + 0.8 + 0.95 + 0.5) / 6, abs=1e-4)


def test_words_the_aligner_could_not_place_get_interpolated_times():
    transcript = whisperx_result_to_transcript(RESULT, "en")

    unplaced = transcript.segments[0].words[4]
    # Between "costs" (ends 1.9) and "dollars." (starts 2.6).
    assert (unplaced.start, unplaced.end) == (1.9, 2.6)
    assert unplaced.confidence == 0.0
    # A segment with no placed word at all shares its own span by word length.
    symbols = transcript.segments[2].words
    assert [(w.start, w.end) for w in symbols] == [(8.0, 8.75), (8.75, 9.5), (9.5, 10.0)]
    for segment in transcript.segments:
        starts = [w.start for w in segment.words]
        assert starts == sorted(starts)
        assert all(segment.start <= w.start <= w.end <= segment.end for w in segment.words)


def test_a_segment_without_words_gets_one_word_per_token():
    result = {"segments": [{"start": 1.0, "end": 2.0, "text": "ab cd"}]}

    [segment] = whisperx_result_to_transcript(result, "de").segments

    assert [(w.text, w.start, w.end) for w in segment.words] == [("ab", 1.0, 1.5), ("cd", 1.5, 2.0)]


def test_a_result_without_a_language_keeps_the_one_asked_for():
    assert whisperx_result_to_transcript({"segments": []}, "ko").language == "ko"


@pytest.mark.skipif(importlib.util.find_spec("whisperx") is not None, reason="whisperx installed")
def test_without_the_gpu_extra_the_engine_says_what_to_install(tmp_path):
    with pytest.raises(EngineUnavailable, match="requirements-gpu.txt"):
        WhisperXASR(device="cpu").transcribe(tmp_path / "a.wav", "en")
    with pytest.raises(UnsupportedLanguage):
        WhisperXASR().transcribe(tmp_path / "a.wav", "xx")
