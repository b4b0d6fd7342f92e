"""Payments through any provider: prepare an order, sync it with its provider, credit it once.

The provider (billing/providers/) is chosen when the order is made and kept on it; every later
step asks that provider. `complete`, the webhooks, the phone return page and `manage.py
sync_payments` all end in `_payment_apply`, which works under the payment row lock, so any number
of them in any order, from any provider, add the credits once (the ledger's idempotency key
`purchase:<payment_id>` backs that up).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from billing.emails import refund_email_queue
from billing.errors import (
    CurrencyUnavailable,
    PackUnavailable,
    PaymentFailed,
    PaymentMismatch,
    PaymentProviderUnavailable,
    PaymentsNotConfigured,
)
from billing.models import (
    CHECKOUT_CLOSED_CODE,
    CHECKOUT_CLOSED_DETAIL,
    CHECKOUT_EXPIRED_CODE,
    CHECKOUT_EXPIRED_DETAIL,
    PAYMENT_ABANDONED_CODE,
    PAYMENT_ABANDONED_DETAIL,
    PAYMENT_FAILED_DETAIL,
    PROVIDER_CANCEL_REASON,
    CreditPack,
    LedgerEntry,
    Payment,
    PaymentRefund,
    order_title,
)
from billing.providers import provider_choose, provider_get, providers_configured
from billing.providers.base import ProviderPayment
from billing.selectors import credits_balance
from billing.services.ledger import PACKS_FIRST, PLAN_FIRST, _account_lock, ledger_entry_append
from billing.services.plans import plan_charge_credit
from onevoice import metrics
from onevoice.errors import NotFound

logger = logging.getLogger(__name__)
Kind = LedgerEntry.Kind
Status = Payment.Status
# What a provider says while the customer's money is on its way (PortOne: a virtual account
# issued, a payment the PG is still processing): such a checkout is never expired or closed.
_STILL_PAYING = frozenset({"VIRTUAL_ACCOUNT_ISSUED", "PAY_PENDING"})
_CHECKOUT_ENDED_CODES = frozenset({CHECKOUT_CLOSED_CODE, CHECKOUT_EXPIRED_CODE, PAYMENT_ABANDONED_CODE})
_ACCOUNTED_REFUNDS = (PaymentRefund.Status.PENDING, PaymentRefund.Status.SUCCEEDED)


def payment_prepare(
    *, user, pack_id, currency: str = "", country: str = "", request_key: str = ""
) -> Payment:
    """Store a pending order for a pack and begin its checkout with the provider that serves it.
    The server alone sets the id and the price. `payment.checkout` is what the browser needs.

    With the request's idempotency key the order's id is fixed by it (and the pack): a retry after
    the provider timed out (502) finds the same order and asks the provider again under the same
    key of its own, so a checkout the provider made the first time is the one it answers.
    `currency` '' is the pack's own; one the pack has no price in is 400 currency_unavailable."""
    if not providers_configured():
        raise PaymentsNotConfigured()
    pack = CreditPack.objects.filter(pk=pack_id, active=True).first()
    if pack is None:
        raise PackUnavailable(errors={"pack_id": [gettext("No active credit pack has this id.")]})
    currency = (currency or pack.currency).upper()
    price = pack.price_in(currency)
    if price is None:
        raise CurrencyUnavailable(currency=currency)
    provider = provider_choose(currency=currency, country=country)
    if request_key:
        digest = hashlib.sha256(f"{user.pk}:{request_key}:{pack.pk}:{currency}".encode()).hexdigest()[:32]
        payment_id = f"ov-{digest}"
    else:
        payment_id = f"ov-{uuid.uuid4().hex}"
    try:
        payment, created = Payment.objects.get_or_create(
            payment_id=payment_id,
            defaults={"user_id": user.pk, "provider": provider.name, "pack": pack, "order_name": _order_name(pack, language=user.locale),
                      "credits": pack.credits, "amount": price, "currency": currency},
        )
    except IntegrityError:  # the same retry, twice at once: the other one made it
        payment, created = Payment.objects.get(payment_id=payment_id), False
    if not created and (payment.user_id != user.pk or payment.checkout):
        if payment.user_id != user.pk:  # a 128-bit digest of the user's id: cannot happen
            raise PaymentsNotConfigured()
        return payment
    return payment_checkout_start(payment=payment)


