"""The PortOne V2 boundary: every call to PortOne goes through here.

It builds `portone_server_sdk.PaymentClient` from settings (PORTONE_API_BASE_URL lets tests point
it at the loopback server in testing/portone_server.py), turns the SDK's payment classes into the
payments interface's plain `ProviderPayment` (billing/providers/base.py), and turns transport
failures, 5xx answers and unreadable bodies into `PaymentProviderUnavailable` (HTTP 502, safe to
retry). Nothing here touches the database. billing/providers/portone.py is PortOne's provider
for the interface; the billing keys below serve PortOne's plans.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime

import httpx
from django.conf import settings
from portone_server_sdk import PaymentClient
from portone_server_sdk._generated.payment.payment import _serialize_payment
from portone_server_sdk._generated.payment.payment_cancellation import (
    _serialize_payment_cancellation,
)
from portone_server_sdk.common import CustomerInput, PaymentAmountInput
from portone_server_sdk.errors import (
    AlreadyPaidError,
    BillingKeyAlreadyDeletedError,
    BillingKeyNotFoundError,
    PaymentNotFoundError,
    PgProviderError,
    PortOneError,
    UnknownError,
)
from portone_server_sdk.payment import (
    CancelledPayment,
    FailedPayment,
    FailedPaymentCancellation,
    PaidPayment,
    PartialCancelledPayment,
    PayPendingPayment,
    ReadyPayment,
    RequestedPaymentCancellation,
    SucceededPaymentCancellation,
    VirtualAccountIssuedPayment,
)

from billing.errors import PaymentProviderUnavailable
from billing.models import Payment
from billing.providers.base import ProviderCancellation, ProviderPayment, RefundRefused, RefundResult

logger = logging.getLogger(__name__)

# PortOne's payment statuses, read from the SDK's classes, and what each means here (DESIGN.md
# "Payments"). The one mapping: the payment services import it.
_STATUS_BY_CLASS = {
    PaidPayment: "PAID",
    CancelledPayment: "CANCELLED",
    PartialCancelledPayment: "PARTIAL_CANCELLED",
    FailedPayment: "FAILED",
    ReadyPayment: "READY",
    PayPendingPayment: "PAY_PENDING",
    VirtualAccountIssuedPayment: "VIRTUAL_ACCOUNT_ISSUED",
}
LOCAL_STATUS = {
    "READY": Payment.Status.PENDING,
    "PAY_PENDING": Payment.Status.PENDING,
    "VIRTUAL_ACCOUNT_ISSUED": Payment.Status.PENDING,
    "PAID": Payment.Status.PAID,
    "FAILED": Payment.Status.FAILED,
    "CANCELLED": Payment.Status.CANCELLED,
    "PARTIAL_CANCELLED": Payment.Status.PARTIALLY_CANCELLED,
}
PENDING_STATUSES = frozenset(s for s, local in LOCAL_STATUS.items() if local == Payment.Status.PENDING)
CANCELLED_STATUSES = frozenset({"CANCELLED", "PARTIAL_CANCELLED"})
# A cancellation's status, by the SDK's class: only a SUCCEEDED one gave money back; a REQUESTED
# one is still being decided by the PG.
_CANCELLATION_STATUS_BY_CLASS = {
    SucceededPaymentCancellation: "SUCCEEDED",
    RequestedPaymentCancellation: "REQUESTED",
    FailedPaymentCancellation: "FAILED",
}


# PortOne's names for the interface's refund answers (billing/providers/base.py).
CancelResult = RefundResult
CancelFailed = RefundRefused


def is_configured() -> bool:
    return bool(settings.PORTONE_STORE_ID and settings.PORTONE_CHANNEL_KEY and settings.PORTONE_API_SECRET)


def _client() -> PaymentClient:
    return _cached_client(settings.PORTONE_API_SECRET, settings.PORTONE_API_BASE_URL)


@functools.lru_cache(maxsize=4)
def _cached_client(secret: str, base_url: str) -> PaymentClient:
    # Building a PaymentClient opens a dozen httpx clients (one SSL context each); reuse them.
    # httpx clients are safe to share between threads.
    return PaymentClient(secret=secret, base_url=base_url)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)  # 3.11 reads the trailing "Z"
    except ValueError:
        return None


def _error_text(error: PortOneError) -> str:
    message = getattr(error, "message", None) or ""
    pg_message = getattr(error, "pg_message", None)
    text = f"{type(error).__name__}: {message}".strip(": ")
    return f"{text} ({pg_message})" if pg_message else text


def _snapshot(payment) -> ProviderPayment:
    if isinstance(payment, dict):  # a status this SDK version does not know
        raw = payment
        amount = raw.get("amount") or {}
        status = str(raw.get("status", "UNKNOWN"))
        return ProviderPayment(
            payment_id=str(raw.get("id", "")),
            status=status,
            local_status=LOCAL_STATUS.get(status, ""),
            is_paid=False,
            amount_total=int(amount.get("total") or 0),
            amount_cancelled=int(amount.get("cancelled") or 0),
            currency=str(raw.get("currency", "")),
            store_id=str(raw.get("storeId", "")),
            channel_type=str((raw.get("channel") or {}).get("type", "")),
            paid_at=_parse_time(raw.get("paidAt")),
            updated_at=_parse_time(raw.get("updatedAt")),
            failure_reason="",
            raw=raw,
            provider_payment_id=str(raw.get("transactionId", "")),
        )
    channel = getattr(payment, "channel", None)
    cancellations = tuple(
        ProviderCancellation(
            id=c.id,
            status=_CANCELLATION_STATUS_BY_CLASS.get(type(c), type(c).__name__),
            amount=c.total_amount,
            reason=c.reason,
            requested_at=c.requested_at or "",
        )
        for c in (getattr(payment, "cancellations", None) or [])
        if not isinstance(c, dict)
    )
    failure = getattr(payment, "failure", None)
    status = _STATUS_BY_CLASS.get(type(payment), "UNKNOWN")
    return ProviderPayment(
        payment_id=payment.id,
        status=status,
        local_status=LOCAL_STATUS.get(status, ""),
        is_paid=isinstance(payment, PaidPayment),
        amount_total=payment.amount.total,
        amount_cancelled=payment.amount.cancelled,
        currency=str(payment.currency),
        store_id=payment.store_id,
        channel_type=str(channel.type) if channel is not None else "",
        paid_at=_parse_time(getattr(payment, "paid_at", None)),
        updated_at=_parse_time(payment.updated_at),
        failure_reason=(getattr(failure, "reason", None) or "") if failure else "",
        cancellations=cancellations,
        # The SDK keeps no raw body; its serializer writes back PortOne's own field names.
        raw=_serialize_payment(payment),
        provider_payment_id=getattr(payment, "transaction_id", None) or "",
        receipt_url=getattr(payment, "receipt_url", None) or "",
    )


def payment_fetch(*, payment_id: str) -> ProviderPayment | None:
    """PortOne's view of a payment; None when PortOne has no payment with this id."""
    try:
        payment = _client().get_payment(payment_id=payment_id)
    except PaymentNotFoundError:
        return None
    except (httpx.HTTPError, PortOneError, ValueError) as error:
        # ValueError: a non-JSON body (a proxy's 5xx page) or a shape this SDK cannot read.
        logger.warning("PortOne get_payment %s failed: %r", payment_id, error)
        raise PaymentProviderUnavailable() from error
    return _snapshot(payment)


