"""Subscriptions to monthly plans on PortOne billing keys (DESIGN.md "Plans and subscriptions").

The browser SDK issues a billing key (`requestIssueBillingKey` with the issueId we made);
`subscription_complete` checks the key with PortOne (ours, this user's, this issue's), stores it
encrypted and charges the first period. Renewals are ours, not PortOne's scheduler:
`subscription_renew` claims a due subscription with a conditional update, charges the next
period under a payment id fixed per subscription, period and attempt, and a crash anywhere is
reconciled from PortOne by the next run (a payment left pending is looked up before it is ever
charged again). Credits move only in `plan_charge_credit` (plans.py), once per charge.

It passes 400 lines because a subscription's whole state machine (subscribe, renew, retry, change,
cancel, card) is read best in one place; the credit rules live apart in plans.py.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from billing import portone
from billing.billing_keys import billing_key_decrypt, billing_key_encrypt
from billing.emails import subscription_email_queue
from billing.errors import (
    AlreadySubscribed,
    BillingKeyInvalid,
    PaymentFailed,
    PaymentProviderUnavailable,
    PaymentsNotConfigured,
    PlanUnavailable,
    SubscriptionNotActive,
)
from billing.models import Payment, Plan, Provider, Subscription, plan_charge_title
from billing.selectors import subscription_current
from billing.services.payments import _payment_apply, payment_sync
from billing.services.plans import ChargePurpose, plan_period_grant
from onevoice.errors import NotFound

logger = logging.getLogger(__name__)
Status = Subscription.Status
LIVE = Subscription.LIVE_STATUSES


def _live(user) -> Subscription | None:
    return Subscription.objects.filter(user_id=user.pk, status__in=LIVE).select_related("plan", "next_plan").first()


def subscription_get_for_user(*, user) -> Subscription:
    """The user's subscription that is live, else their latest; NotFound when they never had one."""
    subscription = subscription_current(user=user)
    if subscription is None:
        raise NotFound(gettext("You have no plan."))
    return subscription


def subscription_start(*, user, plan_id) -> Subscription:
    """A plan chosen: the subscription waits for its card (a billing key issued for `pending_issue_id`).
    Choosing again before the card is registered changes the plan; 409 once subscribed."""
    if not portone.is_configured():
        raise PaymentsNotConfigured()
    plan = Plan.objects.filter(pk=plan_id, active=True).first()
    if plan is None:
        raise PlanUnavailable(errors={"plan_id": [gettext("No active plan has this id.")]})
    issue_id = f"ovk-{uuid.uuid4().hex}"
    try:
        with transaction.atomic():
            live = Subscription.objects.select_for_update().filter(user_id=user.pk, status__in=LIVE).first()
            if live is not None and live.status != Status.INCOMPLETE:
                raise AlreadySubscribed()
            if live is None:
                return Subscription.objects.create(user_id=user.pk, plan=plan, pending_issue_id=issue_id)
            live.plan = plan
            live.pending_issue_id = issue_id
            live.save(update_fields=["plan", "pending_issue_id", "updated_at"])
            return live
    except IntegrityError as error:  # a concurrent first subscribe won the unique constraint
        raise AlreadySubscribed() from error


def subscription_card_start(*, user) -> Subscription:
    """A new card for a live plan: the SDK issues a key for a fresh issue id; its `complete`
    replaces the stored key (and retries a past-due charge at once)."""
    if not portone.is_configured():
        raise PaymentsNotConfigured()
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().filter(
            user_id=user.pk, status__in=[Status.ACTIVE, Status.PAST_DUE]
        ).first()
        if subscription is None:
            raise NotFound(gettext("You have no plan."))
        subscription.pending_issue_id = f"ovk-{uuid.uuid4().hex}"
        subscription.save(update_fields=["pending_issue_id", "updated_at"])
    return subscription


def _stored_key(subscription: Subscription) -> str:
    return billing_key_decrypt(subscription.billing_key_encrypted) if subscription.billing_key_encrypted else ""


