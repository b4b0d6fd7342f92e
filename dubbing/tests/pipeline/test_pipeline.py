"""The whole pipeline on real media. The output checks run on each finished dub (`dub`: the real
local engines' shared run and the OpenAI set's against the loopback server, see the conftests);
the rest on the local one."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dubbing.tests.conftest import MEDIA, SPEECH_EN
from dubbing.tests.pipeline.dubs import outputs
from testing.measure import (
    container_duration,
    decode_16k,
    integrated_loudness,
    stream_duration,
    video_packet_hashes,
)

pytestmark = pytest.mark.media

MAX_SPEED = 1.3


def test_the_dubbed_video_lasts_exactly_as_long_as_the_input_video_stream(dub):
    video = outputs(dub)["video"]
    expected = stream_duration(SPEECH_EN, "v:0")
    assert abs(container_duration(video) - expected) <= 0.1
    assert abs(stream_duration(video, "a:0") - expected) <= 0.1


def test_the_video_stream_is_copied_bit_for_bit(dub):
    original = video_packet_hashes(SPEECH_EN)
    assert original and video_packet_hashes(outputs(dub)["video"]) == original


def test_every_dubbed_line_starts_at_its_source_start_unless_the_line_before_still_runs(dub, tmp_path):
    """What is heard is checked against the source's own starts, not against the report's word:
    a line may begin late only when the previous line's placed clip (whose length is its file's)
    is still playing at that line's start, and then it begins right where that clip ends."""
    from dubbing.engines.vad import SileroVAD

    wav = decode_16k(outputs(dub)["video"], tmp_path / "dub16k.wav")
    onsets = [a for a, _ in SileroVAD().speech_regions(wav)]
    lines = dub["report"]["segments"]
    assert lines
    previous_end = 0.0
    for line in lines:
        fitted = sf.info(dub["workspace"] / line["fitted_clip"])
        assert abs(fitted.frames / fitted.samplerate - line["placed_seconds"]) <= 0.01, line["id"]
        expected_start = max(line["start"], previous_end)
        assert abs(line["placed_start"] - expected_start) <= 0.005, (line["id"], line["placed_start"], expected_start)
        nearest = min(onsets, key=lambda t: abs(t - expected_start))
        assert abs(nearest - expected_start) <= 0.15, (line["id"], expected_start, nearest)
        previous_end = line["placed_start"] + line["placed_seconds"]


def test_no_placed_clip_is_shorter_than_its_raw_clip_at_max_speed(dub):
    for line in dub["report"]["segments"]:
        raw = sf.info(dub["workspace"] / line["clip"])
        placed = sf.info(dub["workspace"] / line["fitted_clip"])
        raw_seconds = raw.frames / raw.samplerate
        placed_seconds = placed.frames / placed.samplerate
        assert placed_seconds >= raw_seconds / MAX_SPEED - 1 / placed.samplerate, line["id"]


def test_loudness_is_normalised_to_minus_16_lufs(dub):
    assert abs(integrated_loudness(outputs(dub)["video"]) + 16.0) <= 1.0
    assert abs(integrated_loudness(outputs(dub)["audio"]) + 16.0) <= 1.0


def test_the_subtitle_files_parse_and_their_times_increase(dub):
    from dubbing.pipeline.subtitles import parse_subtitles

    files = outputs(dub)
    for kind in ("source", "target", "bilingual"):
        for ext in ("srt", "vtt"):
            cues = parse_subtitles(files[f"{kind}_{ext}"])
            assert len(cues) == len(dub["report"]["segments"]), (kind, ext)
            starts = [c.start for c in cues]
            assert starts == sorted(starts) and all(c.end > c.start for c in cues)
            assert all(a.end <= b.start + 1e-3 for a, b in zip(cues, cues[1:]))
    assert "mov_text" in subprocess.run(["ffprobe", "-v", "error", "-show_streams", str(files["video"])],
                                        capture_output=True, text=True).stdout


def test_the_english_transcript_is_close_to_what_was_said(dub):
    import jiwer

    reference = re.sub(r"[^a-z' ]", " ", (MEDIA / "speech_en.txt").read_text().lower())
    hypothesis = re.sub(r"[^a-z' ]", " ", " ".join(line["source_text"] for line in dub["report"]["segments"]).lower())
    wer = jiwer.wer(" ".join(reference.split()), " ".join(hypothesis.split()))
    print(f"English WER {wer:.3f}")
    assert wer <= 0.10  # Whisper base: 0.03 measured


def test_the_report_has_every_stage_and_the_engines(english_dub):
    report = english_dub["report"]
    assert set(report["stages"]) == {"probe", "extract", "separate", "transcribe", "segment", "translate", "synthesize",
                                     "fit", "mix", "mux", "publish"}
    assert report["engines"]["asr"] == "whisper"
    assert report["engines"]["translate"] == "apertium" and report["engines"]["tts"] == "espeak"
    assert json.loads(Path(report["outputs"]["report"]).read_text())["segments"] == report["segments"]


def _rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x.astype(np.float64))) + 1e-12)


def test_with_duck_the_original_speech_is_at_least_15_db_under_the_dub(ducked_dub):
    stems = ducked_dub["workspace"] / "mix" / "stems"
    dub, rate = sf.read(str(stems / "dub.wav"), dtype="float32")
    background, _ = sf.read(str(stems / "background.wav"), dtype="float32", always_2d=True)
    original, _ = sf.read(str(ducked_dub["workspace"] / "audio" / "mix.wav"), dtype="float32", always_2d=True)
    checked = 0
    for line in ducked_dub["report"]["segments"]:
        a = int(line["placed_start"] * rate)
        b = a + int(line["placed_seconds"] * rate)
        if _rms_db(original[a:b]) < -50:
            continue  # no original speech under this line
        assert _rms_db(dub[a:b]) - _rms_db(background[a:b]) >= 15.0, line["id"]
        checked += 1
    assert checked


def test_changing_only_the_background_reruns_mix_onward(english_dub, ducked_dub, tmp_path):
    stages = ducked_dub["report"]["stages"]
    for name in ("probe", "extract", "separate", "transcribe", "segment", "translate", "synthesize", "fit"):
        assert stages[name]["cached"], name
    for name in ("mix", "mux"):
        assert not stages[name]["cached"], name
    # What the cache flags claim, on disk: the fitted clips are the first run's files, untouched;
    # the mix was made again (a cached mix would be the first run's samples, bit for bit).
    for first, second in zip(english_dub["report"]["segments"], ducked_dub["report"]["segments"]):
        assert second["fitted_clip"] == first["fitted_clip"]
        fitted = (english_dub["workspace"] / first["fitted_clip"], ducked_dub["workspace"] / second["fitted_clip"])
        assert fitted[0].read_bytes() == fitted[1].read_bytes()
    dropped, _ = sf.read(str(decode_16k(outputs(english_dub)["audio"], tmp_path / "drop.wav")), dtype="float32")
    ducked, _ = sf.read(str(decode_16k(outputs(ducked_dub)["audio"], tmp_path / "duck.wav")), dtype="float32")
    frames = min(len(dropped), len(ducked))
    assert frames and np.max(np.abs(ducked[:frames] - dropped[:frames])) > 1e-3
