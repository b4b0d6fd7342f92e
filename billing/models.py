"""Credits and payments.

The ledger is the truth: `CreditAccount.balance` is a cached sum of the account's `LedgerEntry`
amounts, kept in step by `billing.services.ledger_entry_append`, the only code that writes either.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class CreditAccount(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_account"
    )
    balance = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="billing_account_balance_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.balance} credits)"


class LedgerEntry(models.Model):
    """One append-only movement of credits. Never updated, never deleted."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        SIGNUP_BONUS = "signup_bonus", "Sign-up bonus"
        GRANT = "grant", "Grant"
        JOB_DEBIT = "job_debit", "Job debit"
        JOB_REFUND = "job_refund", "Job refund"
        PAYMENT_REFUND = "payment_refund", "Payment refund"
        ADJUSTMENT = "adjustment", "Adjustment"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.IntegerField(help_text="Signed: positive adds credits, negative removes them.")
    balance_after = models.IntegerField()
    # What caused it, as "<type>:<id>" (job:<uuid>#<attempt>, payment:<payment_id>, refund:<uuid>).
    ref = models.CharField(max_length=200, blank=True)
    payment = models.ForeignKey(
        "billing.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who did it, when a person did.",
    )
    reason = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["user", "-created_at"], name="billing_ledger_user_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="billing_ledger_balance_after_gte_0"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="billing_ledger_amount_not_0"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} -> {self.balance_after}"


class CreditPack(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    credits = models.PositiveIntegerField()
    # KRW has no minor unit, so prices are whole won. Other currencies would need their minor unit.
    price = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="KRW")
    active = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sort_order", "price"]
        constraints = [
            models.CheckConstraint(condition=Q(credits__gt=0), name="billing_pack_credits_gt_0"),
            models.CheckConstraint(condition=Q(price__gt=0), name="billing_pack_price_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.credits} credits, {self.price} {self.currency})"


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        PARTIALLY_CANCELLED = "partially_cancelled", "Partially cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment_id = models.CharField(
        max_length=64, unique=True, help_text="Our id, sent to PortOne as paymentId."
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    pack = models.ForeignKey(CreditPack, on_delete=models.PROTECT, related_name="payments")
    order_name = models.CharField(max_length=200)
    # Snapshot of the pack at order time: a pack edited later must not change what this order buys.
    credits = models.PositiveIntegerField()
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="KRW")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    provider_status = models.CharField(max_length=40, blank=True)
    provider_channel_type = models.CharField(max_length=10, blank=True)
    provider_response = models.JSONField(null=True, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_detail = models.TextField(blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    cancelled_amount = models.PositiveIntegerField(default=0)
    # PortOne's updatedAt of the state last applied: an older answer that arrives late is ignored.
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cancelled_amount__lte=models.F("amount")),
                name="billing_payment_cancelled_lte_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} ({self.status})"


class PaymentRefund(models.Model):
    """A cancellation (full or partial) of a payment: asked for by staff, or found at PortOne."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        PROVIDER = "provider", "PortOne console"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    source = models.CharField(max_length=10, choices=Source.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount = models.PositiveIntegerField()
    credits = models.PositiveIntegerField(help_text="Credits taken off the balance for this refund.")
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    provider_cancellation_id = models.CharField(max_length=100, blank=True)
    provider_response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_refund_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} of {self.payment.payment_id} ({self.status})"


class WebhookDelivery(models.Model):
    """A PortOne webhook request exactly as it arrived, kept before anything else is done with it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook_id = models.CharField(max_length=200, blank=True, db_index=True)
    event_type = models.CharField(max_length=100, blank=True)
    payment_id = models.CharField(max_length=64, blank=True, db_index=True)
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    verified = models.BooleanField(default=False)
    processed = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type or 'webhook'} {self.webhook_id} ({'ok' if self.processed else 'not processed'})"
