"""Dubs beside the main English one: burned Korean subtitles, an audio-only input, and a line
shortened by a real shortening engine (OpenAI translator, loopback server). Real ffmpeg and
local engines throughout. The video runs start from a copy of the shared English workspace and
take the source subtitles as given, so probe, extract and recognition are not paid again."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.core.management import call_command

from dubbing.tests.conftest import MEDIA, SPEECH_EN
from dubbing.tests.pipeline.engine_sets import local_engines, openai_settings
from dubbing.tests.pipeline.dubs import outputs
from testing.measure import container_duration, stream_duration, video_packet_hashes
from testing.voices import FAST_SPANISH_VOICE

pytestmark = pytest.mark.media

AUDIO_ONLY = MEDIA / "speech_en_audio_only.m4a"

SOURCE_SRT = ("1\n00:00:02,000 --> 00:00:04,000\nHello everyone.\n\n"
              "2\n00:00:09,000 --> 00:00:11,000\nIt is raining a lot.\n")
KOREAN_SRT = ("1\n00:00:02,000 --> 00:00:04,000\n안녕하세요 여러분, 반갑습니다.\n\n"
              "2\n00:00:09,000 --> 00:00:11,000\n오늘은 비가 많이 옵니다.\n")
IN_CUE, OUTSIDE_CUES = 3.0, 1.0  # seconds on the timeline


def frame(path: Path, at: float) -> np.ndarray:
    """The decoded picture at `at` seconds, as an H x W x 3 array of ints."""
    width, height = (int(v) for v in subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout.strip().split(","))
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", f"{at:.3f}", "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(np.int16)


@pytest.fixture(scope="module")
def korean_burned_dub(english_dub, dub_root):
    """`manage.py dub --to ko --subtitles burned` with the Korean lines supplied as target subtitles."""
    workspace, out = dub_root / "ws-burned-ko", dub_root / "out-burned-ko"
    shutil.copytree(english_dub["workspace"], workspace)
    (dub_root / "burned-source.srt").write_text(SOURCE_SRT)
    (dub_root / "burned-target.ko.srt").write_text(KOREAN_SRT, encoding="utf-8")
    call_command("dub", str(SPEECH_EN), "--to", "ko", "--from", "en", "--engines", "local",
                 "--subtitles", "burned", "--background", "drop",
                 "--source-subtitles", str(dub_root / "burned-source.srt"),
                 "--target-subtitles", str(dub_root / "burned-target.ko.srt"),
                 "--workspace", str(workspace), "--out", str(out))
    report = json.loads((out / "report.json").read_text())
    return {"report": report, "workspace": workspace, "out": out}


def test_burned_subtitles_re_encode_the_video_with_the_korean_lines_drawn(korean_burned_dub):
    report = korean_burned_dub["report"]
    video = outputs(korean_burned_dub)["video"]
    assert [s["text"] for s in report["segments"]] == ["안녕하세요 여러분, 반갑습니다.", "오늘은 비가 많이 옵니다."]
    # Korean is spoken by Kokoro since issue 19 measured it most intelligible (CER 0.18 against 0.69)
    assert report["engines"]["tts"] == "kokoro" and report["target_language"] == "ko"

    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                              str(video)], capture_output=True, text=True, check=True).stdout.split()
    assert sorted(streams) == ["audio", "video"]  # drawn into the picture, not a subtitle track
    assert video_packet_hashes(video) != video_packet_hashes(SPEECH_EN)  # re-encoded, not copied
    assert abs(container_duration(video) - stream_duration(SPEECH_EN, "v:0")) <= 0.1

    source, dubbed = frame(SPEECH_EN, IN_CUE), frame(video, IN_CUE)
    changed = np.abs(dubbed - source).max(axis=2) > 64
    rows = np.flatnonzero(changed.any(axis=1))
    height = source.shape[0]
    # The line is drawn near the bottom and nowhere else...
    assert rows.size and rows.min() >= 0.75 * height, (rows.min(), height)
    assert changed.sum() >= 1000, changed.sum()
    # ...as Hangul. Each syllable block is drawn from two or three separate jamo (안 = ㅇ ㅏ ㄴ),
    # while a font without Hangul draws one hollow box (tofu) per character, so the white fill
    # falls apart into at least twice as many pieces as there are syllables only with real glyphs.
    from scipy import ndimage

    ink = (dubbed.min(axis=2) > 180) & (source.min(axis=2) < 150)
    labels, count = ndimage.label(ink, structure=np.ones((3, 3)))
    pieces = int((ndimage.sum(ink, labels, range(1, count + 1)) >= 3).sum())
    syllables = sum(1 for ch in report["segments"][0]["text"] if "\uac00" <= ch <= "\ud7a3")
    assert pieces >= 2 * syllables, (pieces, syllables)


def test_burned_subtitles_leave_frames_outside_any_cue_as_they_were(korean_burned_dub):
    video = outputs(korean_burned_dub)["video"]
    diff = np.abs(frame(video, OUTSIDE_CUES) - frame(SPEECH_EN, OUTSIDE_CUES))
    # Only the re-encode's noise: no drawn pixel (> 64 levels off) and a tiny mean difference.
    assert diff.mean() < 2.0, diff.mean()
    assert (diff.max(axis=2) > 64).sum() == 0


def test_burned_subtitles_are_drawn_in_a_font_that_has_hangul():
    from dubbing.pipeline.mux import CJK_FONT, FONT_DIRS

    found = subprocess.run(["fc-match", "-f", "%{family}|%{file}", f"{CJK_FONT}:charset=d55c"],
                           capture_output=True, text=True, check=True).stdout
    family, file = found.split("|")
    # fc-match answers with a fallback when the font is missing; the family must be the one asked.
    assert CJK_FONT in family.split(","), found
    assert "NotoSansCJK" in Path(file).name
    assert any(Path(file).is_relative_to(d) for d in FONT_DIRS if Path(d).is_dir())


@pytest.fixture(scope="module")
def audio_only_dub(tmp_path_factory):
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.publish import run_pipeline

    root = tmp_path_factory.mktemp("audio-only")
    options = DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, background="duck", engines="local")
    report = run_pipeline(AUDIO_ONLY, options, workspace=root / "ws", out_dir=root / "out",
                          engines=build_engines(options), duck_db=-18.0)
    return {"report": report, "out": root / "out"}


def test_an_audio_only_input_gives_dubbed_audio_and_subtitles_but_no_video(audio_only_dub):
    files = outputs(audio_only_dub)
    assert "video" not in files
    assert files["audio"].name == "speech_en_audio_only.es.m4a"
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name",
                              "-of", "csv=p=0", str(files["audio"])], capture_output=True, text=True,
                             check=True).stdout.split()
    assert streams == ["aac,audio"]
    assert abs(container_duration(files["audio"]) - stream_duration(AUDIO_ONLY, "a:0")) <= 0.1
    assert audio_only_dub["report"]["segments"]


def test_an_audio_only_input_gets_every_subtitle_file(audio_only_dub):
    from dubbing.pipeline.subtitles import parse_subtitles

    files = outputs(audio_only_dub)
    lines = audio_only_dub["report"]["segments"]
    for kind in ("source", "target", "bilingual"):
        for ext in ("srt", "vtt"):
            assert len(parse_subtitles(files[f"{kind}_{ext}"])) == len(lines), (kind, ext)
    assert [c.text for c in parse_subtitles(files["target_srt"])] == [line["text"] for line in lines]


LONG_LINE = ("Mañana por la mañana hará mucho sol en toda la costa y también en el interior del país, "
             "con temperaturas muy agradables para pasear por el campo con la familia.")


def test_a_line_too_long_at_max_speed_is_shortened_spoken_again_and_fits(english_dub, dub_root, openai_server):
    from dubbing.engines.registry import build_translator
    from dubbing.pipeline.publish import run_pipeline

    # Given a long Spanish line in a 2.5 s window before the next line (about 8 s of speech)
    workspace = dub_root / "ws-shorten"
    shutil.copytree(english_dub["workspace"], workspace)
    source = ("1\n00:00:02,000 --> 00:00:04,000\nTomorrow will be sunny.\n\n"
              "2\n00:00:04,500 --> 00:00:06,000\nHello everyone.\n")
    target = f"1\n00:00:02,000 --> 00:00:04,000\n{LONG_LINE}\n\n2\n00:00:04,500 --> 00:00:06,000\nHola a todos.\n"
    options = replace(english_dub["options"], source_language="en", source_subtitles=source,
                      target_subtitles=target, max_speed=1.3)
    translator = build_translator("openai", openai_settings(openai_server))
    out = dub_root / "out-shorten"

    # When it is dubbed with a translator that can shorten
    report = run_pipeline(SPEECH_EN, options, workspace=workspace, out_dir=out,
                          engines=local_engines(asr=None, translator=translator), duck_db=-18.0)

    # Then the translator was asked to shorten that line only (the translations were supplied)
    assert [t["task"] for t in openai_server.chat_tasks] == ["shorten"]
    first, second = report["segments"]
    assert openai_server.chat_ids == [[first["id"]]]
    # the shorter text was used, in the dub and in the target subtitles
    assert first["shortened"] and not second["shortened"]
    assert len(first["text"]) < len(LONG_LINE) and LONG_LINE.startswith(first["text"])
    from dubbing.pipeline.subtitles import parse_subtitles

    assert parse_subtitles(out / report["outputs"]["target_srt"])[0].text == first["text"]
    # it was spoken again: a new, shorter clip beside the first one
    synthesized = json.loads((workspace / "synthesize.json").read_text())[first["id"]]
    clip_path = workspace / first["clip"]
    assert clip_path != workspace / synthesized["path"] and clip_path.exists()
    window = 2.5  # from the line's start to the next line's
    assert synthesized["seconds"] > window * 1.3 >= first["raw_seconds"]
    clip = sf.info(str(workspace / first["clip"]))
    assert clip.frames / clip.samplerate == pytest.approx(first["raw_seconds"], abs=1e-3)
    # and it fits: at most max speed, ending before the next line, which keeps its own start
    assert first["overrun"] == 0 and first["speed"] <= 1.3 + 1e-6
    assert first["placed_start"] + first["placed_seconds"] <= second["placed_start"] + 1e-3
    assert second["displacement"] == 0 and second["placed_start"] == pytest.approx(4.5)
    # and report.json on disk says so
    saved = json.loads((out / report["outputs"]["report"]).read_text())
    assert [s["shortened"] for s in saved["segments"]] == [True, False]