def _key_refusal(*, user, subscription: Subscription, info: portone.ProviderBillingKey | None) -> str:
    """Why PortOne's billing key cannot be this subscription's (for the log), or ''."""
    if info is None:
        return "PortOne has no such billing key"
    if info.status != "ISSUED":
        return f"the billing key is {info.status}"
    if info.store_id != settings.PORTONE_STORE_ID:
        return f"the billing key belongs to store {info.store_id!r}"
    if info.customer_id != str(user.pk):
        return "the billing key was issued for another customer"
    if not subscription.pending_issue_id or info.issue_id != subscription.pending_issue_id:
        return "the billing key was not issued for this request"
    if info.channel_type != "LIVE" and not settings.PORTONE_ALLOW_TEST_CHANNEL:
        return f"the billing key is on a {info.channel_type or 'unknown'} channel"
    return ""


def subscription_complete(*, user, billing_key: str) -> Subscription:
    """The browser SDK issued `billing_key`: check it with PortOne, store it, and charge the first
    period (a new subscription) or retry a past-due charge (a new card). Replaying the same key
    changes nothing."""
    subscription = _live(user)
    if subscription is None:
        raise NotFound(gettext("No plan is waiting for a card."))
    if not portone.is_configured():
        raise PaymentsNotConfigured()
    if _stored_key(subscription) == billing_key and not subscription.pending_issue_id:
        return _first_period_or_retry(subscription, billing_key=billing_key, replay=True)
    info = portone.billing_key_fetch(billing_key=billing_key)
    refusal = _key_refusal(user=user, subscription=subscription, info=info)
    if refusal:
        logger.warning("Subscription %s: billing key refused: %s", subscription.id, refusal)
        raise BillingKeyInvalid(errors={"billing_key_id": [str(BillingKeyInvalid.default_detail)]})
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.pending_issue_id != info.issue_id:  # a concurrent complete stored it first
            return _first_period_or_retry(subscription, billing_key=billing_key, replay=True)
        old_key = _stored_key(subscription)
        subscription.billing_key_encrypted = billing_key_encrypt(billing_key)
        subscription.card_label = info.card_label
        subscription.pending_issue_id = ""
        if subscription.status == Status.PAST_DUE:
            subscription.next_attempt_at = timezone.now()  # the new card is tried at once
        subscription.save()
    if old_key and old_key != billing_key:
        _billing_key_forget(old_key, reason="Replaced by a new card")
    return _first_period_or_retry(subscription, billing_key=billing_key, replay=False)


def _billing_key_forget(billing_key: str, *, reason: str) -> None:
    try:
        portone.billing_key_delete(billing_key=billing_key, reason=reason)
    except PaymentProviderUnavailable:  # the key is no longer ours to use either way
        logger.warning("A replaced billing key could not be deleted at PortOne; it is no longer used")


def _first_period_or_retry(subscription: Subscription, *, billing_key: str, replay: bool) -> Subscription:
    subscription.refresh_from_db()
    if subscription.status == Status.INCOMPLETE:
        payment = _charge(subscription, number=1, plan=subscription.plan, purpose=ChargePurpose.FIRST,
                          billing_key=billing_key, amount=subscription.plan.price,
                          credits=subscription.plan.credits_per_period)
        if payment.credited_at is None and payment.status == Payment.Status.FAILED:
            raise PaymentFailed(payment.failure_shown() or None)
    elif subscription.status == Status.PAST_DUE and not replay:
        subscription_renew(subscription_id=subscription.pk)
    subscription.refresh_from_db()
    return subscription


def _order_name(*, plan: Plan, credits: int, number: int) -> str:
    # PortOne's orderName (the card statement, the console): in the site's own language.
    with translation.override(settings.LANGUAGE_CODE):
        return plan_charge_title(plan_name=plan.name, credits=credits, period=number)


