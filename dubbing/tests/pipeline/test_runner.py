"""The stage runner: events, error codes and whether to retry, durable state in a store, content
keys, and cancellation that stops a running subprocess."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from dubbing.tests.conftest import MEDIA, SPEECH_EN
from dubbing.tests.pipeline.engine_sets import local_engines
from testing.processes import running_children
from testing.voices import FAST_SPANISH_VOICE

pytestmark = pytest.mark.media


def _left_running(before: dict[int, str]) -> dict[int, str]:
    """Our child processes started since `before` that still run. Multiprocessing's resource
    tracker is left aside: it lives as long as this process, whoever started it."""
    return {pid: command for pid, command in running_children().items()
            if pid not in before and "resource_tracker" not in command}


class _Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def of(self, kind):
        return [e for e in self.events if e.kind == kind]


def _counting_tts():
    from dubbing.engines.tts.espeak import EspeakTTS

    class CountingTTS(EspeakTTS):
        def __init__(self):
            super().__init__(concurrency=2)
            self.texts = []
            self._lock = threading.Lock()

        def synthesize(self, text, *args, **kwargs):
            with self._lock:
                self.texts.append(text)
            return super().synthesize(text, *args, **kwargs)

    return CountingTTS()


@pytest.fixture(scope="module")
def stored_dub(tmp_path_factory):
    """speech_en -> es with a folder store standing in for object storage."""
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.runner import run_dub
    from dubbing.pipeline.store import FolderStore

    root = tmp_path_factory.mktemp("stored")
    options = DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, source_language="en", background="duck", engines="local")
    store = FolderStore(root / "store")
    recorder = _Recorder()
    tts = _counting_tts()
    result = run_dub(SPEECH_EN, options, workspace=root / "ws1", engines=local_engines(tts=tts), store=store,
                     on_event=recorder, threads=2)
    return {"root": root, "options": options, "store": store, "result": result, "events": recorder,
            "tts": tts}


def test_it_emits_started_and_done_for_every_stage_in_order(stored_dub):
    from dubbing.pipeline.runner import STAGES

    events = stored_dub["events"]
    assert [e.stage for e in events.of("started")] == list(STAGES)
    assert [e.stage for e in events.of("done")] == list(STAGES)
    assert all(e.seconds >= 0 and not e.cached for e in events.of("done"))
    # progress inside per-line stages says how far it got, and never leaves 0..1
    progress = [e for e in events.of("progress") if e.stage == "synthesize"]
    assert progress and progress[-1].fraction == 1.0 and all(0 <= e.fraction <= 1 for e in progress)
    # the lines come with the stages that decide them
    fit_done = next(e for e in events.of("done") if e.stage == "fit")
    assert [s.index for s in fit_done.segments] == list(range(len(stored_dub["result"].segments)))
    assert all(s.target_text for s in fit_done.segments)


def test_a_worker_with_an_empty_disk_restores_from_the_store_and_calls_no_engine(stored_dub):
    from dubbing.pipeline.runner import run_dub

    root = stored_dub["root"]
    tts = _counting_tts()

    class NoTranslator:
        name = "apertium"  # the same engine name: keys match, nothing may be asked of it

        def __init__(self, real):
            self.real = real

        def supported_pairs(self):
            return self.real.supported_pairs()

        def translate(self, *args, **kwargs):
            raise AssertionError("translated again")

    engines = local_engines(tts=tts)
    engines.translator = NoTranslator(engines.translator)
    recorder = _Recorder()
    result = run_dub(SPEECH_EN, stored_dub["options"], workspace=root / "ws-empty", engines=engines,
                     store=stored_dub["store"], on_event=recorder, threads=2)
    cached = {e.stage for e in recorder.of("done") if e.cached}
    assert cached == {"probe", "extract", "separate", "transcribe", "segment", "translate", "synthesize", "fit",
                      "mix"}
    assert tts.texts == []
    assert [s.target_text for s in result.segments] == [s.target_text for s in stored_dub["result"].segments]
    assert result.files["dubbed_video"].stat().st_size > 0


def test_an_edited_line_changes_only_what_depends_on_it(stored_dub, tmp_path):
    from dubbing.pipeline.runner import run_dub

    root = stored_dub["root"]
    first = stored_dub["result"].segments
    edited = {first[1].id: "Mañana hará sol."}
    tts = _counting_tts()
    recorder = _Recorder()
    result = run_dub(SPEECH_EN, stored_dub["options"], workspace=root / "ws-edit", engines=local_engines(tts=tts),
                     store=stored_dub["store"], on_event=recorder, threads=2, target_overrides=edited)
    # Only the edited line was spoken again; the others' clips came from the store.
    assert tts.texts == ["Mañana hará sol."]
    cached = {e.stage for e in recorder.of("done") if e.cached}
    assert {"probe", "extract", "transcribe", "segment"} <= cached
    assert not {"translate", "synthesize", "fit", "mix", "mux"} & cached
    assert result.segments[1].target_text == "Mañana hará sol."
    assert [s.target_text for i, s in enumerate(result.segments) if i != 1] == [
        s.target_text for i, s in enumerate(first) if i != 1]
    srt = result.files["subtitles_target_srt"].read_text()
    assert "Mañana hará sol." in srt


def test_two_target_languages_in_one_workspace_keep_their_own_translations(tmp_path):
    """Checkpoints are named by the line and a key of the pair, so es and fr never read each other's."""
    from dubbing.engines.base import Segment
    from dubbing.pipeline.translate import translate_segments
    from dubbing.pipeline.workspace import Workspace

    class TaggingTranslator:  # an engine that says which language it was asked for
        name = "tagging"
        calls = 0

        def translate(self, segments, source, target, context):
            TaggingTranslator.calls += 1
            return {s.id: f"[{target}] {s.text}" for s in segments}

    translator = TaggingTranslator()
    segments = [Segment(id="s0001", start=0, end=2, text="Good morning."),
                Segment(id="s0002", start=2, end=4, text="It is raining.")]
    ws = Workspace(tmp_path / "ws")
    folder = ws.root / "translate"
    spanish = translate_segments(translator, segments, source="en", target="es", glossary={}, folder=folder, ws=ws)
    french = translate_segments(translator, segments, source="en", target="fr", glossary={}, folder=folder, ws=ws)
    again = translate_segments(translator, segments, source="en", target="es", glossary={}, folder=folder, ws=ws)
    assert spanish["s0001"] == "[es] Good morning." and french["s0001"] == "[fr] Good morning."
    assert again == spanish and TaggingTranslator.calls == 2  # the third run asked nothing
    assert len(list(folder.glob("s0001-*.json"))) == 2


