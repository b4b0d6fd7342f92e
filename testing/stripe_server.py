"""A loopback Stripe API for tests and the test checkout, and a signer for Stripe's webhooks.

`FakeStripe` is a small threaded http.server on 127.0.0.1 (random port) that speaks the parts of
Stripe's REST API billing calls through the `stripe` package (pointed at it by its `api` base
address): form-encoded request bodies with Stripe's bracketed nesting (`line_items[0][price_data]
[currency]=usd`), `Authorization: Bearer sk_...`, `Idempotency-Key` replays (the same key with
other parameters is refused, as Stripe does), `expand[]`, JSON objects with Stripe's field names,
and errors as Stripe sends them: `{"error": {"type", "code", "message", "param"}}` with its
statuses (400 invalid_request_error, 401 authentication, 404 resource_missing).

    POST /v1/checkout/sessions                 -> a Checkout Session (mode payment or subscription)
    GET  /v1/checkout/sessions/{id}            -> the session (expand payment_intent[.latest_charge],
                                                  subscription, invoice)
    POST /v1/checkout/sessions/{id}/expire     -> the session, expired
    GET  /v1/payment_intents/{id}              -> a PaymentIntent
    POST /v1/refunds, GET /v1/refunds          -> a Refund; the refunds of a payment_intent
    POST /v1/billing_portal/sessions           -> a customer portal session ({url})
    GET  /v1/subscriptions/{id}, POST (update: cancel_at_period_end), DELETE (cancel now)
    GET  /v1/invoices/{id}

What the buyer and Stripe do outside the API is scripted: `pay(session_id)` (the buyer pays on
Stripe's page: a PaymentIntent and its Charge, or for a subscription a Customer, Subscription and
paid Invoice), `expire(session_id)`, `renew(subscription_id)` (Stripe's own renewal: a new paid
invoice), `refund_in_dashboard(...)`, `fail_refund_later(refund_id)`. Each returns the events
Stripe would send; `event_body(...)` and `sign(...)` make a delivery exactly as Stripe documents
it: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the whsec_
secret>`, which `stripe.Webhook.construct_event` verifies.

Faults: `fail_with = 503` answers every request so; `latency` (seconds) answers that much later,
after the request took effect (a timeout whose work was done); `fail_next_refund(...)` refuses the
next refund as Stripe refuses one; `refund_pending = True` answers refunds `pending` (settled later
by `settle_refund`).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

API_VERSION = "2026-10-28.endive"


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


def make_webhook_secret() -> str:
    """A signing secret as Stripe's dashboard shows it: "whsec_" + random characters."""
    return "whsec_" + secrets.token_urlsafe(24)


