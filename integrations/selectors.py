"""Reads for webhooks; another user's endpoint is "not found"."""

from __future__ import annotations

from django.db.models import QuerySet

from integrations.errors import WebhookNotFound
from integrations.models import WebhookAttempt, WebhookEndpoint


def webhook_endpoint_list(*, owner_id) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(owner_id=owner_id)


def webhook_endpoint_get(*, owner_id, endpoint_id) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(owner_id=owner_id, id=endpoint_id).first()
    if endpoint is None:
        raise WebhookNotFound()
    return endpoint


def webhook_attempt_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookAttempt]:
    return WebhookAttempt.objects.filter(endpoint_id=endpoint.id).select_related("message")