@pytest.mark.parametrize("name, code", [("truncated.mp4", "bad_media"), ("not_a_video.mp4", "bad_media")])
def test_bad_media_fails_at_probe_and_is_not_retryable(tmp_path, name, code):
    from dubbing.pipeline.errors import PipelineError
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.runner import run_dub

    source = MEDIA / name
    if not source.exists():
        source = tmp_path / name
        source.write_bytes(b"this is not media at all" * 100)
    recorder = _Recorder()
    with pytest.raises(PipelineError) as failed:
        run_dub(source, DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, engines="local"), workspace=tmp_path / "ws",
                engines=local_engines(), on_event=recorder)
    assert failed.value.stage == "probe" and failed.value.code == code and not failed.value.retryable
    assert [(e.stage, e.code, e.retryable) for e in recorder.of("failed")] == [("probe", code, False)]


def test_a_silent_clip_fails_with_no_speech_and_is_not_retryable(tmp_path):
    from dubbing.pipeline.errors import ErrorCode, PipelineError
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.runner import run_dub

    silent = tmp_path / "silent.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=160x120:d=4", "-f", "lavfi",
                    "-i", "anoisesrc=a=0.0005:d=4", "-shortest", "-c:v", "libx264", "-c:a", "aac", str(silent)],
                   check=True)
    with pytest.raises(PipelineError) as failed:
        run_dub(silent, DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, source_language="en", engines="local"),
                workspace=tmp_path / "ws", engines=local_engines())
    assert failed.value.code == ErrorCode.NO_SPEECH and not failed.value.retryable


