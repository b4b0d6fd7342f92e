"""Provider webhook deliveries: verified by their provider, stored raw, then the same sync as
`complete`. One path for every provider (billing/providers/): the provider checks the signature
and reads the event; what happens to our payments is decided here, once."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db.models import Q
from django.utils import timezone

from billing.errors import PaymentProviderUnavailable
from billing.models import Payment, Provider, WebhookDelivery
from billing.providers import provider_get
from billing.providers.base import EventKind, WebhookEvent
from billing.providers.signatures import WEBHOOK_MAX_BYTES, WebhookRejection, webhook_rejection_count
from billing.services.payments import _payment_apply
from billing.services.provider_subscriptions import subscription_charge_record, subscription_provider_sync
from billing.services.refunds import refunds_settle_answered
from onevoice import metrics
from onevoice.errors import ServiceError

logger = logging.getLogger(__name__)
_UNSTORED_HEADERS = {"cookie", "authorization"}
# A verified delivery that changed nothing says why (WebhookDelivery.ignored, the answer's code).
IGNORED_UNKNOWN_PAYMENT = "unknown_payment"
IGNORED_UNHANDLED_EVENT = "unhandled_event"
IGNORED_UNKNOWN_SUBSCRIPTION = "unknown_subscription"

__all__ = ["WEBHOOK_MAX_BYTES", "WebhookRejection", "webhook_delivery_receive", "webhook_rejection_count"]


def webhook_delivery_receive(
    *, body: bytes, headers: Mapping[str, str], provider: str = Provider.PORTONE
) -> WebhookDelivery:
    """Verify a provider's webhook, store it as it arrived, then act on it.

    Nothing is stored before the signature checks out: an anonymous caller cannot fill the table.
    A refusal is counted and logged in one line (by the error handler, from `log_detail`).
    Raises InvalidWebhook (400) for a bad or missing signature, a stale timestamp or a signed
    body that is not JSON; PaymentsNotConfigured (503) without a usable secret; and
    PaymentProviderUnavailable (502, the provider retries) when the provider cannot be asked.
    """
    event = provider_get(provider).webhook_parse(body=body, headers=headers)
    delivery = WebhookDelivery.objects.create(
        provider=provider,
        webhook_id=event.event_id[:200],
        headers={k: v for k, v in headers.items() if k.lower() not in _UNSTORED_HEADERS},
        body=body.decode("utf-8"),
        verified=True,
        event_type=event.event_type[:100],
    )
    if event.kind == EventKind.PAYMENT:
        return _payment_event(delivery, event, provider=provider)
    if event.kind == EventKind.SUBSCRIPTION and event.subscription is not None:
        if subscription_provider_sync(provider=provider, state=event.subscription) is None:
            return _delivery_done(delivery, error="Ignored: no subscription with this id.",
                                  ignored=IGNORED_UNKNOWN_SUBSCRIPTION)
        return _delivery_done(delivery)
    if event.kind == EventKind.SUBSCRIPTION_CHARGE and event.charge is not None:
        payment = subscription_charge_record(provider=provider, charge=event.charge)
        if payment is None:
            return _delivery_done(delivery, error="Ignored: no subscription with this id.",
                                  ignored=IGNORED_UNKNOWN_SUBSCRIPTION)
        delivery.payment_id = payment.payment_id
        return _delivery_done(delivery)
    return _delivery_done(delivery, error="Ignored: not a payment event this server handles.",
                          ignored=IGNORED_UNHANDLED_EVENT)


def _payment_event(delivery: WebhookDelivery, event: WebhookEvent, *, provider: str) -> WebhookDelivery:
    delivery.payment_id = (event.payment_id or event.provider_ref)[:64]
    payments = Payment.objects.filter(provider=provider)
    if event.payment_id:
        payment = payments.filter(payment_id=event.payment_id).first()
    else:
        payment = payments.filter(
            Q(provider_checkout_id=event.provider_ref) | Q(provider_payment_id=event.provider_ref)
        ).first() if event.provider_ref else None
    if payment is None:
        return _delivery_done(delivery, error="Ignored: no payment with this id.", ignored=IGNORED_UNKNOWN_PAYMENT)
    delivery.payment_id = payment.payment_id
    try:
        # payment_sync, and then the refunds the provider has decided since (Paddle approves them).
        snapshot = provider_get(provider).payment_fetch(payment=payment)
        _payment_apply(payment_pk=payment.pk, snapshot=snapshot)
        if snapshot is not None:
            refunds_settle_answered(payment=payment, snapshot=snapshot)
    except PaymentProviderUnavailable as error:
        metrics.webhook_failed.inc()
        _delivery_error(delivery, f"{provider_get(provider).label} could not be asked: {error.detail}")
        raise
    except ServiceError as error:
        metrics.webhook_failed.inc()
        return _delivery_done(delivery, error=f"{error.code}: {error.detail}")
    return _delivery_done(delivery)


def _delivery_error(delivery: WebhookDelivery, error: str) -> None:
    delivery.error = error
    delivery.save()


def _delivery_done(delivery: WebhookDelivery, *, error: str = "", ignored: str = "") -> WebhookDelivery:
    delivery.processed = True
    delivery.ignored = ignored
    delivery.processed_at = timezone.now()
    delivery.error = error
    delivery.save()
    return delivery
