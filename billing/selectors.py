"""Reads for billing. Writes live in services.py."""

from __future__ import annotations

from django.db.models import QuerySet

from billing.models import CreditAccount, CreditPack, LedgerEntry, Payment


def credits_balance(*, user) -> int:
    """The user's spendable credits (0 before their account exists)."""
    balance = CreditAccount.objects.filter(user_id=user.pk).values_list("balance", flat=True).first()
    return balance or 0


def credit_pack_list(*, active_only: bool = True) -> QuerySet[CreditPack]:
    packs = CreditPack.objects.all()
    if active_only:
        packs = packs.filter(active=True)
    return packs.order_by("sort_order", "price", "id")


def ledger_entry_list(*, user) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account__user_id=user.pk).order_by("-created_at", "-id")


def payment_list(*, user) -> QuerySet[Payment]:
    return Payment.objects.filter(user_id=user.pk).select_related("pack").order_by("-created_at", "-id")


def payment_get_for_user(*, user, payment_id: str) -> Payment | None:
    """The user's payment, or None when it does not exist or belongs to someone else."""
    return Payment.objects.select_related("pack").filter(user_id=user.pk, payment_id=payment_id).first()