def _charge(subscription: Subscription, *, number: int, plan: Plan, purpose: str, billing_key: str,
            amount: int, credits: int) -> Payment:
    """Charge period `number` on the billing key, reconciling what an earlier try left behind.

    A payment left pending (its process died, PortOne did not answer) is looked up at PortOne
    first and only charged again, under the same payment id, when PortOne never received it;
    PortOne itself refuses a second charge of a paid payment id (ALREADY_PAID). Returns the
    payment: credited, failed, or still pending when PortOne could not be asked (raises
    PaymentProviderUnavailable then).
    """
    charges = Payment.objects.filter(subscription=subscription, period=number, purpose=purpose)
    pending = charges.filter(status=Payment.Status.PENDING).order_by("created_at").first()
    if pending is not None:
        snapshot = portone.payment_fetch(payment_id=pending.payment_id)
        if snapshot is not None and snapshot.status not in portone.PENDING_STATUSES:
            return _payment_apply(payment_pk=pending.pk, snapshot=snapshot)
        payment = pending
    else:
        attempt = charges.count() + 1
        try:
            payment = Payment.objects.create(
                payment_id=f"ovs-{subscription.id.hex}-{number}-{purpose[0]}{attempt}",
                user_id=subscription.user_id, subscription=subscription, plan=plan, period=number,
                purpose=purpose, order_name=_order_name(plan=plan, credits=credits, number=number),
                credits=credits, amount=amount, currency=plan.currency,
            )
        except IntegrityError:  # another process made this attempt's row: reconcile it instead
            payment = Payment.objects.get(payment_id=f"ovs-{subscription.id.hex}-{number}-{purpose[0]}{attempt}")
            return _charge(subscription, number=number, plan=plan, purpose=purpose, billing_key=billing_key,
                           amount=amount, credits=credits) if payment.status == Payment.Status.PENDING else payment
    try:
        portone.billing_key_pay(
            payment_id=payment.payment_id, billing_key=billing_key, order_name=payment.order_name,
            amount=payment.amount, currency=payment.currency, customer_id=str(subscription.user_id),
        )
    except portone.ChargeRefused as refusal:
        # Nothing was charged: PortOne recorded a failed payment, or none (the key is gone).
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.PENDING, credited_at__isnull=True).update(
            status=Payment.Status.FAILED,
            failure_code="card_unusable" if refusal.card_unusable else "payment_failed",
            failure_detail=refusal.message[:1000] or refusal.code,
            synced_at=timezone.now(),
            updated_at=timezone.now(),
        )
        payment.refresh_from_db()
        return payment
    return payment_sync(payment=payment)


# --- Renewals -----------------------------------------------------------------------------------


class RenewalOutcome:
    SKIPPED = "skipped"  # not due, or another renewer holds it
    RENEWED = "renewed"
    FAILED = "failed"  # past due, retried later
    CANCELLED = "cancelled"  # ended: asked for, or every retry failed
    UNKNOWN = "unknown"  # PortOne could not be asked: the next pass reconciles


def subscriptions_due(*, now: datetime | None = None):
    """Ids of the subscriptions a renewer should act on at `now` (the claim decides who does)."""
    now = now or timezone.now()
    return Subscription.objects.filter(
        # Only ours to renew: Stripe and Paddle renew theirs themselves (provider_subscriptions.py).
        provider=Provider.PORTONE, status__in=[Status.ACTIVE, Status.PAST_DUE], next_attempt_at__lte=now
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now())).order_by("next_attempt_at").values_list("pk", flat=True)


def _claim(subscription_id, *, now: datetime) -> datetime | None:
    """Claim a due subscription for this renewer: a conditional update, so of two renewers one
    gets it. The lease (real time) is the claim's token; past it a dead renewer is taken over."""
    real_now = timezone.now()
    lease = real_now + timedelta(seconds=settings.SUBSCRIPTION_CLAIM_SECONDS, microseconds=uuid.uuid4().int % 1000)
    claimed = Subscription.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=real_now),
        pk=subscription_id, provider=Provider.PORTONE, status__in=[Status.ACTIVE, Status.PAST_DUE],
        next_attempt_at__lte=now,
    ).update(claimed_until=lease)
    return lease if claimed == 1 else None


