"""PortOne webhook deliveries: verified, stored raw, then the same sync as `complete`."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from enum import StrEnum

from django.conf import settings
from django.utils import timezone
from portone_server_sdk import webhook as portone_webhook

from billing.errors import (
    InvalidWebhook,
    PaymentProviderUnavailable,
    PaymentsNotConfigured,
)
from billing.models import Payment, WebhookDelivery
from billing.services.payments import payment_sync
from onevoice import metrics
from onevoice.errors import ServiceError

logger = logging.getLogger(__name__)
_UNSTORED_HEADERS = {"cookie", "authorization"}
# PortOne's events are a few hundred bytes; the view refuses a longer body before reading it.
WEBHOOK_MAX_BYTES = 64 * 1024


class WebhookRejection(StrEnum):
    """The `reason` label of onevoice_portone_webhook_rejected_total."""

    TOO_LARGE = "too_large"
    THROTTLED = "throttled"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    NOT_CONFIGURED = "not_configured"


def webhook_rejection_count(*, reason: WebhookRejection) -> None:
    metrics.webhook_rejected.labels(reason=reason.value).inc()


def webhook_delivery_receive(*, body: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
    """Verify a PortOne webhook, store it as it arrived, then run the same sync as `complete`.

    Nothing is stored before the signature checks out: an anonymous caller cannot fill the table.
    A refusal is counted and logged in one line (by the error handler, from `log_detail`).
    Raises InvalidWebhook (400) for a bad or missing signature, a stale timestamp or a signed
    body that is not JSON; PaymentsNotConfigured (503) without a usable secret; and
    PaymentProviderUnavailable (502, PortOne retries) when PortOne cannot be asked.
    """
    secret = settings.PORTONE_WEBHOOK_SECRET
    if not secret:
        webhook_rejection_count(reason=WebhookRejection.NOT_CONFIGURED)
        logger.error("PortOne webhook refused: PORTONE_WEBHOOK_SECRET is not set.")
        raise PaymentsNotConfigured("Webhooks are not configured on this server.")
    try:
        text = body.decode("utf-8")
        event = portone_webhook.verify(secret, text, headers)
    except UnicodeDecodeError as error:
        webhook_rejection_count(reason=WebhookRejection.MALFORMED)
        raise InvalidWebhook("The webhook body is not UTF-8 text.",
                             log_detail=f"webhook body is not UTF-8: {error}") from error
    except portone_webhook.WebhookVerificationError as error:
        webhook_rejection_count(reason=WebhookRejection.BAD_SIGNATURE)
        raise InvalidWebhook(f"Webhook rejected: {error.reason}.",
                             log_detail=f"webhook not verified, {error.reason}: {error.message}") from error
    except portone_webhook.InvalidInputError as error:
        webhook_rejection_count(reason=WebhookRejection.NOT_CONFIGURED)
        logger.error("PortOne webhook refused: PORTONE_WEBHOOK_SECRET is not a valid secret: %s", error.message)
        raise PaymentsNotConfigured("The webhook secret is misconfigured.") from error
    except ValueError as error:  # signed, but not JSON
        webhook_rejection_count(reason=WebhookRejection.MALFORMED)
        raise InvalidWebhook("The webhook body is not JSON.",
                             log_detail=f"signed webhook body is not JSON: {error}") from error

    delivery = WebhookDelivery.objects.create(
        webhook_id=(headers.get("webhook-id") or "")[:200],
        headers={k: v for k, v in headers.items() if k.lower() not in _UNSTORED_HEADERS},
        body=text,
        verified=True,
    )
    raw = json.loads(text) if text else {}
    delivery.event_type = str(raw.get("type", ""))[:100] if isinstance(raw, dict) else ""
    data = getattr(event, "data", None)
    payment_id = getattr(data, "payment_id", None)
    if not isinstance(payment_id, str) or not delivery.event_type.startswith("Transaction."):
        return _delivery_done(delivery, error="Ignored: not a payment event this server handles.")
    delivery.payment_id = payment_id[:64]
    payment = Payment.objects.filter(payment_id=payment_id).first()
    if payment is None:
        return _delivery_done(delivery, error="Ignored: no payment with this id.")
    try:
        payment_sync(payment=payment)
    except PaymentProviderUnavailable as error:
        metrics.webhook_failed.inc()
        _delivery_error(delivery, f"PortOne could not be asked: {error.detail}")
        raise
    except ServiceError as error:
        metrics.webhook_failed.inc()
        return _delivery_done(delivery, error=f"{error.code}: {error.detail}")
    return _delivery_done(delivery)


def _delivery_error(delivery: WebhookDelivery, error: str) -> None:
    delivery.error = error
    delivery.save()


def _delivery_done(delivery: WebhookDelivery, *, error: str = "") -> WebhookDelivery:
    delivery.processed = True
    delivery.processed_at = timezone.now()
    delivery.error = error
    delivery.save()
    return delivery
