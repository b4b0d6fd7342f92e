"""The payments interface: what every provider (PortOne, Paddle, Stripe) gives billing.

A provider is a boundary, not a service: it speaks its provider's wire protocol (SDK calls,
signed webhooks) and answers in the plain dataclasses below. It never writes to the database and
never moves credits. billing/services/ takes those answers and makes the one set of calls every
provider shares: `_payment_apply` credits a payment once, the refund services remove credits by
the one formula, the webhook service verifies and stores deliveries. docs/payments.md shows how a
provider plugs in.

Amounts are integers in the currency's smallest unit (won for KRW, cents for USD and EUR), as
PortOne, Paddle and Stripe all count them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from billing.models import Payment, Provider

__all__ = ["Provider"]  # the providers' names, as stored on payments (billing.models owns them)


@dataclass(frozen=True)
class ProviderCancellation:
    """One refund (cancellation) the provider holds for a payment."""

    id: str
    status: str  # SUCCEEDED, REQUESTED (the provider is still deciding) or FAILED
    amount: int
    reason: str
    requested_at: str = ""  # as the provider wrote it (the record is stored as JSON)


@dataclass(frozen=True)
class ProviderPayment:
    """What the provider said about one payment, with the raw JSON it said it in.

    `status` is the provider's own word (kept as `Payment.provider_status`); `local_status` is
    what it means here (a `Payment.Status` value); `is_paid` alone buys credits.
    """

    payment_id: str  # OUR payment id, as the provider echoes it (PortOne's paymentId, metadata)
    status: str
    local_status: str
    is_paid: bool
    amount_total: int
    amount_cancelled: int
    currency: str
    paid_at: datetime | None
    updated_at: datetime | None
    failure_reason: str = ""
    cancellations: tuple[ProviderCancellation, ...] = field(default=())
    raw: dict = field(default_factory=dict)
    # PortOne's channel (LIVE/TEST) and store; other providers leave them empty.
    channel_type: str = ""
    store_id: str = ""
    # The provider's own ids for this payment ({"payment_intent": "pi_...", "customer": "cus_..."}),
    # stored on the Payment (provider_payment_id, provider_customer_id) for the admin and refunds.
    provider_payment_id: str = ""
    provider_customer_id: str = ""
    receipt_url: str = ""


@dataclass(frozen=True)
class RefundResult:
    """The provider refunded (all or part of) a payment."""

    cancellation_id: str
    amount: int
    raw: dict
    # A provider that decides later (Paddle's adjustments are approved by Paddle) answers
    # REQUESTED: the refund stays pending until its webhook or sync_refunds says SUCCEEDED.
    status: str = "SUCCEEDED"


class RefundRefused(Exception):
    """The provider answered the refund request with an error, or no answer came: nothing is
    known to be refunded. Billing puts the credits back once (and sync_refunds re-checks)."""

    def __init__(self, message: str, raw: dict | None = None):
        super().__init__(message)
        self.raw = raw or {}


@dataclass(frozen=True)
class Checkout:
    """What the browser needs to pay a prepared payment, and the ids the provider gave it.

    `client` is handed to the page as it is (PortOne: the browser SDK's requestPayment fields;
    Stripe: the Checkout Session's URL; Paddle: the transaction id for Paddle.js).
    """

    client: dict
    provider_checkout_id: str = ""  # Stripe's cs_..., Paddle's txn_...
    provider_customer_id: str = ""
    raw: dict = field(default_factory=dict)


class EventKind(StrEnum):
    PAYMENT = "payment"  # something happened to one payment: sync it (payment_sync)
    SUBSCRIPTION = "subscription"  # a provider-run subscription changed (see SubscriptionState)
    SUBSCRIPTION_CHARGE = "subscription_charge"  # a provider-run renewal was paid
    IGNORED = "ignored"  # verified, stored, and not ours to act on


@dataclass(frozen=True)
class SubscriptionState:
    """A provider-run subscription as the provider holds it (Stripe, Paddle renew by themselves)."""

    provider_subscription_id: str
    status: str  # a Subscription.Status value: active, past_due, cancelled
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    provider_customer_id: str = ""
    plan_id: str = ""  # our Plan's id, from the metadata/custom data we sent
    user_id: str = ""  # our user's id, likewise
    updated_at: datetime | None = None
    raw: dict = field(default_factory=dict)
    subscription_ref: str = ""  # our Subscription's id, when the metadata carries it (Stripe)


@dataclass(frozen=True)
class SubscriptionCharge:
    """One paid period of a provider-run subscription (Stripe's invoice, Paddle's transaction)."""

    provider_subscription_id: str
    provider_payment_id: str  # in_... / txn_...: the charge's own id, credited once
    amount: int
    currency: str
    paid_at: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    receipt_url: str = ""
    raw: dict = field(default_factory=dict)
    subscription_ref: str = ""  # our Subscription's id, when the metadata carries it (Stripe)
    refund_ref: str = ""  # what a refund of this charge names at the provider (Stripe: its pi_...)
    is_first: bool = False  # the subscription's first period (paid through its checkout)


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook delivery, read. The provider's `event_id` deduplicates deliveries."""

    event_id: str
    event_type: str
    kind: EventKind
    payment_id: str = ""  # our payment id (PAYMENT events), when the event carries it
    provider_ref: str = ""  # else the provider's id to find the payment by (cs_..., txn_...)
    subscription: SubscriptionState | None = None
    charge: SubscriptionCharge | None = None
    raw: dict = field(default_factory=dict)


class PaymentProvider(Protocol):
    """One payment provider. Every method may raise `PaymentProviderUnavailable` (HTTP 502,
    safe to retry) when the provider cannot be asked; none writes to the database."""

    name: Provider
    label: str  # shown to people: "PortOne", "Stripe", "Paddle"

    def is_configured(self) -> bool:
        """Its credentials are set (each provider switches on by its credentials)."""

    def supports(self, currency: str) -> bool:
        """It can take payments in this currency."""

    def checkout_start(self, *, payment: Payment, success_url: str, cancel_url: str) -> Checkout:
        """Begin paying a prepared (pending) payment: a pack's, or a plan's first period."""

    def payment_fetch(self, *, payment: Payment) -> ProviderPayment | None:
        """The provider's view of the payment now; None when it has never heard of it."""

    def order_problem(self, *, payment: Payment, snapshot: ProviderPayment) -> str:
        """Beyond id, currency and amount (checked by billing for every provider): why this paid
        payment cannot be ours (another store, a test channel where live is required), or ''."""

    def refund(
        self, *, payment: Payment, amount: int, reason: str, cancellable: int, idempotency_key: str
    ) -> RefundResult:
        """Refund `amount` of a paid payment; `cancellable` is what we believe is left (a guard
        where the provider takes one). Raises RefundRefused."""

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify the raw body's signature (timestamp tolerance included) and read the event.
        Raises InvalidWebhook (nothing is stored) or PaymentsNotConfigured (no secret)."""

    def receipt_url(self, *, payment: Payment) -> str:
        """The provider's receipt for a paid payment, or ''."""
