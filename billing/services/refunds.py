"""Refunds from the admin, in DESIGN.md's order: ledger first, the provider after, reversal on failure.

The refund goes to the provider that took the payment (billing/providers/). A refund whose
process died between the two (its credits removed, the provider's answer never recorded) stays
pending; `refunds_sync_pending` (manage.py sync_refunds and its actor) asks the provider what
became of it and completes it or puts the credits back, once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from billing.emails import refund_email_queue
from billing.errors import PaymentProviderUnavailable, RefundNotAllowed
from billing.models import (
    REFUND_REVERSAL_KEY_PREFIX,
    CreditAccount,
    LedgerEntry,
    Payment,
    PaymentRefund,
)
from billing.providers import provider_get
from billing.providers.base import ProviderPayment, RefundRefused, RefundResult
from billing.selectors import credits_balance
from billing.services.ledger import _account_lock, ledger_entry_append
from billing.services.payments import (
    _ACCOUNTED_REFUNDS,
    _refund_credits,
    _refund_debit,
    _set_cancelled_amount,
    known_cancellation_ids,
    refund_credits,
)
from billing.templatetags.billing_tags import money
from onevoice import metrics

logger = logging.getLogger(__name__)
Kind = LedgerEntry.Kind
Status = Payment.Status


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

    def credits_for(self, amount: int) -> int:
        return refund_credits(amount=amount, paid=self.paid, credits_bought=self.credits_bought,
                              credits_removed=self.credits_removed, balance=self.balance)


def payment_refund_quote(*, payment: Payment) -> RefundQuote:
    refunds = payment.refunds.all()
    in_flight = sum(r.amount for r in refunds if r.status == PaymentRefund.Status.PENDING)
    removed = sum(r.credits for r in refunds if r.status in _ACCOUNTED_REFUNDS)
    refundable = max(0, payment.amount - payment.cancelled_amount - in_flight)
    balance = (
        CreditAccount.objects.filter(user_id=payment.user_id).values_list("balance", flat=True).first() or 0
    )
    allowed, reason = True, ""
    if payment.status not in (Status.PAID, Status.PARTIALLY_CANCELLED) or payment.credited_at is None:
        allowed, reason = False, gettext("The payment is %(status)s, not paid.") % {
            "status": str(payment.get_status_display()).lower()}
    elif refundable <= 0:
        allowed, reason = False, gettext("Nothing is left to refund.")
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
    refund, cancellable = _refund_begin(payment=payment, amount=amount, reason=reason, staff=staff)
    # Should this process die here, the refund stays pending with its credits removed, and
    # sync_refunds asks PortOne later what became of it.
    try:
        result = provider_get(payment.provider).refund(
            payment=payment,
            amount=refund.amount,
            reason=refund.reason,
            cancellable=cancellable,
            idempotency_key=f"refund:{refund.id}",
        )
    except RefundRefused as error:
        return _payment_refund_fail(refund_pk=refund.pk, error=str(error), raw=error.raw)
    return _payment_refund_succeed(refund_pk=refund.pk, result=result)


def _refund_begin(*, payment: Payment, amount: int | None, reason: str, staff) -> tuple[PaymentRefund, int]:
    """The first step, committed: the pending refund and its ledger entry. Returns it with the
    amount PortOne must still see as cancellable."""
    reason = (reason or "").strip()
    if not reason:
        message = gettext("A reason is required.")
        raise RefundNotAllowed(message, errors={"reason": [message]})
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("user").get(pk=payment.pk)
        quote = payment_refund_quote(payment=payment)
        if not quote.allowed:
            raise RefundNotAllowed(quote.reason)
        amount = quote.refundable_amount if amount is None else amount
        if amount <= 0:
            raise RefundNotAllowed(
                gettext("The refund amount must be positive."), errors={"amount": [gettext("Must be positive.")]}
            )
        if amount > quote.refundable_amount:
            raise RefundNotAllowed(
                gettext("At most %(amount)s can be refunded.") % {
                    "amount": money(quote.refundable_amount, payment.currency)},
                errors={"amount": [gettext("At most %(amount)s.") % {
                    "amount": money(quote.refundable_amount, payment.currency)}]},
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
        _refund_debit(refund=refund, staff=staff)
        return refund, payment.amount - payment.cancelled_amount


def _pending_refund_lock(refund_pk) -> PaymentRefund | None:
    """The refund under its payment's lock (the order every refund path takes), or None when
    someone settled it already: whoever holds the lock first decides, the others change nothing."""
    payment_pk = PaymentRefund.objects.filter(pk=refund_pk).values_list("payment_id", flat=True).get()
    Payment.objects.select_for_update().get(pk=payment_pk)
    refund = PaymentRefund.objects.select_for_update().select_related("payment__user").get(pk=refund_pk)
    return refund if refund.status == PaymentRefund.Status.PENDING else None


def _payment_refund_fail(*, refund_pk, error: str, raw: dict) -> PaymentRefund:
    return _refund_fail(refund_pk=refund_pk, error=error, raw=raw) or PaymentRefund.objects.get(pk=refund_pk)


def _payment_refund_succeed(*, refund_pk, result: RefundResult) -> PaymentRefund:
    if result.status != "SUCCEEDED":
        # The provider decides later (Paddle approves adjustments): pending, with its id, until
        # the provider's answer settles it (sync_refunds).
        PaymentRefund.objects.filter(pk=refund_pk, status=PaymentRefund.Status.PENDING).update(
            provider_cancellation_id=result.cancellation_id[:100], provider_response=result.raw)
        return PaymentRefund.objects.get(pk=refund_pk)
    settled = _refund_succeed(refund_pk=refund_pk, result=result)
    if settled is None:
        # Settled by sync_refunds while PortOne was answering (it waits far longer than the
        # client's timeout, so this is a stray): a cancellation it reversed is then unaccounted
        # for, and the payment's next webhook takes its credits back as a PortOne cancellation.
        logger.warning("Refund %s was settled before PortOne's answer arrived", refund_pk)
        return PaymentRefund.objects.get(pk=refund_pk)
    return settled


@transaction.atomic
def _refund_fail(*, refund_pk, error: str, raw: dict) -> PaymentRefund | None:
    """Mark a pending refund failed and put its credits back; None when it was no longer pending."""
    refund = _pending_refund_lock(refund_pk)
    if refund is None:
        return None
    refund.status = PaymentRefund.Status.FAILED
    refund.error = error
    refund.provider_response = raw
    refund.finished_at = timezone.now()
    refund.save()
    if refund.credits:
        taken = LedgerEntry.objects.filter(idempotency_key=f"payment_refund:{refund.id}").first()
        ledger_entry_append(
            user=refund.payment.user,
            kind=Kind.ADJUSTMENT,
            amount=refund.credits,
            # Back into the bucket the refund took them from.
            plan_amount=-taken.plan_amount if taken is not None else 0,
            idempotency_key=f"{REFUND_REVERSAL_KEY_PREFIX}{refund.id}",
            ref=f"refund:{refund.id}",
            payment=refund.payment,
            staff=refund.requested_by,
            reason=f"{provider_get(refund.payment.provider).label} did not cancel the payment, credits restored: {error}",
        )
    return refund


@transaction.atomic
def _refund_succeed(*, refund_pk, result: RefundResult) -> PaymentRefund | None:
    """Record the provider's cancellation on a pending refund; None when it was no longer pending."""
    refund = _pending_refund_lock(refund_pk)
    if refund is None:
        return None
    payment = refund.payment
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
    refund_email_queue(refund=refund, balance=credits_balance(user=payment.user))  # sent after commit
    return refund


