"""Webhook endpoints, the events sent to them and every delivery attempt (API.md "Webhooks")."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class WebhookEventType(models.TextChoices):
    JOB_SUCCEEDED = "job.succeeded", "Job succeeded"
    JOB_FAILED = "job.failed", "Job failed"
    JOB_CANCELLED = "job.cancelled", "Job cancelled"
    JOB_RENDER_SUCCEEDED = "job.render_succeeded", "Re-render succeeded"


PING = "ping"


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    # "whsec_" + base64 of 24 random bytes, shown once (in the 201 answer).
    secret = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # When the endpoint started failing every attempt (None while the last one succeeded).
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "active"], name="webhook_endpoint_owner_active")]

    def __str__(self) -> str:
        return self.url


class WebhookMessage(models.Model):
    """One event for one endpoint: its body is signed and sent as it is stored, every try."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    id = models.CharField(primary_key=True, max_length=40)  # the webhook-id header: "msg_" + hex
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages")
    event = models.CharField(max_length=40)
    body = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_message_due")]

    def __str__(self) -> str:
        return f"{self.event} {self.id} ({self.status})"


class WebhookAttempt(models.Model):
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="attempt_log")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    seconds = models.FloatField(default=0.0)
    attempted_at = models.DateTimeField(auto_now_add=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "-attempted_at"], name="webhook_attempt_endpoint")]
        constraints = [models.UniqueConstraint(fields=["message", "number"], name="webhook_attempt_unique_number")]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
