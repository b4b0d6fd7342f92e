"""Webhooks: registration (URL rules, a secret shown once), signed deliveries through a real
Dramatiq worker to a loopback receiver, retries with backoff on 5xx and timeouts, every attempt
logged, endpoints disabled after failing for WEBHOOK_RETRY_HOURS, and the jobs' events."""

from __future__ import annotations

import itertools
import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import UserFactory
from integrations import services
from integrations.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from integrations.tests.factories import WebhookAttemptFactory, WebhookMessageFactory
from testing.enqueues import recording_enqueues
from testing.waiting import wait_until
from testing.webhook_receiver import WebhookReceiver
from videos.tests.factories import SpeechVideoFactory

ALL_EVENTS = ["job.succeeded", "job.failed", "job.cancelled", "job.render_succeeded"]


def _wait_message(status: str, timeout: float = 20.0) -> WebhookMessage:
    """The latest message, once it is `status`."""

    def latest_if_reached() -> WebhookMessage | None:
        message = WebhookMessage.objects.order_by("-created_at").first()
        return message if message is not None and message.status == status else None

    return wait_until(latest_if_reached, timeout=timeout, what=lambda: f"the message to be {status}: {_state()}")


def _state() -> list:
    return [(m.id, m.status, m.attempts, [(a.status_code, a.error) for a in m.attempt_log.all()])
            for m in WebhookMessage.objects.all()]


def _wait_for(receiver, count: int):
    try:
        return receiver.wait_for(count)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; messages: {_state()}") from None


def _verify(delivery, secret: str) -> dict:
    headers = delivery.headers
    expected = services.webhook_signature(secret=secret, message_id=headers["webhook-id"],
                                          timestamp=headers["webhook-timestamp"], body=delivery.body.decode())
    assert headers["webhook-signature"] == expected
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    return json.loads(delivery.body)


