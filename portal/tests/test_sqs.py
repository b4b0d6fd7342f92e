"""SQS as the broker (onevoice/sqs.py), against moto's SQS server on loopback.

The actors are moved onto an SQS broker for each test (the configured broker gets them back
afterwards) and a real Dramatiq worker consumes: a dub job end to end through moto stopping and
coming back, webhook retries whose delays are longer than SQS allows (chained), queue depth in
/metrics, queues created on first use, the largest real message, and start-up errors. The worker
killed mid-job is a separate process on PostgreSQL (the CI's second pass).
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dramatiq
import pytest
from django.core.files import File
from django.utils.module_loading import import_string
from dramatiq import Worker
from dramatiq.middleware import Middleware
from moto.server import ThreadedMotoServer

from onevoice.sqs import MAX_MESSAGE_BYTES, SQS_MIDDLEWARE, OneVoiceSQSBroker, SQSConfigError, sqs_config
from testing.media import FIXTURE_MEDIA
from testing.voices import FAST_SPANISH_VOICE
from testing.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto's server on a loopback port that survives a stop and a start (its state does not)."""

    def __init__(self):
        self.port = _free_port()
        self.server: ThreadedMotoServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


class Sent(Middleware):
    """Every message the broker sends, as SQS receives it (its base64 body), and every delivery."""

    def __init__(self):
        self.bodies: list[tuple[str, int]] = []
        self.deliveries: list[tuple[str, float]] = []

    def after_enqueue(self, broker, message, delay):
        self.bodies.append((message.actor_name, len(base64.b64encode(message.encode()))))

    def before_process_message(self, broker, message):
        self.deliveries.append((message.actor_name, time.time()))