def test_an_unsupported_pair_is_refused_before_any_work(tmp_path):
    from dubbing.pipeline.errors import ErrorCode, PipelineError
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.runner import run_dub

    with pytest.raises(PipelineError) as refused:
        run_dub(SPEECH_EN, DubOptions(target_language="ja", source_language="en", engines="local"),
                workspace=tmp_path / "ws", engines=local_engines())
    assert refused.value.code == ErrorCode.UNSUPPORTED_PAIR and not refused.value.retryable
    assert not (tmp_path / "ws").exists()


def test_a_provider_that_keeps_failing_gives_a_retryable_error(tmp_path, openai_server):
    from dubbing.engines.openai_client import OpenAIClient
    from dubbing.engines.translate.openai import OpenAITranslator
    from dubbing.pipeline.errors import ErrorCode, PipelineError
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.runner import run_dub

    client = OpenAIClient(base_url=openai_server.base_url, api_key="test", concurrency=1, max_attempts=2,
                          sleep=lambda seconds: None)
    translator = OpenAITranslator(base_url=openai_server.base_url, api_key="test", model="gpt-4o-mini",
                                  concurrency=1, client=client)
    openai_server.fail_next(100, status=503, endpoint="chat")
    with pytest.raises(PipelineError) as failed:
        run_dub(SPEECH_EN, DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, source_language="en", engines="local"),
                workspace=tmp_path / "ws", engines=local_engines(translator=translator))
    assert failed.value.stage == "translate"
    assert failed.value.code == ErrorCode.ENGINE_SERVER_ERROR and failed.value.retryable


def test_cancelling_stops_a_running_subprocess_at_once():
    from videos.media.process import ProcessCancelled, run_process

    before = running_children()
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(ProcessCancelled):
        run_process(["sleep", "30"], cancel=stop.is_set)
    # the sleep was killed and reaped, not left running (or waited out: it would still be asleep)
    assert _left_running(before) == {}


def test_cancelling_during_extract_stops_ffmpeg_and_names_the_stage(tmp_path):
    """A long input: extract is still decoding when the cancel comes, and the decode stops."""
    from dubbing.pipeline.errors import PipelineCancelled
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.runner import run_dub

    long_input = tmp_path / "long.mkv"
    # 40 minutes of synthetic audio (cheap to make as FLAC in Matroska; decoding it takes seconds).
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=220:d=2400:r=48000", "-c:a", "flac",
                    str(long_input)], check=True)
    started = {}

    def on_event(event):
        if event.kind == "started":
            started[event.stage] = time.monotonic()

    def should_cancel():
        return "extract" in started and time.monotonic() - started["extract"] > 0.3

    before = running_children()
    with pytest.raises(PipelineCancelled) as cancelled:
        run_dub(long_input, DubOptions(target_language="es", voice=FAST_SPANISH_VOICE, source_language="en", engines="local"),
                workspace=tmp_path / "ws", engines=local_engines(), on_event=on_event, should_cancel=should_cancel)
    assert cancelled.value.stage == "extract"
    # ffmpeg's decode was stopped, not left running or waited out, and extract published nothing
    assert _left_running(before) == {}
    assert not (tmp_path / "ws" / "audio" / "mix.wav").exists()


def test_the_command_line_and_the_jobs_share_one_runner(english_dub):
    """run_pipeline (manage.py dub) is run_dub plus a folder of outputs named for people."""
    report = english_dub["report"]
    assert set(report["stages"]) == {"probe", "extract", "separate", "transcribe", "segment", "translate",
                                     "synthesize", "fit", "mix", "mux", "publish"}
    assert Path(report["outputs"]["video"]).name == "speech_en.es.mp4"


def test_the_command_lines_report_names_its_outputs_relative_to_its_folder(english_dub):
    """report.json travels with the outputs (to another machine, a bug report): it names them
    relative to its folder, the input by its name and the work files relative to the work folder."""
    import json

    saved = json.loads((english_dub["out"] / "report.json").read_text())
    assert saved["outputs"]["video"] == "speech_en.es.mp4"
    assert all((english_dub["out"] / name).is_file() for name in saved["outputs"].values())
    assert saved["input"] == "speech_en.mp4" and "workspace" not in saved
    for line in saved["segments"]:
        assert (english_dub["workspace"] / line["fitted_clip"]).is_file(), line
    text = json.dumps(saved)
    assert str(english_dub["out"].parent) not in text and str(SPEECH_EN.parent) not in text


