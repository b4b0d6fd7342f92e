"""A dub killed with SIGKILL in the middle of remote synthesis resumes without paying twice for a
finished line.

`manage.py dub --engines openai` runs as a real process against the loopback OpenAI server. It
is killed once at least one clip is on disk and others are not. A clip on disk is complete (each
is renamed into place only when whole), so the rule checked is exact: no line whose clip existed
at the kill is requested again; only lines in flight at the kill (at most OPENAI_CONCURRENCY)
may have been synthesized by both runs; each unfinished line is synthesized once by the second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dubbing.tests.conftest import MEDIA
from testing.openai_server import OpenAIServer
from testing.waiting import wait_until

pytestmark = [pytest.mark.media, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
CONCURRENCY = 2


def _dub_command(source: Path, workspace: Path, out: Path) -> list[str]:
    return [sys.executable, "manage.py", "dub", str(source), "--to", "es", "--engines", "openai",
            "--background", "drop", "--workspace", str(workspace), "--out", str(out)]


def _environment(server: OpenAIServer, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="test",
               OPENAI_CONCURRENCY=str(CONCURRENCY), ONEVOICE_DATA_DIR=str(data_dir),
               DUBBING_ENGINES="openai")
    for name in ("DUBBING_ASR_ENGINE", "DUBBING_TRANSLATE_ENGINE", "DUBBING_TTS_ENGINE"):
        env.pop(name, None)
    return env


def _finished_clips(synth_dir: Path) -> set[str]:
    """Segment ids with a clip in place (temporary files start with a dot)."""
    return {p.name.split("-", 1)[0] for p in synth_dir.glob("s*.wav")}


def _lines_asked(texts: list[str], translations: dict[str, str], skip: set[str] = frozenset()):
    """The line ids behind the texts the server spoke, in order. Lines sharing a text (the clip
    is said twice) are handed out in id order, skipping lines that already had their clip."""
    queues: dict[str, list[str]] = {}
    for sid in sorted(translations):
        if sid not in skip:
            queues.setdefault(translations[sid], []).append(sid)
    return [queues[t].pop(0) for t in texts if queues.get(t)]


def test_a_killed_dub_resumes_without_synthesizing_a_finished_line_again(tmp_path):
    workspace, out, synth_dir = tmp_path / "ws", tmp_path / "out", tmp_path / "ws" / "synth"
    # The English clip twice over (36 s, eight lines): at the kill some lines are finished,
    # some in flight and some not started.
    source = tmp_path / "speech_twice.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "1", "-i",
                    str(MEDIA / "speech_en_audio_only.m4a"), "-c", "copy", str(source)], check=True)
    with OpenAIServer(latency=0.8) as server:
        env = _environment(server, tmp_path / "data")

        # Given a dub killed while its lines are being synthesized
        first = subprocess.Popen(_dub_command(source, workspace, out), cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        segments = workspace / "segments.json"

        def killed_mid_synthesis() -> bool:
            if first.poll() is not None:
                return True  # it ended on its own: the return code below says so
            total = len(json.loads(segments.read_text())["segments"]) if segments.exists() else 0
            if total and 0 < len(_finished_clips(synth_dir) if synth_dir.exists() else ()) < total:
                os.kill(first.pid, signal.SIGKILL)
                return True
            return False

        try:
            wait_until(killed_mid_synthesis, timeout=240, interval=0.01, what="the first run to reach synthesis")
        finally:
            if first.poll() is None:
                first.kill()
            stderr = first.communicate()[1].decode(errors="replace")
        assert first.returncode == -signal.SIGKILL, f"the first run was not killed mid-synthesis:\n{stderr}"
        server.wait_until_idle()
        total = len(json.loads(segments.read_text())["segments"])
        finished_at_kill = _finished_clips(synth_dir)
        translations = json.loads((workspace / "translations.json").read_text())
        # The same sentences twice: a line is known by its text and its turn among equal texts.
        first_run = _lines_asked(server.speech_texts, translations)
        first_counts = dict(server.counts)
        first_chat_tasks = len(server.chat_tasks)
        assert 0 < len(finished_at_kill) < total

        # When the same command runs again
        second = subprocess.run(_dub_command(source, workspace, out), cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr[-2000:]

    # Then no line whose clip was on disk at the kill was synthesized again,
    second_run = _lines_asked(server.speech_texts[len(first_run):], translations,
                              skip=finished_at_kill)
    assert not set(second_run) & finished_at_kill
    # each unfinished line was synthesized exactly once by the second run,
    assert sorted(second_run) == sorted(set(translations) - finished_at_kill)
    # only lines in flight at the kill were paid for twice,
    twice = set(first_run) & set(second_run)
    assert len(twice) <= CONCURRENCY
    assert not twice & finished_at_kill
    # and recognition and translation, finished before the kill, were not asked again
    # (the second run's chat requests, if any, only shorten lines that did not fit).
    assert server.counts["transcriptions"] == first_counts["transcriptions"]
    assert all(task["task"] == "shorten" for task in server.chat_tasks[first_chat_tasks:])
    assert _finished_clips(synth_dir) >= set(translations)
    report = json.loads((out / "report.json").read_text())
    assert len(report["segments"]) == total
    print(f"{total} lines; {len(finished_at_kill)} finished at the kill; first run asked for "
          f"{len(first_run)}, second for {len(second_run)}; paid twice: {sorted(twice)}")
