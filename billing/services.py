"""Writes for billing: the ledger, and (below) payments and refunds.

Every change of a balance goes through `ledger_entry_append`: it locks the account row, refuses a
movement that would take the balance below zero, appends the entry and updates the cached balance
in one transaction. The idempotency key makes a replay return the entry already written.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone
from portone_server_sdk import webhook as portone_webhook

from billing import portone
from billing.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    InvalidWebhook,
    PackUnavailable,
    PaymentFailed,
    PaymentMismatch,
    PaymentProviderUnavailable,
    PaymentsNotConfigured,
    RefundNotAllowed,
)
from billing.models import CreditAccount, CreditPack, LedgerEntry, Payment, PaymentRefund, WebhookDelivery
from onevoice.errors import NotFound, ServiceError

logger = logging.getLogger(__name__)

Kind = LedgerEntry.Kind


def _account_lock(*, user) -> CreditAccount:
    """The user's account row, locked until the surrounding transaction ends (created if missing)."""
    # ignore_conflicts makes a concurrent first creation harmless: whoever loses just locks the row.
    CreditAccount.objects.bulk_create([CreditAccount(user_id=user.pk)], ignore_conflicts=True)
    return CreditAccount.objects.select_for_update().get(user_id=user.pk)


def credit_account_ensure(*, user) -> CreditAccount:
    CreditAccount.objects.bulk_create([CreditAccount(user_id=user.pk)], ignore_conflicts=True)
    return CreditAccount.objects.get(user_id=user.pk)


def ledger_entry_append(
    *,
    user,
    kind: str,
    amount: int,
    idempotency_key: str,
    ref: str = "",
    payment=None,
    staff=None,
    reason: str = "",
    clamp_to_balance: bool = False,
) -> tuple[LedgerEntry | None, bool]:
    """Move `amount` credits (signed) and return (entry, created).

    Replaying a key returns the existing entry with created=False and changes nothing. With
    `clamp_to_balance` a removal larger than the balance removes only what is there (refunds take
    back at most the balance); without it such a removal raises InsufficientCredits. A clamped
    removal of nothing writes nothing and returns (None, False).
    """
    if amount == 0:
        raise ValueError("A ledger entry moves a non-zero amount.")
    with transaction.atomic():
        account = _account_lock(user=user)
        # Looked up after taking the lock: a concurrent writer of the same key has committed by now.
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.account_id != account.id or existing.kind != kind:
                raise IdempotencyConflict()
            return existing, False
        if amount < 0 and account.balance + amount < 0:
            if not clamp_to_balance:
                raise InsufficientCredits(needed=-amount, balance=account.balance)
            amount = -account.balance
            if amount == 0:
                return None, False
        CreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
        account.refresh_from_db(fields=["balance"])
        entry = LedgerEntry.objects.create(
            account=account,
            user_id=user.pk,
            kind=kind,
            amount=amount,
            balance_after=account.balance,
            ref=ref,
            payment=payment,
            staff=staff,
            reason=reason,
            idempotency_key=idempotency_key,
        )
        return entry, True


def credits_signup_bonus(*, user) -> LedgerEntry | None:
    """Credit SIGNUP_BONUS_CREDITS once per user; call inside the registration transaction."""
    bonus = settings.SIGNUP_BONUS_CREDITS
    if bonus <= 0:
        credit_account_ensure(user=user)
        return None
    entry, _ = ledger_entry_append(
        user=user,
        kind=Kind.SIGNUP_BONUS,
        amount=bonus,
        idempotency_key=f"signup_bonus:{user.pk}",
        ref=f"user:{user.pk}",
    )
    return entry


def credits_reserve(*, user, job_id, attempt: int, amount: int) -> LedgerEntry:
    """Debit a job attempt's cost; raises InsufficientCredits (HTTP 402) and writes nothing if short."""
    if amount <= 0:
        raise ValueError("A job reserves a positive number of credits.")
    entry, _ = ledger_entry_append(
        user=user,
        kind=Kind.JOB_DEBIT,
        amount=-amount,
        idempotency_key=f"job_debit:{job_id}:{attempt}",
        ref=f"job:{job_id}#{attempt}",
    )
    return entry