def _cancellation_for(refund: PaymentRefund, snapshot: ProviderPayment, *, taken: set[str]):
    """The provider's cancellation that stands for this refund: the one with the id the provider
    answered (when it answered), else the same amount, not already some other refund's; the one
    with our reason first (PortOne keeps no request id of ours)."""
    if refund.provider_cancellation_id:
        for cancellation in snapshot.cancellations:
            if cancellation.id == refund.provider_cancellation_id:
                return cancellation
    candidates = [c for c in snapshot.cancellations if c.id not in taken and c.amount == refund.amount]
    candidates.sort(key=lambda c: (c.status != "SUCCEEDED", c.reason != refund.reason))
    return candidates[0] if candidates else None


def refunds_sync_pending(*, older_than_seconds: float | None = None) -> dict[str, int]:
    """Settle the admin refunds left pending (their process died after taking the credits back
    and before PortOne's answer was recorded): PortOne's cancellation for it found, the refund
    succeeds; none, its credits are put back; one PortOne is still deciding, it waits.

    Only refunds older than REFUND_SYNC_AFTER_SECONDS by default: longer than the PortOne
    client waits for an answer, so the process that asked is gone or has given up.
    """
    if older_than_seconds is None:
        older_than_seconds = settings.REFUND_SYNC_AFTER_SECONDS
    counts = {"checked": 0, "succeeded": 0, "reversed": 0, "still_pending": 0, "errors": 0}
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = list(
        PaymentRefund.objects.filter(
            status=PaymentRefund.Status.PENDING, source=PaymentRefund.Source.ADMIN, created_at__lte=cutoff
        ).select_related("payment").order_by("created_at")
    )
    by_payment: dict = {}
    for refund in pending:
        by_payment.setdefault(refund.payment_id, []).append(refund)
    for refunds in by_payment.values():
        payment = refunds[0].payment
        counts["checked"] += len(refunds)
        try:
            snapshot = provider_get(payment.provider).payment_fetch(payment=payment)  # outside any transaction
        except PaymentProviderUnavailable:
            snapshot = None
        if snapshot is None:
            # PortOne down, or it does not know a payment we credited: ask again next time.
            logger.warning("Refund sync: PortOne gave no answer for payment %s", payment.payment_id)
            counts["errors"] += len(refunds)
            metrics.refund_sync_failed.inc(len(refunds))
            continue
        taken = known_cancellation_ids(payment)
        for refund in refunds:
            try:
                outcome = _refund_settle(refund=refund, snapshot=snapshot, taken=taken)
            except Exception:  # one refund's trouble must not keep the others pending
                logger.exception("Refund sync: refund %s could not be settled", refund.pk)
                counts["errors"] += 1
                metrics.refund_sync_failed.inc()
                continue
            if outcome:
                counts[outcome] += 1
    return counts


