"""Writes for billing (HackSoft services), split by subject; import them from here."""

from __future__ import annotations

from billing.services.ledger import (
    credit_account_ensure,
    credits_grant,
    credits_refund,
    credits_reserve,
    credits_signup_bonus,
    ledger_entry_append,
)
from billing.services.payments import (
    payment_checkout_start,
    payment_checkout_close,
    payment_complete,
    payment_receipt_link,
    payment_prepare,
    payment_sync,
    payments_sync_pending,
)
from billing.services.provider_subscriptions import (
    subscription_change,
    subscription_charge_record,
    subscription_portal_url,
    subscription_provider_start,
    subscription_provider_sync,
)
from billing.services.refunds import (
    RefundQuote,
    payment_refund,
    payment_refund_quote,
    refunds_settle_answered,
    refunds_sync_pending,
)
from billing.services.subscriptions import (
    RenewalOutcome,
    subscription_cancel_now,
    subscription_card_start,
    subscription_complete,
    subscription_get_for_user,
    subscription_grant_free_period,
    subscription_renew,
    subscription_start,
    subscription_update,
    subscriptions_due,
    upgrade_quote,
)
from billing.services.webhooks import (
    WEBHOOK_MAX_BYTES,
    WebhookRejection,
    webhook_delivery_receive,
    webhook_rejection_count,
)

__all__ = [
    "subscription_change",
    "subscription_charge_record",
    "subscription_portal_url",
    "subscription_provider_start",
    "subscription_provider_sync",
    "RenewalOutcome",
    "subscription_cancel_now",
    "subscription_card_start",
    "subscription_complete",
    "subscription_get_for_user",
    "subscription_grant_free_period",
    "subscription_renew",
    "subscription_start",
    "subscription_update",
    "subscriptions_due",
    "upgrade_quote",
    "WEBHOOK_MAX_BYTES",
    "RefundQuote",
    "WebhookRejection",
    "credit_account_ensure",
    "credits_grant",
    "credits_refund",
    "credits_reserve",
    "credits_signup_bonus",
    "ledger_entry_append",
    "payment_checkout_close",
    "payment_complete",
    "payment_receipt_link",
    "payment_prepare",
    "payment_checkout_start",
    "payment_refund",
    "payment_refund_quote",
    "payment_sync",
    "payments_sync_pending",
    "refunds_settle_answered",
    "refunds_sync_pending",
    "webhook_delivery_receive",
    "webhook_rejection_count",
]