def credits_refund(*, user, job_id, attempt: int) -> LedgerEntry | None:
    """Give back what this attempt reserved, at most once. None when the attempt reserved nothing."""
    with transaction.atomic():
        debit = LedgerEntry.objects.filter(
            idempotency_key=f"job_debit:{job_id}:{attempt}", user_id=user.pk
        ).first()
        if debit is None:
            return None
        entry, _ = ledger_entry_append(
            user=user,
            kind=Kind.JOB_REFUND,
            amount=-debit.amount,
            idempotency_key=f"job_refund:{job_id}:{attempt}",
            ref=f"job:{job_id}#{attempt}",
        )
        return entry


def credits_grant(*, user, amount: int, staff, reason: str, idempotency_key: str) -> LedgerEntry:
    """A staff member adds (amount > 0, kind grant) or removes (amount < 0, kind adjustment) credits."""
    if not reason.strip():
        raise ValueError("A reason is required.")
    entry, _ = ledger_entry_append(
        user=user,
        kind=Kind.GRANT if amount > 0 else Kind.ADJUSTMENT,
        amount=amount,
        idempotency_key=idempotency_key,
        ref=f"staff:{staff.pk}",
        staff=staff,
        reason=reason.strip(),
    )
    return entry


# --- Payments ---------------------------------------------------------------------------------

Status = Payment.Status
_LOCAL_STATUS = {
    "READY": Status.PENDING,
    "PAY_PENDING": Status.PENDING,
    "VIRTUAL_ACCOUNT_ISSUED": Status.PENDING,
    "PAID": Status.PAID,
    "FAILED": Status.FAILED,
    "CANCELLED": Status.CANCELLED,
    "PARTIAL_CANCELLED": Status.PARTIALLY_CANCELLED,
}
_ACCOUNTED_REFUNDS = (PaymentRefund.Status.PENDING, PaymentRefund.Status.SUCCEEDED)


def payment_prepare(*, user, pack_id) -> Payment:
    """Store a pending order for a pack. The server alone sets the id and the price."""
    if not portone.is_configured():
        raise PaymentsNotConfigured()
    pack = CreditPack.objects.filter(pk=pack_id, active=True).first()
    if pack is None:
        raise PackUnavailable(errors={"pack_id": ["No active credit pack has this id."]})
    return Payment.objects.create(
        payment_id=f"ov-{uuid.uuid4().hex}",
        user_id=user.pk,
        pack=pack,
        order_name=f"OneVoice {pack.name}: {pack.credits} credits",
        credits=pack.credits,
        amount=pack.price,
        currency=pack.currency,
    )


def payment_redirect_url(*, payment: Payment) -> str:
    """Where the browser SDK sends phones after paying (it appends paymentId, code, message)."""
    return settings.SITE_URL + reverse("payment_return")


def _mismatch(payment: Payment, snapshot: portone.ProviderPayment) -> str:
    if snapshot.payment_id != payment.payment_id:
        return f"PortOne returned payment {snapshot.payment_id!r} for {payment.payment_id!r}."
    if snapshot.store_id != settings.PORTONE_STORE_ID:
        return f"The payment belongs to store {snapshot.store_id!r}, not ours."
    if snapshot.currency != payment.currency:
        return f"Paid in {snapshot.currency}, the order is in {payment.currency}."
    if snapshot.amount_total != payment.amount:
        return f"Paid {snapshot.amount_total} {snapshot.currency}, the order costs {payment.amount}."
    if snapshot.channel_type != "LIVE" and not settings.PORTONE_ALLOW_TEST_CHANNEL:
        return f"Paid through a {snapshot.channel_type or 'unknown'} channel; only LIVE channels are accepted."
    return ""