@pytest.fixture
def moto(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    server = Moto()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sqs_broker(moto, settings):
    """Every actor moved onto an SQS broker at moto (the settings' middleware plus SQS's), which
    is the global broker meanwhile; the configured broker gets them back afterwards."""
    import importlib
    import importlib.util

    from django.apps import apps

    for app in apps.get_app_configs():
        if importlib.util.find_spec(f"{app.name}.tasks") is not None:
            importlib.import_module(f"{app.name}.tasks")
    previous = dramatiq.get_broker()
    paths = [p for p in settings.DRAMATIQ_BROKER["MIDDLEWARE"] if p not in SQS_MIDDLEWARE] + SQS_MIDDLEWARE
    sent = Sent()
    config = sqs_config(broker_url=f"sqs://127.0.0.1:{moto.port}/t{uuid.uuid4().hex[:8]}?region={REGION}&secure=0",
                        prefix="", region="", endpoint_url="", visibility_timeout=300, dead_letter=False)
    broker = OneVoiceSQSBroker(middleware=[sent] + [import_string(p)() for p in paths], **config.broker_options())
    broker.sent = sent
    actors = [previous.get_actor(name) for name in previous.get_declared_actors()]
    for actor in actors:
        actor.broker = broker
        broker.declare_actor(actor)
    dramatiq.set_broker(broker)
    try:
        yield broker
    finally:
        for actor in actors:
            actor.broker = previous
        dramatiq.set_broker(previous)


@pytest.fixture
def sqs_worker(sqs_broker):
    running = Worker(sqs_broker, worker_timeout=1000, worker_threads=2)
    running.start()
    yield running
    running.stop(timeout=10_000)


# --- Start-up configuration --------------------------------------------------------------------------

def _config(**given):
    values = {"broker_url": "", "prefix": "", "region": "", "endpoint_url": "", "visibility_timeout": 300,
              "dead_letter": False}
    return sqs_config(**{**values, **given})


def test_sqs_is_chosen_by_a_broker_url_or_a_queue_prefix_with_its_region():
    assert _config() is None
    by_url = _config(broker_url="sqs://127.0.0.1:4566/onevoice?region=eu-west-1&secure=0&visibility_timeout=120")
    assert (by_url.prefix, by_url.region, by_url.endpoint_url, by_url.visibility_timeout) == (
        "onevoice", "eu-west-1", "http://127.0.0.1:4566", 120)
    on_aws = _config(broker_url="sqs:///prod", region="ap-northeast-2")
    assert (on_aws.prefix, on_aws.region, on_aws.endpoint_url) == ("prod", "ap-northeast-2", None)
    by_prefix = _config(prefix="onevoice", region="us-west-2")
    assert (by_prefix.prefix, by_prefix.region) == ("onevoice", "us-west-2")


@pytest.mark.parametrize(("given", "named"), [
    ({"broker_url": "redis://127.0.0.1:6379/0"}, "BROKER_URL"),
    ({"broker_url": "sqs://127.0.0.1:port/x?region=r"}, "BROKER_URL"),
    ({"broker_url": "sqs:///x?region=r&regoin=s"}, "BROKER_URL"),
    ({"broker_url": "sqs:///bad.prefix?region=r"}, "BROKER_URL"),
    ({"broker_url": "sqs:///onevoice"}, "SQS_REGION"),
    ({"prefix": "onevoice"}, "SQS_REGION"),
    ({"prefix": "onevoice", "region": "r", "visibility_timeout": 0}, "SQS_VISIBILITY_TIMEOUT"),
])
def test_a_malformed_broker_url_or_a_missing_region_is_an_error_naming_the_setting(given, named):
    with pytest.raises(SQSConfigError, match=named):
        _config(**given)


@pytest.mark.parametrize(("env", "named"), [
    ({"BROKER_URL": "sqs://127.0.0.1:notaport/onevoice?region=us-east-1"}, "BROKER_URL"),
    ({"SQS_QUEUE_PREFIX": "onevoice"}, "SQS_REGION"),
])
def test_the_process_refuses_to_start_with_a_bad_sqs_setting(env, named, tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SQS_", "BROKER_"))}
    environment.update(env, ONEVOICE_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert named in result.stderr.strip().splitlines()[-1], result.stderr[-2000:]


# --- Queues, messages, delays, depth -----------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_queue_that_does_not_exist_is_created_on_first_use(sqs_broker, webhook_ready):
    # No worker yet: a worker's consumers make every queue they listen on as they start, so the
    # sender's first message is what must make the webhooks queue here.
    client = sqs_broker.sqs.meta.client

    def queue_names():
        return {url.rsplit("/", 1)[-1] for url in
                client.list_queues(QueueNamePrefix=sqs_broker.namespace).get("QueueUrls", [])}

    assert queue_names() == set()
    from integrations import services

    endpoint = services.webhook_endpoint_create(owner=webhook_ready["owner"], url=webhook_ready["receiver"].url,
                                                events=["job.succeeded"])
    services.webhook_ping(endpoint=endpoint)
    assert queue_names() == {f"{sqs_broker.namespace}_webhooks"}
    running = Worker(sqs_broker, worker_timeout=1000, worker_threads=2)
    running.start()
    try:
        webhook_ready["receiver"].wait_for(1)
    finally:
        running.stop(timeout=10_000)
    assert f"{sqs_broker.namespace}_default" in queue_names()  # the worker's consumer made its own


@pytest.fixture
def webhook_ready(owner, settings):
    from testing.webhook_receiver import WebhookReceiver

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    with WebhookReceiver(script=[200]) as receiver:
        yield {"owner": owner, "receiver": receiver}


@pytest.mark.django_db(transaction=True)
def test_webhook_retries_longer_than_sqs_delays_are_chained_and_arrive_on_time(owner, sqs_broker, sqs_worker,
                                                                               settings):
    from integrations import services
    from integrations.models import WebhookAttempt
    from testing.webhook_receiver import WebhookReceiver

    # SQS delays stop at 15 minutes; here at 1 second, so the backoff (2 s, then 4 s) is chained.
    sqs_broker.max_delay_seconds = 1
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_RETRY_BACKOFF = 2.0
    settings.WEBHOOK_RETRY_BACKOFF_MAX = 4.0
    with WebhookReceiver(script=[500, 500, 200]) as receiver:
        endpoint = services.webhook_endpoint_create(owner=owner, url=receiver.url, events=["job.succeeded"])
        message = services.webhook_ping(endpoint=endpoint)
        deliveries = receiver.wait_for(3, timeout=60)
    # The receiver answers before the worker records the answer: wait for the third attempt's row.
    attempts = wait_until(
        lambda: (rows := list(WebhookAttempt.objects.filter(message=message).order_by("number")))
        and len(rows) == 3 and rows, timeout=30, what="the third attempt recorded")
    assert [a.status_code for a in attempts] == [500, 500, 200]
    # Each try arrived no earlier than the time its predecessor set for it, and not much later.
    for previous, delivery in zip(attempts[:2], deliveries[1:], strict=True):
        due = previous.next_retry_at.timestamp()
        assert due - 0.05 <= delivery.arrived <= due + 3.0, (due, delivery.arrived)
    # The delays were chained: the retries' messages were received more often than they ran.
    tries = [t for name, t in sqs_broker.sent.deliveries if name == "webhook_deliver"]
    assert len(tries) > 3


@pytest.mark.django_db(transaction=True)
def test_queue_depth_in_metrics_comes_from_the_queues_attributes(sqs_broker, client, settings):
    from integrations.tasks import webhook_deliver

    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    for _ in range(3):
        webhook_deliver.send(str(uuid.uuid4()), 1)
    webhook_deliver.send_with_options(args=(str(uuid.uuid4()), 1), delay=600_000)
    body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'onevoice_queue_messages{queue="webhooks",state="ready"} 3.0' in body
    assert 'onevoice_queue_messages{queue="webhooks",state="delayed"} 1.0' in body
    assert 'onevoice_queue_messages{queue="webhooks",state="in_flight"} 0.0' in body
    # /readyz asks the endpoint too.
    assert client.get("/readyz").json()["broker"] == "ok"


# --- A dub job end to end, through moto stopping and coming back --------------------------------------

@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_dub_job_runs_on_sqs_through_the_endpoint_going_away_and_coming_back(
        owner, media_root, sqs_broker, sqs_worker, moto, settings, tmp_path):
    from billing.models import LedgerEntry
    from billing.services import credits_grant
    from dubbing import services
    from dubbing.models import JobStatus
    from dubbing.queue import job_message_send
    from videos.services import video_create_from_upload

    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    credits_grant(user=owner, amount=10, staff=owner, reason="test", idempotency_key=f"t:{uuid.uuid4()}")
    with open(FIXTURE_MEDIA / "speech_en.mp4", "rb") as f:
        video = video_create_from_upload(owner=owner, file=File(f, name="speech_en.mp4"))
    job = services.dubbing_job_create(owner=owner, video_id=video.id, target_language="es", voice=FAST_SPANISH_VOICE, background="drop")

    # Given the endpoint going away while the job runs, and coming back (empty: moto keeps no state)
    def running():
        job.refresh_from_db()
        return job.status == JobStatus.RUNNING and job.stage not in ("", "probe")
    wait_until(running, timeout=120, what="the job to start")
    moto.stop()
    time.sleep(3)
    moto.start()

    # Then the job finishes once, charged once,
    def finished():
        job.refresh_from_db()
        return job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    wait_until(finished, timeout=300, what="the job to finish")
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    entries = LedgerEntry.objects.filter(account__user=owner, ref__startswith=f"job:{job.id}")
    assert [e.kind for e in entries] == ["job_debit"]

    # and the worker takes messages again: a redelivery of the same job finds nothing to run.
    before = len(sqs_broker.sent.deliveries)
    job_message_send(job_id=job.id, attempt=1, render=0, duration=video.duration)
    wait_until(lambda: len(sqs_broker.sent.deliveries) > before, timeout=60, what="the worker to take a message")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert [e.kind for e in LedgerEntry.objects.filter(account__user=owner, ref__startswith=f"job:{job.id}")] == [
        "job_debit"]

    # The largest message the journey sent (ids, never payloads) is far below SQS's 256 KB.
    largest = max(size for _, size in sqs_broker.sent.bodies)
    assert largest < MAX_MESSAGE_BYTES // 100, sqs_broker.sent.bodies


def test_a_message_over_256_kb_is_refused_before_it_is_sent(sqs_broker):
    from integrations.tasks import webhook_deliver

    with pytest.raises(Exception, match="at most"):
        webhook_deliver.send("x" * MAX_MESSAGE_BYTES, 1)


# --- A worker killed mid-job (a separate process, PostgreSQL) -------------------------------------------

def _worker_process(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1"],
                            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_killed_mid_job_has_its_message_come_back_and_the_job_finishes_once_charged_once(
        transactional_db, sqs_broker, moto, settings, tmp_path):
    from django.db import connection

    from billing.models import LedgerEntry
    from billing.services import credits_grant
    from dubbing import services
    from dubbing.models import JobStatus
    from accounts.tests.factories import UserFactory
    from videos.services import video_create_from_upload

    settings.DUBBING_ENGINES = "local"
    user = UserFactory(email="sqs-kill@example.com", name="Kim")
    credits_grant(user=user, amount=10, staff=user, reason="test", idempotency_key=f"t:{uuid.uuid4()}")
    with open(FIXTURE_MEDIA / "speech_en.mp4", "rb") as f:
        video = video_create_from_upload(owner=user, file=File(f, name="speech_en.mp4"))

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUBBING_", "REDIS_", "RABBITMQ_"))}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        BROKER_URL=f"sqs://127.0.0.1:{moto.port}/{sqs_broker.namespace}?region={REGION}&secure=0&visibility_timeout=5",
        DUBBING_ENGINES="local", DUBBING_HEARTBEAT_SECONDS="0.5", DUBBING_HEARTBEAT_STALE_SECONDS="3",
        DUBBING_WORKER_CPUS="1", DUBBING_WORKSPACE_DIR=str(tmp_path / "machine-1"),
    )
    first = _worker_process(env, tmp_path / "worker-1.log")
    try:
        job = services.dubbing_job_create(owner=user, video_id=video.id, target_language="es", voice=FAST_SPANISH_VOICE, background="drop")

        # Given the worker killed in the middle of the job
        def deep_in():
            job.refresh_from_db()
            assert first.poll() is None, (tmp_path / "worker-1.log").read_text()[-3000:]
            return job.status == JobStatus.RUNNING and job.stage in ("transcribe", "segment", "translate", "synthesize")
        wait_until(deep_in, timeout=180, what="the job to get going")
    finally:
        _kill(first)
    killed_at = time.monotonic()

    # When another worker runs, and no reaper does
    env["DUBBING_WORKSPACE_DIR"] = str(tmp_path / "machine-2")
    second = _worker_process(env, tmp_path / "worker-2.log")
    try:
        def finished():
            job.refresh_from_db()
            assert second.poll() is None, (tmp_path / "worker-2.log").read_text()[-3000:]
            return job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
        wait_until(finished, timeout=300, what="the job to finish")
    finally:
        _kill(second)
    log = (tmp_path / "worker-2.log").read_text()

    # Then the message came back after its visibility timeout, re-queued the job (a try counted),
    assert time.monotonic() - killed_at >= 5
    assert "nothing to claim" in log, log[-3000:]
    assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_message, log[-3000:])
    assert job.tries == 1
    # and the job was charged once, never refunded, the balance the ledger's sum.
    entries = LedgerEntry.objects.filter(account__user=user)
    assert [e.kind for e in entries.filter(ref__startswith=f"job:{job.id}")] == ["job_debit"]
    user.credit_account.refresh_from_db()
    assert user.credit_account.balance == sum(e.amount for e in entries)
