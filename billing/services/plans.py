"""Plan periods and their credits: the calendar rule, and what a paid plan charge does.

`plan_charge_credit` is called by `_payment_apply` (payments.py) under the payment's row lock when
a plan's charge is PAID and matches its order, whichever path saw it first (the renewer, the
browser's `complete`, the webhook, `sync_payments`): it runs once per charge. A period's credits
go through the ledger under `plan_grant:<subscription>:<period>`, so even two charges for one
period (or a staff's free period) grant it once.
"""

from __future__ import annotations

import calendar
import logging
from datetime import datetime

from django.utils import timezone

from billing.emails import subscription_email_queue
from billing.models import LedgerEntry, Payment, Subscription
from billing.services.ledger import _account_lock, ledger_entry_append

logger = logging.getLogger(__name__)
Kind = LedgerEntry.Kind
Status = Subscription.Status


class ChargePurpose:
    FIRST = "first"
    RENEWAL = "renewal"
    UPGRADE = "upgrade"


def months_after(moment: datetime, months: int) -> datetime:
    """The same day of the month `months` later, or that month's last day when it is shorter
    (31 Jan + 1 = 28 Feb, 31 Jan + 2 = 31 Mar), in the site's time zone, same time of day."""
    local = timezone.localtime(moment)
    year, month0 = divmod(local.month - 1 + months, 12)
    year += local.year
    day = min(local.day, calendar.monthrange(year, month0 + 1)[1])
    return local.replace(year=year, month=month0 + 1, day=day)


def period_bounds(*, anchor: datetime, number: int) -> tuple[datetime, datetime]:
    """Period `number` (from 1) of a subscription whose first period started at `anchor`.
    Counted from the anchor, never from the previous end, so a short month does not pull
    every later renewal earlier."""
    return months_after(anchor, number - 1), months_after(anchor, number)


def _plan_credits_roll_over(*, subscription: Subscription, number: int) -> tuple[int, int]:
    """At renewal: unused plan credits beyond the plan's rollover_max expire (a ledger entry);
    the rest stay plan credits. Returns (expired, rolled_over)."""
    account = _account_lock(user=subscription.user)
    left = account.plan_balance
    kept = min(left, subscription.plan.rollover_max)
    expired = left - kept
    if expired:
        ledger_entry_append(
            user=subscription.user,
            kind=Kind.PLAN_EXPIRY,
            amount=-expired,
            plan_amount=-expired,
            idempotency_key=f"plan_expiry:{subscription.id}:{number}",
            ref=f"subscription:{subscription.id}#{number}",
            reason=f"Unused plan credits at renewal: {expired} expired, {kept} rolled over.",
        )
    return expired, kept


def plan_period_grant(
    *, subscription: Subscription, number: int, plan, credits: int, payment: Payment | None = None,
    staff=None, reason: str = "", now: datetime | None = None,
) -> bool:
    """Start period `number` of a locked subscription on `plan`: roll over or expire the plan
    credits left, grant the period's credits once, move the period forward. Returns False (and
    changes nothing) when that period had started already."""
    now = now or timezone.now()
    if number <= subscription.period_number:
        logger.warning("Subscription %s: period %s already started", subscription.id, number)
        return False
    expired = rolled_over = 0
    if number == 1 or subscription.anchor_at is None:
        subscription.anchor_at = (payment.paid_at if payment is not None and payment.paid_at else None) or now
    else:
        expired, rolled_over = _plan_credits_roll_over(subscription=subscription, number=number)
    ledger_entry_append(
        user=subscription.user,
        kind=Kind.PLAN_GRANT,
        amount=credits,
        plan_amount=credits,
        idempotency_key=f"plan_grant:{subscription.id}:{number}",
        ref=f"subscription:{subscription.id}#{number}",
        payment=payment,
        staff=staff,
        reason=reason,
    )
    start, end = period_bounds(anchor=subscription.anchor_at, number=number)
    subscription.plan = plan
    subscription.next_plan = None
    if subscription.status != Status.CANCELLED:  # a late charge of an ended plan reopens nothing
        subscription.status = Status.ACTIVE
    subscription.period_number = number
    subscription.current_period_start = start
    subscription.current_period_end = end
    subscription.next_attempt_at = end if subscription.status == Status.ACTIVE else None
    subscription.failed_attempts = 0
    subscription.last_failure = ""
    if number == 1:
        subscription.pending_issue_id = ""
    subscription.save()
    if number > 1:
        subscription_email_queue(
            template="renewed", subscription=subscription, credits=credits, expired=expired,
            rolled_over=rolled_over, amount=payment.amount if payment else 0,
            currency=payment.currency if payment else plan.currency,
        )
    return True


def plan_charge_credit(*, payment: Payment, now: datetime) -> None:
    """A plan's charge is PAID and matches its order (inside `_payment_apply`'s transaction)."""
    subscription = Subscription.objects.select_for_update().select_related("user", "plan").get(
        pk=payment.subscription_id
    )
    if payment.purpose == ChargePurpose.UPGRADE:
        # The rest of the period on the bigger plan: its extra credits at once, once.
        ledger_entry_append(
            user=subscription.user,
            kind=Kind.PLAN_GRANT,
            amount=payment.credits,
            plan_amount=payment.credits,
            idempotency_key=f"plan_upgrade:{payment.payment_id}",
            ref=f"subscription:{subscription.id}#{payment.period}",
            payment=payment,
        )
        if subscription.period_number == payment.period:
            subscription.plan = payment.plan
            subscription.next_plan = None
            subscription.save(update_fields=["plan", "next_plan", "updated_at"])
        return
    if subscription.status == Status.CANCELLED and payment.period > 1:
        # Charged after the subscription had ended (a late answer): the credits are still owed.
        logger.warning("Subscription %s charged for period %s after it ended", subscription.id, payment.period)
    plan_period_grant(subscription=subscription, number=payment.period, plan=payment.plan,
                      credits=payment.credits, payment=payment, now=now)
