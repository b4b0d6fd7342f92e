"""/metrics (onevoice/metrics.py): who may read it, and that what it says is true.

Allowed are METRICS_ALLOWED_IPS (loopback by default, CIDR ranges) and a bearer METRICS_TOKEN;
everyone else gets the site's 404. The scrape parses as Prometheus text and reports the request
latency by view, jobs by status from real rows, the stage durations of a real job run by a real
worker (loopback OpenAI engines), the broker's queue depth (0 and an error counted when the
broker is down) and the PortOne failures of a real failing webhook and sync. Several processes
writing to one METRICS_MULTIPROC_ROOT come out as one sum, and compose's Prometheus is wired to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import dramatiq
import pytest
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from dubbing.models import JobStatus, JobStep, StepStatus
from dubbing.queue import QUEUE, job_message_send
from dubbing.tests.factories import DubbingJobFactory
from testing.waiting import wait_until
from videos.tests.factories import SpeechVideoFactory

BASE_DIR = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-0123456789abcdef"


def scrape(client: Client | None = None, **extra) -> dict:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def value(families: dict, family: str, sample: str | None = None, **labels) -> float:
    """The sample's value (0 when it is not there yet: a labelled series appears on first use)."""
    for s in families[family].samples if family in families else ():
        if s.name == (sample or family) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return 0.0


# --- Who may read it ------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_loopback_reads_the_metrics(address):
    families = scrape(REMOTE_ADDR=address)
    assert "onevoice_dubbing_jobs" in families


@pytest.mark.django_db
def test_an_allowed_cidr_range_reads_the_metrics(settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "2001:db8::/32"]
    assert Client().get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="2001:db8::5").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404  # the list replaces the default


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["203.0.113.7", "10.0.0.2", "not-an-address", ""])
def test_any_other_address_gets_the_plain_404(address):
    response = Client().get("/metrics", REMOTE_ADDR=address)
    unknown = Client().get("/no-such-page", REMOTE_ADDR=address)
    assert response.status_code == unknown.status_code == 404
    assert [t.name for t in response.templates] == [t.name for t in unknown.templates]  # the same page
    assert b"django_http" not in response.content


@pytest.mark.django_db
def test_a_forwarded_for_header_is_not_believed_without_trusted_proxies():
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 404


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_address_is_checked(settings):
    settings.NUM_PROXIES = 1
    # The proxy on loopback appends the real client after whatever the client claimed.
    refused = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.7")
    assert refused.status_code == 404
    settings.METRICS_ALLOWED_IPS = ["192.0.2.0/24"]
    allowed = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert allowed.status_code == 200


@pytest.mark.django_db
def test_the_bearer_token_reads_the_metrics_from_anywhere(settings):
    settings.METRICS_TOKEN = TOKEN
    families = scrape(REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert "onevoice_queue_messages" in families


@pytest.mark.django_db
@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Token {TOKEN}", TOKEN, "Bearer "])
def test_a_wrong_token_gets_the_plain_404(settings, header):
    settings.METRICS_TOKEN = TOKEN
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=header).status_code == 404


