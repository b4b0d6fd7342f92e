"""Liveness and readiness probes (API.md "Operations")."""

from __future__ import annotations

import logging

import dramatiq
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    broker = dramatiq.get_broker()
    client = getattr(broker, "client", None)
    if hasattr(broker, "sqs") and hasattr(broker, "ping"):
        broker.ping()  # SQS (onevoice/sqs.py): one call needing the endpoint and the credentials
    elif client is not None and hasattr(client, "ping"):
        client.ping()  # Redis
    elif hasattr(broker, "connection"):
        broker.connection  # RabbitMQ: opening the channel proves the connection
    # StubBroker lives in this process: if we are answering, it is up.


def check_storage() -> None:
    name = default_storage.save("health/readyz.txt", ContentFile(b"ok"))
    try:
        with default_storage.open(name) as handle:
            if handle.read() != b"ok":
                raise RuntimeError("storage returned different bytes")
    finally:
        default_storage.delete(name)


CHECKS = {"database": check_database, "broker": check_broker, "storage": check_storage}


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # a readiness probe reports every failure, whatever its kind
            logger.warning("readiness check failed", extra={"check": name, "error": str(exc)})
            results[name] = f"error: {exc.__class__.__name__}"
    failed = [name for name, value in results.items() if value != "ok"]
    if failed:
        return JsonResponse(
            {**results, "detail": f"Not ready: {', '.join(failed)}.", "code": "not_ready"}, status=503
        )
    return JsonResponse(results)
