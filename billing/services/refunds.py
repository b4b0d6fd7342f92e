"""Refunds from the admin, in DESIGN.md's order: ledger first, PortOne after, reversal on failure."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from billing import portone
from billing.errors import RefundNotAllowed
from billing.models import (
    REFUND_REVERSAL_KEY_PREFIX,
    CreditAccount,
    LedgerEntry,
    Payment,
    PaymentRefund,
)
from billing.services.ledger import _account_lock, ledger_entry_append
from billing.services.payments import (
    _ACCOUNTED_REFUNDS,
    _refund_credits,
    _refund_debit,
    _set_cancelled_amount,
)
from billing.templatetags.billing_tags import money

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

    def credits_for(self, amount: int, *, payment: Payment) -> int:
        wanted = -(-amount * payment.credits // payment.amount)
        return max(0, min(wanted, self.credits_bought - self.credits_removed, self.balance))


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
        cancellable = payment.amount - payment.cancelled_amount

    try:
        result = portone.payment_cancel(
            payment_id=payment.payment_id,
            amount=amount,
            reason=reason,
            current_cancellable_amount=cancellable,
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
            idempotency_key=f"{REFUND_REVERSAL_KEY_PREFIX}{refund.id}",
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
