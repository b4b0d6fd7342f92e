"""Integrations benchmark (issue "The API for integrators"). Figures are printed, never asserted.

1. Webhook latency: the time from a job's success (its finished_at, written in the transaction
   that succeeds it) to its signed webhook's arrival at a local receiver, through the real path:
   dubbing publishes on commit, integrations writes the message, a Dramatiq worker signs and
   POSTs it. p50 / p95 over --webhooks jobs.
2. One request against three: a generated 2-minute clip of distinct English sentences dubbed
   with the local offline engines into three languages with one `target_languages` request
   (one shared source analysis), against three separate single-language requests on three
   uploads of the same file (what it cost before: each transcribes). Wall time from the first
   POST to the last job's end, and recognitions (transcribe steps that really ran).

    .venv/bin/python bench/integrations.py                    # both
    .venv/bin/python bench/integrations.py --skip-dubs        # the webhook latency only

Runs in-process on a temporary SQLite database with the in-process broker and one worker
thread for jobs (so both arms get the same CPU); the machine is shared, note the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is called integrations.py like the app: bench/ must not shadow it on sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))
os.environ["ONEVOICE_DATA_DIR"] = tempfile.mkdtemp(prefix="onevoice-bench-integrations-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onevoice.settings")
os.environ["LOG_LEVEL"] = "ERROR"
os.environ["WEBHOOKS_ALLOW_PRIVATE"] = "1"
os.environ["EMAIL_URL"] = "dummymail://"  # the jobs' emails are not what is measured
os.environ["DUBBING_ENGINES"] = "local"
for _name in ("REDIS_URL", "RABBITMQ_URL", "DATABASE_URL"):
    os.environ.pop(_name, None)

import django  # noqa: E402

django.setup()

from django.core.files import File  # noqa: E402
from django.core.management import call_command  # noqa: E402


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _user(email: str, credits: int):
    from billing.services.ledger import credits_grant
    from accounts.tests.factories import UserFactory

    user = UserFactory(email=email, name="Bench")
    credits_grant(user=user, amount=credits, staff=user, reason="bench", idempotency_key=f"bench-{email}")
    return user


def _upload(user, path: Path):
    from videos.services import video_create_from_upload

    with path.open("rb") as fh:
        return video_create_from_upload(owner=user, file=File(fh, name=path.name))


def webhook_latency(count: int, video_path: Path) -> dict:
    from dubbing import services as dubbing
    from dubbing.models import DubbingJob
    from integrations import services
    from testing.webhook_receiver import WebhookReceiver

    user = _user("hooks@bench.local", count + 10)
    video = _upload(user, video_path)
    latencies = []
    with WebhookReceiver() as receiver:
        services.webhook_endpoint_create(owner=user, url=receiver.url, events=["job.succeeded"])
        for i in range(count):
            job = dubbing.dubbing_job_create(owner=user, video_id=video.id, target_language="es", source_language="en")
            claimed = dubbing.dubbing_job_claim(job_id=job.id, attempt=1, render=0)
            if claimed is None:  # the worker took it (it would dub it): claim another way
                raise SystemExit("the job was claimed by the worker; run with the jobs queue idle")
            dubbing.dubbing_job_succeed(job_id=job.id, claim_token=claimed.claim_token, files=[])
            arrived = receiver.wait_for(i + 1, timeout=30)[-1].arrived
            finished = DubbingJob.objects.get(id=job.id).finished_at.timestamp()
            latencies.append((arrived - finished) * 1000)
    return {"n": count, "p50_ms": _percentile(latencies, 0.5), "p95_ms": _percentile(latencies, 0.95),
            "mean_ms": statistics.mean(latencies)}


def _wait_all(ids, timeout: float = 3600) -> list:
    from dubbing.models import DubbingJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = list(DubbingJob.objects.filter(id__in=ids))
        if all(j.status in ("succeeded", "failed", "cancelled") for j in jobs):
            bad = [(j.target_language, j.error_message) for j in jobs if j.status != "succeeded"]
            if bad:
                raise SystemExit(f"jobs failed: {bad}")
            return jobs
        time.sleep(0.2)
    raise SystemExit("jobs did not finish")


def _recognitions(jobs) -> int:
    from dubbing.models import JobStep

    return JobStep.objects.filter(job__in=jobs, name="transcribe", status="done").count()


def dubs(clip: Path, targets: list[str]) -> dict:
    from dubbing import services as dubbing

    user = _user("dubs@bench.local", 100)
    together_video = _upload(user, clip)
    began = time.monotonic()
    together = dubbing.dubbing_jobs_create(owner=user, video_id=together_video.id, target_languages=targets,
                                           source_language="en", background="drop")
    together = _wait_all([j.id for j in together])
    one_request = time.monotonic() - began

    separate_videos = [_upload(user, clip) for _ in targets]
    began = time.monotonic()
    separate = [dubbing.dubbing_job_create(owner=user, video_id=v.id, target_language=t, source_language="en",
                                           background="drop") for v, t in zip(separate_videos, targets)]
    separate = _wait_all([j.id for j in separate])
    three_requests = time.monotonic() - began
    return {"targets": targets, "one_request_s": one_request, "one_request_recognitions": _recognitions(together),
            "separate_s": three_requests, "separate_recognitions": _recognitions(separate),
            "ratio": one_request / three_requests}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--webhooks", type=int, default=50)
    parser.add_argument("--minutes", type=int, default=2)
    parser.add_argument("--targets", default="es,ca,pt")
    parser.add_argument("--skip-dubs", action="store_true")
    args = parser.parse_args()

    import dramatiq
    from dramatiq import Worker

    import dubbing.tasks  # noqa: F401  (declares the queues)
    import integrations.tasks  # noqa: F401
    from testing.media import FIXTURE_MEDIA

    call_command("migrate", verbosity=0)
    broker = dramatiq.get_broker()
    hooks = Worker(broker, queues={"webhooks", "default"}, worker_threads=2, worker_timeout=50)
    hooks.start()
    try:
        load = os.getloadavg()[0]
        figures = webhook_latency(args.webhooks, FIXTURE_MEDIA / "speech_en.mp4")
        print(f"webhook latency, success -> arrival: n={figures['n']} p50 {figures['p50_ms']:.1f} ms  "
              f"p95 {figures['p95_ms']:.1f} ms  mean {figures['mean_ms']:.1f} ms  (load {load:.1f})")
        if args.skip_dubs:
            return
        import importlib.util

        spec = importlib.util.spec_from_file_location("bench_pipeline", ROOT / "bench" / "pipeline.py")
        bench_pipeline = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench_pipeline)
        clip = bench_pipeline.distinct_speech_clip(args.minutes, music=False)
        jobs = Worker(broker, queues={"dubbing"}, worker_threads=1, worker_timeout=50)
        jobs.start()
        try:
            load = os.getloadavg()[0]
            result = dubs(clip, [t for t in args.targets.split(",") if t])
        finally:
            jobs.stop()
        print(f"{args.minutes}-minute clip into {', '.join(result['targets'])}: one request "
              f"{result['one_request_s']:.1f} s, {result['one_request_recognitions']} recognition(s); "
              f"three requests {result['separate_s']:.1f} s, {result['separate_recognitions']} recognition(s); "
              f"ratio {result['ratio']:.2f} (target < 0.6; load {load:.1f}, {os.cpu_count()} cpus)")
    finally:
        hooks.stop()


if __name__ == "__main__":
    main()
