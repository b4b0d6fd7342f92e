"""A loopback Paddle Billing API for tests, and Paddle's webhook signer.

`FakePaddle` is a small threaded http.server on 127.0.0.1 (random port) that answers the
endpoints billing calls through `paddle_billing.Client` (paddle-python-sdk):

    POST  /products, GET /products, GET /products/{id}          products
    POST  /prices,   GET /prices,   GET /prices/{id}, PATCH /prices/{id}   prices (archive)
    POST  /transactions, GET /transactions/{id}                 transactions
    GET   /transactions/{id}/invoice                           the invoice PDF's link
    GET   /subscriptions/{id}, POST /subscriptions/{id}/cancel  subscriptions
    POST  /adjustments                                          refunds (action "refund")

Every answer is Paddle's envelope, `{"data": ..., "meta": {"request_id": ...}}` (lists add
`meta.pagination` with an `after` cursor, as Paddle pages them), and every error is
`{"error": {"type", "code", "detail", "documentation_url"}, "meta": {...}}`. Requests must carry
`Authorization: Bearer <api key>`. The JSON follows the field names and required keys of the
SDK's entities (Transaction, Price, Product, Subscription, Adjustment) and the response
fixtures in its test suite, so the real SDK reads it as it reads api.paddle.com.

What the buyer and Paddle do outside the API is scripted: `pay(transaction_id)` is the overlay
checkout paying (the transaction goes paid then completed; a recurring price makes a
subscription), `renew(subscription_id)` and `fail_renewal(...)` are Paddle's own renewals,
`approve_adjustment` / `reject_adjustment` are Paddle's refund review, and
`cancel_in_dashboard` a cancellation made in Paddle's dashboard. Each change records the
webhook events Paddle would send (`events`), with Paddle's event and notification ids.

`sign_webhook` signs a body the way Paddle documents (developer.paddle.com, "Verify webhook
signatures"): `Paddle-Signature: ts=<unix seconds>;h1=<hex HMAC-SHA256 of "<ts>:<raw body>"
keyed with the endpoint's secret key>`.

Faults: `fail_with = 503` answers every request with that status (an HTML page, as a proxy
would), `latency` (seconds) delays every answer (a timeout), `stop()` makes the address
unreachable, `refuse_next_adjustment(...)` answers the next refund request with Paddle's error.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
DOCS = "https://developer.paddle.com/v1/errors"


def paddle_id(prefix: str) -> str:
    """An id in Paddle's shape: a prefix, an underscore and 26 lowercase base32 characters."""
    return f"{prefix}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))


