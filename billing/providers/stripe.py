"""Stripe behind the payments interface: cards abroad, for a deployment that holds a Stripe account.

Every call to Stripe goes through the `stripe` package's StripeClient, built from settings
(STRIPE_API_BASE points it at testing/stripe_server.py in tests and the test checkout). A pack is
paid through a Checkout Session in mode `payment` (a plan's first month: mode `subscription`);
our payment id travels as the session's `client_reference_id` and in the metadata, and the
session's id is kept as the payment's `provider_checkout_id`. Stripe's answers become the
interface's plain dataclasses; timeouts, connection errors and 5xx become
PaymentProviderUnavailable (502, safe to retry: every POST carries an idempotency key). Nothing here
touches the database.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

import stripe
from django.conf import settings
from django.utils.translation import gettext

from billing.errors import InvalidWebhook, PaymentProviderUnavailable, PaymentsNotConfigured
from billing.models import Payment, Provider
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

# Stripe's currencies without a minor unit (amounts are whole units), of those we sell in.
ZERO_DECIMAL = frozenset({"KRW", "JPY"})
# A refund's status at Stripe, as the interface counts cancellations.
_REFUND_STATUS = {"succeeded": "SUCCEEDED", "pending": "REQUESTED", "requires_action": "REQUESTED",
                  "failed": "FAILED", "canceled": "FAILED"}
# The events that concern one payment (a pack's): the payment is then fetched afresh, so their
# order and number do not matter.
_SESSION_EVENTS = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded",
                             "checkout.session.async_payment_failed", "checkout.session.expired"})
_INTENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
                            "refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})


def _client() -> stripe.StripeClient:
    return _cached_client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS,
                          settings.STRIPE_MAX_NETWORK_RETRIES)


@functools.lru_cache(maxsize=4)
def _cached_client(secret_key: str, api_base: str, timeout: float, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_base},
        http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True),
        max_network_retries=retries,
    )


def _plain(obj) -> dict:
    return obj.to_dict(for_json=True) if hasattr(obj, "to_dict") else dict(obj or {})


def _time(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _unavailable(call: str, error: Exception) -> PaymentProviderUnavailable:
    logger.warning("Stripe %s failed: %r", call, error)
    return PaymentProviderUnavailable(gettext(
        "Stripe did not answer. Nothing was charged; it is safe to retry with the same idempotency key."))


def _call(call: str, fn, *args, **kwargs):
    """A Stripe call whose failure to answer is ours to retry (502), never the buyer's fault."""
    try:
        return fn(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError, stripe.AuthenticationError) as error:
        raise _unavailable(call, error) from error


def _id_of(value) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


