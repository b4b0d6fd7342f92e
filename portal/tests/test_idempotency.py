"""Idempotency keys (Stripe's semantics) on the POSTs that spend credits or create a payment.

The jobs are real (POST /jobs through the services, credits reserved in the ledger); no worker
runs, the messages stay on the broker. The dropped connection is a real one: the request is
written to a socket that is closed before the answer is read, against the live test server.
"""

from __future__ import annotations

import json
import socket
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from billing.models import CreditPack, LedgerEntry, Payment
from billing.selectors import credits_balance
from billing.services.ledger import credits_grant
from billing.tests.factories import give_credits
from dubbing.models import DubbingJob
from onevoice.idempotency import idempotency_key_claim, request_fingerprint
from onevoice.models import IdempotencyKey
from testing.waiting import wait_until
from videos.tests.factories import SpeechVideoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(owner, other):
    for user in (owner, other):
        give_credits(user, 20)
    return owner


def _debits(user) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(account__user=user, kind="job_debit"))


def _post_job(client, video, key, **extra):
    body = {"video_id": str(video.id), "target_language": "es", "source_language": "en", **extra}
    return client.post("/api/v1/jobs", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retried_post_after_a_dropped_connection_makes_one_job_and_one_charge(
        live_server, media_root, owner, settings):
    credits_grant(user=owner, amount=20, staff=owner, reason="test", idempotency_key="grant-live")
    video = SpeechVideoFactory(owner=owner)
    token = str(AccessToken.for_user(owner))
    key = str(uuid.uuid4())
    body = json.dumps({"video_id": str(video.id), "target_language": "es", "source_language": "en"}).encode()
    url = urlsplit(live_server.url)

    # Given a client whose connection drops after sending its request, before the answer
    raw = socket.create_connection((url.hostname, url.port))
    raw.sendall(
        b"POST /api/v1/jobs HTTP/1.1\r\nHost: " + url.netloc.encode() + b"\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nIdempotency-Key: " + key.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n" + body)
    raw.close()

    # When it retries with the same key (until the first request has finished)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}

    answers: list[requests.Response] = []

    def first_request_finished() -> bool:
        answers.append(requests.post(live_server.url + "/api/v1/jobs", data=body,
                                     headers={**headers, "Content-Type": "application/json"}, timeout=30))
        if answers[-1].status_code != 409:
            return True
        assert answers[-1].json()["code"] == "idempotency_key_in_use"
        return False

    wait_until(first_request_finished, timeout=30, interval=0.1, what="the first request to finish (409 until then)")
    retry = answers[-1]
    again = requests.post(live_server.url + "/api/v1/jobs", data=body,
                          headers={**headers, "Content-Type": "application/json"}, timeout=30)

    # Then both answers are the first request's, and there is one job and one charge
    assert retry.status_code == 201, retry.text
    assert again.status_code == 201 and again.json() == retry.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    jobs = list(DubbingJob.objects.filter(owner=owner))
    assert [str(j.id) for j in jobs] == [retry.json()["id"]]
    assert len(_debits(owner)) == 1
    assert credits_balance(user=owner) == 20 - jobs[0].cost_credits


def test_the_same_key_replays_status_and_body_and_charges_nothing_more(owner_client, funded, media_root):
    video = SpeechVideoFactory(owner=funded)
    first = _post_job(owner_client, video, "key-1")
    second = _post_job(owner_client, video, "key-1")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert DubbingJob.objects.filter(owner=funded).count() == 1
    assert len(_debits(funded)) == 1


def test_the_same_key_of_another_user_is_independent(owner_client, other_client, funded, other, media_root):
    mine, theirs = SpeechVideoFactory(owner=funded), SpeechVideoFactory(owner=other)
    a = _post_job(owner_client, mine, "shared-key")
    b = _post_job(other_client, theirs, "shared-key")
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert len(_debits(funded)) == 1 and len(_debits(other)) == 1


def test_the_same_key_with_another_body_is_refused_with_422(owner_client, funded, media_root):
    video = SpeechVideoFactory(owner=funded)
    assert _post_job(owner_client, video, "key-2").status_code == 201
    reused = _post_job(owner_client, video, "key-2", target_language="ca")
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert DubbingJob.objects.filter(owner=funded).count() == 1


def test_a_key_whose_first_request_is_still_running_answers_409(owner, owner_client, funded, media_root):
    video = SpeechVideoFactory(owner=funded)
    # Given the first request with this key has claimed it and not finished (as the decorator
    # leaves it while the view runs)
    from rest_framework.test import APIRequestFactory

    body = {"video_id": str(video.id), "target_language": "es", "source_language": "en"}
    first = APIRequestFactory().post("/api/v1/jobs", body, format="json")
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request

    idempotency_key_claim(user=owner, key="key-3", fingerprint=request_fingerprint(Request(first, parsers=[JSONParser()])),
                          method="POST", path="/api/v1/jobs")
    # When the retry arrives
    busy = _post_job(owner_client, video, "key-3")
    # Then it is told to wait, and nothing is created
    assert busy.status_code == 409 and busy.json()["code"] == "idempotency_key_in_use"
    assert not DubbingJob.objects.filter(owner=funded).exists()

    # A key held past IDEMPOTENCY_LOCK_SECONDS belonged to a request that died: taken over.
    IdempotencyKey.objects.filter(key="key-3").update(locked_at=timezone.now() - timedelta(minutes=10))
    taken = _post_job(owner_client, video, "key-3")
    assert taken.status_code == 201
    assert DubbingJob.objects.filter(owner=funded).count() == 1


def test_a_refused_request_releases_its_key(owner_client, owner, media_root):
    video = SpeechVideoFactory(owner=owner)  # no credits: 402
    poor = _post_job(owner_client, video, "key-4")
    assert poor.status_code == 402
    assert not IdempotencyKey.objects.filter(key="key-4").exists()
    credits_grant(user=owner, amount=5, staff=owner, reason="top-up", idempotency_key="top-up")
    assert _post_job(owner_client, video, "key-4").status_code == 201


def test_keys_are_kept_in_the_database_for_24_hours_and_purged_by_a_command(owner_client, funded, media_root):
    video = SpeechVideoFactory(owner=funded)
    assert _post_job(owner_client, video, "old").status_code == 201
    assert _post_job(owner_client, video, "new", target_language="ca").status_code == 201
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    call_command("purge_idempotency_keys")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    # An expired key is a new key: the request runs again.
    assert _post_job(owner_client, video, "old").status_code == 201
    assert DubbingJob.objects.filter(owner=funded).count() == 3


def test_retry_and_render_take_keys_too(owner_client, funded, media_root):
    from dubbing.models import JobStatus

    video = SpeechVideoFactory(owner=funded)
    job = DubbingJob.objects.get(id=_post_job(owner_client, video, "create").json()["id"])
    DubbingJob.objects.filter(id=job.id).update(status=JobStatus.FAILED)
    one = owner_client.post(f"/api/v1/jobs/{job.id}/retry", HTTP_IDEMPOTENCY_KEY="retry-1")
    two = owner_client.post(f"/api/v1/jobs/{job.id}/retry", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert one.status_code == two.status_code == 200 and two["Idempotent-Replayed"] == "true"
    job.refresh_from_db()
    assert job.attempt == 2
    assert len(_debits(funded)) == 2


def test_a_payment_is_prepared_once_per_key(owner_client, owner, settings):
    settings.PORTONE_STORE_ID, settings.PORTONE_CHANNEL_KEY = "store-test", "channel-test"
    settings.PORTONE_API_SECRET, settings.PORTONE_WEBHOOK_SECRET = "secret", "whsec_dGVzdA=="
    pack = CreditPack.objects.create(name="Test 100", credits=100, price=15_000, currency="KRW")
    answers = [owner_client.post("/api/v1/billing/payments", {"pack_id": str(pack.id)}, format="json",
                                 HTTP_IDEMPOTENCY_KEY="pay-1") for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201], answers[0].content
    assert answers[0].json()["payment_id"] == answers[1].json()["payment_id"]
    assert Payment.objects.filter(user=owner).count() == 1


def test_a_key_longer_than_255_characters_is_refused(owner_client, funded, media_root):
    video = SpeechVideoFactory(owner=funded)
    answer = _post_job(owner_client, video, "k" * 256)
    assert answer.status_code == 400 and answer.json()["code"] == "idempotency_key_invalid"
