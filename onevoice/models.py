"""Project-wide rows that belong to no single domain app: idempotency keys (DESIGN.md
"Integrations"), used by every POST that spends credits or creates a payment."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` of one user: the request it stands for and, once that request
    succeeded, its answer. Stored in the database (not the cache) so it holds across web
    processes and restarts; purged after IDEMPOTENCY_KEY_HOURS (`manage.py purge_idempotency_keys`)."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys", verbose_name=_("user"))
    key = models.CharField(max_length=255, verbose_name=_("key"))
    # sha256 of method, path and the parsed body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64, verbose_name=_("fingerprint"))
    method = models.CharField(max_length=10, verbose_name=_("method"))
    path = models.CharField(max_length=500, verbose_name=_("path"))
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_PROGRESS, verbose_name=_("state"))
    # Who runs the request now; a request that lost the key (taken over after a crash) stores nothing.
    lock_token = models.UUIDField(null=True, blank=True, verbose_name=_("lock token"))
    locked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("locked at"))
    response_status = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("response status"))
    response_body = models.BinaryField(blank=True, default=b"", verbose_name=_("response body"))
    response_content_type = models.CharField(max_length=100, blank=True, verbose_name=_("response content type"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
