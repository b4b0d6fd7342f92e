"""Emails about a user's plan (renewed, a charge that failed with the link to update the card,
cancelled) and about a refund of their payment. Rendered in the user's language and queued after commit through accounts' actor."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.tasks import email_send


def plans_link() -> str:
    return settings.SITE_URL + reverse("plans")


def subscription_email_queue(*, template: str, subscription, **context) -> None:
    """`template` is renewed, payment_failed, cancelled_unpaid or cancelled."""
    _email_queue(user=subscription.user, template=template, context={
        "subscription": subscription, "plan": subscription.plan, "link": plans_link(), **context})


def refund_email_queue(*, refund, balance: int) -> None:
    """A refund of the user's payment went through (staff in the admin or the provider's
    console): how much money, how many credits it took off the balance, the balance now, and why."""
    payment = refund.payment
    _email_queue(user=payment.user, template="refunded", context={
        "refund": refund, "payment": payment, "balance": balance,
        "link": settings.SITE_URL + reverse("credit_history")})


def _email_queue(*, user, template: str, context: dict) -> None:
    if not user.email or not user.is_active:
        return  # an erased account has nobody to write to
    context = {"user": user, "site_url": settings.SITE_URL, **context}
    with translation.override(user.locale or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"emails/billing/{template}_subject.txt", context).split())
        body = render_to_string(f"emails/billing/{template}_body.txt", context)
    recipient = user.email
    transaction.on_commit(lambda: email_send.send(subject=subject, body=body, recipient=recipient))
