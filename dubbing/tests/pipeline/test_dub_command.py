"""`manage.py dub`: bad input ends with a clear CommandError, never a traceback; supplied
subtitles replace their stages; an interrupted run resumes without redoing finished lines."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from dubbing.tests.conftest import MEDIA, SPEECH_EN, SPEECH_KO
from dubbing.tests.pipeline.engine_sets import local_engines

pytestmark = pytest.mark.media


@pytest.mark.parametrize(("name", "message"), [
    ("not_a_video.mp4", "not_a_video.mp4: This is not a video or audio format we accept"),
    ("truncated.mp4", "truncated.mp4: The file looks like a media file but cannot be read"),
    ("silent_video.mp4", "silent_video.mp4: The file has no audio stream, so there is nothing to dub"),
])
def test_a_file_the_upload_probe_refuses_stops_the_dub_at_probe_with_its_reason(tmp_path, name, message):
    # The pipeline probes with the uploads' hardened probe (videos.probe), so it refuses the same files.
    workspace = tmp_path / "w"
    with pytest.raises(CommandError, match=f"^Dubbing failed at probe: {message}"):
        call_command("dub", str(MEDIA / name), "--to", "es", "--workspace", str(workspace),
                     "--out", str(tmp_path / "o"))
    assert not (workspace / "audio").exists()


def test_an_empty_file_stops_with_a_clear_message(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(CommandError, match="empty.mp4: The file is empty"):
        call_command("dub", str(empty), "--to", "es", "--workspace", str(tmp_path / "w"), "--out", str(tmp_path / "o"))


def test_a_playlist_named_like_a_video_is_refused_before_ffmpeg_opens_what_it_names(tmp_path):
    # An HLS playlist would make an unguarded ffmpeg read the files (or URLs) listed inside it.
    playlist = tmp_path / "clip.mp4"
    playlist.write_text(f"#EXTM3U\n#EXTINF:18.0,\n{SPEECH_EN}\n#EXT-X-ENDLIST\n")
    with pytest.raises(CommandError, match="clip.mp4: This is not a video or audio format we accept"):
        call_command("dub", str(playlist), "--to", "es", "--workspace", str(tmp_path / "w"),
                     "--out", str(tmp_path / "o"))


def test_a_missing_file_stops_with_a_clear_message(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("dub", str(tmp_path / "nope.mp4"), "--to", "es")


def test_a_pair_no_engine_supports_is_refused_before_any_work(tmp_path):
    workspace = tmp_path / "w"
    with pytest.raises(CommandError, match="en->ja|->ja"):
        call_command("dub", str(SPEECH_EN), "--to", "ja", "--from", "en", "--workspace", str(workspace),
                     "--out", str(tmp_path / "o"))
    assert not (workspace / "audio").exists()


def test_silent_audio_stops_with_no_speech_found(tmp_path):
    silent = tmp_path / "silent.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "4",
                    "-c:a", "aac", str(silent)], check=True)
    with pytest.raises(CommandError, match="No speech was found"):
        call_command("dub", str(silent), "--to", "es", "--workspace", str(tmp_path / "w"), "--out", str(tmp_path / "o"))


def test_the_command_exits_non_zero_without_a_traceback(tmp_path):
    done = subprocess.run([".venv/bin/python", "manage.py", "dub", str(MEDIA / "not_a_video.mp4"), "--to", "es",
                           "--workspace", str(tmp_path / "w"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[3])
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "Dubbing failed at probe: not_a_video.mp4: This is not a video or audio format" in done.stderr


class CountingASR:
    def __init__(self, inner):
        self.inner, self.calls, self.name = inner, 0, inner.name

    def languages(self):
        return self.inner.languages()

    def transcribe(self, *args, **kwargs):
        self.calls += 1
        return self.inner.transcribe(*args, **kwargs)


def test_supplied_source_subtitles_replace_recognition(english_dub, dub_root):
    from dubbing.pipeline.publish import run_pipeline

    workspace = dub_root / "ws-source-subs"
    shutil.copytree(english_dub["workspace"], workspace)
    srt = "1\n00:00:01,500 --> 00:00:03,800\nWelcome to our short demonstration.\n\n" \
          "2\n00:00:04,700 --> 00:00:07,900\nTomorrow the weather will be sunny.\n"
    asr = CountingASR(local_engines().asr)
    options = replace(english_dub["options"], source_subtitles=srt, source_language="en")
    report = run_pipeline(SPEECH_EN, options, workspace=workspace, out_dir=dub_root / "out-source-subs",
                          engines=local_engines(asr=asr))
    assert asr.calls == 0
    assert [(s["start"], s["source_text"]) for s in report["segments"]] == [
        (1.5, "Welcome to our short demonstration."), (4.7, "Tomorrow the weather will be sunny.")]
    assert report["segments"][0]["text"].lower().startswith("bienvenido")


class CountingTranslator:
    name = "apertium"

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def supported_pairs(self):
        return self.inner.supported_pairs()

    def translate(self, *args, **kwargs):
        self.calls += 1
        return self.inner.translate(*args, **kwargs)


def test_supplied_target_subtitles_replace_translation_and_define_the_lines(english_dub, dub_root):
    from dubbing.pipeline.publish import run_pipeline

    workspace = dub_root / "ws-target-subs"
    shutil.copytree(english_dub["workspace"], workspace)
    srt = "1\n00:00:02,000 --> 00:00:04,000\nHola a todos.\n\n2\n00:00:09,000 --> 00:00:11,000\nLlueve mucho.\n"
    translator = CountingTranslator(local_engines().translator)
    options = replace(english_dub["options"], target_subtitles=srt)
    report = run_pipeline(SPEECH_EN, options, workspace=workspace, out_dir=dub_root / "out-target-subs",
                          engines=local_engines(translator=translator))
    assert translator.calls == 0
    assert [(s["start"], s["end"], s["text"]) for s in report["segments"]] == [
        (2.0, 4.0, "Hola a todos."), (9.0, 11.0, "Llueve mucho.")]
    assert report["segments"][1]["placed_start"] == pytest.approx(9.0)


def test_an_interrupted_run_resumes_without_redoing_finished_lines(english_dub, dub_root):
    from dubbing.engines.tts.espeak import EspeakTTS
    from dubbing.pipeline.errors import PipelineCancelled
    from dubbing.pipeline.publish import run_pipeline

    class CountingTTS(EspeakTTS):
        calls = 0

        def synthesize(self, *args, **kwargs):
            CountingTTS.calls += 1
            return super().synthesize(*args, **kwargs)

    workspace = dub_root / "ws-resume"
    shutil.copytree(english_dub["workspace"], workspace)
    options = replace(english_dub["options"], voice="f3")  # a new voice: synthesize onward is stale
    synth_dir = workspace / "synth"
    before = set(synth_dir.glob("*.wav"))

    def cancel_after_two():
        # Two clips finished (a cancel while a line is being spoken stops espeak-ng mid-line).
        # A clip being written is a hidden temporary file (".s0002-....tmp.wav"), not finished.
        return len({p for p in synth_dir.glob("*.wav") if not p.name.startswith(".")} - before) >= 2

    with pytest.raises(PipelineCancelled) as stopped:
        run_pipeline(SPEECH_EN, options, workspace=workspace, out_dir=dub_root / "out-resume",
                     engines=local_engines(tts=CountingTTS(concurrency=1)), should_cancel=cancel_after_two)
    assert stopped.value.stage == "synthesize" and stopped.value.segment_id
    finished = {p: p.stat().st_mtime_ns for p in set(synth_dir.glob("*.wav")) - before}
    assert len(finished) == 2

    CountingTTS.calls = 0
    report = run_pipeline(SPEECH_EN, options, workspace=workspace, out_dir=dub_root / "out-resume",
                          engines=local_engines(tts=CountingTTS(concurrency=1)))
    lines = len(report["segments"])
    assert CountingTTS.calls == lines - 2
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    assert not report["stages"]["transcribe"]["seconds"] and report["stages"]["transcribe"]["cached"]
