"""Supplied-subtitles benchmark (issue 25 item 1): the worst case the caps allow, through a real
Dramatiq worker, the real pipeline and PostgreSQL.

The caps (dubbing/pipeline/subtitles.py): at most MAX_CUES_PER_MINUTE (40) cues a minute of media
(at least MIN_CUES_ALLOWED, 10), none shorter than MIN_CUE_SECONDS (0.25 s). The maximal job is
the cap's number of cues, each as short as allowed and each a different sentence, supplied as
source subtitles into Spanish (so every line is translated, spoken, fitted, mixed and written),
on the fixture video (speech_en.mp4, 18.7 s) and on a generated clip of --minutes with music.
For each it prints the worker's wall seconds and its stages, the largest SQL statement the run
sent (bytes, with its parameters) and the slowest, and the peak memory (PSS) of this process tree,
which runs the worker. Then, on the long clip, --cancels jobs cancelled once their fit stage has
fitted its first line: how long each cancel took to take effect. And the probe's request, 5,000
cues of 0.3 s on the fixture, timed to its refusal.

    .venv/bin/python bench/cues.py                          # 10 minutes, 3 cancels (a few minutes)
    .venv/bin/python bench/cues.py --minutes 3 --cancels 5
    .venv/bin/python bench/cues.py --voice jm_kumo          # with a Kokoro voice instead of the default

A fresh PostgreSQL database on --server (default postgres@127.0.0.1:5432) is created and dropped;
the data folder is temporary. The heartbeat and the cancel checks run at the deployment's defaults.
Figures are printed, never asserted; the machine is shared: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Statements:
    """Every SQL statement any connection of this process sends (the worker's threads open their
    own): the largest by size (the SQL and its parameters' text) and the slowest."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.largest = (0, 0.0, "")  # bytes, seconds, the start of the SQL
        self.slowest = (0.0, 0, "")  # seconds, bytes, the start of the SQL

    def reset(self) -> None:
        with self.lock:
            self.count, self.largest, self.slowest = 0, (0, 0.0, ""), (0.0, 0, "")

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds = time.perf_counter() - began
            size = len(sql.encode()) + sum(len(str(p).encode()) for p in _flat(params))
            with self.lock:
                self.count += 1
                if size > self.largest[0]:
                    self.largest = (size, seconds, sql[:60])
                if seconds > self.slowest[0]:
                    self.slowest = (seconds, size, sql[:60])


def _flat(params):
    if params is None:
        return []
    if isinstance(params, dict):
        params = list(params.values())
    out = []
    for p in params:
        out.extend(_flat(p) if isinstance(p, (list, tuple)) else [p])
    return out


def _database(server: str) -> tuple[str, str]:
    import psycopg

    name = f"onevoice_bench_cues_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(server)
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, parts._replace(path=f"/{name}").geturl()


def _drop(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(urlsplit(server)._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _upload(owner, path: Path):
    from django.core.files import File

    from videos.services import video_create_from_upload

    with open(path, "rb") as f:
        return video_create_from_upload(owner=owner, file=File(f, name=path.name))


def _create(owner, video, voice: str | None):
    from dubbing import services
    from dubbing.pipeline.subtitles import MIN_CUE_SECONDS, max_cues
    from testing.dense_subtitles import dense_srt

    cues = max_cues(video.duration)
    srt = dense_srt(video.duration, "en", count=cues, cue_seconds=MIN_CUE_SECONDS)
    job = services.dubbing_job_create(owner=owner, video_id=video.id, target_language="es", source_language="en",
                                      background="duck", voice=voice, source_subtitles=srt)
    return job, cues, len(srt.encode())


def maximal_job(owner, video, voice, statements) -> dict:
    from bench.pipeline import PeakMemory
    from dubbing.models import JobStatus, JobStep
    from testing.waiting import wait_for_row

    statements.reset()
    load = os.getloadavg()[0]
    with PeakMemory() as memory:
        began = time.monotonic()
        job, cues, body = _create(owner, video, voice)
        job = wait_for_row(job, lambda j: j.status in (JobStatus.SUCCEEDED, JobStatus.FAILED), timeout=7200,
                           interval=0.2)
        wall = time.monotonic() - began
    if job.status != JobStatus.SUCCEEDED:
        raise SystemExit(f"the job failed: {job.error_code}: {job.error_message}")
    stages = dict(JobStep.objects.filter(job=job).order_by("position").values_list("name", "seconds"))
    return {"cues": cues, "body": body, "wall": wall, "media": video.duration, "stages": stages,
            "pss_mb": memory.peak / 2**20, "statements": statements.count, "largest": statements.largest,
            "slowest": statements.slowest, "load": (load, os.getloadavg()[0]), "engines": job.engines}


def cancel_in_fit(owner, video, voice) -> tuple[float, int, int]:
    """(seconds from the cancel to the job's end, lines fitted then, lines)."""
    from django.conf import settings

    from dubbing import services
    from dubbing.models import JobStatus
    from testing.waiting import wait_for_row

    job, cues, _ = _create(owner, video, voice)
    fitted = Path(settings.DUBBING_WORKSPACE_DIR) / "jobs" / str(job.id) / "es" / "fit"
    final = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    job = wait_for_row(job, lambda j: (j.stage == "fit" and fitted.is_dir() and any(fitted.glob("*.wav")))
                       or j.status in final, timeout=3600, interval=0.05)
    if job.status != JobStatus.RUNNING:
        raise SystemExit(f"the job ended before its fit: {job.status} {job.error_message}")
    services.dubbing_job_cancel(job=job)
    asked = time.monotonic()
    job = wait_for_row(job, lambda j: j.status in final, timeout=600, interval=0.02)
    latency = time.monotonic() - asked
    if job.status != JobStatus.CANCELLED:
        raise SystemExit(f"the cancelled job ended {job.status}")
    return latency, len(list(fitted.glob("*.wav"))), cues


def probe_request(owner, video) -> tuple[str, float]:
    """The probe's 5,000 cues of 0.3 s on the fixture: the refusal's code and milliseconds."""
    from dubbing import services
    from dubbing.errors import TooManySubtitleCues
    from testing.dense_subtitles import dense_srt

    srt = dense_srt(1500.0, "en", count=5000, cue_seconds=0.3)
    began = time.perf_counter()
    try:
        services.dubbing_job_create(owner=owner, video_id=video.id, target_language="es", source_language="en",
                                    background="duck", source_subtitles=srt)
    except TooManySubtitleCues as exc:
        return f"{exc.code} ({len(srt.encode()) // 1024} KB body)", (time.perf_counter() - began) * 1000
    return "accepted (!)", (time.perf_counter() - began) * 1000


def report(name: str, r: dict) -> None:
    print(f"\n{name}: {r['media']:.1f} s of media, {r['cues']} cues of 0.25 s ({r['body'] / 1024:.0f} KB of SRT), "
          f"engines {r['engines']}")
    print(f"  worker wall {r['wall']:.1f} s ({r['wall'] / r['media']:.2f}x real time); stages: "
          + ", ".join(f"{k} {v:.1f}s" for k, v in r["stages"].items() if v))
    size, seconds, sql = r["largest"]
    print(f"  SQL: {r['statements']} statements; largest {size / 1024:.1f} KB in {seconds * 1000:.0f} ms ({sql!r}...)")
    seconds, size, sql = r["slowest"]
    print(f"       slowest {seconds * 1000:.0f} ms ({size / 1024:.1f} KB: {sql!r}...)")
    print(f"  peak memory {r['pss_mb']:.0f} MB PSS (this process tree: the worker and its ffmpeg/espeak-ng)  "
          f"load {r['load'][0]:.1f} -> {r['load'][1]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="the generated clip's length")
    parser.add_argument("--cancels", type=int, default=3, help="jobs cancelled during fit, on the generated clip")
    parser.add_argument("--voice", default=None, help="a voice /languages lists for Spanish (default: the default)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="onevoice-bench-cues-"))
    name, url = _database(args.server)
    os.environ.update({"DATABASE_URL": url, "ONEVOICE_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "onevoice.settings",
                       "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "bench-" + uuid.uuid4().hex * 2,
                       "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "LOG_LEVEL": "ERROR", "EMAIL_URL": "dummymail://",
                       "DUBBING_ENGINES": "local"})
    for key in ("REDIS_URL", "RABBITMQ_URL"):  # the in-process broker: the worker is this process
        os.environ.pop(key, None)
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        _drop(args.server, name)
        shutil.rmtree(data, ignore_errors=True)


def run(args) -> None:
    import django

    django.setup()
    import dramatiq
    from django.core.management import call_command
    from django.db.backends.signals import connection_created
    from dramatiq import Worker

    import dubbing.tasks  # noqa: F401  (declares the queue)
    from accounts.tests.factories import UserFactory
    from billing.tests.factories import give_credits
    from testing.dense_subtitles import music_video
    from testing.media import FIXTURE_MEDIA

    call_command("migrate", verbosity=0)
    statements = Statements()
    connection_created.connect(lambda sender, connection, **kw: connection.execute_wrappers.append(statements),
                               weak=False)
    owner = UserFactory(email="bench@example.com", name="Bench")
    give_credits(owner, 10_000)
    print(f"cores: {os.cpu_count()}  load average {os.getloadavg()[0]:.1f} (the machine is shared)")
    clip = music_video(Path(os.environ["ONEVOICE_DATA_DIR"]) / "long.mp4", args.minutes * 60)
    fixture, long = _upload(owner, FIXTURE_MEDIA / "speech_en.mp4"), _upload(owner, clip)

    code, ms = probe_request(owner, fixture)
    print(f"the probe's request (5,000 cues of 0.3 s on speech_en.mp4): refused {code} in {ms:.0f} ms, "
          f"nothing reserved")
    worker = Worker(dramatiq.get_broker(), worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        report("speech_en.mp4 (the fixture)", maximal_job(owner, fixture, args.voice, statements))
        report(f"{args.minutes:g}-minute clip with music", maximal_job(owner, long, args.voice, statements))
        latencies = []
        for _ in range(args.cancels):
            latency, done, lines = cancel_in_fit(owner, long, args.voice)
            latencies.append(latency)
            print(f"  cancel during fit: took effect in {latency:.2f} s ({done} of {lines} lines fitted)")
        if latencies:
            print(f"  cancel latency over {len(latencies)}: max {max(latencies):.2f} s, "
                  f"mean {sum(latencies) / len(latencies):.2f} s (issue 25's goal: within 5 s)")
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
