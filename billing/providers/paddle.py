"""Paddle Billing behind the payments interface: cards abroad, Paddle as merchant of record.

The wire calls live in billing/paddle.py. Checkout: the server creates a Paddle transaction for
the item's Paddle price (`manage.py paddle_catalog` made it) with our payment id in its
`custom_data`, and Paddle.js opens its overlay on that transaction id; Paddle collects the
buyer's details and the tax. `transaction.completed` (webhook) or the page's `complete` then
syncs the payment: credited once, by the same `_payment_apply` as every provider.

Amounts here are what our prices count: Paddle's subtotal, before the tax Paddle adds abroad.
A refund is an adjustment: Paddle answers `pending_approval` and decides later
(`adjustment.updated`), so it stays pending here until then; a rejected one puts the credits back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext
from paddle_billing.Entities.Shared import CurrencyCode

from billing import paddle
from billing.errors import (
    InvalidWebhook,
    PaymentProviderUnavailable,
    PaymentsNotConfigured,
    SubscriptionNotActive,
)
from billing.models import (
    PAYMENT_PROVIDER_CANCELLED_DETAIL,
    PaddleCatalogPrice,
    Payment,
    Provider,
)
from billing.providers.base import (
    Checkout,
    EventKind,
    ProviderCancellation,
    ProviderPayment,
    RefundRefused,
    RefundResult,
    SubscriptionCharge,
    SubscriptionState,
    WebhookEvent,
)
from billing.providers.signatures import WebhookRejection, webhook_rejection_count

logger = logging.getLogger(__name__)

# Paddle's transaction statuses and what each means for a payment here (developer.paddle.com,
# "Transaction statuses"): only completed buys credits; paid is captured but still processing.
LOCAL_STATUS = {
    "draft": Payment.Status.PENDING,
    "ready": Payment.Status.PENDING,
    "billed": Payment.Status.PENDING,
    "paid": Payment.Status.PENDING,
    "past_due": Payment.Status.PENDING,
    "completed": Payment.Status.PAID,
    "canceled": Payment.Status.FAILED,
}
# An adjustment's status, as the interface counts cancellations.
CANCELLATION_STATUS = {"approved": "SUCCEEDED", "pending_approval": "REQUESTED", "rejected": "FAILED",
                       "reversed": "FAILED"}
# A Paddle subscription's status, as ours.
SUBSCRIPTION_STATUS = {"active": "active", "trialing": "active", "past_due": "past_due", "paused": "past_due",
                       "canceled": "cancelled"}
# Transactions Paddle makes by itself for a subscription it renews (not a checkout of ours).
RENEWAL_ORIGINS = frozenset({"subscription_recurring", "subscription_charge"})


def catalog_price(payment: Payment) -> PaddleCatalogPrice | None:
    """The Paddle price that sells what this payment buys, in its currency, at its amount."""
    item = {"pack": payment.pack} if payment.pack_id else {"plan": payment.plan}
    return PaddleCatalogPrice.objects.filter(
        **item, currency=payment.currency.upper(), amount=payment.amount, active=True).first()


class PaddleProvider:
    name = Provider.PADDLE
    label = "Paddle"

    def is_configured(self) -> bool:
        return paddle.is_configured()

    def supports(self, currency: str) -> bool:
        return CurrencyCode(currency.upper()).is_known()

    def checkout_start(self, *, payment: Payment, success_url: str, cancel_url: str,
                       subscription_id: str = "") -> Checkout:
        price = catalog_price(payment)
        if price is None:
            logger.error("Payment %s: no active Paddle price for %s in %s %s; run manage.py paddle_catalog",
                         payment.payment_id, payment.pack or payment.plan, payment.amount, payment.currency)
            raise PaymentsNotConfigured(gettext("This cannot be bought through Paddle yet. Try again later."))
        custom_data = {"payment_id": payment.payment_id, "user_id": str(payment.user_id)}
        if payment.plan_id:
            custom_data["plan_id"] = str(payment.plan_id)
        if subscription_id:
            # Paddle copies a checkout's custom data onto the subscription and its renewals: how
            # subscription.* events and Paddle's own renewals find our subscription.
            custom_data["subscription_id"] = subscription_id
        try:
            transaction = paddle.transaction_create(price_id=price.paddle_price_id, custom_data=custom_data)
        except paddle.PaddleRefused as refusal:
            # Our key, price or account is wrong at Paddle: staff must act; the buyer can only wait.
            logger.error("Paddle refused a checkout for %s (price %s): %s", payment.payment_id,
                         price.paddle_price_id, refusal)
            raise PaymentsNotConfigured(gettext("This cannot be bought through Paddle yet. Try again later.")) from refusal
        return Checkout(
            client={
                "provider": Provider.PADDLE.value,
                "client_token": settings.PADDLE_CLIENT_TOKEN,
                "environment": settings.PADDLE_ENVIRONMENT,
                "transaction_id": transaction.id,
                "customer_email": payment.user.email,
                "success_url": success_url,
            },
            provider_checkout_id=transaction.id,
            raw=transaction.raw,
        )

    def subscription_checkout_start(self, *, payment: Payment, subscription, success_url: str,
                                    cancel_url: str) -> Checkout:
        """A plan's first month: a transaction for the plan's monthly price, paid in the overlay;
        Paddle then opens the subscription and renews it itself (transaction.completed with
        origin subscription_recurring each month)."""
        return self.checkout_start(payment=payment, success_url=success_url, cancel_url=cancel_url,
                                   subscription_id=str(subscription.pk))

    def subscription_cancel(self, *, provider_subscription_id: str, at_period_end: bool) -> SubscriptionState:
        """Cancel at the period's end, as the buyer asked on our plans page. Taking a scheduled
        cancellation back is done on Paddle's own page (its management link)."""
        if not at_period_end:
            raise SubscriptionNotActive(gettext("Resume this plan from the payment provider's page."))
        try:
            cancelled = paddle.subscription_cancel(subscription_id=provider_subscription_id, immediately=False)
        except paddle.PaddleRefused as refusal:
            raise SubscriptionNotActive() from refusal
        return subscription_state(cancelled)

    def payment_fetch(self, *, payment: Payment) -> ProviderPayment | None:
        transaction_id = payment.provider_checkout_id or payment.provider_payment_id
        if not transaction_id:
            return None  # its checkout never started: Paddle has never heard of it
        transaction = paddle.transaction_fetch(transaction_id=transaction_id)
        return None if transaction is None else snapshot(transaction, price=payment.amount)

    def order_problem(self, *, payment: Payment, snapshot: ProviderPayment) -> str:
        items = [(i["price_id"], i["quantity"]) for i in (snapshot.raw.get("details") or {}).get("line_items") or []]
        item = {"pack": payment.pack} if payment.pack_id else {"plan": payment.plan}
        ours = set(PaddleCatalogPrice.objects.filter(**item).values_list("paddle_price_id", flat=True))
        if len(items) != 1 or items[0][1] != 1 or items[0][0] not in ours:
            return f"The Paddle transaction sells {items}, not one unit of this order's Paddle price."
        return ""

    def refund(
        self, *, payment: Payment, amount: int, reason: str, cancellable: int, idempotency_key: str
    ) -> RefundResult:
        try:
            transaction = paddle.transaction_fetch(transaction_id=payment.provider_checkout_id)
            if transaction is None or not transaction.items:
                raise RefundRefused(f"Paddle has no transaction {payment.provider_checkout_id!r} to refund.")
            line = transaction.items[0]
            refunded = [a for a in transaction.adjustments if a.status not in paddle.ADJUSTMENT_REFUSED]
            if amount >= line.subtotal and not refunded:
                adjustment = paddle.adjustment_create(transaction_id=transaction.id, reason=reason)
            else:
                # Paddle refunds an item's amount with its tax; ours are before tax.
                with_tax = -(-amount * line.total // line.subtotal) if line.subtotal else amount
                left = line.total - sum(a.total for a in refunded)
                adjustment = paddle.adjustment_create(transaction_id=transaction.id, reason=reason,
                                                      item_id=line.id, amount=min(with_tax, left))
        except paddle.PaddleRefused as refusal:
            raise RefundRefused(f"Paddle refused the refund: {refusal.code}: {refusal.detail}", refusal.raw) from refusal
        except PaymentProviderUnavailable as error:
            raise RefundRefused(f"Paddle did not answer: {error.detail}") from error
        status = CANCELLATION_STATUS.get(adjustment.status, "REQUESTED")
        if status == "FAILED":
            raise RefundRefused(f"Paddle {adjustment.status} the refund at once.", adjustment.raw)
        return RefundResult(cancellation_id=adjustment.id, amount=min(amount, adjustment.subtotal or amount),
                            raw=adjustment.raw, status=status)

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        secrets = settings.PADDLE_WEBHOOK_SECRET
        if not secrets:
            webhook_rejection_count(reason=WebhookRejection.NOT_CONFIGURED)
            logger.error("Paddle webhook refused: PADDLE_WEBHOOK_SECRET is not set.")
            raise PaymentsNotConfigured("Webhooks are not configured on this server.")
        try:
            event = paddle.webhook_verify(
                body=body, signature=headers.get(paddle.SIGNATURE_HEADER) or "", secrets=secrets,
                tolerance_seconds=settings.PADDLE_WEBHOOK_TOLERANCE_SECONDS)
        except paddle.WebhookRefused as refused:
            reason = WebhookRejection.MALFORMED if refused.reason == "malformed" else WebhookRejection.BAD_SIGNATURE
            webhook_rejection_count(reason=reason)
            raise InvalidWebhook(f"Webhook rejected: {refused.reason}.",
                                 log_detail=f"Paddle webhook not verified, {refused.reason}: {refused.message}") from refused
        return classify(event)

    def receipt_url(self, *, payment: Payment) -> str:
        # Paddle's invoice PDF, linked fresh: its links expire. Stored receipt_url is our own
        # page that comes here (billing/views.py payment_receipt).
        transaction_id = payment.provider_payment_id or payment.provider_checkout_id
        return (paddle.invoice_url(transaction_id=transaction_id) or "") if transaction_id else ""


def snapshot(transaction: paddle.PaddleTransaction, *, price: int) -> ProviderPayment:
    """A Paddle transaction (and its refunds) as the interface's `ProviderPayment`."""
    cancellations = tuple(
        ProviderCancellation(id=a.id, status=CANCELLATION_STATUS.get(a.status, "REQUESTED"), amount=a.subtotal,
                             reason=a.reason, requested_at=str(a.raw.get("created_at") or ""))
        for a in transaction.adjustments if a.raw.get("action", "refund") == "refund"
    )
    cancelled = min(transaction.subtotal, sum(c.amount for c in cancellations if c.status == "SUCCEEDED"))
    local = LOCAL_STATUS.get(transaction.status, Payment.Status.PENDING)
    if local == Payment.Status.PAID and cancelled:
        local = Payment.Status.CANCELLED if cancelled >= transaction.subtotal else Payment.Status.PARTIALLY_CANCELLED
    moments = [m for m in (transaction.updated_at, *(a.updated_at for a in transaction.adjustments)) if m]
    return ProviderPayment(
        payment_id=str(transaction.custom_data.get("payment_id") or ""),
        status=transaction.status,
        local_status=local,
        is_paid=local == Payment.Status.PAID,
        amount_total=transaction.subtotal,
        amount_cancelled=cancelled,
        currency=transaction.currency,
        paid_at=transaction.billed_at,
        updated_at=max(moments) if moments else None,
        # Stored in English as the record; Payment.failure_shown gives its reader the translation.
        failure_reason=PAYMENT_PROVIDER_CANCELLED_DETAIL if local == Payment.Status.FAILED else "",
        cancellations=cancellations,
        raw=transaction.raw,
        provider_payment_id=transaction.id,
        provider_customer_id=transaction.customer_id,
        # Paddle's invoice link expires: the payment keeps our page that fetches a fresh one.
        receipt_url=_receipt_page(transaction) if local != Payment.Status.PENDING and transaction.billed_at else "",
    )


def _receipt_page(transaction: paddle.PaddleTransaction) -> str:
    payment_id = str(transaction.custom_data.get("payment_id") or "")
    return settings.SITE_URL + reverse("payment_receipt", args=[payment_id]) if payment_id else ""


def subscription_state(subscription: paddle.PaddleSubscription) -> SubscriptionState:
    return SubscriptionState(
        provider_subscription_id=subscription.id,
        status=SUBSCRIPTION_STATUS.get(subscription.status, "past_due"),
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        cancel_at_period_end=subscription.cancel_scheduled,
        provider_customer_id=subscription.customer_id,
        plan_id=str(subscription.custom_data.get("plan_id") or ""),
        subscription_ref=str(subscription.custom_data.get("subscription_id") or ""),
        user_id=str(subscription.custom_data.get("user_id") or ""),
        updated_at=subscription.updated_at,
        raw=subscription.raw,
    )


def classify(event: paddle.PaddleEvent) -> WebhookEvent:
    """What a verified Paddle event means here (the interface's `EventKind`)."""
    base = {"event_id": event.event_id, "event_type": event.event_type, "raw": event.data}
    family = event.event_type.split(".", 1)[0]
    if family == "transaction":
        transaction = paddle.transaction_from_payload(event.data)
        if transaction.origin in RENEWAL_ORIGINS:
            # Paddle renewed a subscription by itself: a period paid, once it completed.
            if not transaction.completed or not transaction.subscription_id:
                return WebhookEvent(kind=EventKind.IGNORED, **base)
            charge = SubscriptionCharge(
                provider_subscription_id=transaction.subscription_id, provider_payment_id=transaction.id,
                amount=transaction.subtotal, currency=transaction.currency, paid_at=transaction.billed_at,
                period_start=transaction.billing_period_start, period_end=transaction.billing_period_end,
                subscription_ref=str(transaction.custom_data.get("subscription_id") or ""), raw=transaction.raw)
            return WebhookEvent(kind=EventKind.SUBSCRIPTION_CHARGE, charge=charge, **base)
        return WebhookEvent(kind=EventKind.PAYMENT, payment_id=str(transaction.custom_data.get("payment_id") or ""),
                            provider_ref=transaction.id, **base)
    if family == "adjustment":
        # A refund asked for, approved or rejected: the transaction's payment is synced again.
        return WebhookEvent(kind=EventKind.PAYMENT, provider_ref=str(event.data.get("transaction_id") or ""), **base)
    if family == "subscription":
        state = subscription_state(paddle.subscription_from_payload(event.data))
        return WebhookEvent(kind=EventKind.SUBSCRIPTION, subscription=state, **base)
    return WebhookEvent(kind=EventKind.IGNORED, **base)
