"""Credits and payments.

The ledger is the truth: `CreditAccount.balance` is a cached sum of the account's `LedgerEntry`
amounts, kept in step by `billing.services.ledger_entry_append`, the only code that writes either.

Over 400 lines because packs, plans, subscriptions, payments, refunds and webhook deliveries are
one app's tables whose constraints refer to each other; Django keeps an app's models in one module.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from billing.errors import BillingErrorCode

# The reasons our services write themselves when no person gave one. Stored in English as the
# record; readers of another language read the sentence for what the entry is (`reason_shown`).
PROVIDER_CANCEL_REASON = "Cancelled in PortOne"  # a console cancellation that gave no reason
REFUND_REVERSAL_KEY_PREFIX = "payment_refund_reversal:"  # credits put back after PortOne refused
PAYMENT_FAILED_DETAIL = "The payment failed."  # PortOne said FAILED and gave no reason
PAYMENT_ABANDONED_CODE = "abandoned"  # a pending payment PortOne never heard of
PAYMENT_ABANDONED_DETAIL = "PortOne never received this payment."
# A checkout that ended unpaid: the user closed it (status cancelled), or it was left open past
# CHECKOUT_EXPIRE_MINUTES (status expired). Either is credited once if the provider later says paid.
CHECKOUT_CLOSED_CODE = "checkout_closed"
CHECKOUT_CLOSED_DETAIL = "The checkout was closed before paying."
CHECKOUT_EXPIRED_CODE = "checkout_expired"
CHECKOUT_EXPIRED_DETAIL = "The checkout was not completed in time."
PAYMENT_PROVIDER_CANCELLED_DETAIL = "Paddle cancelled the transaction."  # its transaction became canceled


def _credits(count: int) -> str:
    """'100 credits' in the active language ('100크레딧'), as the back-office names things."""
    return ngettext("%(credits)s credit", "%(credits)s credits", count) % {"credits": count}


def order_title(*, pack_name: str, credits: int) -> str:
    """What an order buys, in the active language ("OneVoice Standard: 100 credits")."""
    return ngettext(
        "OneVoice %(pack)s: %(credits)s credit", "OneVoice %(pack)s: %(credits)s credits", credits
    ) % {"pack": pack_name, "credits": credits}


def plan_charge_title(*, plan_name: str, credits: int, period: int | None) -> str:
    """What a plan's charge buys ("OneVoice Creator plan, month 2: 300 credits")."""
    return ngettext(
        "OneVoice %(plan)s plan, month %(period)s: %(credits)s credit",
        "OneVoice %(plan)s plan, month %(period)s: %(credits)s credits",
        credits,
    ) % {"plan": plan_name, "period": period or 1, "credits": credits}


class Provider(models.TextChoices):
    """The payment providers (billing/providers/): who took a payment, runs a subscription,
    sent a webhook."""

    PORTONE = "portone", "PortOne"
    PADDLE = "paddle", "Paddle"
    STRIPE = "stripe", "Stripe"


