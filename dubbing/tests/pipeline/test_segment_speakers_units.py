"""Segmenting recognized words: lines of unspaced languages keep their words together, and
recognizer speaker labels become speaker_1, speaker_2... in order of first appearance."""

from __future__ import annotations

from dubbing.engines.base import Segment, Transcript, Word


def _words(texts, speaker=None, start=0.0):
    return [Word(text=t, start=start + i * 0.3, end=start + i * 0.3 + 0.25, speaker=speaker)
            for i, t in enumerate(texts)]


def test_japanese_words_are_joined_without_spaces():
    from dubbing.pipeline.segment import segment_transcript

    words = _words(["こんにちは", "。", "今日", "は", "いい", "天気", "です", "。"])
    lines = segment_transcript(Transcript(language="ja", segments=[Segment("w1", 0, 3, "", words=words)]))
    assert lines[0].text.startswith("こんにちは。今日は")


def test_english_words_are_joined_with_spaces():
    from dubbing.pipeline.segment import segment_transcript

    words = _words(["Good", "morning,", "everyone."])
    lines = segment_transcript(Transcript(language="en", segments=[Segment("w1", 0, 1, "", words=words)]))
    assert lines[0].text == "Good morning, everyone."


def test_recognizer_speaker_labels_are_numbered_in_order_of_appearance():
    from dubbing.pipeline.segment import number_speakers

    segments = [Segment(f"s{i}", i, i + 1, "x", speaker=s) for i, s in
                enumerate(["speaker_3", "speaker_0", "speaker_3", "B"])]
    number_speakers(segments)
    assert [s.speaker for s in segments] == ["speaker_1", "speaker_2", "speaker_1", "speaker_3"]