class StripeProvider:
    name = Provider.STRIPE
    label = "Stripe"

    def is_configured(self) -> bool:
        return bool(settings.STRIPE_SECRET_KEY)

    def supports(self, currency: str) -> bool:
        return currency.upper() in settings.STRIPE_CURRENCIES

    # --- checkout ----------------------------------------------------------------------------------
    def checkout_start(self, *, payment: Payment, success_url: str, cancel_url: str) -> Checkout:
        user = payment.user
        metadata = {"payment_id": payment.payment_id, "user_id": str(user.pk)}
        params: dict = {
            "mode": "payment",
            "client_reference_id": payment.payment_id,
            "line_items": [{"quantity": 1, "price_data": {
                "currency": payment.currency.lower(), "unit_amount": payment.amount,
                "product_data": {"name": payment.order_name}}}],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if payment.provider_customer_id:
            params["customer"] = payment.provider_customer_id
        else:
            params["customer_email"] = user.email
        # The same payment always asks with the same key: a retry after a timeout gets the session
        # Stripe made the first time, never a second one.
        session = _call("checkout.sessions.create", _client().v1.checkout.sessions.create, params,
                        {"idempotency_key": f"checkout:{payment.payment_id}"})
        session = _plain(session)
        return Checkout(client={"url": session.get("url"), "session_id": session["id"]},
                        provider_checkout_id=session["id"], provider_customer_id=_id_of(session.get("customer")),
                        raw=session)

    def subscription_checkout_start(self, *, payment: Payment, subscription, success_url: str,
                                    cancel_url: str) -> Checkout:
        """A Checkout Session in mode subscription for a plan's first month: Stripe then renews it
        itself, and every paid month arrives as invoice.paid."""
        user = payment.user
        metadata = {"payment_id": payment.payment_id, "user_id": str(user.pk), "subscription_id": str(subscription.pk),
                    "plan_id": str(payment.plan_id)}
        params: dict = {
            "mode": "subscription",
            "client_reference_id": payment.payment_id,
            "line_items": [{"quantity": 1, "price_data": {
                "currency": payment.currency.lower(), "unit_amount": payment.amount,
                "recurring": {"interval": "month", "interval_count": 1},
                "product_data": {"name": f"OneVoice {payment.plan.name}"}}}],
            "metadata": metadata,
            # Carried onto the subscription and each of its invoices: how invoice.paid finds ours.
            "subscription_data": {"metadata": metadata},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if subscription.provider_customer_id:
            params["customer"] = subscription.provider_customer_id
        else:
            params["customer_email"] = user.email
        session = _plain(_call("checkout.sessions.create", _client().v1.checkout.sessions.create, params,
                               {"idempotency_key": f"checkout:{payment.payment_id}"}))
        return Checkout(client={"url": session.get("url"), "session_id": session["id"]},
                        provider_checkout_id=session["id"], raw=session)

    def portal_url(self, *, customer_id: str, return_url: str) -> str:
        """Stripe's customer portal for this customer: card updates, invoices, cancelling."""
        portal = _plain(_call("billing_portal.sessions.create", _client().v1.billing_portal.sessions.create,
                              {"customer": customer_id, "return_url": return_url}))
        return str(portal["url"])

    def subscription_cancel(self, *, provider_subscription_id: str, at_period_end: bool) -> SubscriptionState:
        """Cancel at the period's end (or take that back), as the buyer asked on our plans page."""
        updated = _plain(_call("subscriptions.update", _client().v1.subscriptions.update, provider_subscription_id,
                               {"cancel_at_period_end": at_period_end}))
        return subscription_state(updated)

    # --- reading a payment -------------------------------------------------------------------------
    def payment_fetch(self, *, payment: Payment) -> ProviderPayment | None:
        if not payment.provider_checkout_id:
            return None  # the checkout was never made: Stripe has nothing under this payment
        try:
            session = _call("checkout.sessions.retrieve", _client().v1.checkout.sessions.retrieve,
                            payment.provider_checkout_id, {"expand": ["payment_intent.latest_charge"]})
        except stripe.InvalidRequestError as error:
            if getattr(error, "code", None) == "resource_missing":
                return None
            raise _unavailable("checkout.sessions.retrieve", error) from error
        session = _plain(session)
        intent = session.get("payment_intent") if isinstance(session.get("payment_intent"), dict) else None
        refunds: list[dict] = []
        if intent is not None:
            listed = _call("refunds.list", _client().v1.refunds.list, {"payment_intent": intent["id"], "limit": 100})
            refunds = [_plain(r) for r in _plain(listed).get("data", [])]
        return session_snapshot(session, intent=intent, refunds=refunds)

    def order_problem(self, *, payment: Payment, snapshot: ProviderPayment) -> str:
        return ""  # the secret key decides the account (and live or test mode): nothing else to check

    # --- refunds ------------------------------------------------------------------------------------
    def refund(self, *, payment: Payment, amount: int, reason: str, cancellable: int,
               idempotency_key: str) -> RefundResult:
        if not payment.provider_payment_id:
            raise RefundRefused("Stripe holds no payment for this order.")
        params = {"payment_intent": payment.provider_payment_id, "amount": amount, "reason": "requested_by_customer",
                  "metadata": {"payment_id": payment.payment_id, "reason": reason[:500]}}
        try:
            refund = _client().v1.refunds.create(params, {"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            detail = getattr(error, "user_message", None) or str(error)
            code = getattr(error, "code", None) or type(error).__name__
            raise RefundRefused(f"Stripe refused the refund ({code}): {detail}",
                                {"error": type(error).__name__, "code": code, "detail": str(error)}) from error
        refund = _plain(refund)
        return RefundResult(cancellation_id=refund["id"], amount=int(refund["amount"]), raw=refund,
                            status=_REFUND_STATUS.get(refund.get("status", ""), "REQUESTED"))

    # --- webhooks -----------------------------------------------------------------------------------
    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            webhook_rejection_count(reason=WebhookRejection.NOT_CONFIGURED)
            logger.error("Stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set.")
            raise PaymentsNotConfigured("Webhooks are not configured on this server.")
        try:
            text = body.decode("utf-8")
            # Verified over the raw body, the timestamp within the tolerance (replays refused).
            event = stripe.Webhook.construct_event(text, headers.get("Stripe-Signature"), secret,
                                                   tolerance=settings.STRIPE_WEBHOOK_TOLERANCE)
        except UnicodeDecodeError as error:
            webhook_rejection_count(reason=WebhookRejection.MALFORMED)
            raise InvalidWebhook("The webhook body is not UTF-8 text.",
                                 log_detail=f"Stripe webhook body is not UTF-8: {error}") from error
        except stripe.SignatureVerificationError as error:
            webhook_rejection_count(reason=WebhookRejection.BAD_SIGNATURE)
            raise InvalidWebhook(f"Webhook rejected: {error.user_message or error}",
                                 log_detail=f"Stripe webhook not verified: {error.user_message or error}") from error
        except ValueError as error:  # signed, but not JSON
            webhook_rejection_count(reason=WebhookRejection.MALFORMED)
            raise InvalidWebhook("The webhook body is not JSON.",
                                 log_detail=f"signed Stripe webhook body is not JSON: {error}") from error
        raw = json.loads(text)
        event_type = str(raw.get("type", ""))
        obj = (raw.get("data") or {}).get("object") or {}
        common = {"event_id": str(raw.get("id", "")), "event_type": event_type, "raw": raw}
        if event_type == "checkout.session.completed" and obj.get("mode") == "subscription":
            # Links our subscription to Stripe's (and the customer); the money comes as invoice.paid.
            meta = obj.get("metadata") or {}
            return WebhookEvent(kind=EventKind.SUBSCRIPTION, subscription=SubscriptionState(
                provider_subscription_id=_id_of(obj.get("subscription")), status="", current_period_start=None,
                current_period_end=None, cancel_at_period_end=False, provider_customer_id=_id_of(obj.get("customer")),
                plan_id=str(meta.get("plan_id") or ""), user_id=str(meta.get("user_id") or ""),
                subscription_ref=str(meta.get("subscription_id") or ""), raw=obj), **common)
        if event_type.startswith("customer.subscription."):
            return WebhookEvent(kind=EventKind.SUBSCRIPTION, subscription=subscription_state(obj), **common)
        if event_type == "invoice.paid" and _invoice_subscription(obj):
            return WebhookEvent(kind=EventKind.SUBSCRIPTION_CHARGE, charge=invoice_charge(obj), **common)
        if event_type in _SESSION_EVENTS and obj.get("mode") == "payment":
            return WebhookEvent(kind=EventKind.PAYMENT, payment_id=str(obj.get("client_reference_id") or ""),
                                provider_ref=str(obj.get("id", "")), **common)
        if event_type in _INTENT_EVENTS:
            intent = obj.get("id") if obj.get("object") == "payment_intent" else obj.get("payment_intent")
            if intent:
                return WebhookEvent(kind=EventKind.PAYMENT, provider_ref=_id_of(intent), **common)
        return WebhookEvent(kind=EventKind.IGNORED, **common)

    def receipt_url(self, *, payment: Payment) -> str:
        return payment.receipt_url


_SUBSCRIPTION_STATUS = {"active": "active", "trialing": "active", "past_due": "past_due", "unpaid": "past_due",
                        "canceled": "cancelled", "incomplete_expired": "cancelled", "incomplete": "",
                        "paused": "past_due"}


def _invoice_subscription(invoice: dict) -> tuple[str, dict]:
    """(Stripe's subscription id, its metadata) an invoice bills, in the API's newer shape
    (parent.subscription_details) or the older (subscription, subscription_details)."""
    details = ((invoice.get("parent") or {}).get("subscription_details") or invoice.get("subscription_details") or {})
    subscription = details.get("subscription") or invoice.get("subscription")
    return (_id_of(subscription), details.get("metadata") or {}) if subscription else ("", {})


def invoice_charge(invoice: dict) -> SubscriptionCharge:
    subscription_id, meta = _invoice_subscription(invoice)
    lines = (invoice.get("lines") or {}).get("data") or [{}]
    period = lines[0].get("period") or {}
    payments = (invoice.get("payments") or {}).get("data") or []
    intent = _id_of(((payments[0].get("payment") or {}).get("payment_intent")) if payments else
                    invoice.get("payment_intent"))
    return SubscriptionCharge(
        provider_subscription_id=subscription_id, provider_payment_id=str(invoice["id"]),
        amount=int(invoice.get("amount_paid") or 0), currency=str(invoice.get("currency") or "").upper(),
        paid_at=_time((invoice.get("status_transitions") or {}).get("paid_at")),
        period_start=_time(period.get("start")), period_end=_time(period.get("end")),
        receipt_url=str(invoice.get("hosted_invoice_url") or ""), raw=invoice,
        subscription_ref=str(meta.get("subscription_id") or ""), refund_ref=intent,
        is_first=invoice.get("billing_reason") == "subscription_create",
    )


def subscription_state(subscription: dict) -> SubscriptionState:
    items = (subscription.get("items") or {}).get("data") or [{}]
    meta = subscription.get("metadata") or {}
    return SubscriptionState(
        provider_subscription_id=str(subscription.get("id", "")),
        status=_SUBSCRIPTION_STATUS.get(str(subscription.get("status")), ""),
        current_period_start=_time(items[0].get("current_period_start") or subscription.get("current_period_start")),
        current_period_end=_time(items[0].get("current_period_end") or subscription.get("current_period_end")),
        cancel_at_period_end=bool(subscription.get("cancel_at_period_end")),
        provider_customer_id=_id_of(subscription.get("customer")),
        plan_id=str(meta.get("plan_id") or ""), user_id=str(meta.get("user_id") or ""),
        subscription_ref=str(meta.get("subscription_id") or ""), raw=subscription,
    )


def session_snapshot(session: dict, *, intent: dict | None, refunds: list[dict]) -> ProviderPayment:
    """A Checkout Session (mode payment) with its PaymentIntent and refunds, as the interface
    reads a payment: open -> pending, expired -> expired (never paid: nothing is credited),
    complete and paid -> paid, then cancelled or partially cancelled as refunds succeed."""
    charge = intent.get("latest_charge") if intent else None
    charge = charge if isinstance(charge, dict) else {}
    cancellations = tuple(
        ProviderCancellation(id=r["id"], status=_REFUND_STATUS.get(r.get("status", ""), "REQUESTED"),
                             amount=int(r.get("amount") or 0),
                             reason=str((r.get("metadata") or {}).get("reason") or r.get("reason") or ""),
                             requested_at=str(r.get("created") or ""))
        for r in refunds
    )
    total = int(session.get("amount_total") or 0)
    refunded = sum(c.amount for c in cancellations if c.status == "SUCCEEDED")
    status, payment_status = session.get("status"), session.get("payment_status")
    paid = status == "complete" and payment_status == "paid"
    failure = ""
    if status == "expired":
        local = Payment.Status.EXPIRED  # never paid: nothing is credited
    elif paid and refunded >= total > 0:
        local = Payment.Status.CANCELLED
    elif paid and refunded > 0:
        local = Payment.Status.PARTIALLY_CANCELLED
    elif paid:
        local = Payment.Status.PAID
    elif intent is not None and intent.get("status") == "canceled":
        local, failure = Payment.Status.FAILED, "The payment was not completed."
    else:
        local = Payment.Status.PENDING
    return ProviderPayment(
        payment_id=str(session.get("client_reference_id") or (session.get("metadata") or {}).get("payment_id") or ""),
        status=f"{status}/{payment_status}" + (f"/refunded:{refunded}" if refunded else ""),
        local_status=local,
        is_paid=local == Payment.Status.PAID,
        amount_total=total,
        amount_cancelled=refunded,
        currency=str(session.get("currency") or "").upper(),
        paid_at=_time(charge.get("created") or (intent or {}).get("created")) if paid else None,
        updated_at=None,  # Stripe keeps no such time: every fetch is the present state anyway
        failure_reason=failure,
        cancellations=cancellations,
        raw=session,
        provider_payment_id=_id_of(session.get("payment_intent")),
        provider_customer_id=_id_of(session.get("customer")),
        receipt_url=str(charge.get("receipt_url") or ""),
    )