def _refund_credits(*, payment: Payment, amount: int, balance: int) -> int:
    """DESIGN.md: ceil(amount x pack credits / price), at most the balance and what is left of this payment."""
    wanted = -(-amount * payment.credits // payment.amount)
    removed = payment.refunds.filter(status__in=_ACCOUNTED_REFUNDS).aggregate(n=Sum("credits"))["n"] or 0
    return max(0, min(wanted, payment.credits - removed, balance))


def _set_cancelled_amount(payment: Payment, cancelled: int) -> None:
    # Cancelled amounts only grow at PortOne; a late, older answer must not shrink ours.
    payment.cancelled_amount = min(payment.amount, max(payment.cancelled_amount, cancelled))
    if payment.cancelled_amount >= payment.amount:
        payment.status = Status.CANCELLED
    elif payment.cancelled_amount > 0:
        payment.status = Status.PARTIALLY_CANCELLED


def _apply_provider_cancellations(payment: Payment, snapshot: portone.ProviderPayment) -> None:
    """Take back credits for cancellations made outside our admin (PortOne's console).

    Our own refunds are counted while pending, so the webhook for a cancellation we asked for
    finds nothing new. What PortOne cancelled beyond that is recorded as a provider refund.
    """
    accounted = (
        payment.refunds.filter(status__in=_ACCOUNTED_REFUNDS).aggregate(n=Sum("amount"))["n"] or 0
    )
    unknown = snapshot.amount_cancelled - accounted
    if unknown <= 0:
        return
    known_ids = set(payment.refunds.exclude(provider_cancellation_id="").values_list("provider_cancellation_id", flat=True))
    new = [c for c in snapshot.cancellations if c.status == "SUCCEEDED" and c.id not in known_ids]
    account = _account_lock(user=payment.user)
    refund = PaymentRefund.objects.create(
        payment=payment,
        source=PaymentRefund.Source.PROVIDER,
        amount=unknown,
        credits=_refund_credits(payment=payment, amount=unknown, balance=account.balance),
        reason="; ".join(c.reason for c in new if c.reason) or "Cancelled in PortOne",
        status=PaymentRefund.Status.SUCCEEDED,
        provider_cancellation_id=",".join(c.id for c in new)[:100],
        provider_response={"cancellations": [c.__dict__ for c in new]},
        finished_at=timezone.now(),
    )
    if refund.credits:
        ledger_entry_append(
            user=payment.user,
            kind=Kind.PAYMENT_REFUND,
            amount=-refund.credits,
            idempotency_key=f"payment_refund:{refund.id}",
            ref=f"refund:{refund.id}",
            payment=payment,
            reason=refund.reason,
            clamp_to_balance=True,
        )


@transaction.atomic
def _payment_apply(*, payment_pk, snapshot: portone.ProviderPayment | None) -> Payment:
    """Bring our payment in line with what PortOne said; credit the pack at most once."""
    payment = Payment.objects.select_for_update().select_related("user").get(pk=payment_pk)
    now = timezone.now()
    payment.synced_at = now
    if snapshot is None:
        payment.save(update_fields=["synced_at", "updated_at"])
        return payment
    if payment.provider_updated_at and snapshot.updated_at and snapshot.updated_at < payment.provider_updated_at:
        payment.save(update_fields=["synced_at", "updated_at"])  # an older answer overtaken by a newer one
        return payment
    payment.provider_status = snapshot.status
    payment.provider_channel_type = snapshot.channel_type
    payment.provider_response = snapshot.raw
    payment.provider_updated_at = snapshot.updated_at or payment.provider_updated_at

    if snapshot.status in portone.PENDING_STATUSES:
        if payment.credited_at is None:
            payment.status = Status.PENDING
    elif snapshot.status == "FAILED":
        if payment.credited_at is None:
            payment.status = Status.FAILED
            payment.failure_code = "payment_failed"
            payment.failure_detail = snapshot.failure_reason or "The payment failed."
    elif snapshot.is_paid:
        problem = _mismatch(payment, snapshot)
        if problem and payment.credited_at is None:
            payment.status = Status.FAILED
            payment.failure_code = PaymentMismatch.code
            payment.failure_detail = problem
            logger.warning("Payment %s does not match its order: %s", payment.payment_id, problem)
        elif not problem:
            if payment.credited_at is None:
                ledger_entry_append(
                    user=payment.user,
                    kind=Kind.PURCHASE,
                    amount=payment.credits,
                    idempotency_key=f"purchase:{payment.payment_id}",
                    ref=f"payment:{payment.payment_id}",
                    payment=payment,
                )
                payment.credited_at = now
            payment.status = Status.PAID
            payment.paid_at = snapshot.paid_at or payment.paid_at or now
            payment.failure_code = payment.failure_detail = ""
    elif snapshot.status in ("CANCELLED", "PARTIAL_CANCELLED"):
        if payment.credited_at is not None:
            _apply_provider_cancellations(payment, snapshot)
        _set_cancelled_amount(payment, snapshot.amount_cancelled)
        payment.status = _LOCAL_STATUS[snapshot.status]
    payment.save()
    return payment


def payment_sync(*, payment: Payment) -> Payment:
    """Fetch the payment from PortOne (outside any transaction) and apply what it says."""
    snapshot = portone.payment_fetch(payment_id=payment.payment_id)
    return _payment_apply(payment_pk=payment.pk, snapshot=snapshot)


def payment_complete(*, user, payment_id: str) -> Payment:
    """The client says it paid: check with PortOne, credit once, or say precisely what is wrong."""
    payment = Payment.objects.filter(user_id=user.pk, payment_id=payment_id).first()
    if payment is None:
        raise NotFound("No payment with this id.")
    if not portone.is_configured():
        raise PaymentsNotConfigured()
    payment = payment_sync(payment=payment)
    if payment.credited_at is None:
        if payment.failure_code == PaymentMismatch.code:
            raise PaymentMismatch(payment.failure_detail)
        if payment.status == Status.FAILED:
            raise PaymentFailed(payment.failure_detail or None)
    return payment


# --- Refunds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundQuote:
    """How much of a payment can still be refunded, and the figures that decide it."""

    paid: int
    cancelled: int
    in_flight: int
    refundable_amount: int
    credits_bought: int
    credits_removed: int
    balance: int
    allowed: bool
    reason: str

    def credits_for(self, amount: int, *, payment: Payment) -> int:
        wanted = -(-amount * payment.credits // payment.amount)
        return max(0, min(wanted, self.credits_bought - self.credits_removed, self.balance))


def payment_refund_quote(*, payment: Payment) -> RefundQuote:
    refunds = payment.refunds.all()
    in_flight = sum(r.amount for r in refunds if r.status == PaymentRefund.Status.PENDING)
    removed = sum(r.credits for r in refunds if r.status in _ACCOUNTED_REFUNDS)
    refundable = max(0, payment.amount - payment.cancelled_amount - in_flight)
    balance = CreditAccount.objects.filter(user_id=payment.user_id).values_list("balance", flat=True).first() or 0
    allowed, reason = True, ""
    if payment.status not in (Status.PAID, Status.PARTIALLY_CANCELLED) or payment.credited_at is None:
        allowed, reason = False, f"The payment is {payment.get_status_display().lower()}, not paid."
    elif refundable <= 0:
        allowed, reason = False, "Nothing is left to refund."
    return RefundQuote(
        paid=payment.amount,
        cancelled=payment.cancelled_amount,
        in_flight=in_flight,
        refundable_amount=refundable if allowed else 0,
        credits_bought=payment.credits,
        credits_removed=removed,
        balance=balance,
        allowed=allowed,
        reason=reason,
    )


def payment_refund(*, payment: Payment, amount: int | None, reason: str, staff) -> PaymentRefund:
    """Refund all (amount None) or part of a payment from the admin.

    Order (DESIGN.md): the credits leave the ledger and commit; then PortOne cancels, outside the
    transaction, guarded by `current_cancellable_amount`; if it refuses, a reversing entry puts
    the credits back and the refund is marked failed with PortOne's error.
    """
    reason = (reason or "").strip()
    if not reason:
        raise RefundNotAllowed("A reason is required.", errors={"reason": ["A reason is required."]})
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("user").get(pk=payment.pk)
        quote = payment_refund_quote(payment=payment)
        if not quote.allowed:
            raise RefundNotAllowed(quote.reason)
        amount = quote.refundable_amount if amount is None else amount
        if amount <= 0:
            raise RefundNotAllowed("The refund amount must be positive.", errors={"amount": ["Must be positive."]})
        if amount > quote.refundable_amount:
            raise RefundNotAllowed(
                f"At most {quote.refundable_amount} {payment.currency} can be refunded.",
                errors={"amount": [f"At most {quote.refundable_amount}."]},
            )
        account = _account_lock(user=payment.user)
        refund = PaymentRefund.objects.create(
            payment=payment,
            source=PaymentRefund.Source.ADMIN,
            requested_by=staff,
            amount=amount,
            credits=_refund_credits(payment=payment, amount=amount, balance=account.balance),
            reason=reason,
        )
        if refund.credits:
            ledger_entry_append(
                user=payment.user,
                kind=Kind.PAYMENT_REFUND,
                amount=-refund.credits,
                idempotency_key=f"payment_refund:{refund.id}",
                ref=f"refund:{refund.id}",
                payment=payment,
                staff=staff,
                reason=reason,
            )
        cancellable = payment.amount - payment.cancelled_amount

    try:
        result = portone.payment_cancel(
            payment_id=payment.payment_id, amount=amount, reason=reason, current_cancellable_amount=cancellable
        )
    except portone.CancelFailed as error:
        return _payment_refund_fail(refund_pk=refund.pk, error=str(error), raw=error.raw)
    return _payment_refund_succeed(refund_pk=refund.pk, result=result)


@transaction.atomic
def _payment_refund_fail(*, refund_pk, error: str, raw: dict) -> PaymentRefund:
    refund = PaymentRefund.objects.select_related("payment__user").get(pk=refund_pk)
    Payment.objects.select_for_update().get(pk=refund.payment_id)
    refund = PaymentRefund.objects.select_for_update().select_related("payment__user").get(pk=refund_pk)
    refund.status = PaymentRefund.Status.FAILED
    refund.error = error
    refund.provider_response = raw
    refund.finished_at = timezone.now()
    refund.save()
    if refund.credits:
        ledger_entry_append(
            user=refund.payment.user,
            kind=Kind.ADJUSTMENT,
            amount=refund.credits,
            idempotency_key=f"payment_refund_reversal:{refund.id}",
            ref=f"refund:{refund.id}",
            payment=refund.payment,
            staff=refund.requested_by,
            reason=f"PortOne did not cancel the payment, credits restored: {error}",
        )
    return refund


@transaction.atomic
def _payment_refund_succeed(*, refund_pk, result: portone.CancelResult) -> PaymentRefund:
    refund = PaymentRefund.objects.select_related("payment").get(pk=refund_pk)
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    refund.status = PaymentRefund.Status.SUCCEEDED
    refund.amount = result.amount  # recorded as PortOne returned it
    refund.provider_cancellation_id = result.cancellation_id[:100]
    refund.provider_response = result.raw
    refund.finished_at = timezone.now()
    refund.save()
    succeeded = (
        payment.refunds.filter(status=PaymentRefund.Status.SUCCEEDED).aggregate(n=Sum("amount"))["n"] or 0
    )
    _set_cancelled_amount(payment, succeeded)
    payment.save()
    return refund


# --- Webhooks ---------------------------------------------------------------------------------

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


def payments_sync_pending(*, older_than_seconds: int = 0, abandon_after_hours: int = 24) -> dict[str, int]:
    """Re-check pending payments with PortOne (manage.py sync_payments and its actor).

    A payment PortOne still does not know after `abandon_after_hours` was never paid: it is
    marked failed so it stops being checked.
    """
    now = timezone.now()
    counts = {"checked": 0, "paid": 0, "still_pending": 0, "failed": 0, "abandoned": 0, "errors": 0}
    pending = Payment.objects.filter(
        status=Status.PENDING, created_at__lte=now - timezone.timedelta(seconds=older_than_seconds)
    ).order_by("created_at")
    for payment in pending.iterator():
        counts["checked"] += 1
        try:
            snapshot = portone.payment_fetch(payment_id=payment.payment_id)
        except PaymentProviderUnavailable:
            counts["errors"] += 1
            continue
        if snapshot is None and payment.created_at <= now - timezone.timedelta(hours=abandon_after_hours):
            Payment.objects.filter(pk=payment.pk, status=Status.PENDING).update(
                status=Status.FAILED, failure_code="abandoned", failure_detail="PortOne never received this payment.",
                synced_at=now, updated_at=now,
            )
            counts["abandoned"] += 1
            continue
        payment = _payment_apply(payment_pk=payment.pk, snapshot=snapshot)
        if payment.credited_at is not None:
            counts["paid"] += 1
        elif payment.status == Status.FAILED:
            counts["failed"] += 1
        else:
            counts["still_pending"] += 1
    return counts
