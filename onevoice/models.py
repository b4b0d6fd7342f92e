"""Project-wide rows that belong to no single domain app: idempotency keys (DESIGN.md
"Integrations"), used by every POST that spends credits or creates a payment."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` of one user: the request it stands for and, once that request
    succeeded, its answer. Stored in the database (not the cache) so it holds across web
    processes and restarts; purged after IDEMPOTENCY_KEY_HOURS (`manage.py purge_idempotency_keys`)."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    # sha256 of method, path and the parsed body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    state = models.CharField(max_length=20, choices=State.choices, default=State.IN_PROGRESS)
    # Who runs the request now; a request that lost the key (taken over after a crash) stores nothing.
    lock_token = models.UUIDField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(blank=True, default=b"")
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