class CreditAccount(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_account", verbose_name=_("user")
    )
    balance = models.IntegerField(default=0, verbose_name=_("balance"))
    # The part of the balance that came from a plan: spent first, expired or rolled over at each
    # renewal. The sum of the entries' plan_amount, as balance is the sum of their amount.
    plan_balance = models.IntegerField(default=0, verbose_name=_("plan credits"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("credit account")
        verbose_name_plural = _("credit accounts")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="billing_account_balance_gte_0"),
            models.CheckConstraint(
                condition=Q(plan_balance__gte=0) & Q(plan_balance__lte=models.F("balance")),
                name="billing_account_plan_balance_within_balance",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({_credits(self.balance)})"


class LedgerEntry(models.Model):
    """One append-only movement of credits. Never updated, never deleted. Its owner is the
    account's user (`account.user`), stored once."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        SIGNUP_BONUS = "signup_bonus", _("Sign-up bonus")
        GRANT = "grant", _("Grant")
        JOB_DEBIT = "job_debit", _("Job debit")
        JOB_REFUND = "job_refund", _("Job refund")
        PAYMENT_REFUND = "payment_refund", _("Payment refund")
        ADJUSTMENT = "adjustment", _("Adjustment")
        PLAN_GRANT = "plan_grant", _("Plan credits")
        PLAN_EXPIRY = "plan_expiry", _("Plan credits expired")
        PLAN_REFUND = "plan_refund", _("Plan refund")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries", verbose_name=_("account"))
    kind = models.CharField(max_length=20, choices=Kind.choices, verbose_name=_("kind"))
    amount = models.IntegerField(help_text=_("Signed: positive adds credits, negative removes them."), verbose_name=_("amount"))
    balance_after = models.IntegerField(verbose_name=_("balance after"))
    # How much of `amount` moved plan credits (the rest moved pack credits): a debit takes plan
    # credits first, so the history can say which were spent.
    plan_amount = models.IntegerField(default=0, verbose_name=_("plan credits moved"))
    # What caused it, as "<type>:<id>" (job:<uuid>#<attempt>, payment:<payment_id>, refund:<uuid>).
    ref = models.CharField(max_length=200, blank=True, verbose_name=_("ref"))
    payment = models.ForeignKey(
        "billing.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries", verbose_name=_("payment")
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The staff member who did it, when a person did."),
        verbose_name=_("staff"),
    )
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    idempotency_key = models.CharField(max_length=200, unique=True, verbose_name=_("idempotency key"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ledger entry")
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("ledger entries")
        indexes = [models.Index(fields=["account", "-created_at"], name="billing_ledger_account_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="billing_ledger_balance_after_gte_0"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="billing_ledger_amount_not_0"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} -> {self.balance_after}"

    @property
    def pack_amount(self) -> int:
        return self.amount - self.plan_amount

    def reason_shown(self) -> str:
        """The reason as its reader reads it: what a person wrote (staff, PortOne's console) as
        written; what our services wrote, in the site's default language as stored, else the
        sentence for what the entry is."""
        if translation.get_language() == settings.LANGUAGE_CODE:
            return self.reason
        if self.idempotency_key.startswith(REFUND_REVERSAL_KEY_PREFIX):
            # The stored reason starts with the provider's name ("Stripe did not cancel ...").
            provider = self.reason.split(" did not cancel", 1)[0]
            if provider not in Provider.labels:
                provider = "PortOne"
            return gettext("%(provider)s did not cancel the payment, so its credits were given back.") % {
                "provider": provider}
        if self.kind == self.Kind.PAYMENT_REFUND and self.reason == PROVIDER_CANCEL_REASON:
            return gettext("Cancelled in PortOne.")
        if self.kind == self.Kind.PLAN_EXPIRY:
            return gettext("Unused plan credits beyond what the plan rolls over expired at renewal.")
        return self.reason


class CreditPack(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    credits = models.PositiveIntegerField(verbose_name=_("credits"))
    # KRW has no minor unit, so prices are whole won. Other currencies would need their minor unit.
    price = models.PositiveIntegerField(verbose_name=_("price"))
    currency = models.CharField(max_length=3, default="KRW", verbose_name=_("currency"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    sort_order = models.IntegerField(default=0, verbose_name=_("sort order"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("credit pack")
        verbose_name_plural = _("credit packs")
        ordering = ["sort_order", "price"]
        constraints = [
            models.CheckConstraint(condition=Q(credits__gt=0), name="billing_pack_credits_gt_0"),
            models.CheckConstraint(condition=Q(price__gt=0), name="billing_pack_price_gt_0"),
        ]

    def __str__(self) -> str:
        # Named in the reader's language (the back-office's lists show it): "Standard (100크레딧, 15000 KRW)".
        return f"{self.name} ({_credits(self.credits)}, {self.price} {self.currency})"

    def price_in(self, currency: str) -> int | None:
        """The price in `currency` (smallest unit), or None when the pack is not sold in it.
        Reads `prices` as prefetched (selectors.credit_pack_list prefetches them)."""
        currency = currency.upper()
        if currency == self.currency:
            return self.price
        return next((p.amount for p in self.prices.all() if p.currency == currency), None)


class CreditPackPrice(models.Model):
    """A pack's price in another currency than its own (`CreditPack.price` is the price in
    `CreditPack.currency`). In the currency's smallest unit (cents for USD and EUR)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    pack = models.ForeignKey(CreditPack, on_delete=models.CASCADE, related_name="prices", verbose_name=_("pack"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    amount = models.PositiveIntegerField(
        help_text=_("In the currency's smallest unit: cents for USD and EUR, won for KRW."), verbose_name=_("amount"))

    class Meta:
        verbose_name = _("pack price")
        verbose_name_plural = _("pack prices")
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["pack", "currency"], name="billing_pack_price_one_per_currency"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_pack_price_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.pack.name}: {self.amount} {self.currency}"


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        PARTIALLY_CANCELLED = "partially_cancelled", _("Partially cancelled")
        # A checkout never completed within CHECKOUT_EXPIRE_MINUTES (its provider asked first).
        EXPIRED = "expired", _("Expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    payment_id = models.CharField(
        max_length=64, unique=True, help_text=_("Our id, sent to PortOne as paymentId."), verbose_name=_("payment id")
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments", verbose_name=_("user"))
    provider = models.CharField(
        max_length=10, choices=Provider.choices, default=Provider.PORTONE, db_index=True, verbose_name=_("provider")
    )
    # The provider's own ids: its payment (PortOne's transactionId, Stripe's pi_..., Paddle's
    # txn_...), the checkout the buyer was sent to (Stripe's cs_...), the customer it made.
    provider_payment_id = models.CharField(
        max_length=100, blank=True, db_index=True, verbose_name=_("provider payment id")
    )
    provider_checkout_id = models.CharField(
        max_length=100, blank=True, db_index=True, verbose_name=_("provider checkout id")
    )
    provider_customer_id = models.CharField(max_length=100, blank=True, verbose_name=_("provider customer id"))
    # What the browser was given to pay (billing/providers/base.py Checkout.client): shown again
    # to a buyer who comes back to a pending payment.
    checkout = models.JSONField(null=True, blank=True, editable=False, verbose_name=_("checkout"))
    receipt_url = models.URLField(max_length=500, blank=True, verbose_name=_("receipt"))
    pack = models.ForeignKey(
        CreditPack, on_delete=models.PROTECT, null=True, blank=True, related_name="payments", verbose_name=_("pack")
    )
    # A plan's charge instead of a pack's: which subscription, plan and period it pays for.
    subscription = models.ForeignKey(
        "billing.Subscription", on_delete=models.PROTECT, null=True, blank=True, related_name="charges",
        verbose_name=_("subscription"),
    )
    plan = models.ForeignKey(
        "billing.Plan", on_delete=models.PROTECT, null=True, blank=True, related_name="charges", verbose_name=_("plan")
    )
    period = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("period"))
    purpose = models.CharField(max_length=10, blank=True, verbose_name=_("purpose"))  # first, renewal, upgrade
    order_name = models.CharField(max_length=200, verbose_name=_("order name"))
    # Snapshot of the pack at order time: a pack edited later must not change what this order buys.
    credits = models.PositiveIntegerField(verbose_name=_("credits"))
    amount = models.PositiveIntegerField(verbose_name=_("amount"))
    currency = models.CharField(max_length=3, default="KRW", verbose_name=_("currency"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True, verbose_name=_("status"))
    provider_status = models.CharField(max_length=40, blank=True, verbose_name=_("provider status"))
    provider_channel_type = models.CharField(max_length=10, blank=True, verbose_name=_("provider channel type"))
    provider_response = models.JSONField(null=True, blank=True, verbose_name=_("provider response"))
    failure_code = models.CharField(max_length=40, blank=True, verbose_name=_("failure code"))
    failure_detail = models.TextField(blank=True, verbose_name=_("failure detail"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    credited_at = models.DateTimeField(null=True, blank=True, verbose_name=_("credited at"))
    cancelled_amount = models.PositiveIntegerField(default=0, verbose_name=_("cancelled amount"))
    # PortOne's updatedAt of the state last applied: an older answer that arrives late is ignored.
    provider_updated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("provider updated at"))
    synced_at = models.DateTimeField(null=True, blank=True, verbose_name=_("synced at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cancelled_amount__lte=models.F("amount")),
                name="billing_payment_cancelled_lte_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} ({self.get_status_display()})"

    def failure_shown(self) -> str:
        """Why the payment failed, for its reader: PortOne's own reason as PortOne gave it; what
        our services wrote, as stored in the site's default language, else the sentence for it
        (a mismatch's stored details name ids and amounts for staff: the reader gets its code's)."""
        if not self.failure_detail or translation.get_language() == settings.LANGUAGE_CODE:
            return self.failure_detail
        if self.failure_code == PAYMENT_ABANDONED_CODE:
            return gettext("PortOne never received this payment.")
        if self.failure_code == CHECKOUT_CLOSED_CODE:
            return gettext("The checkout was closed before paying.")
        if self.failure_code == CHECKOUT_EXPIRED_CODE:
            return gettext("The checkout was not completed in time.")
        if self.failure_code == BillingErrorCode.PAYMENT_MISMATCH:
            return gettext("The payment does not match the order.")
        if self.failure_detail == PAYMENT_FAILED_DETAIL:
            return gettext("The payment failed.")
        if self.failure_detail == PAYMENT_PROVIDER_CANCELLED_DETAIL:
            return gettext("Paddle cancelled the transaction.")
        return self.failure_detail

    @property
    def title(self) -> str:
        """What the order buys in the reader's language; `order_name` is what PortOne was sent."""
        if self.pack_id is None:
            return plan_charge_title(plan_name=self.plan.name, credits=self.credits, period=self.period)
        return order_title(pack_name=self.pack.name, credits=self.credits)


class PaymentRefund(models.Model):
    """A cancellation (full or partial) of a payment: asked for by staff, or found at PortOne."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin")
        PROVIDER = "provider", _("PortOne console")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment"))
    source = models.CharField(max_length=10, choices=Source.choices, verbose_name=_("source"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("requested by")
    )
    amount = models.PositiveIntegerField(verbose_name=_("amount"))
    credits = models.PositiveIntegerField(help_text=_("Credits taken off the balance for this refund."), verbose_name=_("credits"))
    reason = models.TextField(verbose_name=_("reason"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    provider_cancellation_id = models.CharField(max_length=100, blank=True, verbose_name=_("provider cancellation id"))
    provider_response = models.JSONField(null=True, blank=True, verbose_name=_("provider response"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("payment refund")
        verbose_name_plural = _("payment refunds")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_refund_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return gettext("Refund of %(amount)s from %(payment)s (%(status)s)") % {
            "amount": self.amount, "payment": self.payment.payment_id, "status": self.get_status_display()}


class WebhookDelivery(models.Model):
    """A provider's webhook request exactly as it arrived, kept once its signature checked out."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    provider = models.CharField(
        max_length=10, choices=Provider.choices, default=Provider.PORTONE, db_index=True, verbose_name=_("provider")
    )
    # The provider's id of the event (PortOne's webhook-id, Stripe's evt_..., Paddle's evt_...).
    webhook_id = models.CharField(max_length=200, blank=True, db_index=True, verbose_name=_("webhook id"))
    event_type = models.CharField(max_length=100, blank=True, verbose_name=_("event type"))
    payment_id = models.CharField(max_length=64, blank=True, db_index=True, verbose_name=_("payment id"))
    headers = models.JSONField(default=dict, verbose_name=_("headers"))
    body = models.TextField(blank=True, verbose_name=_("body"))
    verified = models.BooleanField(default=False, verbose_name=_("verified"))
    processed = models.BooleanField(default=False, verbose_name=_("processed"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    # Why a verified delivery changed nothing, as a code (the webhook's answer carries it):
    # unknown_payment, unhandled_event; '' when it was acted on.
    ignored = models.CharField(max_length=30, blank=True, verbose_name=_("ignored"))
    received_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("received at"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))

    class Meta:
        verbose_name = _("webhook delivery")
        ordering = ["-received_at"]
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event_type or 'webhook'} {self.webhook_id} ({'ok' if self.processed else 'not processed'})"


class Plan(models.Model):
    """A monthly plan: a price each period and the credits it grants (staff edit them)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    name = models.CharField(max_length=100, verbose_name=_("name"))
    price = models.PositiveIntegerField(help_text=_("Per month, in whole won."), verbose_name=_("price"))
    currency = models.CharField(max_length=3, default="KRW", verbose_name=_("currency"))
    credits_per_period = models.PositiveIntegerField(verbose_name=_("credits per month"))
    rollover_max = models.PositiveIntegerField(
        default=0,
        help_text=_("Unused plan credits kept at renewal, at most this many; 0: they expire."),
        verbose_name=_("rollover at most"),
    )
    active = models.BooleanField(
        default=True,
        help_text=_("Inactive plans cannot be chosen; subscribers keep them until they change."),
        verbose_name=_("active"),
    )
    sort_order = models.IntegerField(default=0, verbose_name=_("sort order"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["sort_order", "price"]
        constraints = [
            models.CheckConstraint(condition=Q(credits_per_period__gt=0), name="billing_plan_credits_gt_0"),
            models.CheckConstraint(condition=Q(price__gt=0), name="billing_plan_price_gt_0"),
        ]

    def __str__(self) -> str:
        return gettext("%(name)s (%(credits)s, %(price)s %(currency)s a month)") % {
            "name": self.name, "credits": _credits(self.credits_per_period), "price": self.price,
            "currency": self.currency}

    def price_in(self, currency: str) -> int | None:
        """The monthly price in `currency` (smallest unit), or None when not sold in it."""
        currency = currency.upper()
        if currency == self.currency:
            return self.price
        return next((p.amount for p in self.prices.all() if p.currency == currency), None)


class PlanPrice(models.Model):
    """A plan's monthly price in another currency than its own, in the currency's smallest unit."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices", verbose_name=_("plan"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    amount = models.PositiveIntegerField(
        help_text=_("In the currency's smallest unit: cents for USD and EUR, won for KRW."), verbose_name=_("amount"))

    class Meta:
        verbose_name = _("plan price")
        verbose_name_plural = _("plan prices")
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "currency"], name="billing_plan_price_one_per_currency"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_plan_price_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.name}: {self.amount} {self.currency}/month"


class Subscription(models.Model):
    """A user's plan, renewed by our own renewer (DESIGN.md "Plans and subscriptions")."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", _("Incomplete")  # chosen, the first period not paid yet
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELLED = "cancelled", _("Cancelled")

    LIVE_STATUSES = (Status.INCOMPLETE, Status.ACTIVE, Status.PAST_DUE)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("user")
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan"))
    # A downgrade waits for the renewal: the plan the next period is charged for.
    next_plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("next plan")
    )
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.INCOMPLETE, db_index=True, verbose_name=_("status")
    )
    provider = models.CharField(
        max_length=10, choices=Provider.choices, default=Provider.PORTONE, verbose_name=_("provider")
    )
    # A provider-run subscription (Stripe, Paddle renew by themselves): its id and customer there.
    provider_subscription_id = models.CharField(
        max_length=100, blank=True, db_index=True, verbose_name=_("provider subscription id")
    )
    provider_customer_id = models.CharField(max_length=100, blank=True, verbose_name=_("provider customer id"))
    # Fernet token (billing/billing_keys.py); never returned, never shown.
    billing_key_encrypted = models.TextField(blank=True, editable=False, verbose_name=_("billing key (encrypted)"))
    card_label = models.CharField(max_length=100, blank=True, verbose_name=_("card"))
    # The issueId the browser SDK was given for the billing key being issued (subscribe, new card).
    pending_issue_id = models.CharField(max_length=64, blank=True, verbose_name=_("pending issue id"))
    # Periods are counted from the anchor (period n starts n-1 months after it, on the anchor's
    # day of the month or the month's last day), so 31 Jan -> 28 Feb -> 31 Mar.
    anchor_at = models.DateTimeField(null=True, blank=True, verbose_name=_("first period started"))
    period_number = models.PositiveIntegerField(default=0, verbose_name=_("period"))
    current_period_start = models.DateTimeField(null=True, blank=True, verbose_name=_("current period start"))
    current_period_end = models.DateTimeField(null=True, blank=True, verbose_name=_("current period end"))
    cancel_at_period_end = models.BooleanField(default=False, verbose_name=_("cancel at period end"))
    failed_attempts = models.PositiveIntegerField(
        default=0, help_text=_("Failed charges for the next period so far."), verbose_name=_("failed attempts")
    )
    last_failure = models.TextField(blank=True, verbose_name=_("last failure"))
    # When the renewer next acts: the period's end, then the retries after a failed charge.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("next attempt at"))
    # A renewer's claim (a conditional update sets it): others leave the subscription alone until
    # it passes, so a renewer that died is taken over.
    claimed_until = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed until"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["incomplete", "active", "past_due"]),
                name="billing_one_live_subscription_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.plan.name} ({self.status})"


class PaddleCatalogPrice(models.Model):
    """A pack's or plan's price at Paddle, in one currency (`manage.py paddle_catalog` makes them).

    Paddle sells by its own price ids; checkout names the active row for the item and currency.
    A price changed by staff gets a new Paddle price: the old row stays (inactive, archived at
    Paddle), so subscriptions still renewing on it can be told apart.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    pack = models.ForeignKey(
        CreditPack, on_delete=models.PROTECT, null=True, blank=True, related_name="paddle_prices", verbose_name=_("pack")
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="paddle_prices", verbose_name=_("plan")
    )
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    # In the currency's lowest denomination, as Paddle counts (won; cents).
    amount = models.PositiveIntegerField(verbose_name=_("amount"))
    paddle_product_id = models.CharField(max_length=50, verbose_name=_("Paddle product id"))
    paddle_price_id = models.CharField(max_length=50, unique=True, verbose_name=_("Paddle price id"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("Paddle price")
        verbose_name_plural = _("Paddle prices")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pack__isnull=False, plan__isnull=True) | Q(pack__isnull=True, plan__isnull=False),
                name="billing_paddle_price_pack_or_plan",
            ),
            models.UniqueConstraint(
                fields=["pack", "currency"], condition=Q(active=True, pack__isnull=False),
                name="billing_paddle_price_one_active_per_pack_currency",
            ),
            models.UniqueConstraint(
                fields=["plan", "currency"], condition=Q(active=True, plan__isnull=False),
                name="billing_paddle_price_one_active_per_plan_currency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.paddle_price_id} ({self.pack or self.plan}, {self.amount} {self.currency})"
