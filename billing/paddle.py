"""The Paddle Billing boundary: every call to Paddle, and the check of its webhooks' signatures.

It builds `paddle_billing.Client` (paddle-python-sdk) from settings (PADDLE_API_BASE lets tests
point it at the loopback server in testing/paddle_server.py), turns Paddle's entities into plain
frozen dataclasses, and turns transport failures, timeouts, 5xx answers and unreadable bodies
into `PaymentProviderUnavailable` (HTTP 502, safe to retry). Paddle's own refusals (a 4xx with
its `{"error": {"type", "code", "detail"}}` body) become `PaddleRefused` with Paddle's code.
Amounts are integers in the currency's lowest denomination, as Paddle writes them (strings).
Nothing here touches the database.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

import requests
from django.conf import settings
from django.utils.translation import gettext
from paddle_billing import Client, Options
from paddle_billing.Entities.Shared import (
    Action,
    CurrencyCode,
    CustomData,
    Duration,
    Interval,
    Money,
    PriceQuantity,
    TaxCategory,
)
from paddle_billing.Entities.Subscriptions import SubscriptionEffectiveFrom
from paddle_billing.Exceptions.ApiError import ApiError
from paddle_billing.Notifications import PaddleSignature
from paddle_billing.ResponseParser import ResponseParser
from paddle_billing.Resources.Adjustments.Operations import CreateAdjustment, CreateAdjustmentItem
from paddle_billing.Resources.Prices.Operations import CreatePrice
from paddle_billing.Resources.Products.Operations import CreateProduct
from paddle_billing.Resources.Subscriptions.Operations import CancelSubscription
from paddle_billing.Resources.Transactions.Operations import CreateTransaction, TransactionIncludes
from paddle_billing.Resources.Transactions.Operations.Create import TransactionCreateItem

from billing.errors import PaymentProviderUnavailable

logger = logging.getLogger(__name__)
# The SDK logs every request at INFO and each failure at ERROR (and bodies at DEBUG); this
# boundary logs what matters once, so the SDK's own lines go nowhere.
_sdk_logger = logging.getLogger("billing.paddle.sdk")
_sdk_logger.addHandler(logging.NullHandler())
_sdk_logger.propagate = False

SIGNATURE_HEADER = "Paddle-Signature"
# Paddle's transaction statuses (developer.paddle.com, "Transaction statuses"): completed is the
# only one that buys credits; draft and ready were never paid; billed and paid are on their way.
TRANSACTION_COMPLETED = "completed"
TRANSACTION_UNPAID = frozenset({"draft", "ready"})
TRANSACTION_FAILED = frozenset({"canceled"})


def is_configured() -> bool:
    """Paddle can sell: the server's API key and the browser's client-side token are set."""
    return bool(settings.PADDLE_API_KEY and settings.PADDLE_CLIENT_TOKEN)


def unavailable() -> PaymentProviderUnavailable:
    return PaymentProviderUnavailable(gettext("Paddle did not answer. Nothing was charged twice; it is safe to retry."))


class PaddleRefused(Exception):
    """Paddle answered with an error body: it did nothing. `code` is Paddle's error code."""

    def __init__(self, code: str, detail: str, *, status: int | None = None):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status

    @property
    def raw(self) -> dict:
        return {"error": {"code": self.code, "detail": self.detail}, "status": self.status}


@dataclass(frozen=True)
class _ApiBase:
    """What the SDK reads from its Options.environment: the API's base URL. Paddle's own
    Environment enum knows only its two hosts; this one carries ours (PADDLE_API_BASE)."""

    base_url: str


def _client() -> Client:
    return _cached_client(settings.PADDLE_API_KEY, settings.PADDLE_API_BASE, settings.PADDLE_TIMEOUT_SECONDS)


@functools.lru_cache(maxsize=4)
def _cached_client(api_key: str, base_url: str, timeout: float) -> Client:
    # One requests session per key and host, shared (thread-safe for these calls). retry_count=1:
    # the SDK retries only idempotent methods on 429/5xx, and only over https.
    return Client(api_key, options=Options(environment=_ApiBase(base_url)), timeout=timeout, retry_count=1,
                  logger=_sdk_logger)


def _call(what: str, call):
    """Run one SDK call; Paddle's refusal -> PaddleRefused, no answer -> PaymentProviderUnavailable."""
    try:
        return call()
    except ApiError as error:
        status = error.response.status_code if error.response is not None else None
        if status is not None and status >= 500:
            logger.warning("Paddle %s answered %s: %s", what, status, error.error_code)
            raise unavailable() from error
        raise PaddleRefused(error.error_code, error.detail, status=status) from error
    except (requests.RequestException, ValueError, KeyError, TypeError) as error:
        # RequestException: timeouts, refused connections, 5xx pages that are not Paddle's JSON.
        # ValueError/KeyError/TypeError: a body the SDK could not read.
        logger.warning("Paddle %s got no usable answer: %r", what, error)
        raise unavailable() from error


