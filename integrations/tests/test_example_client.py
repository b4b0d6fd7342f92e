"""examples/dub_client.py against the live test server with a real Dramatiq worker and the
local offline engines: speech_en.mp4 into Spanish and Catalan with one request and one
transcription, a signed webhook for each, the outputs downloaded; run again with the same key,
nothing more is charged. The client's signature check refuses tampered and replayed deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
import time
from pathlib import Path

import httpx
import pytest

from testing.media import FIXTURE_MEDIA

ROOT = Path(__file__).resolve().parents[2]


def _client_module():
    spec = importlib.util.spec_from_file_location("dub_client", ROOT / "examples" / "dub_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dub_client = _client_module()
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()


def _signed(body: bytes, *, msg_id="msg_1", timestamp=None, secret=SECRET) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": "v1," + base64.b64encode(digest).decode()}


def test_the_client_refuses_tampered_and_replayed_deliveries():
    body = json.dumps({"type": "job.succeeded", "data": {"id": "j1"}}).encode()
    assert dub_client.verify(SECRET, _signed(body), body)["data"]["id"] == "j1"
    with pytest.raises(dub_client.SignatureError, match="signature"):
        dub_client.verify(SECRET, _signed(body), body.replace(b"j1", b"j2"))
    with pytest.raises(dub_client.SignatureError, match="tolerance"):
        dub_client.verify(SECRET, _signed(body, timestamp=int(time.time()) - 301), body)
    with pytest.raises(dub_client.SignatureError, match="signature"):
        dub_client.verify(SECRET, _signed(body, secret="whsec_" + base64.b64encode(b"x" * 24).decode()), body)

    receiver = dub_client.Receiver()
    receiver.secret = SECRET
    try:
        tampered = httpx.post(receiver.url, content=body + b" ", headers=_signed(body))
        replayed = httpx.post(receiver.url, content=body, headers=_signed(body, timestamp=int(time.time()) - 600))
        good = [httpx.post(receiver.url, content=body, headers=_signed(body)) for _ in range(2)]
    finally:
        receiver.close()
    assert (tampered.status_code, replayed.status_code) == (400, 400)
    assert [g.status_code for g in good] == [204, 204]
    assert receiver.rejected == 2 and receiver.seen == {"msg_1"} and list(receiver.events) == ["j1"]


@pytest.mark.slow
def test_the_example_dubs_into_two_offline_languages_with_one_transcription_and_a_rerun_charges_nothing(
        live_server, transactional_db, worker, settings, tmp_path, password):
    from billing.services.ledger import credits_grant
    from dubbing.models import DubbingJob, JobStep, SourceAnalysis, StepStatus
    from accounts.tests.factories import UserFactory
    from videos.models import Video

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.SITE_URL = live_server.url
    settings.DUBBING_ENGINES = "local"
    for name in ("DUBBING_ASR_ENGINE", "DUBBING_TRANSLATE_ENGINE", "DUBBING_TTS_ENGINE"):
        setattr(settings, name, None)
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "media"}}}
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    user = UserFactory(email="integrator@example.com", name="Ines")
    credits_grant(user=user, amount=10, staff=user, reason="test", idempotency_key="grant-example")
    argv = [str(FIXTURE_MEDIA / "speech_en.mp4"), "--targets", "es,ca", "--source", "en", "--background", "drop",
            "--api", live_server.url + "/api/v1", "--email", user.email, "--password", password,
            "--out", str(tmp_path / "out"), "--timeout", "600"]

    first = dub_client.main(argv)

    jobs = list(DubbingJob.objects.filter(owner=user))
    assert sorted(j.target_language for j in jobs) == ["ca", "es"]
    assert {j.status for j in jobs} == {"succeeded"}, [(j.error_code, j.error_message) for j in jobs]
    # one transcription for both: one job recognized, the other read the shared analysis
    transcribe = sorted(JobStep.objects.filter(job__in=jobs, name="transcribe").values_list("status", flat=True))
    assert transcribe == sorted([StepStatus.DONE, StepStatus.SKIPPED])
    assert SourceAnalysis.objects.get().uses == 2
    # a signed webhook for each, verified by the client
    assert {e["type"] for e in first["webhooks"].values()} == {"job.succeeded"}
    assert set(first["webhooks"]) == {str(j.id) for j in jobs}
    assert first["rejected_webhooks"] == 0
    for paths in first["files"].values():
        assert any(p.endswith(".mp4") for p in paths) and all(Path(p).stat().st_size > 0 for p in paths)
    assert first["charged"] == sum(j.cost_credits for j in jobs) and not first["replayed"]

    again = dub_client.main(argv)

    assert again["replayed"] and again["charged"] == 0 and again["key"] == first["key"]
    assert set(again["jobs"]) == set(first["jobs"])
    assert DubbingJob.objects.filter(owner=user).count() == 2 and Video.objects.filter(owner=user).count() == 1