@pytest.mark.django_db
def test_with_no_token_configured_an_empty_bearer_is_refused(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
def test_other_methods_are_refused_only_once_allowed():
    assert Client().post("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 404
    assert Client().post("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 405


def test_a_bad_allowed_address_stops_start_up(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], check=False, cwd=BASE_DIR, capture_output=True, text=True, timeout=120,
        env={**clean, "METRICS_ALLOWED_IPS": "127.0.0.1,10.0.0.0/33", "ONEVOICE_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "METRICS_ALLOWED_IPS" in result.stderr and "10.0.0.0/33" in result.stderr


# --- What it says ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_it_reports_the_request_latency_by_view_after_a_request():
    family = "django_http_requests_latency_seconds_by_view_method"
    before = value(scrape(), family, f"{family}_count", view="healthz", method="GET")

    assert Client().get("/healthz").status_code == 200

    after = scrape()
    assert after[family].type == "histogram"
    assert value(after, family, f"{family}_count", view="healthz", method="GET") == before + 1


@pytest.mark.django_db
def test_it_counts_jobs_by_status_from_the_rows(owner, media_root):
    video = SpeechVideoFactory(owner=owner)
    for status in (JobStatus.QUEUED, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED):
        DubbingJobFactory(owner=owner, video=video, status=status)

    families = scrape()

    assert families["onevoice_dubbing_jobs"].type == "gauge"
    counts = {s.labels["status"]: s.value for s in families["onevoice_dubbing_jobs"].samples}
    assert counts == {"queued": 2, "running": 1, "succeeded": 0, "failed": 1, "cancelled": 0}


@pytest.mark.django_db
def test_it_reports_the_queue_depth_of_the_broker(broker):
    before = scrape()
    assert value(before, "onevoice_queue_messages", queue=QUEUE, state="ready") == 0

    # Nobody consumes: the messages wait in the broker (a missing job: a worker would do nothing).
    job_message_send(job_id=uuid.uuid4(), attempt=1, render=0)
    job_message_send(job_id=uuid.uuid4(), attempt=1, render=0)
    job_message_send(job_id=uuid.uuid4(), attempt=1, render=0, delay_seconds=600)

    after = scrape()
    assert value(after, "onevoice_queue_messages", queue=QUEUE, state="ready") == 2
    assert value(after, "onevoice_queue_messages", queue=QUEUE, state="delayed") == 1
    assert value(after, "onevoice_queue_messages", queue=QUEUE, state="dead") == 0


@pytest.mark.django_db
def test_a_broker_that_is_down_reads_0_and_counts_an_error_without_failing_the_scrape():
    from dramatiq.brokers.redis import RedisBroker

    from testing.portone_server import FakePortOne

    configured = dramatiq.get_broker()
    down = RedisBroker(url=FakePortOne.unreachable_url().replace("http://", "redis://"), namespace="metrics-down")
    down.declare_queue(QUEUE)
    errors = "onevoice_metrics_collect_errors"
    before = value(scrape(), errors, f"{errors}_total", collector="queues")
    dramatiq.set_broker(down)
    try:
        families = scrape()
    finally:
        dramatiq.set_broker(configured)

    assert value(families, "onevoice_queue_messages", queue=QUEUE, state="ready") == 0
    assert any(s.labels == {"queue": QUEUE, "state": "ready"} for s in families["onevoice_queue_messages"].samples)
    assert value(families, errors, f"{errors}_total", collector="queues") == before + 1
    assert "onevoice_dubbing_jobs" in families  # the rest of the scrape is there


@pytest.fixture
def portone(settings):
    from testing.portone_server import FakePortOne, make_webhook_secret

    fake = FakePortOne(api_secret="test-api-secret", store_id="store-test-0001")
    settings.PORTONE_API_BASE_URL = fake.start()
    settings.PORTONE_STORE_ID = fake.store_id
    settings.PORTONE_CHANNEL_KEY = "channel-key-test"
    settings.PORTONE_API_SECRET = fake.api_secret
    settings.PORTONE_WEBHOOK_SECRET = fake.webhook_secret = make_webhook_secret()
    yield fake
    fake.stop()


@pytest.fixture
def pending_payment(owner, portone):
    from billing.models import CreditPack
    from billing.services import payment_prepare

    pack = CreditPack.objects.create(name="Test 100", credits=100, price=15_000, currency="KRW", sort_order=-1)
    payment = payment_prepare(user=owner, pack_id=pack.id)
    portone.set_paid(payment.payment_id, amount=15_000)
    return payment


@pytest.mark.django_db
def test_a_webhook_whose_processing_fails_is_counted(pending_payment, portone):
    from testing.portone_server import sign_webhook, webhook_body

    before = value(scrape(), "onevoice_portone_webhook_failed", "onevoice_portone_webhook_failed_total")
    portone.fail_with = 500  # verified, but PortOne cannot be asked about the payment
    body = webhook_body("Transaction.Paid", payment_id=pending_payment.payment_id, store_id=portone.store_id)
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sign_webhook(portone.webhook_secret, body).items()}

    response = Client().generic("POST", "/api/v1/billing/webhooks/portone", body, "application/json", **headers)

    assert response.status_code == 502
    after = scrape()
    assert value(after, "onevoice_portone_webhook_failed", "onevoice_portone_webhook_failed_total") == before + 1


@pytest.mark.django_db
def test_a_payment_the_sync_cannot_check_is_counted(pending_payment, portone):
    from billing.services import payments_sync_pending

    family = "onevoice_payment_sync_failed"
    before = value(scrape(), family, f"{family}_total")
    portone.fail_with = 502

    assert payments_sync_pending()["errors"] == 1

    assert value(scrape(), family, f"{family}_total") == before + 1


# --- A real job's stages --------------------------------------------------------------------------

@pytest.fixture
def openai_engines(settings, tmp_path):
    from dubbing.languages import language_support_clear
    from testing.openai_server import OpenAIServer

    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    with OpenAIServer() as server:
        settings.DUBBING_ENGINES = "openai"
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_API_KEY = "test"
        for name in ("DUBBING_ASR_ENGINE", "DUBBING_TRANSLATE_ENGINE", "DUBBING_TTS_ENGINE"):
            setattr(settings, name, None)
        language_support_clear()
        yield server
    language_support_clear()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_each_stage_a_job_ran_is_observed_once_and_a_reused_stage_is_not(
    owner, owner_client, media_root, openai_engines, broker, worker
):
    from billing.services import credits_grant

    credits_grant(user=owner, amount=10, staff=owner, reason="test", idempotency_key=f"t:{uuid.uuid4()}")
    video = SpeechVideoFactory(owner=owner)
    family = "onevoice_pipeline_stage_seconds"
    stages = ("probe", "extract", "separate", "transcribe", "segment", "translate", "synthesize", "fit", "mix", "mux",
              "publish")
    before = scrape()

    # Two languages: the second job reads the shared source analysis the first made (steps skipped).
    answer = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_languages": ["es", "ca"],
                                                "source_language": "en", "background": "drop"}, format="json")
    assert answer.status_code == 201, answer.json()
    ids = [r["id"] for r in answer.json()["results"]]
    wait_until(lambda: JobStep.objects.filter(job_id__in=ids, name="publish", status=StepStatus.DONE).count() == 2,
               timeout=240, interval=0.2,
               what=lambda: list(JobStep.objects.filter(job_id__in=ids).values_list("name", "status")))
    broker.join(QUEUE)
    worker.join()

    after = scrape()
    assert after[family].type == "histogram"
    ran = {stage: JobStep.objects.filter(job_id__in=ids, name=stage, status=StepStatus.DONE).count() for stage in stages}
    assert JobStep.objects.filter(job_id__in=ids, status=StepStatus.SKIPPED).exists()
    assert ran["probe"] == 1 and ran["mux"] == 2  # the source side once, the target side per job
    for stage in stages:
        observed = (value(after, family, f"{family}_count", stage=stage)
                    - value(before, family, f"{family}_count", stage=stage))
        assert observed == ran[stage], stage
    assert value(after, family, f"{family}_sum", stage="extract") > value(before, family, f"{family}_sum", stage="extract")


# --- Many processes, one scrape -------------------------------------------------------------------

_WRITE = """
import os, sys
if os.environ.get("SETUP_DJANGO"):
    import django
    django.setup()  # settings point PROMETHEUS_MULTIPROC_DIR at <root>/<hostname>
from onevoice import metrics
for _ in range(int(sys.argv[1])):
    metrics.webhook_failed.inc()
metrics.pipeline_stage_seconds.labels(stage="mix").observe(2.0)
print(os.environ["PROMETHEUS_MULTIPROC_DIR"])
"""


def _write_in_another_process(count: int, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PROMETHEUS_"))}
    result = subprocess.run([sys.executable, "-c", _WRITE, str(count)], check=False, cwd=BASE_DIR, capture_output=True,
                            text=True, timeout=120, env={**clean, "DJANGO_SETTINGS_MODULE": "onevoice.settings", **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.django_db
def test_the_processes_of_several_containers_are_summed_in_one_scrape(settings, tmp_path):
    import socket

    root = tmp_path / "metrics"
    # One process through the settings (its folder named for this host), one as another container's.
    own = _write_in_another_process(2, SETUP_DJANGO="1", METRICS_MULTIPROC_ROOT=str(root))
    assert Path(own) == root / socket.gethostname()
    (root / "other-container").mkdir(parents=True)
    _write_in_another_process(3, PROMETHEUS_MULTIPROC_DIR=str(root / "other-container"))
    settings.METRICS_MULTIPROC_ROOT = str(root)

    families = scrape()

    assert value(families, "onevoice_portone_webhook_failed", "onevoice_portone_webhook_failed_total") == 5
    assert value(families, "onevoice_pipeline_stage_seconds", "onevoice_pipeline_stage_seconds_count", stage="mix") == 2
    assert "onevoice_dubbing_jobs" in families  # the scrape-time readings are still this process's


# --- compose ----------------------------------------------------------------------------------------

def test_compose_runs_prometheus_scraping_the_web_with_the_token():
    compose = yaml.safe_load((BASE_DIR / "compose.yaml").read_text())
    services = compose["services"]
    prometheus = services["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus")
    mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"])
    config_path = next(host for host, inside in mounts.items() if inside == "/etc/prometheus/prometheus.yml")
    config = yaml.safe_load((BASE_DIR / config_path).read_text())

    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["web:8000"]
    assert job["authorization"]["type"] == "Bearer"
    (secret,) = prometheus["secrets"]
    assert job["authorization"]["credentials_file"] == f"/run/secrets/{secret}"
    assert compose["secrets"][secret] == {"environment": "METRICS_TOKEN"}

    web = services["web"]
    assert "METRICS_TOKEN" in web["environment"] and web["environment"]["DJANGO_ALLOWED_HOSTS"].endswith(",web")
    # Every app container writes its samples on the volume they share, which web reads.
    root = web["environment"]["METRICS_MULTIPROC_ROOT"]
    for name in ("web", "worker"):
        assert services[name]["environment"]["METRICS_MULTIPROC_ROOT"] == root
        assert any(root.startswith(v.split(":")[1]) for v in services[name]["volumes"])
