"""PortOne V2 behind the payments interface: Korean cards and wallets, in KRW.

The wire calls live in billing/portone.py (shared with the plans' billing keys); this adapts them
to `PaymentProvider`. PortOne's browser SDK takes the payment itself, so `checkout_start` calls
nothing: it answers what `PortOne.requestPayment` needs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from django.conf import settings
from django.urls import reverse
from portone_server_sdk import webhook as portone_webhook

from billing import portone
from billing.errors import InvalidWebhook, PaymentsNotConfigured
from billing.models import Payment, Provider
from billing.providers.base import (
    Checkout,
    EventKind,
    ProviderPayment,
    RefundResult,
    WebhookEvent,
)
from billing.providers.signatures import WebhookRejection, webhook_rejection_count

logger = logging.getLogger(__name__)


class PortOneProvider:
    name = Provider.PORTONE
    label = "PortOne"

    def is_configured(self) -> bool:
        return portone.is_configured()

    def supports(self, currency: str) -> bool:
        return currency.upper() == "KRW"

    def checkout_start(self, *, payment: Payment, success_url: str, cancel_url: str) -> Checkout:
        user = payment.user
        return Checkout(client={
            "store_id": settings.PORTONE_STORE_ID,
            "channel_key": settings.PORTONE_CHANNEL_KEY,
            "pay_method": settings.PORTONE_PAY_METHOD,
            # Where the SDK sends phones after paying (it appends paymentId, code, message).
            "redirect_url": settings.SITE_URL + reverse("payment_return"),
            "customer": {"customer_id": str(user.pk), "email": user.email, "full_name": user.name or user.email},
        })

    def payment_fetch(self, *, payment: Payment) -> ProviderPayment | None:
        return portone.payment_fetch(payment_id=payment.payment_id)

    def order_problem(self, *, payment: Payment, snapshot: ProviderPayment) -> str:
        if snapshot.store_id != settings.PORTONE_STORE_ID:
            return f"The payment belongs to store {snapshot.store_id!r}, not ours."
        if snapshot.channel_type != "LIVE" and not settings.PORTONE_ALLOW_TEST_CHANNEL:
            return f"Paid through a {snapshot.channel_type or 'unknown'} channel; only LIVE channels are accepted."
        return ""

    def refund(
        self, *, payment: Payment, amount: int, reason: str, cancellable: int, idempotency_key: str
    ) -> RefundResult:
        # PortOne keeps no request id of ours: `current_cancellable_amount` is its guard instead.
        return portone.payment_cancel(
            payment_id=payment.payment_id, amount=amount, reason=reason, current_cancellable_amount=cancellable
        )

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
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
        raw = json.loads(text) if text else {}
        event_type = str(raw.get("type", ""))[:100] if isinstance(raw, dict) else ""
        payment_id = getattr(getattr(event, "data", None), "payment_id", None)
        kind = EventKind.PAYMENT
        if not isinstance(payment_id, str) or not event_type.startswith("Transaction."):
            kind, payment_id = EventKind.IGNORED, ""
        return WebhookEvent(
            event_id=(headers.get("webhook-id") or "")[:200],
            event_type=event_type,
            kind=kind,
            payment_id=payment_id,
            raw=raw if isinstance(raw, dict) else {},
        )

    def receipt_url(self, *, payment: Payment) -> str:
        return payment.receipt_url
