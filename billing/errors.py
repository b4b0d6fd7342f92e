"""Billing's errors: each a ServiceError with its HTTP status and machine code (API.md)."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import status

from onevoice.errors import Conflict, ProviderUnavailable, RequestRefused, ServiceError


class BillingErrorCode(StrEnum):
    INSUFFICIENT_CREDITS = "insufficient_credits"
    PAYMENTS_NOT_CONFIGURED = "payments_not_configured"
    PAYMENT_MISMATCH = "payment_mismatch"
    PAYMENT_FAILED = "payment_failed"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    REFUND_NOT_ALLOWED = "refund_not_allowed"
    PACK_UNAVAILABLE = "pack_unavailable"
    INVALID_WEBHOOK = "invalid_webhook"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    INVALID_AMOUNT = "invalid_amount"
    REASON_REQUIRED = "reason_required"
    PLAN_UNAVAILABLE = "plan_unavailable"
    ALREADY_SUBSCRIBED = "already_subscribed"
    BILLING_KEY_INVALID = "billing_key_invalid"
    SUBSCRIPTION_NOT_ACTIVE = "subscription_not_active"
    CURRENCY_UNAVAILABLE = "currency_unavailable"


class InsufficientCredits(ServiceError):
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    code = BillingErrorCode.INSUFFICIENT_CREDITS.value
    default_detail = _("Not enough credits.")

    def __init__(self, detail: str | None = None, *, needed: int | None = None, balance: int | None = None):
        if detail is None and needed is not None and balance is not None:
            detail = gettext("This needs %(needed)s credits and the balance is %(balance)s.") % {
                "needed": needed, "balance": balance}
        super().__init__(detail)
        self.needed = needed
        self.balance = balance


class PaymentsNotConfigured(ServiceError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = BillingErrorCode.PAYMENTS_NOT_CONFIGURED.value
    default_detail = _("Payments are not configured on this server.")


class PaymentMismatch(ServiceError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = BillingErrorCode.PAYMENT_MISMATCH.value
    default_detail = _("The payment does not match the order.")


class PaymentFailed(Conflict):
    code = BillingErrorCode.PAYMENT_FAILED.value
    default_detail = _("The payment failed at the provider.")


class PaymentProviderUnavailable(ProviderUnavailable):
    code = BillingErrorCode.PROVIDER_UNAVAILABLE.value
    default_detail = _("PortOne did not answer. The payment stays pending; it is safe to retry.")


class RefundNotAllowed(ServiceError):
    code = BillingErrorCode.REFUND_NOT_ALLOWED.value
    default_detail = _("This refund is not allowed.")


class PackUnavailable(ServiceError):
    code = BillingErrorCode.PACK_UNAVAILABLE.value
    default_detail = _("This credit pack is not available.")


class InvalidWebhook(RequestRefused):  # logged in one line: why, never the body
    code = BillingErrorCode.INVALID_WEBHOOK.value
    default_detail = _("The webhook signature could not be verified.")


class IdempotencyConflict(Conflict):
    code = BillingErrorCode.IDEMPOTENCY_CONFLICT.value
    default_detail = _("This idempotency key was already used for a different movement.")


class InvalidAmount(ServiceError):
    code = BillingErrorCode.INVALID_AMOUNT.value
    default_detail = _("Enter a non-zero amount.")

    def __init__(self, detail: str | None = None):
        super().__init__(detail, errors={"amount": [str(detail or self.default_detail)]})


class ReasonRequired(ServiceError):
    code = BillingErrorCode.REASON_REQUIRED.value
    default_detail = _("A reason is required.")

    def __init__(self, detail: str | None = None):
        super().__init__(detail, errors={"reason": [str(detail or self.default_detail)]})


class PlanUnavailable(ServiceError):
    code = BillingErrorCode.PLAN_UNAVAILABLE.value
    default_detail = _("This plan is not available.")


class AlreadySubscribed(Conflict):
    code = BillingErrorCode.ALREADY_SUBSCRIBED.value
    default_detail = _("You already have a plan. Change it instead of subscribing again.")


class BillingKeyInvalid(ServiceError):
    code = BillingErrorCode.BILLING_KEY_INVALID.value
    default_detail = _("This card registration could not be verified. Register the card again.")


class SubscriptionNotActive(Conflict):
    code = BillingErrorCode.SUBSCRIPTION_NOT_ACTIVE.value
    default_detail = _("This can only be done while the plan is active.")


class CurrencyUnavailable(ServiceError):
    code = BillingErrorCode.CURRENCY_UNAVAILABLE.value
    default_detail = _("This is not sold in that currency.")

    def __init__(self, *, currency: str, field: str = "currency"):
        detail = gettext("This is not sold in %(currency)s.") % {"currency": currency}
        super().__init__(detail, errors={field: [detail]})