def refunds_settle_answered(*, payment: Payment, snapshot: ProviderPayment) -> int:
    """Settle the payment's pending refunds the provider has decided, found by the id it answered
    the request with (a provider that approves refunds later, Paddle's adjustments): called with
    each fresh answer (the webhook), so they do not wait for sync_refunds. Returns how many."""
    settled = 0
    decided = {c.id: c for c in snapshot.cancellations if c.status in ("SUCCEEDED", "FAILED")}
    pending = payment.refunds.filter(status=PaymentRefund.Status.PENDING).exclude(provider_cancellation_id="")
    for refund in pending:
        cancellation = decided.get(refund.provider_cancellation_id)
        if cancellation is None:
            continue
        if cancellation.status == "SUCCEEDED":
            result = RefundResult(cancellation.id, cancellation.amount, {**cancellation.__dict__})
            settled += _refund_succeed(refund_pk=refund.pk, result=result) is not None
        else:
            label = provider_get(payment.provider).label
            settled += _refund_fail(refund_pk=refund.pk, error=f"{label} refused the refund.",
                                    raw={**cancellation.__dict__}) is not None
    return settled


def _refund_settle(*, refund: PaymentRefund, snapshot: ProviderPayment, taken: set[str]) -> str:
    """Settle one pending refund by what PortOne said; "" when another run settled it first."""
    cancellation = _cancellation_for(refund, snapshot, taken=taken)
    if cancellation is not None and cancellation.status == "REQUESTED":
        return "still_pending"
    if cancellation is not None and cancellation.status == "SUCCEEDED":
        taken.add(cancellation.id)
        result = RefundResult(cancellation.id, cancellation.amount, {**cancellation.__dict__})
        return "succeeded" if _refund_succeed(refund_pk=refund.pk, result=result) else ""
    label = provider_get(refund.payment.provider).label
    error = f"{label} has no cancellation for this refund: its request never arrived or was refused."
    return "reversed" if _refund_fail(refund_pk=refund.pk, error=error, raw={"payment": snapshot.raw}) else ""
