"""Jobs API benchmark: job-detail polling beside a bare Django JSON view, and the queue.

    .venv/bin/python bench/api.py                      # polling figures (about a minute)
    .venv/bin/python bench/api.py --seconds 20 --connections 16
    .venv/bin/python bench/api.py --queue              # also the queue figures (needs Redis; minutes)
    .venv/bin/python bench/api.py --queue --skip-polling --jobs 12 --split-cpus
    .venv/bin/python bench/api.py --broker sqs --skip-polling --skip-throughput   # pickup: Redis beside SQS

Polling: creates a fresh PostgreSQL database (DATABASE_URL's server, default
postgres@127.0.0.1:5432), migrates it, writes a user, a video and two job rows with snapshots
(one running, one finished with its nine artifacts, so its answer signs nine links), starts
gunicorn with 2 workers (sync, like the Dockerfile) over `bench/api_urls.py` (the product's URLs
plus a bare Django JSON view), and drives it from Python client processes (threads, http.client,
keep-alive asked for; gunicorn's sync workers close after each answer, so the client
reconnects). For each URL it prints requests per second and p50/p99 latency, and the job-detail
figures as a ratio of the bare view's (target >= 0.6). The bare view and the job detail run in
alternating rounds in the same run. The client shares the machine's cores with the server.

Queue (--queue, Redis at REDIS_URL or redis://127.0.0.1:6379/0 under its own Dramatiq
namespace): starts `manage.py rundramatiq` on the same database, then
1. the time from a job's creation (POST-equivalent: services.dubbing_job_create, message sent on
   commit) to its first stage starting on the idle worker: p50 and p95 over --latency-jobs jobs,
   each cancelled once it has started; with --broker sqs, then the same with SQS as the broker
   (moto's server on loopback, `BROKER_URL=sqs://...`), in the same run;
2. --jobs short jobs (distinct few-second cuts of speech_en.mp4, local engines) through one
   worker process, then through two: wall time and the throughput ratio.

Figures are printed, not asserted. The database and the data folder are removed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
TARGET_RATIO = 0.6
PASSWORD = "bench mark 42 lighthouse"


# --- The server side ------------------------------------------------------------------------------


def wsgi_app():
    """gunicorn 'bench.api:wsgi_app()': the product's WSGI app over bench/api_urls.py."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    from django.conf import settings

    settings.ROOT_URLCONF = "bench.api_urls"  # read per request by the resolver, after set-up
    if os.environ.get("BENCH_NO_HEALTH_CHECKS"):
        # --no-health-checks: what CONN_HEALTH_CHECKS (a SELECT 1 before each request's first
        # query) costs. Read when the connection opens, which has not happened yet.
        settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    return application


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(database_url: str, data_dir: Path, *, redis_url: str = "", namespace: str = "") -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "600",  # persistent connections, as production would run
        "DJANGO_SETTINGS_MODULE": "onevoice.settings",
        "DJANGO_DEBUG": "0",  # DEBUG records every query: measure production settings
        "DJANGO_SECRET_KEY": "bench-" + uuid.uuid4().hex * 2,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "ONEVOICE_DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        # The production throttles stay on (600/min per user): the pollers are many users
        # (--pollers), each well under it, as real clients polling once a second are.
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    env.pop("RABBITMQ_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["DRAMATIQ_NAMESPACE"] = namespace
        env["CACHE_KEY_PREFIX"] = namespace
    return env


def create_database(server_url: str) -> tuple[str, str]:
    import psycopg

    name = f"onevoice_bench_api_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(server_url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, parts._replace(path=f"/{name}").geturl()


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    admin = urlsplit(server_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_django(env: dict, code: str, *, timeout: float = 600, log: Path | None = None) -> str:
    """Run `code` in a Django process with `env`; returns what it printed last (JSON)."""
    script = "import django; django.setup()\n" + code
    done = subprocess.run([str(PYTHON), "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        tail = log.read_text()[-3000:] if log and log.exists() else ""
        raise SystemExit(f"failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{tail}")
    return done.stdout.strip().splitlines()[-1]


SETUP_ROWS = r'''
import json, shutil, uuid
from pathlib import Path
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken
from accounts.models import User
from billing.services.ledger import credits_grant
from dubbing.models import Artifact, ArtifactKind, DubbingJob, JobStatus, JobStep, StepStatus
from dubbing.pipeline.options import DubOptions
from dubbing.services import job_snapshot_refresh
from dubbing.storage import artifact_name
from videos.models import Video, VideoStatus
from videos.storage import source_key

FIXTURE = Path(%(fixture)r)
user = User.objects.create_user(email="bench@example.com", password=%(password)r, name="Bench",
                                email_verified_at=timezone.now(), is_staff=True)
credits_grant(user=user, amount=10000, staff=user, reason="bench", idempotency_key="bench:grant")

def video(path, title):
    video_id = uuid.uuid4()
    key = source_key(owner_id=user.pk, video_id=video_id, extension="mp4")
    dest = Path(settings.MEDIA_ROOT) / key
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    import subprocess
    seconds = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                    str(dest)], capture_output=True, text=True, check=True).stdout.strip())
    return Video.objects.create(
        id=video_id, owner=user, title=title, original_filename=path.name, storage_key=key, size=dest.stat().st_size,
        content_type="video/mp4", format="mov,mp4", duration=seconds, width=640, height=360, fps=25,
        video_codec="h264", audio_codec="aac", has_audio=True, has_video=True, status=VideoStatus.READY)

source = video(FIXTURE, "speech_en")
now = timezone.now()

def job(status, stage, progress, steps):
    row = DubbingJob.objects.create(owner=user, video=source, target_language="es", status=status, stage=stage,
                                    progress=progress, options=DubOptions(target_language="es").to_dict(),
                                    cost_credits=1, started_at=now)
    for position, name in enumerate(steps):
        JobStep.objects.create(job=row, attempt=1, name=name, position=position, status=StepStatus.DONE,
                               started_at=now, finished_at=now, seconds=1.0)
    return row

running = job(JobStatus.RUNNING, "synthesize", 57, ["probe", "extract", "transcribe", "segment", "translate"])
JobStep.objects.create(job=running, attempt=1, name="synthesize", position=5, status=StepStatus.RUNNING, started_at=now)
job_snapshot_refresh(running)
finished = job(JobStatus.SUCCEEDED, "publish", 100,
               ["probe", "extract", "transcribe", "segment", "translate", "synthesize", "fit", "mix", "mux", "publish"])
for kind in ArtifactKind.values:
    Artifact.objects.create(job=finished, kind=kind, name=artifact_name(finished, kind, 0, f"speech.{kind}"),
                            filename=f"speech.{kind}", size=1000, content_type="application/octet-stream")
job_snapshot_refresh(finished)

# Pollers: many users, each with a running job of their own, so that each user's throttle
# history stays as small as in production (600 requests/minute per user at most).
pollers = User.objects.bulk_create([
    User(email=f"poller{i}@example.com", password="!", name=f"Poller {i}") for i in range(%(pollers)d)
])
polled = []
for poller in pollers:
    row = DubbingJob(owner=poller, video=source, target_language="es", status=JobStatus.RUNNING, stage="synthesize",
                     progress=57, options=running.options, cost_credits=1, started_at=now)
    polled.append(row)
DubbingJob.objects.bulk_create(polled)
for row in polled:
    row.snapshot = {**running.snapshot, "id": str(row.id)}
DubbingJob.objects.bulk_update(polled, ["snapshot"])
finished_pollers = []
for poller in pollers:
    row = DubbingJob(owner=poller, video=source, target_language="es", status=JobStatus.SUCCEEDED, stage="publish",
                     progress=100, options=running.options, cost_credits=1, started_at=now)
    finished_pollers.append(row)
DubbingJob.objects.bulk_create(finished_pollers)
for row in finished_pollers:
    row.snapshot = {**finished.snapshot, "id": str(row.id)}
DubbingJob.objects.bulk_update(finished_pollers, ["snapshot"])
print(json.dumps({
    "token": str(AccessToken.for_user(user)), "running": str(running.id), "finished": str(finished.id),
    "video": str(source.id),
    "running_polls": [[str(AccessToken.for_user(p)), str(j.id)] for p, j in zip(pollers, polled)],
    "finished_polls": [[str(AccessToken.for_user(p)), str(j.id)] for p, j in zip(pollers, finished_pollers)],
}))
'''


def start_gunicorn(env: dict, port: int, workers: int, worker_class: str, threads: int = 1) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(GUNICORN), "bench.api:wsgi_app()", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", worker_class, "--threads", str(threads), "--timeout", "60", "--log-level", "warning"],
        env=env, cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


# --- The load generator ---------------------------------------------------------------------------


def _client_process(args: tuple) -> tuple[int, int, list[float]]:
    """One client process: `threads` connections, each sending GETs until `seconds` pass, taking
    (path, headers) from `requests` in turn (each thread from its own offset)."""
    port, requests, threads, seconds = args
    results: list[tuple[int, int, list[float]]] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def loop(offset: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ok = errors = 0
        latencies: list[float] = []
        turn = offset
        while True:
            start = time.perf_counter()
            if start >= stop_at:
                break
            path, headers = requests[turn % len(requests)]
            turn += 1
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    ok += 1
                    latencies.append(time.perf_counter() - start)
                else:
                    errors += 1
                if response.getheader("Connection", "").lower() == "close" or response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
        conn.close()
        with lock:
            results.append((ok, errors, latencies))

    base = random.randrange(len(requests))
    pool = [threading.Thread(target=loop, args=(base + i * 7919,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return (
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        [lat for r in results for lat in r[2]],
    )


def load(port: int, requests: list, *, connections: int, processes: int, seconds: float) -> dict:
    per_process = max(1, connections // processes)
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with context.Pool(processes) as pool:
        parts = pool.map(_client_process, [(port, requests, per_process, seconds)] * processes)
    elapsed = time.perf_counter() - started
    ok = sum(p[0] for p in parts)
    errors = sum(p[1] for p in parts)
    latencies = sorted(lat for p in parts for lat in p[2])
    return {"ok": ok, "errors": errors, "seconds": min(elapsed, seconds + 0.5) if ok else seconds,
            "latencies": latencies, "window": seconds}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def _worker_cpu_seconds(master: int) -> float:
    """CPU time (user + system) the gunicorn master's worker processes have used so far."""
    total = 0.0
    children = Path(f"/proc/{master}/task/{master}/children")
    for pid in children.read_text().split() if children.exists() else []:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def polling_benchmark(args, env: dict, rows: dict) -> None:
    port = free_port()
    server = start_gunicorn(env, port, args.workers, args.worker_class, args.threads)
    def polls(pairs):
        return [(f"/api/v1/jobs/{job}", {"Authorization": f"Bearer {token}", "Accept": "application/json"})
                for token, job in pairs]

    targets = [
        ("bare Django JSON view", [("/bench/bare", {"Accept": "application/json"})]),
        ("GET /jobs/{id} (running)", polls(rows["running_polls"])),
        ("GET /jobs/{id} (finished, 9 links)", polls(rows["finished_polls"])),
    ]
    try:
        for label, requests in targets:  # warm-up: imports, connections, caches
            warm = load(port, requests, connections=args.connections, processes=args.clients, seconds=2)
            if warm["errors"] and not warm["ok"]:
                raise SystemExit(f"{label}: every request failed")
        totals = {label: {"ok": 0, "errors": 0, "seconds": 0.0, "latencies": [], "cpu": 0.0} for label, _ in targets}
        for _ in range(args.rounds):  # alternate, so drift hits every URL alike
            for label, requests in targets:
                cpu_before = _worker_cpu_seconds(server.pid)
                part = load(port, requests, connections=args.connections, processes=args.clients,
                            seconds=args.seconds / args.rounds)
                total = totals[label]
                total["cpu"] += _worker_cpu_seconds(server.pid) - cpu_before
                total["ok"] += part["ok"]
                total["errors"] += part["errors"]
                total["seconds"] += part["window"]
                total["latencies"].extend(part["latencies"])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    checks = "off" if args.no_health_checks else "on, as configured"
    threads = f" x {args.threads} threads" if args.threads > 1 else ""
    print(f"\ngunicorn: {args.workers} {args.worker_class} workers{threads} on PostgreSQL (CONN_HEALTH_CHECKS {checks}); client: {args.clients} processes x "
          f"{args.connections // args.clients} connections; {args.seconds:.0f} s per URL in {args.rounds} rounds; "
          f"{os.cpu_count()} CPUs shared by client and server")
    print(f"{'':38} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'ratio':>6} {'web CPU/req':>12}")
    bare_rps = None
    for label, _ in targets:
        total = totals[label]
        latencies = sorted(total["latencies"])
        rps = total["ok"] / total["seconds"]
        bare_rps = bare_rps or rps
        ratio = rps / bare_rps
        cpu = f"{total['cpu'] / total['ok'] * 1e6:9.0f} us" if total["ok"] else "-"
        print(f"{label:38} {rps:8.0f} {percentile(latencies, 0.5) * 1000:8.2f} "
              f"{percentile(latencies, 0.99) * 1000:8.2f} {total['errors']:7d} {ratio:6.2f} {cpu:>12}")
    print(f"target: job detail >= {TARGET_RATIO} of the bare view's requests per second. web CPU/req: user+system "
          "time of the gunicorn workers per answer (PostgreSQL and the client use the same cores on top).")


# --- The queue ------------------------------------------------------------------------------------


QUEUE_CODE = r'''
import json, statistics, sys, time, uuid
from pathlib import Path
from django.conf import settings
from accounts.models import User
from dubbing import services
from dubbing.models import DubbingJob, JobStep, FINAL_STATUSES
from videos.models import Video

user = User.objects.get(email="bench@example.com")
mode = %(mode)r

def first_stage_started(job):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        step = JobStep.objects.filter(job_id=job.id).exclude(started_at=None).order_by("started_at").first()
        if step is not None:
            return step.started_at
        time.sleep(0.005)
    print(json.dumps({"error": "no stage started within 120 s"}))
    sys.exit(1)

def wait_final(job_ids, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = DubbingJob.objects.filter(id__in=job_ids).exclude(status__in=FINAL_STATUSES).count()
        if not left:
            return True
        time.sleep(0.2)
    return False

if mode == "latency":
    video = Video.objects.get(id=%(video)r)
    delays = []
    for _ in range(%(count)d):
        job = services.dubbing_job_create(owner=user, video_id=video.id, target_language="es", background="drop")
        started = first_stage_started(job)
        delays.append((started - job.created_at).total_seconds())
        job.refresh_from_db()
        try:
            services.dubbing_job_cancel(job=job)
        except Exception:
            pass
        if not wait_final([job.id], 120):
            print(json.dumps({"error": "a cancelled job did not stop"}))
            sys.exit(1)
    print(json.dumps({"delays": delays}))
else:
    ids = json.loads(%(videos)r)
    started = time.monotonic()
    jobs = [services.dubbing_job_create(owner=user, video_id=vid, target_language="es", background="drop")
            for vid in ids]
    finished = wait_final([j.id for j in jobs], %(timeout)d)
    elapsed = time.monotonic() - started
    statuses = sorted(DubbingJob.objects.filter(id__in=[j.id for j in jobs]).values_list("status", flat=True))
    print(json.dumps({"seconds": elapsed, "finished": finished, "statuses": statuses}))
'''


def start_workers(env: dict, processes: int, threads: int, log: Path) -> subprocess.Popen:
    with open(log, "a") as out:  # a file, never a pipe nobody reads (a full pipe stalls the worker)
        return subprocess.Popen(
            [str(PYTHON), "manage.py", "rundramatiq", "--processes", str(processes), "--threads", str(threads),
             "--skip-checks"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def stop_workers(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def short_clips(folder: Path, count: int, seconds: float, fixture: Path) -> list[Path]:
    """Distinct cuts of the fixture (different starts), so no job can reuse another's work."""
    clips = []
    for i in range(count):
        path = folder / f"clip_{i:02d}.mp4"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-ss", f"{i * 0.37:.2f}", "-i", str(fixture),
             "-t", f"{seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(path)],
            check=True, timeout=120,
        )
        clips.append(path)
    return clips


def pickup_latency(args, env: dict, rows: dict, log: Path, label: str) -> None:
    """Creation -> first stage started on an idle worker, p50 and p95 over --latency-jobs jobs."""
    workers = start_workers(env, 1, args.worker_threads, log)
    try:
        time.sleep(3)  # let the worker import and connect
        out = json.loads(run_django(env, QUEUE_CODE % {
            "mode": "latency", "video": rows["video"], "count": args.latency_jobs, "videos": "[]", "timeout": 0,
        }, timeout=300 * args.latency_jobs, log=log))
        delays = sorted(out["delays"])
        print(f"{label}: creation -> first stage started on an idle worker: p50 {percentile(delays, 0.5) * 1000:.0f} ms, "
              f"p95 {percentile(delays, 0.95) * 1000:.0f} ms (n={len(delays)})")
    finally:
        stop_workers(workers)


def sqs_env(env: dict, namespace: str) -> tuple[dict, object]:
    """The same set-up with SQS (moto's server on loopback) as the broker instead of Redis."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    sqs = {k: v for k, v in env.items() if k not in ("REDIS_URL", "DRAMATIQ_NAMESPACE")}
    sqs.update(BROKER_URL=f"sqs://127.0.0.1:{port}/{namespace.replace('-', '_')}?region=us-east-1&secure=0",
               AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    return sqs, server


def queue_benchmark(args, env: dict, rows: dict, data_dir: Path, fixture: Path) -> None:
    print(f"\nqueue: Redis {env['REDIS_URL']} (namespace {env['DRAMATIQ_NAMESPACE']}), local engines")
    log = data_dir / "workers.log"
    pickup_latency(args, env, rows, log, "Redis")
    if args.broker == "sqs":
        # Beside Redis in the same run: the same jobs, worker and database, SQS at moto's server.
        sqs, server = sqs_env(env, env["DRAMATIQ_NAMESPACE"])
        try:
            pickup_latency(args, sqs, rows, log, f"SQS (moto at {sqs['BROKER_URL'].split('/')[2]})")
        finally:
            server.stop()
        if args.skip_throughput:
            return
    elif args.skip_throughput:
        return

    clips = short_clips(data_dir, args.jobs * 2, args.clip_seconds, fixture)
    make_videos = SETUP_VIDEOS % {"paths": json.dumps([str(p) for p in clips])}
    video_ids = json.loads(run_django(env, make_videos))
    results = {}
    cores = os.cpu_count() or 1
    for processes, batch in ((1, video_ids[: args.jobs]), (2, video_ids[args.jobs:])):
        worker_env = env
        if args.split_cpus:  # the machine's cores shared out, as two half-size machines would have
            worker_env = {**env, "DUBBING_WORKER_CPUS": str(max(1, cores // processes))}
        workers = start_workers(worker_env, processes, args.worker_threads, log)
        try:
            time.sleep(3)
            out = json.loads(run_django(env, QUEUE_CODE % {
                "mode": "throughput", "video": "", "count": 0, "videos": json.dumps(batch), "timeout": args.timeout,
            }, timeout=args.timeout + 120, log=log))
        finally:
            stop_workers(workers)
        results[processes] = out
        print(f"{len(batch)} jobs of {args.clip_seconds:.0f} s through {processes} worker process(es) "
              f"x {args.worker_threads} threads: {out['seconds']:.1f} s "
              f"({len(batch) / out['seconds'] * 60:.1f} jobs/min; { {s: out['statuses'].count(s) for s in set(out['statuses'])} }"
              f"{'' if out['finished'] else '; TIMED OUT'})")
    if results[1]["finished"] and results[2]["finished"]:
        budget = "cores / processes" if args.split_cpus else env.get("DUBBING_WORKER_CPUS", "all cores")
        print(f"throughput ratio two processes / one: {results[1]['seconds'] / results[2]['seconds']:.2f} "
              f"({cores} CPUs on this one machine; DUBBING_WORKER_CPUS = {budget} per process)")


SETUP_VIDEOS = r'''
import json, shutil, subprocess, uuid
from pathlib import Path
from django.conf import settings
from accounts.models import User
from videos.models import Video, VideoStatus
from videos.storage import source_key

user = User.objects.get(email="bench@example.com")
ids = []
for path in map(Path, json.loads(%(paths)r)):
    video_id = uuid.uuid4()
    key = source_key(owner_id=user.pk, video_id=video_id, extension="mp4")
    dest = Path(settings.MEDIA_ROOT) / key
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    seconds = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                    str(dest)], capture_output=True, text=True, check=True).stdout.strip())
    Video.objects.create(id=video_id, owner=user, title=path.stem, original_filename=path.name, storage_key=key,
                         size=dest.stat().st_size, content_type="video/mp4", format="mov,mp4", duration=seconds,
                         width=640, height=360, fps=25, video_codec="h264", audio_codec="aac", has_audio=True,
                         has_video=True, status=VideoStatus.READY)
    ids.append(str(video_id))
print(json.dumps(ids))
'''


# --- Main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="measuring time per URL (default 12)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds the time is split into")
    parser.add_argument("--connections", type=int, default=8, help="concurrent client connections (default 8)")
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (default sync, as the Dockerfile)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread; default 1)")
    parser.add_argument("--database-server", default=os.environ.get("BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--pollers", type=int, default=500, help="users polling a job each (default 500)")
    parser.add_argument("--no-health-checks", action="store_true",
                        help="turn CONN_HEALTH_CHECKS off in the server, to see what it costs")
    parser.add_argument("--skip-polling", action="store_true")
    parser.add_argument("--queue", action="store_true", help="also measure the queue (needs Redis and the actor)")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--latency-jobs", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=12, help="short jobs per throughput run (default 12)")
    parser.add_argument("--clip-seconds", type=float, default=4.0)
    parser.add_argument("--worker-threads", type=int, default=2, help="Dramatiq threads per worker process")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait for a throughput run")
    parser.add_argument("--broker", choices=("redis", "sqs"), default="redis",
                        help="sqs: also the pickup latency with SQS (moto's server on loopback), beside Redis's")
    parser.add_argument("--skip-throughput", action="store_true", help="with --queue: the pickup latency only")
    parser.add_argument("--split-cpus", action="store_true",
                        help="give each worker process cores/processes CPUs (DUBBING_WORKER_CPUS) instead of all")
    args = parser.parse_args()
    if args.broker == "sqs":
        args.queue = True

    from testing.media import FIXTURE_MEDIA

    fixture = FIXTURE_MEDIA / "speech_en.mp4"
    data_dir = Path(tempfile.mkdtemp(prefix="onevoice-bench-api-"))
    name, database_url = create_database(args.database_server)
    namespace = f"onevoice-bench-{uuid.uuid4().hex[:6]}"
    env = bench_env(database_url, data_dir, redis_url=args.redis if args.queue else "", namespace=namespace)
    try:
        done = subprocess.run([str(PYTHON), "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise SystemExit(f"migrate failed:\n{done.stderr}")
        rows = json.loads(run_django(env, SETUP_ROWS % {"fixture": str(fixture), "password": PASSWORD,
                                                         "pollers": args.pollers}))
        print(f"database {name} on {urlsplit(args.database_server).netloc}, migrated; job rows written")
        if not args.skip_polling:
            polling_env = {**env, "BENCH_NO_HEALTH_CHECKS": "1"} if args.no_health_checks else env
            polling_benchmark(args, polling_env, rows)
        if args.queue:
            queue_benchmark(args, env, rows, data_dir, fixture)
    finally:
        drop_database(args.database_server, name)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
