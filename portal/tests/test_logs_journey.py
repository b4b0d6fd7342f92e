"""A whole journey's logs (onevoice/logs.py): sign-up, the verification link, login, a webhook
endpoint, an upload and a dub through the worker with its webhook. The job's story is found under
the id of the request that created it (the worker's lines name the job, the attempt and each
stage), and none of the journey's secrets is anywhere in the logs."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid

import pytest
from django.core import mail

from onevoice.logs import logging_config
from testing.media import FIXTURE_MEDIA
from testing.voices import FAST_SPANISH_VOICE
from testing.waiting import wait_for_row, wait_until


@pytest.fixture
def json_logs():
    """The production set-up (JSON lines) on a handler of the root logger, read back as records."""
    from logging.config import DictConfigurator

    config = logging_config(level="INFO", json_lines=True)
    stream = io.StringIO()
    formatter = DictConfigurator(config).configure_formatter(config["formatters"]["structured"])
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)


@pytest.mark.slow
def test_a_journey_s_logs_follow_the_job_by_its_request_id_and_hold_no_secret(
        transactional_db, api_client, media_root, broker, worker, settings, tmp_path, json_logs):
    from billing.services import credits_grant
    from dubbing.models import DubbingJob, JobStatus
    from testing.webhook_receiver import WebhookReceiver

    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.PORTONE_API_SECRET = "portone-api-secret-" + uuid.uuid4().hex
    settings.PORTONE_WEBHOOK_SECRET = "whsec_" + uuid.uuid4().hex
    settings.OPENAI_API_KEY = "sk-" + uuid.uuid4().hex
    password = "Journey-" + uuid.uuid4().hex[:12]

    # Sign up, open the verification link, log in.
    registered = api_client.post("/api/v1/auth/register", {"email": "logs@example.com", "password": password,
                                                          "name": "Lou"})
    assert registered.status_code == 201, registered.content
    body = wait_until(lambda: next((m.body for m in mail.outbox if "logs@example.com" in m.to), ""), timeout=30,
                      interval=0.1, what="the verification email")
    link = re.search(r"https?://\S+?(/\S*verify-email/(\S+))", body)
    assert link, body
    verification_token = link.group(2)
    assert api_client.get(link.group(1)).status_code in (200, 302)
    tokens = api_client.post("/api/v1/auth/token", {"email": "logs@example.com", "password": password}).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    from accounts.models import User

    user = User.objects.get(email="logs@example.com")
    credits_grant(user=user, amount=10, staff=user, reason="test", idempotency_key=f"t:{uuid.uuid4()}")

    with WebhookReceiver(script=[200]) as receiver:
        endpoint = api_client.post("/api/v1/webhooks", {"url": receiver.url, "events": ["job.succeeded"]},
                                   format="json")
        assert endpoint.status_code == 201, endpoint.content
        webhook_secret = endpoint.json()["secret"]
        with open(FIXTURE_MEDIA / "speech_en.mp4", "rb") as f:
            video = api_client.post("/api/v1/videos", {"file": f}, format="multipart")
        assert video.status_code == 201, video.content
        created = api_client.post("/api/v1/jobs", {"video_id": video.json()["id"], "target_language": "es",
                                                   "voice": FAST_SPANISH_VOICE, "background": "drop"}, format="json")
        assert created.status_code in (201, 202), created.content
        request_id = created["X-Request-ID"]
        job = DubbingJob.objects.get(id=created.json()["id"])
        wait_for_row(job, lambda j: j.status in (JobStatus.SUCCEEDED, JobStatus.FAILED), timeout=300, interval=0.3)
        assert job.status == JobStatus.SUCCEEDED, job.error_message
        receiver.wait_for(1, timeout=30)
    records = json_logs()

    # The job's story under the id of the request that created it: the worker's lines name the
    # job, the attempt and each stage.
    story = [r for r in records if r.get("request_id") == request_id]
    worker_lines = [r for r in story if r.get("job_id") == str(job.id)]
    assert worker_lines, [r for r in records if r.get("job_id")][:5]
    assert {r["attempt"] for r in worker_lines} == {1}
    assert {"transcribe", "synthesize", "mux"} <= {r.get("stage") for r in worker_lines}
    assert any(r.get("actor") == "webhook_deliver" for r in story)  # the job's webhook, sent on

    # No secret of the journey was logged, in any form.
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    for secret in (password, tokens["access"], tokens["refresh"], webhook_secret, verification_token,
                   settings.PORTONE_API_SECRET, settings.PORTONE_WEBHOOK_SECRET, settings.OPENAI_API_KEY):
        assert secret not in text
