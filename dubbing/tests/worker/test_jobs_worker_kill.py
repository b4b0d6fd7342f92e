"""A worker killed with SIGKILL in the middle of synthesis loses nothing that was finished.

A real `manage.py rundramatiq` worker on Redis and PostgreSQL dubs a job with the OpenAI engines
against the loopback server. It is killed (the whole process group, as the machine dying would)
once some lines' clips are in the job's storage and others are not. A second worker starts
with an empty workspace folder, standing in for another machine; the reaper re-queues the job
whose heartbeat went stale. The job finishes, is charged once, and the server's request log
shows no line whose clip was in storage at the kill synthesized again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.openai_server import OpenAIServer
from testing.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
CONCURRENCY = 2
# Distinct sentences: a line is known by its text in the server's log.
SENTENCES = [
    "Good morning and welcome to the show.",
    "Today we talk about the weather in the mountains.",
    "The river is high after the long rain.",
    "Farmers are waiting for the sun to come back.",
    "In the city the buses are running late.",
    "Tomorrow will be cold but dry.",
    "Please take a warm coat if you go out.",
    "Thank you for watching and see you next week.",
]


def _speech(tmp_path: Path) -> Path:
    """Eight sentences with pauses between them, as AAC in MP4 (espeak-ng, then ffmpeg)."""
    import numpy as np
    import soundfile as sf

    parts = []
    for i, sentence in enumerate(SENTENCES):
        wav = tmp_path / f"line{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(wav), sentence], check=True)
        data, rate = sf.read(str(wav), dtype="float32")
        parts += [data, np.zeros(int(rate * 1.0), dtype=np.float32)]
    joined = tmp_path / "speech.wav"
    sf.write(str(joined), np.concatenate(parts), rate)
    out = tmp_path / "speech.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(joined), "-c:a", "aac", "-b:a", "96k", str(out)], check=True)
    return out


def _worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.fixture
def redis_broker(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL): runs in .ci/run's second pass")


def test_a_worker_killed_mid_synthesis_resumes_on_another_machine_without_paying_twice(
        transactional_db, redis_broker, broker, settings, tmp_path):
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection

    from billing.models import LedgerEntry
    from billing.services import credits_grant
    from dubbing.models import JobStatus, Segment
    from dubbing.services import dubbing_job_create
    from dubbing.storage import work_prefix
    from accounts.tests.factories import UserFactory
    from videos.services import video_create_from_upload
    from videos.storage import media_storage

    source = _speech(tmp_path)
    with OpenAIServer(latency=0.8) as server:
        engine_settings = {"DUBBING_ENGINES": "openai", "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test",
                           "OPENAI_CONCURRENCY": str(CONCURRENCY)}
        for name, value in engine_settings.items():
            setattr(settings, name, int(value) if name == "OPENAI_CONCURRENCY" else value)
        for name in ("DUBBING_ASR_ENGINE", "DUBBING_TRANSLATE_ENGINE", "DUBBING_TTS_ENGINE"):
            setattr(settings, name, None)

        user = UserFactory(email="killed@example.com", name="Kim")
        credits_grant(user=user, amount=10, staff=user, reason="test", idempotency_key="kill-test-grant")
        with source.open("rb") as fh:
            video = video_create_from_upload(owner=user, file=File(fh, name="speech.m4a"), title="speech")

        db = connection.settings_dict
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("DUBBING_", "OPENAI_"))}
        env.update(engine_settings)
        env.update(
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            REDIS_URL=settings.REDIS_URL,
            DUBBING_HEARTBEAT_SECONDS="0.5",
            DUBBING_HEARTBEAT_STALE_SECONDS="3",
            DUBBING_WORKSPACE_DIR=str(tmp_path / "machine-1"),
            DUBBING_WORKER_CPUS="1",
        )
        first = _worker(env, tmp_path / "worker-1.log")
        try:
            job = dubbing_job_create(owner=user, video_id=video.id, target_language="es", source_language="en",
                                     background="drop")  # OpenAI's engines: its default voice
            synth_dir = Path(media_storage().path(f"{work_prefix(job.id, 'es')}/synth"))

            # Given a worker killed while the job's lines are being synthesized
            def mid_synthesis() -> bool:
                assert first.poll() is None, (tmp_path / "worker-1.log").read_text()[-3000:]
                total = Segment.objects.filter(job=job).count()
                stored = {p.name.split("-", 1)[0] for p in synth_dir.glob("s*.wav")} if synth_dir.exists() else set()
                return bool(total) and 0 < len(stored) < total

            wait_until(mid_synthesis, timeout=240, interval=0.02, what="the job to reach synthesis")
            _kill_group(first)
        finally:
            if first.poll() is None:
                _kill_group(first)
        server.wait_until_idle()
        total = Segment.objects.filter(job=job).count()
        stored_at_kill = {p.name.split("-", 1)[0] for p in synth_dir.glob("s*.wav")}
        assert 0 < len(stored_at_kill) < total
        spoken_before = len(server.speech_texts)
        transcriptions_before = server.counts["transcriptions"]
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING

        # When another machine's worker starts with an empty workspace and the reaper finds the
        # dead worker's heartbeat stale
        env["DUBBING_WORKSPACE_DIR"] = str(tmp_path / "machine-2")
        second = _worker(env, tmp_path / "worker-2.log")
        try:
            settings.DUBBING_HEARTBEAT_STALE_SECONDS = 3.0
            time.sleep(3.5)
            call_command("reap_jobs")

            def finished() -> bool:
                job.refresh_from_db()
                if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
                    return True
                assert second.poll() is None, (tmp_path / "worker-2.log").read_text()[-3000:]
                return False

            wait_until(finished, timeout=300, interval=0.2, what="the second worker to finish the job")
        finally:
            _kill_group(second)

    # Then the job finished,
    assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_message,
                                               (tmp_path / "worker-2.log").read_text()[-3000:])
    segments = list(Segment.objects.filter(job=job).order_by("index"))
    texts = {s.segment_id: s.target_text for s in segments}
    assert len(segments) == total and len(set(texts.values())) == total
    # no line whose clip was stored at the kill was synthesized again,
    second_run = [sid for t in server.speech_texts[spoken_before:] for sid, text in texts.items() if text == t]
    assert not set(second_run) & stored_at_kill
    # every other line was synthesized once by the second worker,
    assert sorted(second_run) == sorted(set(texts) - stored_at_kill)
    # recognition was not asked again,
    assert server.counts["transcriptions"] == transcriptions_before
    # the outputs are stored,
    assert set(job.artifacts.values_list("kind", flat=True)) >= {"dubbed_audio", "subtitles_target_srt"}
    # and the job was charged once, never refunded, with the balance equal to the ledger's sum.
    entries = LedgerEntry.objects.filter(account__user=user)
    assert [e.kind for e in entries.filter(ref__startswith=f"job:{job.id}")] == ["job_debit"]
    user.credit_account.refresh_from_db()
    assert user.credit_account.balance == sum(e.amount for e in entries)