def _raw(resource) -> dict:
    """The JSON `data` of the SDK's last answer on `resource` (the entity as Paddle wrote it)."""
    return ResponseParser(resource.response).get_dict()


def parse_time(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- Catalog ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaddleProduct:
    id: str
    name: str
    status: str
    custom_data: dict


@dataclass(frozen=True)
class PaddlePrice:
    id: str
    product_id: str
    amount: int
    currency: str
    monthly: bool
    status: str
    custom_data: dict


def _product(raw: dict) -> PaddleProduct:
    return PaddleProduct(raw["id"], raw.get("name") or "", raw.get("status") or "", raw.get("custom_data") or {})


def _price(raw: dict) -> PaddlePrice:
    unit = raw.get("unit_price") or {}
    cycle = raw.get("billing_cycle") or {}
    return PaddlePrice(
        id=raw["id"],
        product_id=raw.get("product_id") or "",
        amount=_int(unit.get("amount")),
        currency=unit.get("currency_code") or "",
        monthly=cycle.get("interval") == "month" and cycle.get("frequency") == 1,
        status=raw.get("status") or "",
        custom_data=raw.get("custom_data") or {},
    )


def product_create(*, name: str, custom_data: dict) -> PaddleProduct:
    client = _client()
    _call("create product", lambda: client.products.create(
        CreateProduct(name=name, tax_category=TaxCategory.Standard, custom_data=CustomData(custom_data))))
    return _product(_raw(client.products))


def _list_raw(what: str, path: str, params: dict[str, str]) -> list[dict]:
    """Every entity of a listing as Paddle wrote it, page after page (`meta.pagination.next`)."""
    client = _client()
    records: list[dict] = []
    url, query = path, params
    for _ in range(200):  # 200 pages of 200: far beyond a catalog of packs and plans
        response = _call(what, lambda: client.get_raw(url, query))
        parser = ResponseParser(response)
        records.extend(parser.get_list())
        pagination = parser.get_pagination()
        if not pagination.has_more or not pagination.next:
            break
        url, query = pagination.next, None
    return records


def products_list() -> list[PaddleProduct]:
    return [_product(raw) for raw in _list_raw("list products", "/products", {"per_page": "200"})]


def prices_list(*, product_ids: list[str] | None = None) -> list[PaddlePrice]:
    params = {"per_page": "200"}
    if product_ids:
        params["product_id"] = ",".join(product_ids)
    return [_price(raw) for raw in _list_raw("list prices", "/prices", params)]


def price_create(
    *, product_id: str, description: str, amount: int, currency: str, monthly: bool, custom_data: dict
) -> PaddlePrice:
    client = _client()
    operation = CreatePrice(
        description=description,
        product_id=product_id,
        unit_price=Money(str(amount), CurrencyCode(currency)),
        custom_data=CustomData(custom_data),
        # One unit per checkout: the buyer cannot turn one pack into five in Paddle's overlay.
        quantity=PriceQuantity(minimum=1, maximum=1),
        **({"billing_cycle": Duration(Interval.Month, 1)} if monthly else {}),
    )
    _call("create price", lambda: client.prices.create(operation))
    return _price(_raw(client.prices))


def price_archive(*, price_id: str) -> None:
    client = _client()
    _call("archive price", lambda: client.prices.archive(price_id))


# --- Transactions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PaddleLineItem:
    id: str  # txnitm_...: what a partial refund names
    price_id: str
    quantity: int
    subtotal: int  # before tax
    total: int  # with tax, as the buyer paid it


@dataclass(frozen=True)
class PaddleTransaction:
    id: str
    status: str
    origin: str
    currency: str
    subtotal: int  # before tax: what our price list says
    grand_total: int  # what the buyer paid, tax included (Paddle adds it as merchant of record)
    custom_data: dict
    customer_id: str
    subscription_id: str
    items: tuple[PaddleLineItem, ...]
    billing_period_start: datetime | None
    billing_period_end: datetime | None
    billed_at: datetime | None
    updated_at: datetime | None
    adjustments: tuple[PaddleAdjustment, ...] = ()  # when asked for (transaction_fetch does)
    raw: dict = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.status == TRANSACTION_COMPLETED


def transaction_from_payload(raw: dict) -> PaddleTransaction:
    """A transaction as Paddle writes it, in an API answer or a webhook's `data`."""
    details = raw.get("details") or {}
    totals = details.get("totals") or {}
    period = raw.get("billing_period") or {}
    return PaddleTransaction(
        id=str(raw.get("id") or ""),
        status=str(raw.get("status") or ""),
        origin=str(raw.get("origin") or ""),
        currency=str(raw.get("currency_code") or ""),
        subtotal=_int(totals.get("subtotal")),
        grand_total=_int(totals.get("grand_total") or totals.get("total")),
        custom_data=raw.get("custom_data") if isinstance(raw.get("custom_data"), dict) else {},
        customer_id=str(raw.get("customer_id") or ""),
        subscription_id=str(raw.get("subscription_id") or ""),
        items=tuple(
            PaddleLineItem(str(li.get("id") or ""), str(li.get("price_id") or ""), _int(li.get("quantity")),
                           _int((li.get("totals") or {}).get("subtotal")), _int((li.get("totals") or {}).get("total")))
            for li in details.get("line_items") or []
        ),
        billing_period_start=parse_time(period.get("starts_at")),
        billing_period_end=parse_time(period.get("ends_at")),
        billed_at=parse_time(raw.get("billed_at")),
        updated_at=parse_time(raw.get("updated_at")),
        adjustments=tuple(adjustment_from_payload(a) for a in raw.get("adjustments") or [] if isinstance(a, dict)),
        raw=raw,
    )


def transaction_create(*, price_id: str, custom_data: dict) -> PaddleTransaction:
    """A transaction for one unit of `price_id`, for Paddle.js to open by its id. Paddle's
    checkout collects the buyer's details and tax; `custom_data` comes back in every event."""
    client = _client()
    operation = CreateTransaction(items=[TransactionCreateItem(price_id=price_id, quantity=1)],
                                  custom_data=CustomData(custom_data))
    _call("create transaction", lambda: client.transactions.create(operation))
    return transaction_from_payload(_raw(client.transactions))


def transaction_fetch(*, transaction_id: str) -> PaddleTransaction | None:
    """Paddle's view of a transaction, with its adjustments (refunds); None when Paddle has no
    transaction with this id."""
    client = _client()
    try:
        _call("get transaction", lambda: client.transactions.get(transaction_id, [TransactionIncludes.Adjustment]))
    except PaddleRefused as refusal:
        if refusal.status == 404:
            return None
        logger.warning("Paddle refused get transaction %s: %s", transaction_id, refusal)
        raise unavailable() from refusal
    return transaction_from_payload(_raw(client.transactions))


def invoice_url(*, transaction_id: str) -> str | None:
    """A link to the transaction's invoice PDF (Paddle's receipt for the buyer), valid for a
    while only, so asked for each time it is wanted; None while Paddle has no invoice (unpaid)."""
    client = _client()
    try:
        document = _call("get invoice", lambda: client.transactions.get_invoice_pdf(transaction_id))
    except PaddleRefused as refusal:
        if refusal.status in (400, 404):
            return None
        raise unavailable() from refusal
    return document.url or None


# --- Subscriptions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PaddleSubscription:
    id: str
    status: str  # active, past_due, paused, canceled, trialing
    customer_id: str
    custom_data: dict
    price_ids: tuple[str, ...]
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_scheduled: bool  # a scheduled change that cancels at the period's end
    canceled_at: datetime | None
    updated_at: datetime | None
    raw: dict = field(default_factory=dict)


def subscription_from_payload(raw: dict) -> PaddleSubscription:
    period = raw.get("current_billing_period") or {}
    change = raw.get("scheduled_change") or {}
    return PaddleSubscription(
        id=str(raw.get("id") or ""),
        status=str(raw.get("status") or ""),
        customer_id=str(raw.get("customer_id") or ""),
        custom_data=raw.get("custom_data") if isinstance(raw.get("custom_data"), dict) else {},
        price_ids=tuple(str((item.get("price") or {}).get("id") or "") for item in raw.get("items") or []),
        current_period_start=parse_time(period.get("starts_at")),
        current_period_end=parse_time(period.get("ends_at")),
        cancel_scheduled=change.get("action") == "cancel",
        canceled_at=parse_time(raw.get("canceled_at")),
        updated_at=parse_time(raw.get("updated_at")),
        raw=raw,
    )


def subscription_fetch(*, subscription_id: str) -> PaddleSubscription | None:
    client = _client()
    try:
        _call("get subscription", lambda: client.subscriptions.get(subscription_id))
    except PaddleRefused as refusal:
        if refusal.status == 404:
            return None
        raise unavailable() from refusal
    return subscription_from_payload(_raw(client.subscriptions))


def subscription_cancel(*, subscription_id: str, immediately: bool) -> PaddleSubscription:
    """Cancel at the end of the paid period (or now). Raises PaddleRefused when Paddle will not
    (already canceled), PaymentProviderUnavailable when it does not answer."""
    client = _client()
    effective = SubscriptionEffectiveFrom.Immediately if immediately else SubscriptionEffectiveFrom.NextBillingPeriod
    _call("cancel subscription", lambda: client.subscriptions.cancel(
        subscription_id, CancelSubscription(effective_from=effective)))
    return subscription_from_payload(_raw(client.subscriptions))


# --- Adjustments (refunds) -------------------------------------------------------------------

ADJUSTMENT_PENDING = "pending_approval"
ADJUSTMENT_APPROVED = "approved"
ADJUSTMENT_REFUSED = frozenset({"rejected", "reversed"})


@dataclass(frozen=True)
class PaddleAdjustment:
    id: str
    status: str  # pending_approval, approved, rejected, reversed
    transaction_id: str
    subtotal: int  # before tax: what our prices count in
    total: int  # with tax, as the buyer gets it back
    currency: str
    reason: str
    updated_at: datetime | None
    raw: dict = field(default_factory=dict)


def adjustment_from_payload(raw: dict) -> PaddleAdjustment:
    totals = raw.get("totals") or {}
    return PaddleAdjustment(
        id=str(raw.get("id") or ""),
        status=str(raw.get("status") or ""),
        transaction_id=str(raw.get("transaction_id") or ""),
        subtotal=_int(totals.get("subtotal")),
        total=_int(totals.get("total")),
        currency=str(raw.get("currency_code") or totals.get("currency_code") or ""),
        reason=str(raw.get("reason") or ""),
        updated_at=parse_time(raw.get("updated_at")) or parse_time(raw.get("created_at")),
        raw=raw,
    )


def adjustment_create(
    *, transaction_id: str, reason: str, item_id: str | None = None, amount: int | None = None
) -> PaddleAdjustment:
    """A refund of the whole transaction (`amount` None) or of `amount` of one line item.

    Paddle answers `pending_approval`; its decision arrives as `adjustment.updated`. Raises
    PaddleRefused when Paddle refuses the request, PaymentProviderUnavailable when the answer is
    unknown (the refund may or may not exist).
    """
    client = _client()
    if amount is None:
        operation = CreateAdjustment.full(Action.Refund, reason, transaction_id)
    else:
        operation = CreateAdjustment.partial(
            Action.Refund, [CreateAdjustmentItem(item_id, "partial", str(amount))], reason, transaction_id)
    _call("create adjustment", lambda: client.adjustments.create(operation))
    return adjustment_from_payload(_raw(client.adjustments))


# --- Webhooks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaddleEvent:
    event_id: str  # evt_...: the same event redelivered keeps it
    event_type: str
    occurred_at: datetime | None
    notification_id: str  # ntf_...: one per destination
    data: dict


class WebhookRefused(Exception):
    """A delivery that is not Paddle's: `reason` is one of the codes below, for the log and metric."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def webhook_verify(
    *, body: bytes, signature: str, secrets: list[str], tolerance_seconds: int, now: float | None = None
) -> PaddleEvent:
    """Check a delivery as Paddle documents ("Verify webhook signatures") and read its event.

    The header is `ts=<unix seconds>;h1=<hex HMAC-SHA256>`; the signed payload is `<ts>:<raw body>`
    keyed with the destination's secret key. A timestamp further than `tolerance_seconds` from
    `now` is refused (a replay). The HMAC is the SDK's (`PaddleSignature`); the clock check is
    ours, because the SDK's Verifier skips it whenever a TEST_MODE environment variable is set.
    """
    if not signature:
        raise WebhookRefused("missing_signature", "no Paddle-Signature header")
    try:
        timestamp, hashes = PaddleSignature.parse(signature)
    except (ValueError, TypeError) as error:
        raise WebhookRefused("malformed_signature", f"unreadable Paddle-Signature header: {error}") from error
    if not timestamp or not hashes.get("h1"):
        raise WebhookRefused("malformed_signature", "Paddle-Signature has no ts or no h1")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds:
        raise WebhookRefused("stale_timestamp", f"signed {int(now - timestamp)} s from now, beyond {tolerance_seconds} s")
    signed = f"{timestamp}:".encode() + body
    expected = [hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest() for secret in secrets]
    if not any(hmac.compare_digest(e, given) for e in expected for given in hashes["h1"]):
        raise WebhookRefused("bad_signature", "no h1 matches the body under our secret key")
    try:
        event = json.loads(body)
    except ValueError as error:
        raise WebhookRefused("malformed", "signed body is not JSON") from error
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict) or not event.get("event_type"):
        raise WebhookRefused("malformed", "signed body is not a Paddle event")
    return PaddleEvent(
        event_id=str(event.get("event_id") or "")[:200],
        event_type=str(event["event_type"])[:100],
        occurred_at=parse_time(event.get("occurred_at")),
        notification_id=str(event.get("notification_id") or "")[:200],
        data=event["data"],
    )