def payment_cancel(
    *, payment_id: str, amount: int, reason: str, current_cancellable_amount: int
) -> CancelResult:
    """Cancel `amount` of a payment. Raises CancelFailed when PortOne refuses or cannot be reached."""
    try:
        response = _client().cancel_payment(
            payment_id=payment_id,
            amount=amount,
            reason=reason,
            requester="Admin",
            # PortOne cancels only if its cancellable balance is still what we saw: a concurrent
            # cancellation (another refund, the console) makes this one fail instead of over-refunding.
            current_cancellable_amount=current_cancellable_amount,
        )
    except PortOneError as error:
        raise CancelFailed(
            _error_text(error), {"error": type(error).__name__, "detail": str(error)}
        ) from error
    except (httpx.HTTPError, ValueError) as error:
        raise CancelFailed(f"PortOne did not answer: {error!r}") from error
    cancellation = response.cancellation
    if isinstance(cancellation, dict):
        raw = cancellation
        return CancelResult(str(raw.get("id", "")), int(raw.get("totalAmount") or amount), raw)
    return CancelResult(
        cancellation.id, cancellation.total_amount, _serialize_payment_cancellation(cancellation)
    )


# --- Billing keys (plans: DESIGN.md "Plans and subscriptions") -------------------------------


@dataclass(frozen=True)
class ProviderBillingKey:
    """What PortOne says about a billing key. The key itself is never logged or shown."""

    status: str  # ISSUED or DELETED
    store_id: str
    customer_id: str
    issue_id: str
    channel_type: str
    card_label: str  # "Shinhan card 5365-****-****-1234": safe to show, PortOne masks it