def _iso(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _add_month(moment: datetime) -> datetime:
    month = moment.month % 12 + 1
    year = moment.year + (moment.month == 12)
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def make_webhook_secret() -> str:
    """A secret key in the shape Paddle's dashboard shows for a notification destination."""
    return f"pdl_ntfset_{paddle_id('x')[2:]}_{secrets.token_urlsafe(24)}"


def sign_webhook(secret: str, body: str | bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The `Paddle-Signature` header for a delivery of `body`, as Paddle computes it."""
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"Paddle-Signature": f"ts={ts};h1={digest}"}


def event_body(event: dict) -> str:
    """A notification's body as Paddle sends it: compact JSON of the event."""
    return json.dumps(event, separators=(",", ":"))


class _Refusal(Exception):
    def __init__(self, status: int, code: str, detail: str, error_type: str = "request_error"):
        super().__init__(detail)
        self.status, self.code, self.detail, self.error_type = status, code, detail, error_type


class FakePaddle:
    def __init__(self, *, api_key: str | None = None, webhook_secret: str | None = None):
        self.api_key = api_key or f"pdl_sdbx_apikey_{secrets.token_hex(16)}"
        self.webhook_secret = webhook_secret or make_webhook_secret()
        self.products: dict[str, dict] = {}
        self.prices: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.adjustments: dict[str, dict] = {}
        self.customers: dict[str, str] = {}  # email -> ctm id
        self.events: list[dict] = []
        self.requests: list[tuple[str, str, dict | None]] = []
        self.fail_with: int | None = None
        self.latency = 0.0
        self.tax_rate = "0"  # the buyer's tax rate Paddle applies, as Paddle writes it ("0.2")
        self.max_per_page = 200  # Paddle's cap on a listing's page
        self._adjustment_refusals: list[_Refusal] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> str:
        fake = self

        class Handler(_Handler):
            paddle = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-paddle", daemon=True).start()
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @staticmethod
    def unreachable_url() -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    # --- webhooks ---------------------------------------------------------------------------
    def _emit(self, event_type: str, data: dict) -> dict:
        event = {
            "event_id": paddle_id("evt"),
            "event_type": event_type,
            "occurred_at": _iso(),
            "notification_id": paddle_id("ntf"),
            "data": copy.deepcopy(data),
        }
        self.events.append(event)
        return event

    def events_of(self, event_type: str) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(e) for e in self.events if e["event_type"] == event_type]

    def signed(self, event: dict, *, timestamp: int | None = None) -> tuple[str, dict[str, str]]:
        """The body and headers of `event`'s delivery, signed with this destination's secret."""
        body = event_body(event)
        return body, {"Content-Type": "application/json", **sign_webhook(self.webhook_secret, body, timestamp=timestamp)}

    # --- catalog ----------------------------------------------------------------------------
    def _product(self, body: dict) -> dict:
        if not body.get("name") or not body.get("tax_category"):
            raise _Refusal(400, "invalid_field", "name and tax_category are required")
        now = _iso()
        product = {
            "id": paddle_id("pro"), "name": body["name"], "type": "standard",
            "tax_category": body["tax_category"], "description": body.get("description"),
            "image_url": body.get("image_url"), "custom_data": body.get("custom_data"),
            "status": "active", "import_meta": None, "created_at": now, "updated_at": now,
        }
        self.products[product["id"]] = product
        return product

    def _price(self, body: dict) -> dict:
        unit = body.get("unit_price") or {}
        if body.get("product_id") not in self.products:
            raise _Refusal(404, "product_not_found", "product not found", "request_error")
        if not body.get("description") or not str(unit.get("amount", "")).isdigit() or not unit.get("currency_code"):
            raise _Refusal(400, "invalid_field", "description and unit_price {amount, currency_code} are required")
        now = _iso()
        price = {
            "id": paddle_id("pri"), "product_id": body["product_id"], "type": "standard",
            "description": body["description"], "name": body.get("name"),
            "billing_cycle": body.get("billing_cycle"), "trial_period": None,
            "tax_mode": body.get("tax_mode") or "account_setting",
            "unit_price": {"amount": str(unit["amount"]), "currency_code": unit["currency_code"]},
            "unit_price_overrides": body.get("unit_price_overrides") or [],
            "quantity": body.get("quantity") or {"minimum": 1, "maximum": 100},  # Paddle's default
            "custom_data": body.get("custom_data"), "status": "active", "import_meta": None,
            "created_at": now, "updated_at": now,
        }
        self.prices[price["id"]] = price
        return price

    def adopt_price(self, *, product_id: str, price_id: str, amount: int, currency: str, monthly: bool,
                    active: bool = True, name: str = "") -> dict:
        """A product and price this Paddle account already holds (ids made by an earlier run)."""
        with self._lock:
            now = _iso()
            self.products.setdefault(product_id, {
                "id": product_id, "name": name or product_id, "type": "standard", "tax_category": "standard",
                "description": None, "image_url": None, "custom_data": None, "status": "active",
                "import_meta": None, "created_at": now, "updated_at": now,
            })
            price = {
                "id": price_id, "product_id": product_id, "type": "standard", "description": name or price_id,
                "name": None, "billing_cycle": {"interval": "month", "frequency": 1} if monthly else None,
                "trial_period": None, "tax_mode": "account_setting",
                "unit_price": {"amount": str(amount), "currency_code": currency}, "unit_price_overrides": [],
                "quantity": {"minimum": 1, "maximum": 1}, "custom_data": None,
                "status": "active" if active else "archived", "import_meta": None,
                "created_at": now, "updated_at": now,
            }
            self.prices[price_id] = price
            return copy.deepcopy(price)

    # --- transactions -----------------------------------------------------------------------
    def _totals(self, subtotal: int) -> dict:
        tax = round(subtotal * float(self.tax_rate))
        return {"subtotal": str(subtotal), "discount": "0", "tax": str(tax), "total": str(subtotal + tax)}

    def _transaction(self, *, items: list[dict], custom_data, customer_id=None, origin="web",
                     subscription_id=None, billing_period=None, status="draft") -> dict:
        prices = []
        for item in items:
            price = self.prices.get(item.get("price_id", ""))
            if price is None or price["status"] != "active" and subscription_id is None:
                raise _Refusal(400, "transaction_price_not_found", f"price {item.get('price_id')!r} not found")
            prices.append((price, int(item.get("quantity", 1))))
        currencies = {p["unit_price"]["currency_code"] for p, _ in prices}
        if len(currencies) != 1:
            raise _Refusal(400, "transaction_currency_code_invalid", "items must share one currency")
        currency = currencies.pop()
        line_items, subtotal, tax = [], 0, 0
        for price, quantity in prices:
            unit = int(price["unit_price"]["amount"])
            totals = self._totals(unit * quantity)
            subtotal += int(totals["subtotal"])
            tax += int(totals["tax"])
            line_items.append({
                "id": paddle_id("txnitm"), "price_id": price["id"], "quantity": quantity, "proration": None,
                "tax_rate": self.tax_rate, "unit_totals": self._totals(unit), "totals": totals,
                "product": copy.deepcopy(self.products[price["product_id"]]),
            })
        now = _iso()
        grand = subtotal + tax
        transaction = {
            "id": paddle_id("txn"), "status": status, "customer_id": customer_id, "address_id": None,
            "business_id": None, "custom_data": custom_data, "origin": origin,
            "collection_mode": "automatic", "subscription_id": subscription_id, "invoice_id": None,
            "invoice_number": None, "billing_details": None, "billing_period": billing_period,
            "currency_code": currency, "discount_id": None, "created_at": now, "updated_at": now,
            "billed_at": None, "revised_at": None,
            "items": [{"price": copy.deepcopy(p), "quantity": q, "proration": None} for p, q in prices],
            "details": {
                "tax_rates_used": [{"tax_rate": self.tax_rate, "totals": self._totals(subtotal)}],
                "totals": {
                    "subtotal": str(subtotal), "tax": str(tax), "discount": "0", "total": str(grand),
                    "grand_total": str(grand), "fee": None, "credit": "0", "credit_to_balance": "0",
                    "balance": str(grand), "earnings": None, "currency_code": currency,
                    "grand_total_tax": str(tax),
                },
                "adjusted_totals": {
                    "subtotal": str(subtotal), "tax": str(tax), "total": str(grand), "grand_total": str(grand),
                    "fee": "0", "earnings": "0", "currency_code": currency, "retained_fee": "0",
                    "grand_total_tax": str(tax),
                },
                "payout_totals": None, "adjusted_payout_totals": None, "line_items": line_items,
            },
            "payments": [],
            "checkout": {"url": f"{self.base_url}/checkout?_ptxn=" if self.base_url else None},
        }
        if transaction["checkout"]["url"]:
            transaction["checkout"]["url"] += transaction["id"]
        self.transactions[transaction["id"]] = transaction
        return transaction

    def _touch(self, record: dict) -> None:
        # A later change always gets a later updated_at, even within one clock tick.
        previous = datetime.fromisoformat(record["updated_at"])
        record["updated_at"] = _iso(max(datetime.now(UTC), previous + timedelta(microseconds=1)))

    def _customer(self, email: str) -> str:
        return self.customers.setdefault(email, paddle_id("ctm"))

    def _capture(self, transaction: dict, *, customer_id: str) -> None:
        now = _iso()
        transaction["customer_id"] = customer_id
        transaction["address_id"] = transaction["address_id"] or paddle_id("add")
        transaction["invoice_id"] = paddle_id("inv")
        transaction["invoice_number"] = f"{len(self.transactions)}-{secrets.randbelow(10**5):05d}"
        transaction["billed_at"] = now
        transaction["payments"].append({
            "payment_attempt_id": str(uuid.uuid4()), "payment_method_id": paddle_id("paymtd"),
            "stored_payment_method_id": str(uuid.uuid4()),
            "amount": transaction["details"]["totals"]["grand_total"], "status": "captured",
            "error_code": None,
            "method_details": {"type": "card", "card": {"type": "visa", "last4": "4242", "expiry_month": 12,
                                                        "expiry_year": 2030, "cardholder_name": "Test Buyer"}},
            "created_at": now, "captured_at": now,
        })

    def pay(self, transaction_id: str, *, email: str = "buyer@example.com") -> dict:
        """The overlay checkout: the buyer pays. Records transaction.paid and .completed (and,
        for a recurring price, subscription.created with the subscription's first period)."""
        with self._lock:
            transaction = self.transactions[transaction_id]
            self._capture(transaction, customer_id=self._customer(email))
            transaction["status"] = "paid"
            self._touch(transaction)
            self._emit("transaction.paid", transaction)
            recurring = [item["price"] for item in transaction["items"] if item["price"].get("billing_cycle")]
            if recurring:
                subscription = self._subscription_open(transaction, recurring)
                transaction["subscription_id"] = subscription["id"]
                transaction["billing_period"] = copy.deepcopy(subscription["current_billing_period"])
                transaction["origin"] = "web"
                self._emit("subscription.created", {**subscription, "transaction_id": transaction_id})
            transaction["status"] = "completed"
            self._touch(transaction)
            self._emit("transaction.completed", transaction)
            return copy.deepcopy(transaction)

    # --- subscriptions ----------------------------------------------------------------------
    def _subscription_open(self, transaction: dict, prices: list[dict]) -> dict:
        start = datetime.now(UTC)
        end = _add_month(start)
        now = _iso(start)
        subscription = {
            "id": paddle_id("sub"), "status": "active", "customer_id": transaction["customer_id"],
            "address_id": transaction["address_id"], "business_id": None,
            "currency_code": transaction["currency_code"], "created_at": now, "updated_at": now,
            "started_at": now, "first_billed_at": now, "next_billed_at": _iso(end), "paused_at": None,
            "canceled_at": None, "collection_mode": "automatic", "billing_details": None,
            "current_billing_period": {"starts_at": now, "ends_at": _iso(end)},
            "billing_cycle": {"frequency": 1, "interval": "month"}, "scheduled_change": None,
            "items": [{
                "status": "active", "quantity": 1, "recurring": True, "created_at": now, "updated_at": now,
                "previously_billed_at": now, "next_billed_at": _iso(end), "trial_dates": None,
                "price": copy.deepcopy(price), "product": copy.deepcopy(self.products[price["product_id"]]),
            } for price in prices],
            "custom_data": copy.deepcopy(transaction["custom_data"]),
            "management_urls": {
                "update_payment_method": f"{self.base_url}/subscriptions/update-payment-method",
                "cancel": f"{self.base_url}/subscriptions/cancel",
            },
            "discount": None, "import_meta": None,
        }
        self.subscriptions[subscription["id"]] = subscription
        return subscription

    def renew(self, subscription_id: str) -> dict:
        """Paddle's own renewal: a subscription_recurring transaction for the next period, paid.
        Returns that transaction; records subscription.updated and transaction.completed."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            start = datetime.fromisoformat(subscription["current_billing_period"]["ends_at"])
            end = _add_month(start)
            period = {"starts_at": _iso(start), "ends_at": _iso(end)}
            transaction = self._transaction(
                items=[{"price_id": i["price"]["id"], "quantity": i["quantity"]} for i in subscription["items"]],
                custom_data=copy.deepcopy(subscription["custom_data"]), customer_id=subscription["customer_id"],
                origin="subscription_recurring", subscription_id=subscription_id, billing_period=period,
                status="billed",
            )
            self._capture(transaction, customer_id=subscription["customer_id"])
            subscription["status"] = "active"
            subscription["current_billing_period"] = period
            subscription["next_billed_at"] = _iso(end)
            self._touch(subscription)
            self._emit("subscription.updated", subscription)
            transaction["status"] = "completed"
            self._touch(transaction)
            self._emit("transaction.completed", transaction)
            return copy.deepcopy(transaction)

    def fail_renewal(self, subscription_id: str) -> dict:
        """The renewal's card is declined: the subscription goes past_due (Paddle's dunning)."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            subscription["status"] = "past_due"
            self._touch(subscription)
            self._emit("subscription.past_due", subscription)
            return copy.deepcopy(subscription)

    def _cancel(self, subscription: dict, *, effective_from: str) -> dict:
        if subscription["status"] == "canceled":
            raise _Refusal(400, "subscription_locked_canceled", "subscription is already canceled")
        now = _iso()
        if effective_from == "immediately":
            subscription["status"] = "canceled"
            subscription["canceled_at"] = now
            subscription["scheduled_change"] = None
            subscription["next_billed_at"] = None
            self._touch(subscription)
            self._emit("subscription.canceled", subscription)
        else:
            subscription["scheduled_change"] = {
                "action": "cancel", "effective_at": subscription["current_billing_period"]["ends_at"],
                "resume_at": None,
            }
            self._touch(subscription)
            self._emit("subscription.updated", subscription)
        return subscription

    def cancel_in_dashboard(self, subscription_id: str, *, effective_from: str = "immediately") -> dict:
        with self._lock:
            return copy.deepcopy(self._cancel(self.subscriptions[subscription_id], effective_from=effective_from))

    def end_period(self, subscription_id: str) -> dict:
        """The period ends on a subscription scheduled to cancel: Paddle cancels it."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            return copy.deepcopy(self._cancel(subscription, effective_from="immediately"))

    # --- adjustments (refunds) --------------------------------------------------------------
    def refuse_next_adjustment(self, code: str = "transaction_adjustment_amount_above_remaining_allowed",
                               detail: str = "refund refused", status: int = 400) -> None:
        self._adjustment_refusals.append(_Refusal(status, code, detail))

    def _adjustment(self, body: dict) -> dict:
        transaction = self.transactions.get(body.get("transaction_id", ""))
        if transaction is None:
            raise _Refusal(404, "transaction_not_found", "transaction not found")
        if body.get("action") != "refund" or not body.get("reason"):
            raise _Refusal(400, "invalid_field", "action refund and a reason are required")
        if transaction["status"] not in ("completed", "paid"):
            raise _Refusal(400, "transaction_not_completed", "only completed transactions can be refunded")
        if self._adjustment_refusals:
            raise self._adjustment_refusals.pop(0)
        line_items = {li["id"]: li for li in transaction["details"]["line_items"]}
        refunded = self._refunded_by_item(transaction["id"])
        items = []
        if body.get("type") == "full":
            if any(refunded.values()):
                raise _Refusal(400, "transaction_adjustment_amount_above_remaining_allowed",
                               "part of the transaction was refunded already")
            wanted = [(li_id, int(li["totals"]["total"]), "full") for li_id, li in line_items.items()]
        else:
            wanted = []
            for item in body.get("items") or []:
                line = line_items.get(item.get("item_id", ""))
                if line is None:
                    raise _Refusal(400, "invalid_field", f"unknown item {item.get('item_id')!r}")
                amount = int(item.get("amount") or line["totals"]["total"])
                if amount <= 0 or amount > int(line["totals"]["total"]) - refunded.get(line["id"], 0):
                    raise _Refusal(400, "transaction_adjustment_amount_above_remaining_allowed",
                                   "amount above what is left to refund")
                wanted.append((line["id"], amount, item.get("type", "partial")))
        if not wanted:
            raise _Refusal(400, "invalid_field", "items are required for a partial adjustment")
        total = 0
        for line_id, amount, kind in wanted:
            rate = float(line_items[line_id]["tax_rate"])
            tax = round(amount - amount / (1 + rate))
            items.append({"id": paddle_id("adjitm"), "item_id": line_id, "type": kind, "amount": str(amount),
                          "proration": None, "totals": {"subtotal": str(amount - tax), "tax": str(tax),
                                                        "total": str(amount)}})
            total += amount
        tax_total = sum(int(i["totals"]["tax"]) for i in items)
        now = _iso()
        adjustment = {
            "id": paddle_id("adj"), "action": "refund", "type": body.get("type") or "partial",
            "transaction_id": transaction["id"], "subscription_id": transaction["subscription_id"],
            "customer_id": transaction["customer_id"], "reason": body["reason"],
            "credit_applied_to_balance": None, "currency_code": transaction["currency_code"],
            "status": "pending_approval", "items": items,
            "totals": {"subtotal": str(total - tax_total), "tax": str(tax_total), "total": str(total), "fee": "0",
                       "earnings": "0", "currency_code": transaction["currency_code"], "retained_fee": "0"},
            "payout_totals": None, "created_at": now, "updated_at": now,
            "tax_rates_used": [{"tax_rate": self.tax_rate, "totals": {"subtotal": str(total - tax_total),
                                                                     "tax": str(tax_total), "total": str(total)}}],
        }
        self.adjustments[adjustment["id"]] = adjustment
        self._emit("adjustment.created", adjustment)
        return adjustment

    def _refunded_by_item(self, transaction_id: str) -> dict[str, int]:
        refunded: dict[str, int] = {}
        for adjustment in self.adjustments.values():
            if adjustment["transaction_id"] == transaction_id and adjustment["status"] in ("pending_approval", "approved"):
                for item in adjustment["items"]:
                    refunded[item["item_id"]] = refunded.get(item["item_id"], 0) + int(item["amount"])
        return refunded

    def _review(self, adjustment_id: str, status: str) -> dict:
        with self._lock:
            adjustment = self.adjustments[adjustment_id]
            adjustment["status"] = status
            self._touch(adjustment)
            self._emit("adjustment.updated", adjustment)
            return copy.deepcopy(adjustment)

    def approve_adjustment(self, adjustment_id: str) -> dict:
        return self._review(adjustment_id, "approved")

    def reject_adjustment(self, adjustment_id: str) -> dict:
        return self._review(adjustment_id, "rejected")

    def refund_in_dashboard(self, transaction_id: str, *, amount: int | None = None, reason: str = "dashboard") -> dict:
        """A refund made in Paddle's dashboard (approved at once): no request from us."""
        with self._lock:
            transaction = self.transactions[transaction_id]
            line = transaction["details"]["line_items"][0]
            body = {"action": "refund", "transaction_id": transaction_id, "reason": reason}
            if amount is None:
                body["type"] = "full"
            else:
                body.update(type="partial", items=[{"item_id": line["id"], "type": "partial", "amount": str(amount)}])
            adjustment = self._adjustment(body)
            return self._review(adjustment["id"], "approved")

    # --- server side ------------------------------------------------------------------------
    def _envelope(self, data) -> dict:
        return {"data": copy.deepcopy(data), "meta": {"request_id": str(uuid.uuid4())}}

    def _page(self, records: list[dict], path: str, query: dict[str, list[str]]) -> dict:
        per_page = min(int((query.get("per_page") or ["50"])[0]), self.max_per_page)
        after = (query.get("after") or [""])[0]
        records = sorted(records, key=lambda r: r["id"])
        if after:
            records = [r for r in records if r["id"] > after]
        page, more = records[:per_page], len(records) > per_page
        envelope = self._envelope(page)
        base_query = "&".join(f"{k}={v[0]}" for k, v in query.items() if k != "after")
        next_url = f"{self.base_url}{path}?" + (f"{base_query}&" if base_query else "") + f"after={page[-1]['id']}" if page else None
        envelope["meta"]["pagination"] = {"per_page": per_page, "next": next_url, "has_more": more,
                                          "estimated_total": len(records)}
        return envelope

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict | str]:
        parsed = json.loads(body) if body else None
        with self._lock:
            self.requests.append((method, path, parsed))
        auth = headers.get("Authorization") or ""
        if not auth:
            return self._error(_Refusal(401, "authentication_missing", "no Authorization header", "request_error"))
        if auth != f"Bearer {self.api_key}":
            return self._error(_Refusal(403, "forbidden", "the API key is not valid", "request_error"))
        if self.latency:
            time.sleep(self.latency)
        if self.fail_with is not None:
            return self.fail_with, "<html><body>upstream error</body></html>"
        split = urlsplit(path)
        parts = [unquote(p) for p in split.path.strip("/").split("/")]
        query = parse_qs(split.query)
        try:
            with self._lock:
                return self._route(method, split.path, parts, query, parsed or {})
        except _Refusal as refusal:
            return self._error(refusal)

    def _error(self, refusal: _Refusal) -> tuple[int, dict]:
        return refusal.status, {
            "error": {"type": refusal.error_type, "code": refusal.code, "detail": refusal.detail,
                      "documentation_url": f"{DOCS}/shared/{refusal.code}"},
            "meta": {"request_id": str(uuid.uuid4())},
        }

    def _route(self, method: str, path: str, parts: list[str], query, body: dict) -> tuple[int, dict]:
        resource, rest = parts[0], parts[1:]
        store = {"products": self.products, "prices": self.prices, "transactions": self.transactions,
                 "subscriptions": self.subscriptions, "adjustments": self.adjustments}.get(resource)
        if store is None:
            raise _Refusal(404, "not_found", f"no route {method} {path}")
        if not rest:
            if method == "GET":
                records = list(store.values())
                for key in ("product_id", "status", "id"):
                    if key in query:
                        wanted = set(query[key][0].split(","))
                        records = [r for r in records if r.get(key) in wanted]
                return 200, self._page(records, path, query)
            if method == "POST":
                create = {"products": self._product, "prices": self._price,
                          "adjustments": self._adjustment, "transactions": self._transaction_request}.get(resource)
                if create is None:
                    raise _Refusal(404, "not_found", f"no route {method} {path}")
                return 201, self._envelope(create(body))
        record = store.get(rest[0])
        if record is None:
            raise _Refusal(404, "not_found", f"{resource[:-1]} {rest[0]!r} not found", "request_error")
        if method == "GET" and len(rest) == 1:
            included = dict(record)
            if resource == "transactions" and "adjustment" in (query.get("include") or [""])[0].split(","):
                included["adjustments"] = [a for a in self.adjustments.values() if a["transaction_id"] == record["id"]]
            return 200, self._envelope(included)
        if method == "PATCH" and len(rest) == 1 and resource in ("prices", "products"):
            for key in ("status", "description", "name", "custom_data"):
                if key in body:
                    record[key] = body[key]
            self._touch(record)
            return 200, self._envelope(record)
        if method == "GET" and resource == "transactions" and rest[1:] == ["invoice"]:
            if record["status"] not in ("billed", "paid", "completed"):
                raise _Refusal(400, "transaction_invoice_not_available", "the transaction has no invoice yet")
            return 200, self._envelope({"url": f"{self.base_url}/invoices/{record['invoice_id']}.pdf"})
        if method == "POST" and resource == "subscriptions" and rest[1:] == ["cancel"]:
            effective = body.get("effective_from") or "next_billing_period"
            return 200, self._envelope(self._cancel(record, effective_from=effective))
        raise _Refusal(404, "not_found", f"no route {method} {path}")

    def _transaction_request(self, body: dict) -> dict:
        if not body.get("items"):
            raise _Refusal(400, "invalid_field", "items are required")
        transaction = self._transaction(items=body["items"], custom_data=body.get("custom_data"),
                                        customer_id=body.get("customer_id"))
        transaction["status"] = "ready" if transaction["customer_id"] else "draft"
        self._emit("transaction.created", transaction)
        return transaction


class _Handler(BaseHTTPRequestHandler):
    paddle: FakePaddle
    protocol_version = "HTTP/1.1"

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload = self.paddle.handle(method, self.path, self.headers, body)
        if isinstance(payload, str):
            data, content_type = payload.encode(), "text/html"
        else:
            data, content_type = json.dumps(payload).encode(), "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting (a timeout test): Paddle's decision stands

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def log_message(self, format, *args) -> None:  # quiet: tests read self.paddle.requests
        pass
