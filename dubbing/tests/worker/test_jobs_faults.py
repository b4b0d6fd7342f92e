"""Faults through a real Dramatiq worker and the real pipeline: an engine that fails every time
(retried with backoff, then failed and refunded once), a non-retryable failure (no speech:
failed at once, no retry), a cancel while the job runs, and a delivery past its time limit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core import mail
from django.core.files import File
from django.db.models import Sum
from dramatiq.middleware import TimeLimit

from billing.models import CreditAccount, LedgerEntry
from billing.tests.factories import give_credits
from dubbing import services
from dubbing.models import JobStatus, JobStep, StepStatus
from dubbing.queue import QUEUE, job_time_limit_ms
from dubbing.worker.budget import CpuBudget
from testing.media import FIXTURE_MEDIA
from testing.openai_server import OpenAIServer
from testing.voices import FAST_SPANISH_VOICE
from testing.waiting import wait_for_row
from videos.services import video_create_from_upload

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@pytest.fixture
def media_root(media_root, settings, tmp_path) -> Path:
    root = media_root
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    settings.DUBBING_JOB_RETRY_BACKOFF = 0.1
    settings.DUBBING_HEARTBEAT_SECONDS = 0.2
    settings.DUBBING_PROGRESS_INTERVAL = 0.2
    return root


@pytest.fixture
def funded(owner):
    give_credits(owner, 10)
    return owner


def upload(owner, path: Path):
    with open(path, "rb") as f:
        return video_create_from_upload(owner=owner, file=File(f, name=path.name))


def drain(broker, worker) -> None:
    broker.join(QUEUE)
    broker.join("default")
    worker.join()


def entries(job) -> list[str]:
    return list(LedgerEntry.objects.filter(ref__startswith=f"job:{job.id}#").order_by("created_at")
                .values_list("idempotency_key", flat=True))


def assert_balances_match_ledger() -> None:
    for account in CreditAccount.objects.annotate(total=Sum("entries__amount")):
        assert account.balance == (account.total or 0) >= 0


def test_an_engine_that_fails_every_time_fails_the_job_after_its_tries_and_refunds_once(
    funded, media_root, broker, worker, settings
):
    settings.DUBBING_JOB_MAX_TRIES = 3
    with OpenAIServer() as server:
        settings.DUBBING_ENGINES = "openai"
        settings.OPENAI_API_KEY = "test"
        settings.OPENAI_BASE_URL = server.base_url
        # Rate limited forever, with Retry-After 0: the client's own retries (12 per request)
        # are instant, so each job try fails in a moment. (A bare 500 is retried the same way,
        # but with the client's exponential backoff: about 100 s per try.)
        server.rate_limit_next(10_000, retry_after=0.0)
        video = upload(funded, FIXTURE_MEDIA / "speech_en.mp4")
        job = services.dubbing_job_create(owner=funded, video_id=video.id, target_language="es")
        job = wait_for_row(job, lambda j: j.status in FINAL)
        drain(broker, worker)
        transcriptions = server.counts["transcriptions"]

    assert job.status == JobStatus.FAILED and job.error_code == "engine_rate_limited"
    assert job.tries == 3 and "3 tries" in job.error_message
    assert transcriptions >= 3  # every try asked the engine again
    failed = JobStep.objects.filter(job=job, name="transcribe", status=StepStatus.FAILED)
    assert failed.count() == 1  # one row per stage and run, its last failure
    assert entries(job) == [f"job_debit:{job.id}:1", f"job_refund:{job.id}:1"]
    assert job.snapshot["status"] == "failed" and job.snapshot["error"]["code"] == "engine_rate_limited"
    assert [m.to for m in mail.outbox] == [[funded.email]] and "failed" in mail.outbox[0].subject
    assert_balances_match_ledger()


@pytest.fixture
def silent_clip(tmp_path) -> Path:
    """Four seconds of video over an audio track of pure silence: valid media, no speech."""
    out = tmp_path / "silence.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=4",
         "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(out)],
        check=True,
    )
    return out


def test_a_non_retryable_failure_fails_at_once_without_retrying(funded, media_root, broker, worker, settings,
                                                                 silent_clip):
    settings.DUBBING_ENGINES = "local"
    video = upload(funded, silent_clip)
    # The source language given: with "auto" the failure would be that no language was detected.
    job = services.dubbing_job_create(owner=funded, video_id=video.id, target_language="es", source_language="en")
    job = wait_for_row(job, lambda j: j.status in FINAL)
    drain(broker, worker)

    assert job.status == JobStatus.FAILED and job.error_code == "no_speech", job.error_message
    assert job.tries == 0  # no second try: running again would give the same answer
    assert entries(job) == [f"job_debit:{job.id}:1", f"job_refund:{job.id}:1"]
    assert JobStep.objects.filter(job=job, status=StepStatus.FAILED).count() == 1
    assert len(mail.outbox) == 1
    assert_balances_match_ledger()


def test_cancelling_a_running_job_stops_its_worker_and_refunds_once(funded, media_root, broker, worker, settings):
    settings.DUBBING_ENGINES = "local"
    video = upload(funded, FIXTURE_MEDIA / "speech_en.mp4")
    job = services.dubbing_job_create(owner=funded, video_id=video.id, target_language="es", voice=FAST_SPANISH_VOICE)
    job = wait_for_row(job, lambda j: j.status != JobStatus.QUEUED, timeout=60)
    wait_for_row(job, lambda j: j.stage not in ("", "probe") or j.status in FINAL, timeout=60)
    services.dubbing_job_cancel(job=job)
    job = wait_for_row(job, lambda j: j.status in FINAL, timeout=60)
    drain(broker, worker)

    if job.status == JobStatus.SUCCEEDED:  # pragma: no cover - the dub won the race outright
        pytest.skip("the job finished before the cancel reached it")
    assert job.status == JobStatus.CANCELLED and job.error_code == "cancelled"
    assert entries(job) == [f"job_debit:{job.id}:1", f"job_refund:{job.id}:1"]
    assert not job.artifacts.exists() and job.claim_token is None
    statuses = set(JobStep.objects.filter(job=job).values_list("status", flat=True))
    assert StepStatus.RUNNING not in statuses
    assert mail.outbox == []  # a cancel the user asked for is not news to them
    assert_balances_match_ledger()


def test_a_delivery_past_its_time_limit_is_retried_then_failed(funded, media_root, broker, worker, settings):
    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_JOB_MAX_TRIES = 2
    settings.DUBBING_TIME_LIMIT_BASE = 1.0
    settings.DUBBING_TIME_LIMIT_FACTOR = 0.0
    # `rundramatiq` starts the TimeLimit middleware's watchdog when its process boots; an
    # in-process Worker never boots a process, so start it as that boot would.
    time_limit = next(m for m in broker.middleware if isinstance(m, TimeLimit))
    if not time_limit.manager.is_alive():
        time_limit.after_process_boot(broker)
    video = upload(funded, FIXTURE_MEDIA / "speech_en.mp4")
    assert job_time_limit_ms(video.duration) == 1000
    job = services.dubbing_job_create(owner=funded, video_id=video.id, target_language="es", voice=FAST_SPANISH_VOICE)
    job = wait_for_row(job, lambda j: j.status in FINAL, timeout=120)
    drain(broker, worker)

    assert job.status == JobStatus.FAILED and job.error_code == "time_limit", job.error_message
    assert job.tries == 2
    assert entries(job) == [f"job_debit:{job.id}:1", f"job_refund:{job.id}:1"]
    assert_balances_match_ledger()


def test_the_cpu_budget_never_hands_out_more_threads_than_it_has():
    budget = CpuBudget(4)
    with budget.take(3) as first, budget.take(3) as second:
        assert (first, second) == (3, 1) and budget.free == 0
    assert budget.free == 4