class ChargeRefused(Exception):
    """PortOne refused a billing-key payment: nothing was charged. `code` is PortOne's error
    type (PG_PROVIDER for the card company's refusal, BILLING_KEY_NOT_FOUND, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def card_unusable(self) -> bool:
        """The key itself is gone: only a new card can help."""
        return self.code in ("BILLING_KEY_NOT_FOUND", "BILLING_KEY_ALREADY_DELETED")


def billing_key_fetch(*, billing_key: str) -> ProviderBillingKey | None:
    """PortOne's view of a billing key; None when PortOne has no such key."""
    try:
        info = _client().billing_key.get_billing_key_info(billing_key=billing_key)
    except BillingKeyNotFoundError:
        return None
    except (httpx.HTTPError, PortOneError, ValueError, KeyError) as error:
        logger.warning("PortOne get_billing_key_info failed: %s", type(error).__name__)
        raise PaymentProviderUnavailable() from error
    if isinstance(info, dict):  # a status this SDK version does not know
        return ProviderBillingKey(str(info.get("status", "UNKNOWN")), str(info.get("storeId", "")), "", "", "", "")
    channels = getattr(info, "channels", None) or []
    card_label = ""
    for method in getattr(info, "methods", None) or []:
        card = getattr(method, "card", None)
        if card is not None:
            card_label = " ".join(part for part in (card.name, card.number) if part)
            break
    return ProviderBillingKey(
        status="ISSUED" if type(info).__name__ == "IssuedBillingKeyInfo" else "DELETED",
        store_id=info.store_id,
        customer_id=(info.customer.id if info.customer else None) or "",
        issue_id=info.issue_id or "",
        channel_type=str(channels[0].type) if channels else "",
        card_label=card_label[:100],
    )


def billing_key_delete(*, billing_key: str, reason: str) -> None:
    """Delete a billing key at PortOne (a key already deleted or unknown counts as deleted).
    Raises PaymentProviderUnavailable when PortOne cannot be asked."""
    try:
        _client().billing_key.delete_billing_key(billing_key=billing_key, reason=reason)
    except (BillingKeyNotFoundError, BillingKeyAlreadyDeletedError):
        return
    except (httpx.HTTPError, PortOneError, ValueError, KeyError) as error:
        logger.warning("PortOne delete_billing_key failed: %s", type(error).__name__)
        raise PaymentProviderUnavailable() from error


def billing_key_pay(
    *, payment_id: str, billing_key: str, order_name: str, amount: int, currency: str, customer_id: str
) -> None:
    """Charge `amount` on a billing key under our `payment_id` (PortOne's payWithBillingKey).

    Returns when PortOne charged it, now or before (ALREADY_PAID: the same payment id is never
    charged twice, which is what makes a retry after a crash safe). Raises ChargeRefused when
    PortOne or the card company refused (nothing charged), PaymentProviderUnavailable when the
    answer is unknown (the payment may or may not exist: ask `payment_fetch`).
    """
    try:
        _client().pay_with_billing_key(
            payment_id=payment_id,
            billing_key=billing_key,
            order_name=order_name,
            amount=PaymentAmountInput(total=amount),
            currency=currency,
            customer=CustomerInput(id=customer_id),
        )
    except AlreadyPaidError:
        return
    except PgProviderError as error:
        raise ChargeRefused("PG_PROVIDER", error.pg_message or error.message or "") from error
    except BillingKeyNotFoundError as error:
        raise ChargeRefused("BILLING_KEY_NOT_FOUND", error.message or "") from error
    except BillingKeyAlreadyDeletedError as error:
        raise ChargeRefused("BILLING_KEY_ALREADY_DELETED", error.message or "") from error
    except UnknownError as error:  # an answer this SDK cannot read: the outcome is unknown
        logger.warning("PortOne pay_with_billing_key %s: unreadable answer", payment_id)
        raise PaymentProviderUnavailable() from error
    except PortOneError as error:
        # Any other typed refusal (forbidden, invalid request, ...) charged nothing either.
        raise ChargeRefused(type(error).__name__, _error_text(error)) from error
    except (httpx.HTTPError, ValueError, KeyError) as error:
        logger.warning("PortOne pay_with_billing_key %s got no answer: %r", payment_id, error)
        raise PaymentProviderUnavailable() from error
