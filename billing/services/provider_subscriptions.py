"""Plans renewed by the provider itself (Stripe, Paddle), beside PortOne's that our renewer charges.

The provider runs the subscription; we mirror it. Choosing a plan makes an incomplete Subscription
and its first period's pending Payment, and the provider's checkout for it. Each paid period
arrives as a `SubscriptionCharge` (Stripe's invoice.paid): it becomes one Payment of that
subscription and goes through `_payment_apply` like every payment, so its credits are granted once
by the same code (`plan_charge_credit`, ledger key `plan_grant:<subscription>:<period>`), however
often and in whatever order the events come. A `SubscriptionState` (cancelled, past due, cancel at
the period's end) updates the mirror; a cancelled subscription is never reopened by a late event.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from billing.errors import (
    AlreadySubscribed,
    CurrencyUnavailable,
    PlanUnavailable,
    SubscriptionNotActive,
)
from billing.models import Payment, Plan, Provider, Subscription
from billing.providers import provider_get
from billing.providers.base import PaymentProvider, ProviderPayment, SubscriptionCharge, SubscriptionState
from billing.services.payments import _payment_apply
from billing.services.plans import ChargePurpose
from billing.services.subscriptions import _order_name, subscription_update
from onevoice.errors import NotFound

logger = logging.getLogger(__name__)
Status = Subscription.Status
LIVE = Subscription.LIVE_STATUSES


def subscription_provider_start(*, user, plan_id, currency: str, provider: PaymentProvider) -> Payment:
    """A plan chosen with a provider that renews by itself: the incomplete subscription, its first
    period's pending payment, and the provider's checkout for it (`payment.checkout`)."""
    plan = Plan.objects.prefetch_related("prices").filter(pk=plan_id, active=True).first()
    if plan is None:
        raise PlanUnavailable(errors={"plan_id": [gettext("No active plan has this id.")]})
    currency = currency.upper()
    price = plan.price_in(currency)
    if price is None:
        raise CurrencyUnavailable(currency=currency)
    try:
        with transaction.atomic():
            live = Subscription.objects.select_for_update().filter(user_id=user.pk, status__in=LIVE).first()
            if live is not None and live.status != Status.INCOMPLETE:
                raise AlreadySubscribed()
            if live is None:
                live = Subscription.objects.create(user_id=user.pk, plan=plan, provider=provider.name)
            else:  # chosen again before paying: the new choice, a new checkout
                live.plan, live.provider = plan, provider.name
                live.save(update_fields=["plan", "provider", "updated_at"])
            payment = Payment.objects.create(
                payment_id=f"ovs-{uuid.uuid4().hex}", user_id=user.pk, provider=provider.name,
                subscription=live, plan=plan, period=1, purpose=ChargePurpose.FIRST,
                order_name=_order_name(plan=plan, credits=plan.credits_per_period, number=1),
                credits=plan.credits_per_period, amount=price, currency=currency,
            )
    except IntegrityError as error:  # a concurrent first subscribe won the unique constraint
        raise AlreadySubscribed() from error
    checkout = provider.subscription_checkout_start(
        payment=payment, subscription=live,
        success_url=settings.SITE_URL + reverse("payment_return") + f"?paymentId={payment.payment_id}",
        cancel_url=settings.SITE_URL + reverse("plans"),
    )
    Payment.objects.filter(pk=payment.pk).update(
        checkout=checkout.client, provider_checkout_id=checkout.provider_checkout_id, updated_at=timezone.now())
    payment.checkout, payment.provider_checkout_id = checkout.client, checkout.provider_checkout_id
    return payment


def _find(provider: str, *, provider_subscription_id: str, ref: str) -> Subscription | None:
    subscriptions = Subscription.objects.filter(provider=provider)
    if provider_subscription_id:
        found = subscriptions.filter(provider_subscription_id=provider_subscription_id).first()
        if found is not None:
            return found
    if ref:
        try:
            return subscriptions.filter(pk=uuid.UUID(ref)).first()
        except ValueError:
            return None
    return None


def subscription_provider_sync(*, provider: str, state: SubscriptionState) -> Subscription | None:
    """Mirror what the provider says of a subscription it runs. None: not one of ours."""
    found = _find(provider, provider_subscription_id=state.provider_subscription_id, ref=state.subscription_ref)
    if found is None:
        return None
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=found.pk)
        if not subscription.provider_subscription_id and state.provider_subscription_id:
            subscription.provider_subscription_id = state.provider_subscription_id
        subscription.provider_customer_id = state.provider_customer_id or subscription.provider_customer_id
        if subscription.status == Status.CANCELLED:
            subscription.save()
            return subscription  # ended: a late event reopens nothing
        if state.status == Status.CANCELLED:
            subscription.status = Status.CANCELLED
            subscription.ended_at = state.current_period_end or timezone.now()
            subscription.next_attempt_at = None
        elif state.status == Status.PAST_DUE and subscription.status == Status.ACTIVE:
            subscription.status = Status.PAST_DUE
        elif state.status == Status.ACTIVE and subscription.status == Status.PAST_DUE:
            subscription.status = Status.ACTIVE
        if state.status:
            subscription.cancel_at_period_end = state.cancel_at_period_end
        subscription.save()
        return subscription


def subscription_charge_record(*, provider: str, charge: SubscriptionCharge) -> Payment | None:
    """One paid period of a provider-run subscription: its Payment (the first period's pending
    one, else a new one for the next period), paid and credited once through `_payment_apply`.
    None: the subscription is not one of ours."""
    found = _find(provider, provider_subscription_id=charge.provider_subscription_id, ref=charge.subscription_ref)
    if found is None:
        return None
    paid_ref = charge.refund_ref or charge.provider_payment_id
    renewal_id = f"{provider}-{charge.provider_payment_id}"[:64]
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().select_related("plan").get(pk=found.pk)
        if not subscription.provider_subscription_id:
            subscription.provider_subscription_id = charge.provider_subscription_id
            subscription.save(update_fields=["provider_subscription_id", "updated_at"])
        payment = Payment.objects.filter(provider=provider).filter(
            Q(payment_id=renewal_id) | Q(subscription=subscription, provider_payment_id=paid_ref)).first()
        if payment is None and (charge.is_first or subscription.period_number == 0):
            # The first month's charge: the payment its checkout made (credited already when the
            # buyer's return page completed it before this event).
            first = Payment.objects.filter(subscription=subscription, period=1, purpose=ChargePurpose.FIRST)
            payment = (first.filter(credited_at__isnull=False).first()
                       or first.order_by("-created_at").first())
        if payment is None:
            plan = subscription.next_plan or subscription.plan
            number = subscription.period_number + 1
            payment = Payment.objects.create(
                payment_id=renewal_id, user_id=subscription.user_id, provider=provider, subscription=subscription,
                plan=plan, period=number, purpose=ChargePurpose.RENEWAL,
                order_name=_order_name(plan=plan, credits=plan.credits_per_period, number=number),
                # The provider decides what a renewal costs: the order is what it charged.
                credits=plan.credits_per_period, amount=charge.amount, currency=charge.currency.upper(),
            )
        Payment.objects.filter(pk=payment.pk).update(provider_payment_id=paid_ref)
    snapshot = ProviderPayment(
        payment_id=payment.payment_id, status="paid", local_status=Payment.Status.PAID, is_paid=True,
        amount_total=charge.amount, amount_cancelled=0, currency=charge.currency.upper(),
        paid_at=charge.paid_at, updated_at=None, raw=charge.raw, provider_payment_id=paid_ref,
        receipt_url=charge.receipt_url,
    )
    return _payment_apply(payment_pk=payment.pk, snapshot=snapshot)


def subscription_portal_url(*, user) -> str:
    """The provider's own page where the buyer updates their card or cancels (Stripe's customer
    portal) for their live provider-run plan; NotFound without one."""
    subscription = Subscription.objects.filter(user_id=user.pk, status__in=[Status.ACTIVE, Status.PAST_DUE]).exclude(
        provider=Provider.PORTONE).first()
    if subscription is None or not subscription.provider_customer_id:
        raise NotFound(gettext("You have no plan with a card managed by the payment provider."))
    provider = provider_get(subscription.provider)
    return provider.portal_url(customer_id=subscription.provider_customer_id,
                               return_url=settings.SITE_URL + reverse("plans"))


def subscription_change(*, user, plan_id=None, cancel_at_period_end: bool | None = None) -> Subscription:
    """PATCH /billing/subscription for any provider: PortOne's plans change here
    (`subscription_update`); a provider-run plan is cancelled at its period's end (or resumed) at
    the provider, and changes plan in the provider's portal."""
    live = Subscription.objects.filter(user_id=user.pk, status__in=LIVE).first()
    if live is None or live.provider == Provider.PORTONE:
        return subscription_update(user=user, plan_id=plan_id, cancel_at_period_end=cancel_at_period_end)
    if live.status == Status.INCOMPLETE:
        raise SubscriptionNotActive()
    if plan_id is not None and str(plan_id) != str(live.plan_id):
        raise SubscriptionNotActive(gettext("Change this plan from the payment provider's page (Manage billing)."))
    if cancel_at_period_end is not None and live.provider_subscription_id:
        state = provider_get(live.provider).subscription_cancel(
            provider_subscription_id=live.provider_subscription_id, at_period_end=cancel_at_period_end)
        subscription_provider_sync(provider=live.provider, state=state)
    live.refresh_from_db()
    return live