def sign(secret: str, body: str, *, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `body`, as Stripe signs a webhook delivery."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def event_body(event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None) -> str:
    """A webhook delivery's body: an Event object as Stripe sends it (snapshot payload)."""
    return json.dumps({
        "id": event_id or _id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": created or int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    })


def form_decode(body: str) -> dict:
    """Stripe's form encoding back into nested dicts and lists (a[b][0][c]=v)."""
    result: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node = result
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                if part == "[]":
                    node.setdefault("__list__", []).append(value)
                else:
                    node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(result)


def _lists(node):
    if isinstance(node, dict):
        if set(node) == {"__list__"}:
            return node["__list__"]
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.body = status, {"error": {
            "type": type_, "message": message, **({"code": code} if code else {}),
            **({"param": param} if param else {})}}


def _missing(kind: str, ident: str, param: str = "id") -> StripeError:
    return StripeError(404, "invalid_request_error", f"No such {kind}: '{ident}'", code="resource_missing", param=param)


class FakeStripe:
    def __init__(self, *, api_key: str = "sk_test_onevoice", checkout_url_base: str = "https://checkout.stripe.test/c/pay/"):
        self.api_key = api_key
        self.webhook_secret = make_webhook_secret()
        self.checkout_url_base = checkout_url_base
        self.sessions: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.fail_with: int | None = None
        self.latency = 0.0
        self.refund_pending = False
        self._refund_failures: list[StripeError] = []
        self._idempotent: dict[str, tuple[str, int, dict]] = {}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> str:
        fake = self

        class Handler(_Handler):
            stripe = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-stripe", daemon=True).start()
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def session_posts(self) -> list[dict]:
        """The Checkout Session creations that reached Stripe (replays included)."""
        return [body for method, path, body in self.requests if method == "POST" and path == "/v1/checkout/sessions"]

    # --- what the buyer and Stripe do outside the API -----------------------------------------------
    def pay(self, session_id: str) -> list[str]:
        """The buyer pays on Stripe's page. Returns the event bodies Stripe would deliver."""
        with self._lock:
            session = self.sessions[session_id]
            if session["status"] != "open":
                raise ValueError(f"session {session_id} is {session['status']}")
            now = int(time.time())
            customer = session["customer"] or self._customer(email=session.get("customer_email"))["id"]
            session.update(status="complete", payment_status="paid", customer=customer)
            events = []
            if session["mode"] == "subscription":
                subscription = self._subscription_start(session, customer=customer, now=now)
                session["subscription"] = subscription["id"]
                session["invoice"] = subscription["latest_invoice"]
                events.append(event_body("checkout.session.completed", copy.deepcopy(session)))
                events.append(event_body("customer.subscription.created", copy.deepcopy(subscription)))
                events.append(event_body("invoice.paid", copy.deepcopy(self.invoices[subscription["latest_invoice"]])))
                return events
            intent = self._payment_intent(amount=session["amount_total"], currency=session["currency"],
                                          customer=customer, metadata=session["_intent_metadata"], now=now)
            session["payment_intent"] = intent["id"]
            events.append(event_body("checkout.session.completed", copy.deepcopy(session)))
            events.append(event_body("payment_intent.succeeded", copy.deepcopy(intent)))
            return events

    def expire(self, session_id: str) -> list[str]:
        with self._lock:
            session = self.sessions[session_id]
            session["status"] = "expired"
            session["url"] = None
            return [event_body("checkout.session.expired", copy.deepcopy(session))]

    def refund_in_dashboard(self, payment_intent: str, *, amount: int | None = None) -> list[str]:
        """The merchant refunds in Stripe's dashboard: no request from us."""
        with self._lock:
            refund = self._refund(payment_intent, amount=amount, reason="requested_by_customer", metadata={})
            charge = self.charges[self.payment_intents[payment_intent]["latest_charge"]]
            return [event_body("charge.refunded", copy.deepcopy(charge)),
                    event_body("refund.created", copy.deepcopy(refund))]

    def fail_next_refund(self, message: str = "This charge is disputed and cannot be refunded.",
                         code: str = "charge_disputed") -> None:
        self._refund_failures.append(StripeError(400, "invalid_request_error", message, code=code))

    def settle_refund(self, refund_id: str, *, status: str = "succeeded") -> list[str]:
        """A pending refund is decided by the card network: succeeded, or failed (money back)."""
        with self._lock:
            refund = self.refunds[refund_id]
            changed, refund["status"] = refund["status"] != status, status
            charge = self.charges[refund["charge"]]
            if status == "failed":
                if not changed:
                    return [event_body("refund.failed", copy.deepcopy(refund))]
                refund["failure_reason"] = "charge_for_pending_refund_disputed"
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
                return [event_body("refund.failed", copy.deepcopy(refund))]
            return [event_body("refund.updated", copy.deepcopy(refund))]

    def renew(self, subscription_id: str) -> list[str]:
        """Stripe renews a subscription itself: the next period, its invoice paid."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            item = subscription["items"]["data"][0]
            start = item["current_period_end"]
            end = start + 30 * 86400
            item.update(current_period_start=start, current_period_end=end)
            invoice = self._invoice(subscription, start=start, end=end, reason="subscription_cycle")
            subscription["latest_invoice"] = invoice["id"]
            return [event_body("invoice.paid", copy.deepcopy(invoice)),
                    event_body("customer.subscription.updated", copy.deepcopy(subscription))]

    # --- objects -----------------------------------------------------------------------------------
    def _customer(self, *, email: str | None) -> dict:
        customer = {"id": _id("cus"), "object": "customer", "email": email, "created": int(time.time()),
                    "livemode": False, "metadata": {}}
        self.customers[customer["id"]] = customer
        return customer

    def _payment_intent(self, *, amount: int, currency: str, customer: str | None, metadata: dict, now: int) -> dict:
        intent_id, charge_id = _id("pi"), _id("ch")
        charge = {"id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount,
                  "amount_refunded": 0, "currency": currency, "customer": customer, "paid": True,
                  "captured": True, "refunded": False, "status": "succeeded", "payment_intent": intent_id,
                  "receipt_url": f"https://pay.stripe.test/receipts/{charge_id}", "created": now,
                  "livemode": False, "metadata": dict(metadata)}
        intent = {"id": intent_id, "object": "payment_intent", "amount": amount, "amount_received": amount,
                  "currency": currency, "customer": customer, "status": "succeeded", "latest_charge": charge_id,
                  "metadata": dict(metadata), "created": now, "livemode": False}
        self.charges[charge_id] = charge
        self.payment_intents[intent_id] = intent
        return intent

    def _subscription_start(self, session: dict, *, customer: str, now: int) -> dict:
        line = session["_line_items"][0]
        price = line["price_data"]
        end = now + 30 * 86400
        subscription = {
            "id": _id("sub"), "object": "subscription", "customer": customer, "status": "active",
            "cancel_at_period_end": False, "canceled_at": None, "ended_at": None, "created": now,
            "metadata": dict(session.get("_subscription_metadata") or {}), "livemode": False,
            "currency": price["currency"],
            "items": {"object": "list", "data": [{
                "id": _id("si"), "object": "subscription_item", "quantity": 1,
                "current_period_start": now, "current_period_end": end,
                "price": {"id": _id("price"), "object": "price", "currency": price["currency"],
                          "unit_amount": int(price["unit_amount"]), "recurring": {"interval": "month"},
                          "product_data": price.get("product_data")}}]},
        }
        self.subscriptions[subscription["id"]] = subscription
        invoice = self._invoice(subscription, start=now, end=end, reason="subscription_create")
        subscription["latest_invoice"] = invoice["id"]
        return subscription

    def _invoice(self, subscription: dict, *, start: int, end: int, reason: str) -> dict:
        price = subscription["items"]["data"][0]["price"]
        intent = self._payment_intent(amount=price["unit_amount"], currency=price["currency"],
                                      customer=subscription["customer"], metadata={}, now=start)
        invoice = {
            "id": _id("in"), "object": "invoice", "customer": subscription["customer"], "status": "paid",
            "amount_due": price["unit_amount"], "amount_paid": price["unit_amount"], "currency": price["currency"],
            "billing_reason": reason, "period_start": start, "period_end": start, "created": start,
            "status_transitions": {"paid_at": int(time.time())},
            "hosted_invoice_url": "https://invoice.stripe.test/i/" + secrets.token_hex(8),
            "parent": {"type": "subscription_details", "subscription_details": {
                "subscription": subscription["id"], "metadata": dict(subscription["metadata"])}},
            "lines": {"object": "list", "data": [{"object": "line_item", "amount": price["unit_amount"],
                                                  "period": {"start": start, "end": end}}]},
            "payments": {"object": "list", "data": [{"object": "invoice_payment", "payment": {
                "type": "payment_intent", "payment_intent": intent["id"]}}]},
            "livemode": False,
        }
        self.invoices[invoice["id"]] = invoice
        return invoice

    def _refund(self, payment_intent: str, *, amount: int | None, reason: str | None, metadata: dict) -> dict:
        intent = self.payment_intents.get(payment_intent)
        if intent is None:
            raise _missing("payment_intent", payment_intent, "payment_intent")
        charge = self.charges[intent["latest_charge"]]
        left = charge["amount"] - charge["amount_refunded"]
        if left <= 0:
            raise StripeError(400, "invalid_request_error",
                              f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
        amount = left if amount is None else amount
        if amount > left:
            raise StripeError(400, "invalid_request_error",
                              f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                              code="amount_too_large", param="amount")
        refund = {"id": _id("re"), "object": "refund", "amount": amount, "currency": charge["currency"],
                  "charge": charge["id"], "payment_intent": payment_intent, "reason": reason,
                  "metadata": dict(metadata), "status": "succeeded", "created": int(time.time())}
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        return refund

    # --- server side -------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers, body: bytes) -> tuple[int, dict | str]:
        split = urlsplit(target)
        params = form_decode(split.query if method in ("GET", "DELETE") else body.decode())
        with self._lock:
            self.requests.append((method, split.path, params))
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"error": {"type": "invalid_request_error",
                                   "message": "Invalid API Key provided: " + (headers.get("Authorization") or "")[-4:]}}
        if self.fail_with is not None:
            return self.fail_with, {"error": {"type": "api_error", "message": "An unknown error occurred."}}
        key = headers.get("Idempotency-Key") if method == "POST" else None
        with self._lock:
            if key and key in self._idempotent:
                fingerprint, status, answer = self._idempotent[key]
                if fingerprint != f"{split.path} {json.dumps(params, sort_keys=True)}":
                    return 400, {"error": {"type": "idempotency_error", "message":
                                           "Keys for idempotent requests can only be used with the same parameters "
                                           "they were first used with."}}
                return status, copy.deepcopy(answer)
            try:
                status, answer = 200, self._route(method, split.path, params)
            except StripeError as error:
                status, answer = error.status, error.body
            if key:
                self._idempotent[key] = (f"{split.path} {json.dumps(params, sort_keys=True)}", status, copy.deepcopy(answer))
        if self.latency:
            time.sleep(self.latency)  # done, but the answer comes late
        return status, answer

    def _route(self, method: str, path: str, params: dict) -> dict:
        parts = path.strip("/").split("/")[1:]  # without "v1"
        if parts == ["checkout", "sessions"] and method == "POST":
            return self._session_create(params)
        if parts[:2] == ["checkout", "sessions"] and len(parts) >= 3:
            session = self.sessions.get(parts[2])
            if session is None:
                raise _missing("checkout.session", parts[2], "session")
            if len(parts) == 4 and parts[3] == "expire" and method == "POST":
                if session["status"] != "open":
                    raise StripeError(400, "invalid_request_error",
                                      f"Only Checkout Sessions with a status in [\"open\"] can be expired. This "
                                      f"Checkout Session has a status of \"{session['status']}\".",
                                      code="checkout_session_not_open")
                session["status"], session["url"] = "expired", None
            return self._expand(self._public(session), params.get("expand") or [])
        if parts[:1] == ["payment_intents"] and len(parts) == 2:
            intent = self.payment_intents.get(parts[1])
            if intent is None:
                raise _missing("payment_intent", parts[1], "intent")
            return self._expand(copy.deepcopy(intent), params.get("expand") or [])
        if parts == ["refunds"] and method == "POST":
            return self._refund_create(params)
        if parts == ["refunds"] and method == "GET":
            data = [copy.deepcopy(r) for r in self.refunds.values()
                    if r["payment_intent"] == params.get("payment_intent")]
            data.sort(key=lambda r: r["created"], reverse=True)
            return {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        if parts == ["billing_portal", "sessions"] and method == "POST":
            if params.get("customer") not in self.customers:
                raise _missing("customer", str(params.get("customer")), "customer")
            return {"id": _id("bps"), "object": "billing_portal.session", "customer": params["customer"],
                    "return_url": params.get("return_url"), "created": int(time.time()), "livemode": False,
                    "url": f"https://billing.stripe.test/p/session/{secrets.token_hex(8)}"}
        if parts[:1] == ["subscriptions"] and len(parts) == 2:
            subscription = self.subscriptions.get(parts[1])
            if subscription is None:
                raise _missing("subscription", parts[1])
            if method == "POST" and "cancel_at_period_end" in params:
                subscription["cancel_at_period_end"] = params["cancel_at_period_end"] == "true"
            elif method == "DELETE":
                subscription.update(status="canceled", canceled_at=int(time.time()), ended_at=int(time.time()))
            return copy.deepcopy(subscription)
        if parts[:1] == ["invoices"] and len(parts) == 2:
            invoice = self.invoices.get(parts[1])
            if invoice is None:
                raise _missing("invoice", parts[1], "invoice")
            return copy.deepcopy(invoice)
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _session_create(self, params: dict) -> dict:
        mode = params.get("mode")
        if mode not in ("payment", "subscription"):
            raise StripeError(400, "invalid_request_error", "Missing required param: mode.", code="parameter_missing",
                              param="mode")
        lines = params.get("line_items") or []
        if not lines or not params.get("success_url"):
            missing = "line_items" if not lines else "success_url"
            raise StripeError(400, "invalid_request_error", f"Missing required param: {missing}.",
                              code="parameter_missing", param=missing)
        price = lines[0].get("price_data") or {}
        if mode == "subscription" and not (price.get("recurring") or {}).get("interval"):
            raise StripeError(400, "invalid_request_error", "You must specify `recurring` in `price_data` "
                              "when using subscription mode.", param="line_items[0][price_data][recurring]")
        amount = int(price.get("unit_amount") or 0) * int(lines[0].get("quantity") or 1)
        session_id = "cs_test_" + secrets.token_hex(24)
        now = int(time.time())
        session = {
            "id": session_id, "object": "checkout.session", "mode": mode, "status": "open",
            "payment_status": "unpaid", "amount_total": amount, "amount_subtotal": amount,
            "currency": (price.get("currency") or "").lower(),
            "client_reference_id": params.get("client_reference_id"),
            "customer": params.get("customer"), "customer_email": params.get("customer_email"),
            "metadata": dict(params.get("metadata") or {}), "payment_intent": None, "subscription": None,
            "invoice": None, "success_url": params["success_url"], "cancel_url": params.get("cancel_url"),
            "url": self.checkout_url_base + session_id, "created": now,
            "expires_at": int(params.get("expires_at") or now + 86400), "livemode": False, "locale": params.get("locale"),
            "_line_items": lines,
            "_intent_metadata": dict((params.get("payment_intent_data") or {}).get("metadata") or {}),
            "_subscription_metadata": dict((params.get("subscription_data") or {}).get("metadata") or {}),
        }
        self.sessions[session_id] = session
        return self._public(session)

    def _refund_create(self, params: dict) -> dict:
        target = params.get("payment_intent")
        if not target:
            raise StripeError(400, "invalid_request_error", "One of the following params should be provided for "
                              "this request: payment_intent or charge.", code="parameter_missing")
        if self._refund_failures:
            raise self._refund_failures.pop(0)
        refund = self._refund(target, amount=int(params["amount"]) if params.get("amount") else None,
                              reason=params.get("reason"), metadata=params.get("metadata") or {})
        if self.refund_pending:
            refund["status"] = "pending"
        return copy.deepcopy(refund)

    @staticmethod
    def _public(session: dict) -> dict:
        return {k: copy.deepcopy(v) for k, v in session.items() if not k.startswith("_")}

    def _expand(self, obj: dict, expand: list[str]) -> dict:
        for path in expand:
            node, steps = obj, path.split(".")
            for i, step in enumerate(steps):
                value = node.get(step) if isinstance(node, dict) else None
                if isinstance(value, str):
                    store = {"payment_intent": self.payment_intents, "latest_charge": self.charges,
                             "subscription": self.subscriptions, "invoice": self.invoices,
                             "latest_invoice": self.invoices, "customer": self.customers}.get(step)
                    if store is not None and value in store:
                        node[step] = copy.deepcopy(store[value])
                        value = node[step]
                node = value
                if node is None:
                    break
        return obj


class _Handler(BaseHTTPRequestHandler):
    stripe: FakeStripe
    protocol_version = "HTTP/1.1"

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload = self.stripe.handle(method, self.path, self.headers, body)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(7))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting: what it asked for was done regardless

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format, *args) -> None:  # quiet: tests read self.stripe.requests
        pass