# --- Registration -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_an_endpoint_shows_its_secret_once_and_only_to_its_owner(owner_client, other_client, webhook_settings):
    created = owner_client.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["job.succeeded"]},
                                format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["job.succeeded"] and body["active"]
    shown = owner_client.get(f"/api/v1/webhooks/{body['id']}").json()
    assert "secret" not in shown
    assert "secret" not in owner_client.get("/api/v1/webhooks").json()["results"][0]
    for path in ("", "/deliveries"):
        assert other_client.get(f"/api/v1/webhooks/{body['id']}{path}").status_code == 404
    assert other_client.post(f"/api/v1/webhooks/{body['id']}/test").status_code == 404
    assert other_client.delete(f"/api/v1/webhooks/{body['id']}").status_code == 404
    patched = owner_client.patch(f"/api/v1/webhooks/{body['id']}", {"events": ALL_EVENTS}, format="json")
    assert patched.json()["events"] == ALL_EVENTS
    assert owner_client.delete(f"/api/v1/webhooks/{body['id']}").status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/hook", "https://127.0.0.1/hook", "http://169.254.169.254/", "https://169.254.169.254/",
    "https://localhost/hook", "https://[::1]/hook", "https://10.0.0.5/hook", "https://192.168.1.1/hook",
    "https://[::ffff:127.0.0.1]/hook", "https://0.0.0.0/hook",
])
def test_private_loopback_and_link_local_urls_are_refused_in_production_settings(owner_client, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    refused = owner_client.post("/api/v1/webhooks", {"url": url, "events": ["job.succeeded"]}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "webhook_url_not_allowed"
    assert "url" in refused.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_plain_http_and_unknown_events_are_refused(owner_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    plain = owner_client.post("/api/v1/webhooks", {"url": "http://example.com/hook", "events": ["job.succeeded"]},
                              format="json")
    assert plain.status_code == 400 and plain.json()["code"] == "webhook_url_not_allowed"
    unknown = owner_client.post("/api/v1/webhooks", {"url": "https://example.com/hook", "events": ["job.exploded"]},
                                format="json")
    assert unknown.status_code == 400 and "events" in unknown.json()["errors"]


# --- Delivery -----------------------------------------------------------------------------------

def test_a_receiver_failing_three_times_gets_each_try_again_then_it_is_delivered(
        transactional_db, broker, webhook_worker, webhook_settings):
    owner = UserFactory(email="hooks@example.com", name="Hana")
    with WebhookReceiver(script=[500, 500, 500, 200]) as receiver, recording_enqueues(broker) as sent:
        endpoint = services.webhook_endpoint_create(owner=owner, url=receiver.url, events=ALL_EVENTS)
        message = services.webhook_ping(endpoint=endpoint)
        deliveries = _wait_for(receiver, 4)
        delivered = _wait_message("delivered")
        time.sleep(0.3)  # nothing more arrives
        assert len(receiver.deliveries) == 4
    assert delivered.id == message.id and delivered.attempts == 4
    assert {d.headers["webhook-id"] for d in deliveries} == {message.id}
    assert [d.body for d in deliveries] == [deliveries[0].body] * 4  # the same body every try
    assert _verify(deliveries[-1], endpoint.secret)["type"] == "ping"
    attempts = list(WebhookAttempt.objects.filter(message=message).order_by("number"))
    assert [a.status_code for a in attempts] == [500, 500, 500, 200]
    assert [a.error for a in attempts] == ["HTTP 500"] * 3 + [""]
    assert all(a.next_retry_at is not None for a in attempts[:3]) and attempts[3].next_retry_at is None
    # backoff doubles: each try after a failure was sent with twice the last delay (0.05 s, capped at 0.2 s
    # by webhook_settings), and none was attempted before the time the failed try scheduled it for
    assert [m.delay for m in sent.messages if m.actor_name == "webhook_deliver"] == [None, 50, 100, 200]
    assert all(later.attempted_at >= earlier.next_retry_at for earlier, later in itertools.pairwise(attempts))
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since is None


def test_a_receiver_that_hangs_is_timed_out_and_tried_again(transactional_db, webhook_worker, webhook_settings):
    owner = UserFactory(email="hang@example.com", name="Ha")
    with WebhookReceiver(script=["hang", 200], hang_seconds=2.0) as receiver:
        endpoint = services.webhook_endpoint_create(owner=owner, url=receiver.url, events=ALL_EVENTS)
        message = services.webhook_ping(endpoint=endpoint)
        deliveries = receiver.wait_for(2)
        delivered = _wait_message("delivered")
    first, second = WebhookAttempt.objects.filter(message=message).order_by("number")
    assert first.status_code is None and first.error == "No answer within 0.5 s."
    # the hung try was given up on (the receiver never answered it) and the same message sent again
    assert [d.headers["webhook-id"] for d in deliveries] == [message.id] * 2
    assert first.next_retry_at is not None and second.attempted_at >= first.next_retry_at
    assert second.status_code == 200 and second.error == ""
    assert delivered.id == message.id and delivered.attempts == 2


def test_redirects_are_not_followed(transactional_db, webhook_worker, webhook_settings):
    owner = UserFactory(email="redirect@example.com", name="Ro")
    with WebhookReceiver(script=["redirect"]) as receiver:
        endpoint = services.webhook_endpoint_create(owner=owner, url=receiver.url, events=ALL_EVENTS)
        message = services.webhook_ping(endpoint=endpoint)
        _wait_message("delivered")  # the second try, answered 200
        assert len(receiver.deliveries) == 2
    attempt = WebhookAttempt.objects.get(message=message, number=1)
    assert attempt.status_code == 302 and "not followed" in attempt.error


def test_an_address_forbidden_at_delivery_is_refused_after_dns_resolution(transactional_db, webhook_worker, webhook_settings):
    """Registered while allowed, then the rule applies (as a name re-pointed at 127.0.0.1 would)."""
    owner = UserFactory(email="rebind@example.com", name="Re")
    with WebhookReceiver() as receiver:
        endpoint = services.webhook_endpoint_create(owner=owner, url=receiver.url.replace("127.0.0.1", "localhost"),
                                                    events=ALL_EVENTS)
        webhook_settings.WEBHOOKS_ALLOW_PRIVATE = False
        webhook_settings.WEBHOOK_RETRY_HOURS = 0.0003  # about a second of tries
        message = services.webhook_ping(endpoint=endpoint)
        _wait_message("failed")
        assert receiver.deliveries == []
    attempt = WebhookAttempt.objects.get(message=message, number=1)
    assert "not a public address" in attempt.error


def test_an_endpoint_failing_for_24_hours_is_disabled_and_its_owner_emailed(
        transactional_db, webhook_worker, webhook_settings):
    owner = UserFactory(email="down@example.com", name="Dora")
    with WebhookReceiver(script=[503]) as receiver:
        endpoint = services.webhook_endpoint_create(owner=owner, url=receiver.url, events=ALL_EVENTS)
        WebhookEndpoint.objects.filter(id=endpoint.id).update(failing_since=timezone.now() - timedelta(hours=24, minutes=1))
        services.webhook_ping(endpoint=endpoint)
        _wait_message("failed")
    endpoint.refresh_from_db()
    assert not endpoint.active and "24 hours" in endpoint.disabled_reason
    wait_until(lambda: mail.outbox, timeout=10, what="the owner's email")
    assert [m.to for m in mail.outbox] == [["down@example.com"]]
    assert endpoint.url in mail.outbox[0].body


def test_jobs_publish_their_end_to_the_owners_endpoints(transactional_db, webhook_worker, webhook_settings, tmp_path):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    from billing.services.ledger import credits_grant
    from dubbing import services as dubbing

    webhook_settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    assert ContentFile and storages
    owner, other = UserFactory(email="jobs@example.com", name="Jo"), UserFactory(email="nosy@example.com", name="No")
    credits_grant(user=owner, amount=10, staff=owner, reason="test", idempotency_key="grant-hooks")
    with WebhookReceiver() as receiver, WebhookReceiver() as theirs:
        endpoint = services.webhook_endpoint_create(owner=owner, url=receiver.url, events=["job.succeeded",
                                                                                          "job.cancelled"])
        services.webhook_endpoint_create(owner=other, url=theirs.url, events=ALL_EVENTS)
        video = SpeechVideoFactory(owner=owner)
        done, cancelled = dubbing.dubbing_jobs_create(owner=owner, video_id=video.id, target_languages=["es", "ca"],
                                                      source_language="en")
        dubbing.dubbing_job_cancel(job=cancelled)
        claimed = dubbing.dubbing_job_claim(job_id=done.id, attempt=1, render=0)
        dubbing.dubbing_job_succeed(job_id=done.id, claim_token=claimed.claim_token, files=[])
        deliveries = receiver.wait_for(2)
        time.sleep(0.3)
        assert theirs.deliveries == []
    events = sorted((_verify(d, endpoint.secret)["type"], _verify(d, endpoint.secret)["data"]["id"]) for d in deliveries)
    assert events == sorted([("job.cancelled", str(cancelled.id)), ("job.succeeded", str(done.id))])
    succeeded = next(json.loads(d.body) for d in deliveries if json.loads(d.body)["type"] == "job.succeeded")
    assert succeeded["data"]["status"] == "succeeded" and succeeded["data"]["target_language"] == "es"


@pytest.mark.django_db
def test_the_deliveries_list_shows_every_attempt(owner, owner_client, client, webhook_settings):
    endpoint = services.webhook_endpoint_create(owner=owner, url="http://127.0.0.1:9/hook", events=ALL_EVENTS)
    message = WebhookMessageFactory(id="msg_x", endpoint=endpoint, event="ping", body="{}")
    WebhookAttemptFactory(message=message, number=1, error="HTTP 500", status_code=500, seconds=0.1,
                          next_retry_at=timezone.now())
    listed = owner_client.get(f"/api/v1/webhooks/{endpoint.id}/deliveries").json()["results"]
    assert listed[0]["webhook_id"] == "msg_x" and listed[0]["event"] == "ping" and listed[0]["status_code"] == 500
    client.force_login(owner)
    page = client.get("/settings/webhooks")
    assert page.status_code == 200 and b"HTTP 500" in page.content


@pytest.mark.django_db
def test_the_test_button_sends_a_ping(owner, owner_client, webhook_settings, broker):
    endpoint = services.webhook_endpoint_create(owner=owner, url="http://127.0.0.1:9/hook", events=ALL_EVENTS)
    answer = owner_client.post(f"/api/v1/webhooks/{endpoint.id}/test")
    assert answer.status_code == 202
    assert WebhookMessage.objects.get(id=answer.json()["webhook_id"]).event == "ping"


def test_a_message_whose_try_died_with_its_worker_is_sent_again(transactional_db, webhook_worker, webhook_settings):
    from django.core.management import call_command

    owner = UserFactory(email="lost@example.com", name="Lo")
    with WebhookReceiver() as receiver:
        endpoint = services.webhook_endpoint_create(owner=owner, url=receiver.url, events=ALL_EVENTS)
        # Given a message claimed for its first try by a worker that died (its lease ran out)
        message = WebhookMessageFactory(id="msg_lost", endpoint=endpoint, event="ping", body='{"type":"ping"}',
                                        attempts=1, next_attempt_at=timezone.now() - timedelta(minutes=5))
        # When the resender runs
        call_command("resend_webhooks")
        receiver.wait_for(1)
        delivered = _wait_message("delivered")
    # Then it is delivered by a second try, with the same webhook-id
    assert delivered.id == message.id and delivered.attempts == 2
    assert receiver.deliveries[0].headers["webhook-id"] == "msg_lost"
    assert services.webhook_messages_resend_lost() == 0
