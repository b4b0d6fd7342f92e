"""The ledger: the one place where credits move.

`ledger_entry_append` locks the account row, refuses a movement that would take the balance below
zero, appends the entry and updates the cached balance in one transaction. The idempotency key
makes a replay return the entry already written. Every other path (sign-up bonus, grants, job
debits and refunds, purchases, payment refunds) calls it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum

from billing.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    InvalidAmount,
    ReasonRequired,
)
from billing.models import CreditAccount, LedgerEntry

Kind = LedgerEntry.Kind
# Which credits a removal takes first (DESIGN.md "Plans"): a spend takes plan credits first, so
# the ones that would expire at renewal go before pack credits, which never expire; a pack's
# refund takes back pack credits first.
PLAN_FIRST = "plan_first"
PACKS_FIRST = "packs_first"


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
    plan_amount: int | None = None,
    take_first: str = PLAN_FIRST,
) -> tuple[LedgerEntry | None, bool]:
    """Move `amount` credits (signed) and return (entry, created).

    Replaying a key returns the existing entry with created=False and changes nothing. With
    `clamp_to_balance` a removal larger than the balance removes only what is there (refunds take
    back at most the balance); without it such a removal raises InsufficientCredits. A clamped
    removal of nothing writes nothing and returns (None, False).

    `plan_amount` is the part of `amount` that moves plan credits: for an addition, how much of
    it is plan credits (default none); for a removal it is worked out from `take_first` unless
    given (an expiry removes plan credits only).
    """
    if amount == 0:
        # A programming error, not a client's: every caller has refused or skipped a zero first.
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
        plan_part = _plan_part(account, amount=amount, plan_amount=plan_amount, take_first=take_first)
        CreditAccount.objects.filter(pk=account.pk).update(
            balance=F("balance") + amount, plan_balance=F("plan_balance") + plan_part
        )
        account.refresh_from_db(fields=["balance", "plan_balance"])
        entry = LedgerEntry.objects.create(
            account=account,
            kind=kind,
            amount=amount,
            plan_amount=plan_part,
            balance_after=account.balance,
            ref=ref,
            payment=payment,
            staff=staff,
            reason=reason,
            idempotency_key=idempotency_key,
        )
        return entry, True


def _plan_part(account: CreditAccount, *, amount: int, plan_amount: int | None, take_first: str) -> int:
    if amount > 0:
        part = plan_amount or 0
        if not 0 <= part <= amount:
            raise ValueError("An addition's plan part lies between 0 and the amount.")
        return part
    if plan_amount is not None:
        if not (amount <= plan_amount <= 0 and -plan_amount <= account.plan_balance):
            raise ValueError("A removal's plan part lies between the amount and 0, within the plan credits.")
        return plan_amount
    wanted = -amount
    if take_first == PACKS_FIRST:
        from_packs = min(wanted, account.balance - account.plan_balance)
        return -(wanted - from_packs)
    return -min(wanted, account.plan_balance)


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
        # A programming error: dubbing_job_cost is at least CREDITS_PER_MINUTE, which is >= 1.
        raise ValueError("A job reserves a positive number of credits.")
    entry, _ = ledger_entry_append(
        user=user,
        kind=Kind.JOB_DEBIT,
        amount=-amount,
        idempotency_key=f"job_debit:{job_id}:{attempt}",
        ref=f"job:{job_id}#{attempt}",
    )
    return entry


def _refund_of(*, user, debit_key: str, refund_key: str, ref: str) -> LedgerEntry | None:
    """Give back what the debit `debit_key` took, at most once (`refund_key`). None when there
    was no such debit."""
    with transaction.atomic():
        debit = LedgerEntry.objects.filter(idempotency_key=debit_key, account__user_id=user.pk).first()
        if debit is None:
            return None
        # Back where they came from: the plan credits the debit took return as plan credits.
        entry, _ = ledger_entry_append(user=user, kind=Kind.JOB_REFUND, amount=-debit.amount,
                                       plan_amount=-debit.plan_amount, idempotency_key=refund_key, ref=ref)
        return entry


def credits_refund(*, user, job_id, attempt: int) -> LedgerEntry | None:
    """Give back what this attempt reserved, at most once. None when the attempt reserved nothing."""
    return _refund_of(user=user, debit_key=f"job_debit:{job_id}:{attempt}",
                      refund_key=f"job_refund:{job_id}:{attempt}", ref=f"job:{job_id}#{attempt}")


def credits_grant(*, user, amount: int, staff, reason: str, idempotency_key: str) -> tuple[LedgerEntry, bool]:
    """A staff member adds (amount > 0, kind grant) or removes (amount < 0, kind adjustment) credits.

    Returns (entry, created): the admin form's key is made when the form is rendered, so a
    second submit of it finds the entry the first wrote (created False) and moves nothing."""
    if amount == 0:
        raise InvalidAmount()
    if not reason.strip():
        raise ReasonRequired()
    return ledger_entry_append(
        user=user,
        kind=Kind.GRANT if amount > 0 else Kind.ADJUSTMENT,
        amount=amount,
        idempotency_key=idempotency_key,
        ref=f"staff:{staff.pk}",
        staff=staff,
        reason=reason.strip(),
    )


def credits_render_reserve(*, user, job_id, render: int, amount: int) -> LedgerEntry:
    """Debit the cost of a job's render `render` (a re-render after edits); 402 if short."""
    if amount <= 0:
        # A programming error: a render's quote charges at least CREDITS_PER_MINUTE (>= 1).
        raise ValueError("A render reserves a positive number of credits.")
    entry, _ = ledger_entry_append(
        user=user,
        kind=Kind.JOB_DEBIT,
        amount=-amount,
        idempotency_key=f"job_render:{job_id}:{render}",
        ref=f"job:{job_id}#render{render}",
    )
    return entry


def credits_render_refund(*, user, job_id, render: int) -> LedgerEntry | None:
    """Give back what render `render` reserved, at most once. None when it reserved nothing."""
    return _refund_of(user=user, debit_key=f"job_render:{job_id}:{render}",
                      refund_key=f"job_render_refund:{job_id}:{render}", ref=f"job:{job_id}#render{render}")


def credits_job_net_charge(*, user, job_id) -> int:
    """What a job has cost its owner so far: its debits less its refunds (>= 0)."""

    total = (
        LedgerEntry.objects.filter(account__user_id=user.pk, ref__startswith=f"job:{job_id}#")
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )
    return max(0, -total)


def credits_job_staff_refund(*, user, job_id, staff, reason: str, idempotency_key: str) -> LedgerEntry | None:
    """A staff member gives back what a job still costs its owner (its debits less every refund
    so far), with a reason. The account lock serialises this with every other movement, so two
    refund forms submitted at once give back the job's cost once. None when nothing is left."""
    if not reason.strip():
        raise ReasonRequired()
    with transaction.atomic():
        account = _account_lock(user=user)
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.account_id != account.id or existing.kind != Kind.JOB_REFUND:
                raise IdempotencyConflict()
            return existing
        owed = credits_job_net_charge(user=user, job_id=job_id)
        if owed <= 0:
            return None
        entry, _ = ledger_entry_append(
            user=user,
            kind=Kind.JOB_REFUND,
            amount=owed,
            idempotency_key=idempotency_key,
            ref=f"job:{job_id}#staff",
            staff=staff,
            reason=reason.strip(),
        )
        return entry
