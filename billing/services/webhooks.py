"""PortOne webhook deliveries: stored raw, verified, then the same sync as `complete`."""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.conf import settings
from django.utils import timezone
from portone_server_sdk import webhook as portone_webhook

from billing.errors import InvalidWebhook, PaymentProviderUnavailable, PaymentsNotConfigured
from billing.models import Payment, WebhookDelivery
from billing.services.payments import payment_sync
from onevoice.errors import ServiceError

_UNSTORED_HEADERS = {"cookie", "authorization"}


def webhook_delivery_receive(*, body: bytes, headers: Mapping[str, str]) -> WebhookDelivery:
    """Store a PortOne webhook as it arrived, verify it, then run the same sync as `complete`.

    Raises InvalidWebhook (400) for a bad or missing signature or a stale timestamp, and
    PaymentProviderUnavailable (502, PortOne retries) when PortOne cannot be asked.
    """
    text = body.decode("utf-8", errors="replace")
    delivery = WebhookDelivery.objects.create(
        webhook_id=(headers.get("webhook-id") or "")[:200],
        headers={k: v for k, v in headers.items() if k.lower() not in _UNSTORED_HEADERS},
        body=text,
    )
    secret = settings.PORTONE_WEBHOOK_SECRET
    if not secret:
        _delivery_error(delivery, "PORTONE_WEBHOOK_SECRET is not set.")
        raise PaymentsNotConfigured("Webhooks are not configured on this server.")
    try:
        event = portone_webhook.verify(secret, text, headers)
    except portone_webhook.WebhookVerificationError as error:
        _delivery_error(delivery, f"{error.reason}: {error.message}")
        raise InvalidWebhook(f"Webhook rejected: {error.reason}.") from error
    except portone_webhook.InvalidInputError as error:
        _delivery_error(delivery, f"PORTONE_WEBHOOK_SECRET is not a valid secret: {error.message}")
        raise PaymentsNotConfigured("The webhook secret is misconfigured.") from error
    except ValueError as error:  # signed, but not JSON
        _delivery_error(delivery, f"Body is not JSON: {error}")
        raise InvalidWebhook("The webhook body is not JSON.") from error

    delivery.verified = True
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
        _delivery_error(delivery, f"PortOne could not be asked: {error.detail}")
        raise
    except ServiceError as error:
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