def subscription_renew(*, subscription_id, now: datetime | None = None) -> str:
    """Renew one subscription if it is due at `now`: end it when it was cancelled, else charge
    the next period (on the next plan after a downgrade). See RenewalOutcome."""
    now = now or timezone.now()
    lease = _claim(subscription_id, now=now)
    if lease is None:
        return RenewalOutcome.SKIPPED
    try:
        subscription = Subscription.objects.select_related("user", "plan", "next_plan").get(pk=subscription_id)
        if subscription.cancel_at_period_end:
            _subscription_end(subscription_id, template="cancelled")
            return RenewalOutcome.CANCELLED
        plan = subscription.next_plan or subscription.plan
        number = subscription.period_number + 1
        try:
            payment = _charge(subscription, number=number, plan=plan, purpose=ChargePurpose.RENEWAL,
                              billing_key=_stored_key(subscription), amount=plan.price,
                              credits=plan.credits_per_period)
        except PaymentProviderUnavailable:
            return RenewalOutcome.UNKNOWN
        if payment.credited_at is not None:
            return RenewalOutcome.RENEWED
        if payment.status == Payment.Status.FAILED:
            return _renewal_failed(subscription_id, number=number, payment=payment)
        return RenewalOutcome.UNKNOWN
    finally:
        Subscription.objects.filter(pk=subscription_id, claimed_until=lease).update(claimed_until=None)


@transaction.atomic
def _renewal_failed(subscription_id, *, number: int, payment: Payment) -> str:
    """A renewal charge failed: past due and retried after SUBSCRIPTION_RETRY_DAYS, or cancelled
    with the period's end after the last retry. Counted from the failed charges themselves, so
    recording the same failure twice counts it once."""
    subscription = Subscription.objects.select_for_update().select_related("user", "plan").get(pk=subscription_id)
    if subscription.period_number >= number or subscription.status == Status.CANCELLED:
        return RenewalOutcome.SKIPPED
    failures = Payment.objects.filter(subscription=subscription, period=number, purpose=ChargePurpose.RENEWAL,
                                      status=Payment.Status.FAILED).count()
    retry_days = settings.SUBSCRIPTION_RETRY_DAYS
    subscription.failed_attempts = failures
    subscription.last_failure = payment.failure_detail
    if failures > len(retry_days):
        subscription.save()
        _subscription_end(subscription_id, template="cancelled_unpaid")
        return RenewalOutcome.CANCELLED
    subscription.status = Status.PAST_DUE
    subscription.next_attempt_at = subscription.current_period_end + timedelta(days=retry_days[failures - 1])
    subscription.save()
    subscription_email_queue(
        template="payment_failed", subscription=subscription, amount=payment.amount, currency=payment.currency,
        reason=payment.failure_shown(), next_attempt_at=subscription.next_attempt_at,
    )
    return RenewalOutcome.FAILED


