"""One voice per speaker: lines are given speakers (the recognizer's labels, else clustered offline
from librosa pitch and MFCC statistics), and each speaker keeps one voice of the target engine,
distinct from the others' where the engine has enough."""

from __future__ import annotations

import pytest

from dubbing.engines.base import Segment

pytestmark = pytest.mark.media


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    from testing.speech_clips import dialogue

    folder = tmp_path_factory.mktemp("speakers")
    return {"two": dialogue(folder / "two.wav", ("en+m3", "en+f4")),
            "one": dialogue(folder / "one.wav", ("en+m3",))}


def test_two_voices_taking_turns_are_two_speakers(clips):
    from dubbing.engines.speakers import speaker_labels

    wav, lines = clips["two"]
    labels = speaker_labels(wav, [(a, b) for a, b, _ in lines])
    assert labels == [("speaker_1", "speaker_2")[v] for _, _, v in lines]


def test_one_voice_is_one_speaker(clips):
    from dubbing.engines.speakers import speaker_labels

    wav, lines = clips["one"]
    assert set(speaker_labels(wav, [(a, b) for a, b, _ in lines])) == {"speaker_1"}


class _Voices:
    name = "fake"

    def voices(self, language):
        return ["a", "b", "c"]


def _segments(*speakers):
    return [Segment(id=f"s{i:04d}", start=i, end=i + 1, text="x", speaker=s) for i, s in enumerate(speakers, 1)]


def test_each_speaker_keeps_one_distinct_voice():
    from dubbing.pipeline.synthesize import speaker_voices

    segments = _segments("speaker_1", "speaker_2", "speaker_1", "speaker_3")
    assert speaker_voices(_Voices(), "en", segments, None) == {"speaker_1": None, "speaker_2": "b", "speaker_3": "c"}
    # The dub's voice is the first speaker's; the others avoid it.
    assert speaker_voices(_Voices(), "en", segments, "b") == {"speaker_1": "b", "speaker_2": "a", "speaker_3": "c"}
    # A voice the user chose for a speaker wins and is not given to another.
    assert speaker_voices(_Voices(), "en", segments, None, {"speaker_2": "c"}) == {
        "speaker_1": None, "speaker_2": "c", "speaker_3": "b"}


def test_more_speakers_than_voices_share_them_in_turn():
    from dubbing.pipeline.synthesize import speaker_voices

    voices = speaker_voices(_Voices(), "en", _segments(*[f"speaker_{i}" for i in range(1, 6)]), None)
    assert voices["speaker_2"] == "b" and voices["speaker_3"] == "c" and voices["speaker_4"] in ("a", "b", "c")


@pytest.fixture(scope="module")
def two_speaker_dub(tmp_path_factory, clips):
    """The two-voice dialogue dubbed into Spanish with the local engines."""
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    root = tmp_path_factory.mktemp("two-speaker-dub")
    wav, _ = clips["two"]
    options = DubOptions(target_language="es", source_language="auto", background="drop", engines="local")
    report = run_pipeline(wav, options, workspace=root / "ws", out_dir=root / "out", engines=build_engines(options))
    return report, root / "ws"


def test_a_two_speaker_clip_gets_two_voices(two_speaker_dub):
    import json

    report, workspace = two_speaker_dub
    assert report["source_language"] == "en"
    assert report["route"] == "direct"  # apertium en->es
    speakers = [s["speaker"] for s in report["segments"]]
    assert set(speakers) == {"speaker_1", "speaker_2"}
    clips = json.loads((workspace / "synthesize.json").read_text())
    voices = {s["speaker"]: clips[s["id"]]["voice"] for s in report["segments"]}
    assert len(voices) == 2 and voices["speaker_1"] != voices["speaker_2"]
    # Every line of a speaker is in that speaker's voice.
    assert all(clips[s["id"]]["voice"] == voices[s["speaker"]] for s in report["segments"])
    # The report says which voice each speaker and each line got.
    assert report["voices"] == {k: v or "default" for k, v in voices.items()}
    assert all(s["voice"] == report["voices"][s["speaker"]] for s in report["segments"])
