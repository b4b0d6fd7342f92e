"""Reads for billing. Writes live in services.py."""

from __future__ import annotations

from django.db.models import QuerySet

from billing.models import CreditAccount, CreditPack, LedgerEntry, Payment, Plan, Subscription


def credits_balance(*, user) -> int:
    """The user's spendable credits (0 before their account exists)."""
    balance = CreditAccount.objects.filter(user_id=user.pk).values_list("balance", flat=True).first()
    return balance or 0


def credit_pack_list(*, active_only: bool = True) -> QuerySet[CreditPack]:
    packs = CreditPack.objects.prefetch_related("prices")
    if active_only:
        packs = packs.filter(active=True)
    return packs.order_by("sort_order", "price", "id")


def ledger_entry_list(*, user) -> QuerySet[LedgerEntry]:
    """Newest first, with the order a purchase or a refund was for (its title names the pack or plan)."""
    return (LedgerEntry.objects.filter(account__user_id=user.pk)
            .select_related("payment__pack", "payment__plan").order_by("-created_at", "-id"))


def payment_list(*, user) -> QuerySet[Payment]:
    return Payment.objects.filter(user_id=user.pk).select_related("pack").order_by("-created_at", "-id")


def payment_get_for_user(*, user, payment_id: str) -> Payment | None:
    """The user's payment, or None when it does not exist or belongs to someone else."""
    return Payment.objects.select_related("pack").filter(user_id=user.pk, payment_id=payment_id).first()


def payment_get(*, payment_id: str) -> Payment | None:
    """Any user's payment by our id (staff pages)."""
    return Payment.objects.filter(payment_id=payment_id).first()


def payment_pending_for_checkout(*, user, provider_checkout_id: str) -> bool:
    """The user has a pending payment whose provider checkout (a Paddle transaction) is this one."""
    return Payment.objects.filter(user_id=user.pk, provider_checkout_id=provider_checkout_id,
                                  status=Payment.Status.PENDING).exists()


def plan_credits_left(*, user) -> int:
    """The plan credits in the user's balance (spent first; expire or roll over at renewal)."""
    left = CreditAccount.objects.filter(user_id=user.pk).values_list("plan_balance", flat=True).first()
    return left or 0


def plan_list(*, active_only: bool = True) -> QuerySet[Plan]:
    plans = Plan.objects.prefetch_related("prices")
    if active_only:
        plans = plans.filter(active=True)
    return plans.order_by("sort_order", "price", "id")


def subscription_current(*, user) -> Subscription | None:
    """The user's live subscription, else their latest one, else None."""
    subscriptions = Subscription.objects.filter(user_id=user.pk).select_related("plan", "next_plan")
    return (subscriptions.filter(status__in=Subscription.LIVE_STATUSES).first()
            or subscriptions.order_by("-created_at").first())


def credits_balances(*, user) -> tuple[int, int]:
    """(balance, plan credits in it) in one query; (0, 0) before the account exists."""
    row = CreditAccount.objects.filter(user_id=user.pk).values_list("balance", "plan_balance").first()
    return row or (0, 0)