def payment_checkout_start(*, payment: Payment) -> Payment:
    """Ask the payment's provider for its checkout (outside any transaction: it may call the
    provider) and keep what the browser needs, with the ids the provider gave it."""
    provider = provider_get(payment.provider)
    checkout = provider.checkout_start(
        payment=payment,
        success_url=settings.SITE_URL + reverse("payment_return") + f"?paymentId={payment.payment_id}",
        cancel_url=settings.SITE_URL + reverse("credits"),
    )
    payment.checkout = checkout.client
    payment.provider_checkout_id = checkout.provider_checkout_id or payment.provider_checkout_id
    payment.provider_customer_id = checkout.provider_customer_id or payment.provider_customer_id
    Payment.objects.filter(pk=payment.pk).update(
        checkout=payment.checkout, provider_checkout_id=payment.provider_checkout_id,
        provider_customer_id=payment.provider_customer_id, updated_at=timezone.now())
    return payment


def _order_name(pack: CreditPack, *, language: str) -> str:
    # The orderName the provider is sent: the buyer reads it in the payment window (the built-in
    # test checkout's too) and on the receipt, so it is in the buyer's language (issue 21: a Korean
    # buyer's checkout said "OneVoice Standard: 100 credits").
    with translation.override(language or settings.LANGUAGE_CODE):
        return order_title(pack_name=pack.name, credits=pack.credits)


def _mismatch(payment: Payment, snapshot: ProviderPayment) -> str:
    """Why a paid answer does not pay this order, or '': the same checks for every provider,
    then the provider's own (PortOne's store and channel)."""
    provider = provider_get(payment.provider)
    if snapshot.payment_id != payment.payment_id:
        return f"{provider.label} returned payment {snapshot.payment_id!r} for {payment.payment_id!r}."
    if snapshot.currency.upper() != payment.currency.upper():
        return f"Paid in {snapshot.currency}, the order is in {payment.currency}."
    if snapshot.amount_total != payment.amount:
        return f"Paid {snapshot.amount_total} {snapshot.currency}, the order costs {payment.amount}."
    return provider.order_problem(payment=payment, snapshot=snapshot)


def _refund_debit(*, refund: PaymentRefund, staff=None, clamp_to_balance: bool = False) -> None:
    """The ledger entry that takes a refund's credits back, once per refund (keyed by its id)."""
    if not refund.credits:
        return
    plan_charge = refund.payment.subscription_id is not None
    ledger_entry_append(
        user=refund.payment.user,
        # A plan's period refunded takes back plan credits first, a pack's its pack credits first.
        kind=Kind.PLAN_REFUND if plan_charge else Kind.PAYMENT_REFUND,
        take_first=PLAN_FIRST if plan_charge else PACKS_FIRST,
        amount=-refund.credits,
        idempotency_key=f"payment_refund:{refund.id}",
        ref=f"refund:{refund.id}",
        payment=refund.payment,
        staff=staff,
        reason=refund.reason,
        clamp_to_balance=clamp_to_balance,
    )