def test_changing_only_the_background_reruns_mix_onward(english_dub, tmp_path):
    from dubbing.pipeline.runner import run_dub

    workspace = tmp_path / "ws"
    shutil.copytree(english_dub["workspace"], workspace)
    recorder = _Recorder()
    run_dub(SPEECH_EN, replace(english_dub["options"], background="keep"), workspace=workspace,
            engines=local_engines(), on_event=recorder)
    ran = [e.stage for e in recorder.of("done") if not e.cached]
    assert ran == ["mix", "mux", "publish"]


def test_cancelling_during_recognition_stops_the_recognizer_processes(english_dub, tmp_path):
    from dubbing.pipeline.errors import PipelineCancelled
    from dubbing.pipeline.runner import run_dub

    workspace = tmp_path / "ws"
    shutil.copytree(english_dub["workspace"], workspace)
    options = replace(english_dub["options"], source_language="en")  # transcribe runs again, extract not
    started = {}

    def on_event(event):
        if event.kind == "started":
            started[event.stage] = time.monotonic()

    def should_cancel():
        return "transcribe" in started and time.monotonic() - started["transcribe"] > 0.5

    transcript = workspace / "transcript.json"  # the first run's, copied
    written = transcript.stat().st_mtime_ns
    before = running_children()
    with pytest.raises(PipelineCancelled) as cancelled:
        run_dub(SPEECH_EN, options, workspace=workspace, engines=local_engines(), on_event=on_event,
                should_cancel=should_cancel, threads=2)
    assert cancelled.value.stage == "transcribe"
    # The recognizer's processes were stopped with the stage, not left running or waited out: the
    # stage wrote no transcript of its own
    assert _left_running(before) == {}
    assert transcript.stat().st_mtime_ns == written


def test_jobs_sharing_a_source_analysis_transcribe_once(tmp_path):
    """Two target languages of one video: the second job's source stages come from the shared
    analysis (no recognition), its own stages from its own store."""
    from dubbing.pipeline.options import DubOptions
    from dubbing.pipeline.runner import run_dub
    from dubbing.pipeline.store import FolderStore

    class CountingASR:  # the real recognizer, counted
        def __init__(self, real):
            self.real, self.name, self.calls = real, real.name, 0

        def languages(self):
            return self.real.languages()

        def transcribe(self, *args, **kwargs):
            self.calls += 1
            return self.real.transcribe(*args, **kwargs)

    class TaggingTranslator:
        name = "tagging"

        def supported_pairs(self):
            return {("en", "es"), ("en", "fr")}

        def translate(self, segments, source, target, context):
            return {s.id: f"{target} {s.text}" for s in segments}

    engines = local_engines(translator=TaggingTranslator())
    engines.asr = CountingASR(engines.asr)
    shared = FolderStore(tmp_path / "analysis")
    results, locks = {}, []

    class Lock:
        def __enter__(self):
            locks.append("held")

        def __exit__(self, *exc):
            locks.append("released")

    for target in ("es", "fr"):
        recorder = _Recorder()
        results[target] = run_dub(
            SPEECH_EN, DubOptions(target_language=target, source_language="en", engines="local",
                                  voice=FAST_SPANISH_VOICE if target == "es" else None),
            workspace=tmp_path / f"ws-{target}", engines=engines, store=FolderStore(tmp_path / f"job-{target}"),
            source_store=shared, source_lock=Lock, on_event=recorder, threads=2)
        results[target + "-cached"] = {e.stage for e in recorder.of("done") if e.cached}
    assert engines.asr.calls == 1
    assert results["fr-cached"] == {"probe", "extract", "separate", "transcribe", "segment"}
    assert [s.source_text for s in results["es"].segments] == [s.source_text for s in results["fr"].segments]
    assert all(s.target_text.startswith("fr ") for s in results["fr"].segments)
    assert locks == ["held", "released"] * 2
    # The analysis lives in the shared store, the translations in each job's own.
    assert (tmp_path / "analysis" / "transcript.json").exists()
    assert not (tmp_path / "analysis" / "translations.json").exists()
    assert (tmp_path / "job-fr" / "translations.json").exists()
