"""Writes for webhooks (API.md "Webhooks", DESIGN.md "Integrations").

An event becomes one `WebhookMessage` per subscribed endpoint, its JSON body fixed when it is
created; the `webhook_deliver` actor sends it signed with the Standard Webhooks scheme, logs
every attempt, and re-sends it with exponential backoff until it is answered 2xx or
WEBHOOK_RETRY_HOURS have passed. Delivery is at least once: receivers deduplicate by
`webhook-id` (the message id, the same on every try). An endpoint that has failed every attempt
for WEBHOOK_RETRY_HOURS is disabled and its owner emailed.

Attempts are claimed with a conditional update on the message's attempt count, so a duplicate
or stale actor message sends nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.tasks import email_send
from dubbing.events import JobEvent
from dubbing.models import DubbingJob
from dubbing.selectors import job_snapshot_build
from dubbing.serializers import job_representation
from integrations.errors import WebhookInactive, WebhookUrlNotAllowed
from integrations.models import PING, WebhookAttempt, WebhookEndpoint, WebhookMessage
from integrations.netguard import guarded_client, url_check
from integrations.queue import webhook_try_send
from onevoice.errors import ServiceError
from onevoice.retry import backoff_delay

logger = logging.getLogger(__name__)

# The events dubbing publishes (it owns their names) are the events an endpoint can ask for.
JOB_EVENTS = tuple(JobEvent.values)
# A pending message whose next try is this overdue lost its actor message (a broker restart, a
# worker that died during the try): resend_webhooks sends it again.
LOST_AFTER_SECONDS = 60.0
USER_AGENT = "OneVoice-Webhooks/1"


class InvalidEvents(ServiceError):
    code = "invalid"


# --- Signing (Standard Webhooks) ---------------------------------------------------------------

def webhook_secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def webhook_signature(*, secret: str, message_id: str, timestamp: int | str, body: str) -> str:
    """`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed by the secret's bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# --- Endpoints -----------------------------------------------------------------------------------

def _checked_url(url: str) -> str:
    url = (url or "").strip()
    reason = url_check(url)
    if reason:
        raise WebhookUrlNotAllowed(
            gettext("This URL cannot receive webhooks: %(reason)s") % {"reason": reason}, errors={"url": [reason]}
        )
    return url


def _checked_events(events) -> list[str]:
    if not isinstance(events, (list, tuple)) or not events:
        raise InvalidEvents(gettext("Choose at least one event."), errors={"events": [gettext("Required.")]})
    unknown = [e for e in events if e not in JOB_EVENTS]
    if unknown:
        message = gettext("Unknown events: %(unknown)s (known: %(known)s).") % {
            "unknown": ", ".join(map(str, unknown)), "known": ", ".join(JOB_EVENTS)}
        raise InvalidEvents(message, errors={"events": [message]})
    return list(dict.fromkeys(events))


def webhook_endpoint_create(*, owner, url: str, events: list[str]) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (the caller shows `endpoint.secret` once).
    400 webhook_url_not_allowed for a URL that is not https or resolves to a private address."""
    return WebhookEndpoint.objects.create(owner=owner, url=_checked_url(url), events=_checked_events(events),
                                          secret=webhook_secret_new())


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, url: str | None = None, events: list[str] | None = None,
                            active: bool | None = None) -> WebhookEndpoint:
    fields = ["updated_at"]
    if url is not None:
        endpoint.url = _checked_url(url)
        fields.append("url")
    if events is not None:
        endpoint.events = _checked_events(events)
        fields.append("events")
    if active is not None:
        endpoint.active = bool(active)
        fields.append("active")
        if endpoint.active:  # re-enabled: the failure clock starts again
            endpoint.failing_since = None
            endpoint.disabled_reason = ""
            fields += ["failing_since", "disabled_reason"]
    endpoint.save(update_fields=fields)
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


# --- Messages ------------------------------------------------------------------------------------

def _body(event: str, data: dict) -> str:
    return json.dumps({"type": event, "timestamp": timezone.now().isoformat(), "data": data},
                      cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


def _send(message_id: str, number: int, *, delay_seconds: float = 0.0) -> None:
    """Send try `number` of the message once the surrounding transaction commits."""
    transaction.on_commit(
        lambda: webhook_try_send(message_id=message_id, number=number, delay_seconds=delay_seconds))


def webhook_message_create(*, endpoint: WebhookEndpoint, event: str, data: dict) -> WebhookMessage:
    message = WebhookMessage.objects.create(id="msg_" + secrets.token_hex(12), endpoint=endpoint, event=event,
                                            body=_body(event, data), next_attempt_at=timezone.now())
    _send(message.id, 1)
    return message


def webhook_ping(*, endpoint: WebhookEndpoint) -> WebhookMessage:
    """POST /webhooks/{id}/test: a `ping` event, delivered like any other."""
    if not endpoint.active:
        raise WebhookInactive()
    return webhook_message_create(endpoint=endpoint, event=PING,
                                  data={"endpoint": str(endpoint.id), "url": endpoint.url})


def _absolute(url: str) -> str:
    return settings.SITE_URL + url if url.startswith("/") else url


def job_event_data(job) -> dict:
    """The job as GET /jobs/{id} answers it, with absolute (time-limited) artifact links."""
    body = job_representation(job.snapshot or job_snapshot_build(job))
    body["artifacts"] = {kind: _absolute(url) for kind, url in body["artifacts"].items()}
    return body


def webhook_event_publish(event: str, *, job_id, owner_id, **_ignored) -> list[WebhookMessage]:
    """The subscriber of dubbing's job events (onevoice.events, after commit): one message per
    active endpoint of the owner that asked for `event`."""
    endpoints = [e for e in WebhookEndpoint.objects.filter(owner_id=owner_id, active=True) if event in e.events]
    if not endpoints:
        return []
    job = DubbingJob.objects.filter(id=job_id).first()
    if job is None:
        return []
    data = job_event_data(job)
    with transaction.atomic():
        return [webhook_message_create(endpoint=endpoint, event=event, data=data) for endpoint in endpoints]


# --- Delivery ------------------------------------------------------------------------------------

def retry_delay_seconds(number: int) -> float:
    """Before try `number + 1` (onevoice.retry): base * 2^(number-1), capped."""
    return backoff_delay(number, base=settings.WEBHOOK_RETRY_BACKOFF, cap=settings.WEBHOOK_RETRY_BACKOFF_MAX)


def _post(endpoint: WebhookEndpoint, message: WebhookMessage) -> tuple[int | None, str]:
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(secret=endpoint.secret, message_id=message.id, timestamp=timestamp,
                                               body=message.body),
    }
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    try:
        with guarded_client(timeout=timeout) as client:
            response = client.post(endpoint.url, content=message.body.encode(), headers=headers)
    except httpx.TimeoutException:
        return None, f"No answer within {timeout:g} s."
    except httpx.HTTPError as exc:
        return None, (str(exc) or type(exc).__name__)[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    if 300 <= response.status_code < 400:
        return response.status_code, f"Redirects are not followed (to {response.headers.get('location', '?')})."[:500]
    return response.status_code, f"HTTP {response.status_code}"


def webhook_attempt_run(*, message_id: str, number: int) -> WebhookAttempt | None:
    """Try `number` of one message (the actor calls this). None when there is nothing to send:
    a duplicate or stale delivery, a message already delivered or given up."""
    # The lease: a try that has not ended by then died with its worker; resend_webhooks sends it again.
    lease = timezone.now() + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + LOST_AFTER_SECONDS)
    claimed = WebhookMessage.objects.filter(
        id=message_id, status=WebhookMessage.Status.PENDING, attempts=number - 1
    ).update(attempts=number, next_attempt_at=lease)
    if claimed != 1:
        return None
    message = WebhookMessage.objects.select_related("endpoint", "endpoint__owner").get(id=message_id)
    endpoint = message.endpoint
    if not endpoint.active:
        WebhookMessage.objects.filter(id=message.id).update(status=WebhookMessage.Status.FAILED)
        return None
    began = time.monotonic()
    status_code, error = _post(endpoint, message)
    seconds = time.monotonic() - began
    now = timezone.now()
    ok = not error
    next_retry = None
    with transaction.atomic():
        if ok:
            WebhookMessage.objects.filter(id=message.id).update(status=WebhookMessage.Status.DELIVERED,
                                                                delivered_at=now, next_attempt_at=None)
            WebhookEndpoint.objects.filter(id=endpoint.id, failing_since__isnull=False).update(failing_since=None)
        else:
            delay = retry_delay_seconds(number)
            give_up_at = message.created_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
            if now + timedelta(seconds=delay) <= give_up_at:
                next_retry = now + timedelta(seconds=delay)
                WebhookMessage.objects.filter(id=message.id).update(next_attempt_at=next_retry)
                _send(message.id, number + 1, delay_seconds=delay)
            else:
                WebhookMessage.objects.filter(id=message.id).update(status=WebhookMessage.Status.FAILED,
                                                                    next_attempt_at=None)
            WebhookEndpoint.objects.filter(id=endpoint.id, failing_since__isnull=True).update(failing_since=now)
            _disable_if_failing_too_long(endpoint.id, now=now)
        attempt = WebhookAttempt.objects.create(message=message, endpoint=endpoint, number=number,
                                                status_code=status_code, error=error, seconds=round(seconds, 3),
                                                next_retry_at=next_retry)
    log = logger.info if ok else logger.warning
    log("Webhook %s %s to %s, try %s: %s in %.2f s", message.event, message.id, endpoint.url, number,
        status_code or error, seconds)
    return attempt


def _disable_if_failing_too_long(endpoint_id, *, now) -> None:
    since = now - timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    endpoint = WebhookEndpoint.objects.select_for_update().select_related("owner").filter(
        id=endpoint_id, active=True, failing_since__lte=since).first()
    if endpoint is None:
        return
    hours = settings.WEBHOOK_RETRY_HOURS
    endpoint.active = False
    endpoint.disabled_reason = f"Every delivery failed for {hours:g} hours."
    endpoint.save(update_fields=["active", "disabled_reason", "updated_at"])
    WebhookMessage.objects.filter(endpoint_id=endpoint.id, status=WebhookMessage.Status.PENDING).update(
        status=WebhookMessage.Status.FAILED)
    owner = endpoint.owner
    if owner.email and owner.is_active:
        subject = "OneVoice: your webhook endpoint was disabled"
        body = (f"Hello {owner.get_short_name() if hasattr(owner, 'get_short_name') else ''},\n\n"
                f"Every delivery to {endpoint.url} failed for {hours:g} hours, so we disabled the endpoint.\n"
                f"Its attempts are listed at {settings.SITE_URL}/settings/webhooks. Fix the receiver and "
                f"enable the endpoint again there.\n")
        recipient = owner.email
        transaction.on_commit(lambda: email_send.send(subject=subject, body=body, recipient=recipient))


def webhook_messages_resend_lost(*, now=None) -> int:
    """Send again the pending messages whose try is LOST_AFTER_SECONDS overdue. A duplicate is
    harmless: a try is claimed by the message's attempt count. Returns how many were sent."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=LOST_AFTER_SECONDS)
    sent = 0
    for message in WebhookMessage.objects.filter(status=WebhookMessage.Status.PENDING, next_attempt_at__lt=overdue):
        touched = WebhookMessage.objects.filter(
            id=message.id, status=WebhookMessage.Status.PENDING, attempts=message.attempts,
            next_attempt_at=message.next_attempt_at,
        ).update(next_attempt_at=now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + LOST_AFTER_SECONDS))
        if touched == 1:
            _send(message.id, message.attempts + 1)
            sent += 1
    return sent