def refund_credits(*, amount: int, paid: int, credits_bought: int, credits_removed: int, balance: int) -> int:
    """The credits a refund of `amount` takes back (DESIGN.md): ceil(amount x pack credits /
    price), at most the balance and what is left of this payment. The one formula: the refund
    itself, the admin's quote and a console cancellation all use it."""
    wanted = -(-amount * credits_bought // paid)
    return max(0, min(wanted, credits_bought - credits_removed, balance))


def _refund_credits(*, payment: Payment, amount: int, balance: int) -> int:
    removed = payment.refunds.filter(status__in=_ACCOUNTED_REFUNDS).aggregate(n=Sum("credits"))["n"] or 0
    return refund_credits(
        amount=amount, paid=payment.amount, credits_bought=payment.credits, credits_removed=removed, balance=balance
    )


def _set_cancelled_amount(payment: Payment, cancelled: int) -> None:
    # Cancelled amounts only grow at PortOne; a late, older answer must not shrink ours.
    payment.cancelled_amount = min(payment.amount, max(payment.cancelled_amount, cancelled))
    if payment.cancelled_amount >= payment.amount:
        payment.status = Status.CANCELLED
    elif payment.cancelled_amount > 0:
        payment.status = Status.PARTIALLY_CANCELLED


def known_cancellation_ids(payment: Payment) -> set[str]:
    """PortOne's cancellation ids our refunds already stand for (a console refund may hold several)."""
    return {
        cancellation_id
        for ids in payment.refunds.exclude(provider_cancellation_id="").values_list("provider_cancellation_id", flat=True)
        for cancellation_id in ids.split(",")
    }


def _apply_provider_cancellations(payment: Payment, snapshot: ProviderPayment) -> None:
    """Take back credits for cancellations made outside our admin (the provider's console).

    Our own refunds are counted while pending, so the webhook for a cancellation we asked for
    finds nothing new. What PortOne cancelled beyond that is recorded as a provider refund.
    """
    accounted = payment.refunds.filter(status__in=_ACCOUNTED_REFUNDS).aggregate(n=Sum("amount"))["n"] or 0
    unknown = snapshot.amount_cancelled - accounted
    if unknown <= 0:
        return
    known_ids = known_cancellation_ids(payment)
    new = [c for c in snapshot.cancellations if c.status == "SUCCEEDED" and c.id not in known_ids]
    account = _account_lock(user=payment.user)
    refund = PaymentRefund.objects.create(
        payment=payment,
        source=PaymentRefund.Source.PROVIDER,
        amount=unknown,
        credits=_refund_credits(payment=payment, amount=unknown, balance=account.balance),
        reason="; ".join(c.reason for c in new if c.reason) or PROVIDER_CANCEL_REASON,
        status=PaymentRefund.Status.SUCCEEDED,
        provider_cancellation_id=",".join(c.id for c in new)[:100],
        provider_response={"cancellations": [c.__dict__ for c in new]},
        finished_at=timezone.now(),
    )
    # The console refund happened already: take what is left, never more than the balance.
    _refund_debit(refund=refund, clamp_to_balance=True)
    refund_email_queue(refund=refund, balance=credits_balance(user=payment.user))  # sent after commit


def _apply_paid(payment: Payment, snapshot: ProviderPayment, *, now) -> None:
    """The provider says paid: credit the pack (or the plan's period) once, unless the payment does
    not match its order, which fails it instead."""
    problem = _mismatch(payment, snapshot)
    if problem:
        if payment.credited_at is None:
            payment.status = Status.FAILED
            payment.failure_code = PaymentMismatch.code
            payment.failure_detail = problem
            logger.warning("Payment %s does not match its order: %s", payment.payment_id, problem)
        return
    if payment.credited_at is None:
        if payment.subscription_id is not None:
            payment.paid_at = snapshot.paid_at or now
            plan_charge_credit(payment=payment, now=now)  # a plan's period: its credits, once
        else:
            ledger_entry_append(
                user=payment.user,
                kind=Kind.PURCHASE,
                amount=payment.credits,
                idempotency_key=f"purchase:{payment.payment_id}",
                ref=f"payment:{payment.payment_id}",
                payment=payment,
            )
        payment.credited_at = now
    if payment.cancelled_amount == 0:  # a late PAID answer must not undo a refund we made
        payment.status = Status.PAID
    payment.paid_at = snapshot.paid_at or payment.paid_at or now
    payment.failure_code = payment.failure_detail = ""


@transaction.atomic
def _payment_apply(*, payment_pk, snapshot: ProviderPayment | None) -> Payment:
    """Bring our payment in line with what its provider said; credit the pack at most once."""
    payment = Payment.objects.select_for_update().select_related("user").get(pk=payment_pk)
    now = timezone.now()
    payment.synced_at = now
    if snapshot is None:
        payment.save(update_fields=["synced_at", "updated_at"])
        return payment
    if (
        payment.provider_updated_at
        and snapshot.updated_at
        and snapshot.updated_at < payment.provider_updated_at
    ):
        payment.save(update_fields=["synced_at", "updated_at"])  # an older answer overtaken by a newer one
        return payment
    payment.provider_status = snapshot.status
    payment.provider_channel_type = snapshot.channel_type
    payment.provider_response = snapshot.raw
    payment.provider_updated_at = snapshot.updated_at or payment.provider_updated_at
    payment.provider_payment_id = snapshot.provider_payment_id or payment.provider_payment_id
    payment.provider_customer_id = snapshot.provider_customer_id or payment.provider_customer_id
    payment.receipt_url = snapshot.receipt_url or payment.receipt_url

    if snapshot.local_status == Status.PENDING:
        if payment.credited_at is None and not _checkout_ended(payment):
            payment.status = Status.PENDING
    elif snapshot.local_status == Status.FAILED:
        if payment.credited_at is None:
            payment.status = Status.FAILED
            payment.failure_code = "payment_failed"
            payment.failure_detail = snapshot.failure_reason or PAYMENT_FAILED_DETAIL
    elif snapshot.local_status == Status.EXPIRED:
        # The provider ended the checkout unpaid itself (Stripe's session expired).
        if payment.credited_at is None:
            payment.status = Status.EXPIRED
            payment.failure_code, payment.failure_detail = CHECKOUT_EXPIRED_CODE, CHECKOUT_EXPIRED_DETAIL
    elif snapshot.is_paid:
        _apply_paid(payment, snapshot, now=now)
    elif snapshot.local_status in (Status.CANCELLED, Status.PARTIALLY_CANCELLED):
        if payment.credited_at is not None:
            _apply_provider_cancellations(payment, snapshot)
        _set_cancelled_amount(payment, snapshot.amount_cancelled)
        payment.status = snapshot.local_status
    payment.save()
    return payment


def payment_sync(*, payment: Payment) -> Payment:
    """Fetch the payment from its provider (outside any transaction) and apply what it says."""
    snapshot = provider_get(payment.provider).payment_fetch(payment=payment)
    return _payment_apply(payment_pk=payment.pk, snapshot=snapshot)


def payment_receipt_link(*, payment: Payment) -> str:
    """Where the buyer's receipt for a paid payment is, from its provider ('' when there is
    none); may ask the provider (Paddle's invoice links are made on demand and expire)."""
    if payment.credited_at is None:
        return ""
    return provider_get(payment.provider).receipt_url(payment=payment)


def payment_complete(*, user, payment_id: str) -> Payment:
    """The client says it paid: check with the provider, credit once, or say precisely what is wrong."""
    payment = Payment.objects.filter(user_id=user.pk, payment_id=payment_id).first()
    if payment is None:
        raise NotFound(gettext("No payment with this id."))
    if not provider_get(payment.provider).is_configured():
        raise PaymentsNotConfigured()
    payment = payment_sync(payment=payment)
    if payment.credited_at is None:
        if payment.failure_code == PaymentMismatch.code:
            raise PaymentMismatch(payment.failure_shown())
        if payment.status == Status.FAILED:
            raise PaymentFailed(payment.failure_shown() or None)
    return payment


def _checkout_ended(payment: Payment) -> bool:
    """The checkout ended unpaid (closed, expired): its provider saying "still waiting for the
    customer" does not reopen it; only "paid" changes it (credited once) or "failed"."""
    return payment.credited_at is None and payment.failure_code in _CHECKOUT_ENDED_CODES


@transaction.atomic
def _checkout_end(*, payment_pk, status: str, code: str, detail: str) -> Payment:
    """End a checkout left pending, under its row lock: never one that was credited or found
    paid, failed or cancelled meanwhile, nor one whose money is on its way (a bank transfer)."""
    payment = Payment.objects.select_for_update().get(pk=payment_pk)
    if (payment.status == Status.PENDING and payment.credited_at is None
            and payment.provider_status not in _STILL_PAYING):
        payment.status, payment.failure_code, payment.failure_detail = status, code, detail
        payment.save(update_fields=["status", "failure_code", "failure_detail", "updated_at"])
    return payment


def payment_checkout_close(*, user, payment_id: str) -> Payment:
    """The user closed the checkout (the browser SDK said so). The provider is asked first: a
    payment it holds as paid is credited, one it failed is failed, anything else is a cancelled
    checkout. One the provider reports paid later still gets its credits, once (`_payment_apply`).
    The provider unreachable: PaymentProviderUnavailable, and the checkout stays pending (it
    expires after CHECKOUT_EXPIRE_MINUTES, the provider asked again then)."""
    payment = Payment.objects.filter(user_id=user.pk, payment_id=payment_id).first()
    if payment is None:
        raise NotFound(gettext("No payment with this id."))
    if not provider_get(payment.provider).is_configured():
        raise PaymentsNotConfigured()
    payment = payment_sync(payment=payment)
    return _checkout_end(payment_pk=payment.pk, status=Status.CANCELLED, code=CHECKOUT_CLOSED_CODE,
                         detail=CHECKOUT_CLOSED_DETAIL)


def payments_sync_pending(*, older_than_seconds: int = 0, expire_after_minutes: int | None = None) -> dict[str, int]:
    """Re-check pending payments with their providers (manage.py sync_payments and its actor).

    A checkout still not paid `expire_after_minutes` (CHECKOUT_EXPIRE_MINUTES) after it began is
    expired, once its provider has been asked: one the provider does not know, or holds as still
    waiting for the customer. A bank transfer on its way is left pending; a provider that does
    not answer leaves every payment as it is.
    """
    now = timezone.now()
    if expire_after_minutes is None:
        expire_after_minutes = settings.CHECKOUT_EXPIRE_MINUTES
    expire_before = now - timedelta(minutes=expire_after_minutes)
    counts = {"checked": 0, "paid": 0, "still_pending": 0, "failed": 0, "expired": 0, "errors": 0}
    pending = Payment.objects.filter(
        status=Status.PENDING, created_at__lte=now - timedelta(seconds=older_than_seconds)
    ).order_by("created_at")
    for payment in pending.iterator():
        counts["checked"] += 1
        try:
            snapshot = provider_get(payment.provider).payment_fetch(payment=payment)
        except PaymentProviderUnavailable:
            metrics.payment_sync_failed.inc()
            counts["errors"] += 1
            continue
        payment = _payment_apply(payment_pk=payment.pk, snapshot=snapshot)
        if payment.credited_at is not None:
            counts["paid"] += 1
        elif payment.status == Status.FAILED:
            counts["failed"] += 1
        elif payment.status == Status.EXPIRED:  # the provider ended it itself (Stripe's session)
            counts["expired"] += 1
        elif payment.created_at <= expire_before and _checkout_end(
            payment_pk=payment.pk, status=Status.EXPIRED,
            code=CHECKOUT_EXPIRED_CODE if snapshot is not None else PAYMENT_ABANDONED_CODE,
            detail=CHECKOUT_EXPIRED_DETAIL if snapshot is not None else PAYMENT_ABANDONED_DETAIL,
        ).status == Status.EXPIRED:
            counts["expired"] += 1
        else:
            counts["still_pending"] += 1
    return counts