def _subscription_end(subscription_id, *, template: str) -> None:
    """The subscription ends with its last paid period; its billing key is deleted at PortOne."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().select_related("user", "plan").get(pk=subscription_id)
        if subscription.status == Status.CANCELLED:
            return
        key = _stored_key(subscription)
        subscription.status = Status.CANCELLED
        subscription.ended_at = subscription.current_period_end or timezone.now()
        subscription.next_attempt_at = None
        subscription.billing_key_encrypted = ""
        subscription.save()
        subscription_email_queue(template=template, subscription=subscription)
    if key:
        transaction.on_commit(lambda: _billing_key_forget(key, reason="Subscription ended"))


# --- Changes by the user ---------------------------------------------------------------------------


def subscription_update(*, user, plan_id=None, cancel_at_period_end: bool | None = None,
                        now: datetime | None = None) -> Subscription:
    """Cancel at the period's end or resume before it (credits already granted stay), and change
    plan: an upgrade charges the price difference for the rest of the period now and grants the
    credit difference at once; a downgrade (or the same price) waits for the renewal."""
    now = now or timezone.now()
    subscription = _live(user)
    if subscription is None:
        raise NotFound(gettext("You have no plan."))
    if subscription.status == Status.INCOMPLETE:
        raise SubscriptionNotActive()
    if cancel_at_period_end is not None:
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
            locked.cancel_at_period_end = cancel_at_period_end
            if cancel_at_period_end and locked.status == Status.PAST_DUE:
                locked.next_attempt_at = now  # unpaid: nothing left to wait for, it ends now
            locked.save(update_fields=["cancel_at_period_end", "next_attempt_at", "updated_at"])
        if cancel_at_period_end and subscription.status == Status.PAST_DUE:
            subscription_renew(subscription_id=subscription.pk, now=now)
    if plan_id is not None:
        _plan_change(subscription, plan_id=plan_id, now=now)
    subscription.refresh_from_db()
    return subscription


def upgrade_quote(*, subscription: Subscription, plan: Plan, now: datetime) -> tuple[int, int]:
    """(price, credits) an upgrade costs now: the price difference for the part of the period
    left, rounded up to the won, and the whole credit difference."""
    start, end = subscription.current_period_start, subscription.current_period_end
    left = max(0.0, (end - now).total_seconds()) / max(1.0, (end - start).total_seconds())
    price_difference = plan.price - subscription.plan.price
    amount = -(-int(price_difference * left * 1_000_000) // 1_000_000)
    return max(0, amount), max(0, plan.credits_per_period - subscription.plan.credits_per_period)


def _plan_change(subscription: Subscription, *, plan_id, now: datetime) -> None:
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None or (not plan.active and plan.pk != subscription.plan_id):
        raise PlanUnavailable(errors={"plan_id": [gettext("No active plan has this id.")]})
    if subscription.status != Status.ACTIVE:
        raise SubscriptionNotActive()
    if plan.pk == subscription.plan_id or plan.price <= subscription.plan.price:
        # Back to the current plan (a downgrade called off), or a downgrade: from the renewal on.
        Subscription.objects.filter(pk=subscription.pk).update(
            next_plan=None if plan.pk == subscription.plan_id else plan, updated_at=timezone.now())
        return
    amount, credits = upgrade_quote(subscription=subscription, plan=plan, now=now)
    if amount == 0:
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
            locked.plan, locked.next_plan = plan, None
            locked.save(update_fields=["plan", "next_plan", "updated_at"])
        return
    payment = _charge(subscription, number=subscription.period_number, plan=plan, purpose=ChargePurpose.UPGRADE,
                      billing_key=_stored_key(subscription), amount=amount, credits=credits)
    if payment.credited_at is None and payment.status == Payment.Status.FAILED:
        raise PaymentFailed(payment.failure_shown() or None)


# --- Staff -------------------------------------------------------------------------------------------


def subscription_cancel_now(*, subscription: Subscription) -> None:
    """Staff end a subscription now (credits already granted stay)."""
    _subscription_end(subscription.pk, template="cancelled")


def subscription_grant_free_period(*, subscription: Subscription, period: int, staff, reason: str) -> bool:
    """Staff give period `period` (the next one, as the form showed it) free: its credits through
    the ledger (the key a paid renewal of that period uses) and the period moves on. False when
    that period has started already (the form submitted twice grants once)."""
    with transaction.atomic():
        # "of self": next_plan may be null, and PostgreSQL locks no row on an outer join's null side.
        locked = Subscription.objects.select_for_update(of=("self",)).select_related(
            "user", "plan", "next_plan").get(pk=subscription.pk)
        if period != locked.period_number + 1:
            return False
        if locked.status not in (Status.ACTIVE, Status.PAST_DUE):
            raise SubscriptionNotActive()
        plan = locked.next_plan or locked.plan
        return plan_period_grant(subscription=locked, number=period, plan=plan,
                                 credits=plan.credits_per_period, staff=staff,
                                 reason=reason.strip() or "Free period")
