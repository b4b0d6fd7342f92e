"""Webhook endpoints, the events sent to them and every delivery attempt (API.md "Webhooks")."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The job events an endpoint can ask for are dubbing's (dubbing.events.JobEvent); `ping` is ours.
PING = "ping"


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints", verbose_name=_("owner"))
    url = models.URLField(max_length=2000, verbose_name=_("url"))
    events = models.JSONField(default=list, verbose_name=_("events"))
    # "whsec_" + base64 of 24 random bytes, shown once (in the 201 answer).
    secret = models.CharField(max_length=100, verbose_name=_("secret"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    disabled_reason = models.CharField(max_length=300, blank=True, verbose_name=_("disabled reason"))
    # When the endpoint started failing every attempt (None while the last one succeeded).
    failing_since = models.DateTimeField(null=True, blank=True, verbose_name=_("failing since"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "active"], name="webhook_endpoint_owner_active")]

    def __str__(self) -> str:
        return self.url


class WebhookMessage(models.Model):
    """One event for one endpoint: its body is signed and sent as it is stored, every try."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Gave up")

    id = models.CharField(primary_key=True, max_length=40, verbose_name=_("ID"))  # the webhook-id header: "msg_" + hex
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages", verbose_name=_("endpoint"))
    event = models.CharField(max_length=40, verbose_name=_("event"))
    body = models.TextField(verbose_name=_("body"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))

    class Meta:
        verbose_name = _("webhook message")
        verbose_name_plural = _("webhook messages")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_message_due")]

    def __str__(self) -> str:
        return f"{self.event} {self.id} ({self.status})"


class WebhookAttempt(models.Model):
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("message"))
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("endpoint"))
    number = models.PositiveIntegerField(verbose_name=_("number"))
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("status code"))
    error = models.CharField(max_length=500, blank=True, verbose_name=_("error"))
    seconds = models.FloatField(default=0.0, verbose_name=_("seconds"))
    attempted_at = models.DateTimeField(auto_now_add=True, verbose_name=_("attempted at"))
    next_retry_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next retry at"))

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-attempted_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "-attempted_at"], name="webhook_attempt_endpoint")]
        constraints = [models.UniqueConstraint(fields=["message", "number"], name="webhook_attempt_unique_number")]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
