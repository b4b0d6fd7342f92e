"""Idempotency keys on the POSTs that spend credits or create a payment (Stripe's semantics,
DESIGN.md "Integrations").

`@idempotent` wraps a DRF view's `post`. With an `Idempotency-Key` header:

- the first request records the key as in progress (its own committed row), then runs the view
  and stores a successful answer in one transaction with the view's own writes: either both
  are committed or neither, so a crash in between leaves nothing half done;
- the same key, same user, same method, path and body within IDEMPOTENCY_KEY_HOURS: the stored
  status and body, marked `Idempotent-Replayed: true`, and no new work;
- the same key with another request: 422 `idempotency_key_reused`;
- while the first request is still running: 409 `idempotency_key_in_use` (a key held longer
  than IDEMPOTENCY_LOCK_SECONDS belonged to a request that died; it is taken over, which is safe
  because that request's writes rolled back with it).

A request that is refused (4xx) or fails (5xx) did no work: its key is released so the fixed or
later request can run with it. (Stripe also replays errors; replaying a 402 after the user has
topped up would only be in the way.) Keys are per user: another user's key is independent.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from onevoice.errors import ServiceError
from onevoice.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyKeyInvalid(ServiceError):
    code = "idempotency_key_invalid"
    default_detail = format_lazy(_("The Idempotency-Key header must be 1-{limit} printable characters."),
                                 limit=MAX_KEY_LENGTH)


class IdempotencyKeyReused(ServiceError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    default_detail = _("This Idempotency-Key was used with another request; use a new key for a new request.")


class IdempotencyKeyInUse(ServiceError):
    status_code = status.HTTP_409_CONFLICT
    code = "idempotency_key_in_use"
    default_detail = _("A request with this Idempotency-Key is still running; retry it in a moment.")


def _canonical(data):
    if hasattr(data, "lists"):  # QueryDict: every value of every field
        return {key: values for key, values in sorted(data.lists())}
    return data


def request_fingerprint(request) -> str:
    try:
        body = json.dumps(_canonical(request.data), sort_keys=True, default=str, separators=(",", ":"))
    except (TypeError, ValueError):
        body = hashlib.sha256(request.body).hexdigest()
    text = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _expired_before():
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def idempotency_key_claim(*, user, key: str, fingerprint: str, method: str, path: str):
    """("run", row, token) for a new key (or one taken over), ("replay", row, None) for a
    finished one; raises IdempotencyKeyReused / IdempotencyKeyInUse."""
    now = timezone.now()
    token = uuid.uuid4()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint, method=method,
                                                    path=path[:500], lock_token=token, locked_at=now)
            return "run", row, token
        except IntegrityError:
            pass
        row = IdempotencyKey.objects.filter(user=user, key=key).first()
        if row is None:
            continue  # purged or released in between
        if row.created_at < _expired_before():
            IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).delete()
            continue
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if row.state == IdempotencyKey.State.DONE:
            return "replay", row, None
        stale = now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS)
        if row.locked_at is not None and row.locked_at < stale:
            taken = IdempotencyKey.objects.filter(
                pk=row.pk, state=IdempotencyKey.State.IN_PROGRESS, lock_token=row.lock_token
            ).update(lock_token=token, locked_at=now)
            if taken == 1:
                row.lock_token, row.locked_at = token, now
                return "run", row, token
        raise IdempotencyKeyInUse()
    raise IdempotencyKeyInUse()


def _store(row, token, response) -> bool:
    """Record the successful answer, inside the view's transaction; False when the key was taken
    over by another request meanwhile (then this one's writes are rolled back)."""
    locked = IdempotencyKey.objects.select_for_update().filter(pk=row.pk, lock_token=token).first()
    if locked is None:
        return False
    locked.state = IdempotencyKey.State.DONE
    locked.response_status = response.status_code
    locked.response_body = bytes(response.content)
    locked.response_content_type = response.get("Content-Type", "application/json")
    locked.lock_token = None
    locked.save(update_fields=["state", "response_status", "response_body", "response_content_type", "lock_token"])
    return True


def _release(row, token) -> None:
    IdempotencyKey.objects.filter(pk=row.pk, lock_token=token, state=IdempotencyKey.State.IN_PROGRESS).delete()


def _replay(row) -> HttpResponse:
    response = HttpResponse(bytes(row.response_body), status=row.response_status,
                            content_type=row.response_content_type or "application/json")
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(handler):
    """Decorate an APIView's `post(self, request, ...)`; see the module's docstring."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(self, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise IdempotencyKeyInvalid()
        action, row, token = idempotency_key_claim(
            user=request.user, key=key, fingerprint=request_fingerprint(request), method=request.method,
            path=request.path,
        )
        if action == "replay":
            return _replay(row)
        try:
            with transaction.atomic():
                response = handler(self, request, *args, **kwargs)
                response = self.finalize_response(request, response, *args, **kwargs)
                if hasattr(response, "render"):
                    response.render()
                if response.status_code < 400:
                    if not _store(row, token, response):
                        raise IdempotencyKeyInUse()
                    return response
                transaction.set_rollback(True)
        except BaseException:
            _release(row, token)
            raise
        _release(row, token)
        return response

    # For the schema (onevoice.schema): what the header adds to the view's own answers.
    wrapper.error_responses = (*getattr(handler, "error_responses", ()), IdempotencyKeyInvalid,
                               IdempotencyKeyReused, IdempotencyKeyInUse)
    return wrapper


def idempotency_keys_purge(*, now=None) -> int:
    """Delete the keys older than IDEMPOTENCY_KEY_HOURS; returns how many."""
    before = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=before).delete()
    return deleted


def _schema_parameter():
    from drf_spectacular.utils import OpenApiParameter

    return OpenApiParameter(
        HEADER, str, OpenApiParameter.HEADER, required=False,
        description="Retry-safe key (1-255 characters, e.g. a UUID): the same key with the same request within "
                    "24 hours answers the first response again and does no new work.",
    )


IDEMPOTENCY_KEY = _schema_parameter()
