"""A loopback PortOne V2 API for tests, and a signer for PortOne webhook deliveries.

`FakePortOne` is a small threaded http.server on 127.0.0.1 (random port) that answers the
endpoints billing calls through `portone_server_sdk.PaymentClient`:

    GET    /payments/{paymentId}              -> a Payment (PAID, VIRTUAL_ACCOUNT_ISSUED, CANCELLED, ...)
    POST   /payments/{paymentId}/cancel       -> {"cancellation": SucceededPaymentCancellation}
    POST   /payments/{paymentId}/billing-key  -> {"payment": {"pgTxId", "paidAt"}} (payWithBillingKey)
    GET    /billing-keys/{billingKey}         -> IssuedBillingKeyInfo / DeletedBillingKeyInfo
    DELETE /billing-keys/{billingKey}         -> {"deletedAt"}

Billing keys are issued by `issue_billing_key` (what the browser SDK's `requestIssueBillingKey`
and the card company do). A billing-key payment is recorded as PAID (or FAILED when declined)
under its paymentId, so `GET /payments/{paymentId}` afterwards tells what happened: a second
request with a paid paymentId answers ALREADY_PAID and charges nothing, as PortOne does.

The JSON follows the field names and required keys of the SDK's models (paid_payment.py,
cancelled_payment.py, partial_cancelled_payment.py, virtual_account_issued_payment.py,
succeeded_payment_cancellation.py, payment_amount.py, selected_channel.py, ...), so the real SDK
deserializes it into the same classes it would for api.portone.io. Requests must carry
`Authorization: PortOne <api secret>`; errors come back as PortOne's `{"type", "message"}` bodies.

Faults: `fail_with = 503` answers every request with that status, `stop()` makes the address
unreachable, `latency` (seconds) delays every answer, `decline_billing_key(key)` makes the card
company refuse every charge on that key (PG_PROVIDER, the payment recorded FAILED),
`hold_next_billing_key_payment()` charges the next billing-key payment and keeps the answer until
the test releases it (the process that asked can be killed after PortOne charged), `fail_next_cancel(...)` makes cancellations fail the way a PG refusal does, and
`hold_next_cancel()` keeps the next cancel request unanswered until the test releases it (a slow
PG: the process that asked can be killed meanwhile, and PortOne still decides afterwards).

`sign_webhook` produces the Standard Webhooks headers (webhook-id, webhook-timestamp,
webhook-signature: "v1,<base64 HMAC-SHA256 of id.timestamp.body>") that
`portone_server_sdk.webhook.verify` checks, from a `whsec_<base64>` secret.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_webhook_secret() -> str:
    """A secret in the format PortOne's console shows: "whsec_" + base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign_webhook(
    secret: str, body: str, *, webhook_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """Headers for a webhook delivery of `body`, signed as PortOne (Standard Webhooks) signs it."""
    raw_secret = base64.b64decode(secret.removeprefix("whsec_"))
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(raw_secret, f"{webhook_id}.{ts}.{body}".encode(), hashlib.sha256).digest()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


def webhook_body(
    event_type: str, *, payment_id: str, store_id: str, cancellation_id: str | None = None
) -> str:
    """A webhook payload as PortOne sends it (webhook version 2024-04-25)."""
    data = {"paymentId": payment_id, "storeId": store_id, "transactionId": f"tx-{payment_id}"}
    if cancellation_id is not None:
        data["cancellationId"] = cancellation_id
    return json.dumps({"type": event_type, "timestamp": _now(), "data": data})


@dataclass
class CancelHold:
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    decided: threading.Event = field(default_factory=threading.Event)


class FakePortOne:
    def __init__(self, *, api_secret: str, store_id: str = "store-00000000-test"):
        self.api_secret = api_secret
        self.store_id = store_id
        self.payments: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict | None]] = []
        self.fail_with: int | None = None
        self._cancel_failures: list[tuple[int, dict]] = []
        self._cancel_holds: list[CancelHold] = []
        self.billing_keys: dict[str, dict] = {}
        self.declined_keys: dict[str, str] = {}  # billing key -> the card company's reason
        self._charge_holds: list[CancelHold] = []
        self.latency = 0.0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> str:
        fake = self

        class Handler(_Handler):
            portone = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-portone", daemon=True)
        self._thread.start()
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
        """An address where nothing listens (a port bound and released again)."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    # --- scripting payment states (what the browser SDK and the PG would have done) ---------
    def _base(self, payment_id: str, *, amount: int, currency: str, order_name: str, status: str) -> dict:
        now = _now()
        return {
            "status": status,
            "id": payment_id,
            "transactionId": f"tx-{uuid.uuid4().hex[:20]}",
            "merchantId": "merchant-00000000-test",
            "storeId": self.store_id,
            "version": "V2",
            "requestedAt": now,
            "updatedAt": now,
            "statusChangedAt": now,
            "orderName": order_name,
            "amount": {
                "total": amount,
                "taxFree": 0,
                "vat": amount // 11,
                "supply": amount - amount // 11,
                "discount": 0,
                "paid": 0,
                "cancelled": 0,
                "cancelledTaxFree": 0,
            },
            "currency": currency,
            "customer": {},
            "origin": {"platformType": "PC", "ipAddress": "127.0.0.1"},
            "method": {"type": "PaymentMethodCard"},
            "disputes": [],
        }

    @staticmethod
    def _channel(channel_type: str) -> dict:
        return {
            "type": channel_type,
            "id": "channel-id-test",
            "key": "channel-key-test",
            "name": "test channel",
            "pgProvider": "INICIS_V2",
            "pgMerchantId": "INIpayTest",
        }

    def set_paid(
        self,
        payment_id: str,
        *,
        amount: int,
        currency: str = "KRW",
        order_name: str = "credits",
        channel_type: str = "LIVE",
    ) -> dict:
        payment = self._base(
            payment_id, amount=amount, currency=currency, order_name=order_name, status="PAID"
        )
        payment["channel"] = self._channel(channel_type)
        payment["amount"]["paid"] = amount
        payment["paidAt"] = payment["updatedAt"]
        payment["pgTxId"] = f"pg-{uuid.uuid4().hex[:12]}"
        payment["receiptUrl"] = f"https://receipt.example/{payment_id}"
        payment["cancellations"] = []
        with self._lock:
            self.payments[payment_id] = payment
        return payment

    def set_virtual_account_issued(
        self, payment_id: str, *, amount: int, currency: str = "KRW", order_name: str = "credits"
    ) -> dict:
        payment = self._base(
            payment_id,
            amount=amount,
            currency=currency,
            order_name=order_name,
            status="VIRTUAL_ACCOUNT_ISSUED",
        )
        payment["channel"] = self._channel("LIVE")
        payment["method"] = {
            "type": "PaymentMethodVirtualAccount",
            "bank": "SHINHAN",
            "accountNumber": "56211105948400",
            "accountType": "NORMAL",
            "remitteeName": "OneVoice",
            "expiredAt": _now(),
        }
        with self._lock:
            self.payments[payment_id] = payment
        return payment

    def set_ready(
        self, payment_id: str, *, amount: int, currency: str = "KRW", order_name: str = "credits"
    ) -> dict:
        payment = self._base(
            payment_id, amount=amount, currency=currency, order_name=order_name, status="READY"
        )
        del payment["method"]
        with self._lock:
            self.payments[payment_id] = payment
        return payment

    def set_failed(
        self, payment_id: str, *, amount: int, currency: str = "KRW", order_name: str = "credits"
    ) -> dict:
        payment = self._base(
            payment_id, amount=amount, currency=currency, order_name=order_name, status="FAILED"
        )
        payment["channel"] = self._channel("LIVE")
        payment["failedAt"] = payment["updatedAt"]
        payment["failure"] = {"reason": "Card declined", "pgCode": "V801", "pgMessage": "card declined"}
        with self._lock:
            self.payments[payment_id] = payment
        return payment

    def cancel_in_console(
        self, payment_id: str, *, amount: int | None = None, reason: str = "console"
    ) -> dict:
        """A merchant cancels (part of) a payment in PortOne's console: no request from us."""
        with self._lock:
            return self._cancel(payment_id, amount=amount, reason=reason)

    def fail_next_cancel(self, status: int = 502, body: dict | None = None) -> None:
        self._cancel_failures.append(
            (
                status,
                body
                or {
                    "type": "PG_PROVIDER",
                    "message": "PG사에서 오류가 발생했습니다.",
                    "pgCode": "E999",
                    "pgMessage": "refund refused by the card company",
                },
            )
        )

    def hold_next_cancel(self) -> CancelHold:
        """The next cancel request sets `arrived`, waits for `release`, then PortOne decides it
        (a cancellation, or the failure `fail_next_cancel` queued) and sets `decided`."""
        hold = CancelHold()
        with self._lock:
            self._cancel_holds.append(hold)
        return hold

    def get(self, payment_id: str) -> dict:
        with self._lock:
            return copy.deepcopy(self.payments[payment_id])

    # --- billing keys (what requestIssueBillingKey and the card company do) ------------------
    def issue_billing_key(
        self,
        *,
        customer_id: str,
        issue_id: str | None = None,
        issue_name: str = "",
        channel_type: str = "LIVE",
        card_number: str = "5365-****-****-1234",
    ) -> str:
        """A billing key issued through the browser SDK for `customer_id`; returns the key."""
        billing_key = f"billing-key-{uuid.uuid4()}"
        now = _now()
        info = {
            "status": "ISSUED",
            "billingKey": billing_key,
            "merchantId": "merchant-00000000-test",
            "storeId": self.store_id,
            "methods": [
                {
                    "type": "BillingKeyPaymentMethodCard",
                    "card": {"publisher": "SHINHAN", "issuer": "SHINHAN", "brand": "MASTER",
                             "type": "CREDIT", "ownerType": "PERSONAL", "bin": "53651234",
                             "name": "Shinhan card", "number": card_number},
                }
            ],
            "channels": [self._channel(channel_type)],
            "customer": {"id": customer_id},
            "issuedAt": now,
            "requestedAt": now,
        }
        if issue_id is not None:
            info["issueId"] = issue_id
        if issue_name:
            info["issueName"] = issue_name
        with self._lock:
            self.billing_keys[billing_key] = info
        return billing_key

    def decline_billing_key(self, billing_key: str, reason: str = "Insufficient funds") -> None:
        with self._lock:
            self.declined_keys[billing_key] = reason

    def accept_billing_key(self, billing_key: str) -> None:
        with self._lock:
            self.declined_keys.pop(billing_key, None)

    def delete_billing_key_in_console(self, billing_key: str) -> None:
        with self._lock:
            info = self.billing_keys[billing_key]
            info["status"] = "DELETED"
            info["deletedAt"] = _now()

    def hold_next_billing_key_payment(self) -> CancelHold:
        """The next billing-key payment is charged, then sets `arrived` and waits for `release`
        before answering (`decided` once answered): PortOne charged, the caller has no answer."""
        hold = CancelHold()
        with self._lock:
            self._charge_holds.append(hold)
        return hold

    def charges(self, *, status: str = "PAID") -> list[dict]:
        """The billing-key payments in `status`, as PortOne holds them."""
        with self._lock:
            return [copy.deepcopy(p) for p in self.payments.values()
                    if p.get("billingKey") and p["status"] == status]

    # --- server side ------------------------------------------------------------------------
    def _cancel(self, payment_id: str, *, amount: int | None, reason: str) -> dict:
        payment = self.payments[payment_id]
        cancellable = payment["amount"]["total"] - payment["amount"]["cancelled"]
        amount = cancellable if amount is None else amount
        now = _now()
        cancellation = {
            "status": "SUCCEEDED",
            "id": f"cancel-{uuid.uuid4().hex[:16]}",
            "pgCancellationId": f"pgc-{uuid.uuid4().hex[:12]}",
            "totalAmount": amount,
            "taxFreeAmount": 0,
            "vatAmount": amount // 11,
            "reason": reason,
            "cancelledAt": now,
            "requestedAt": now,
            "trigger": "API",
        }
        payment["amount"]["cancelled"] += amount
        payment["cancellations"] = [*payment.get("cancellations", []), cancellation]
        payment["status"] = (
            "CANCELLED"
            if payment["amount"]["cancelled"] >= payment["amount"]["total"]
            else "PARTIAL_CANCELLED"
        )
        payment["cancelledAt"] = now
        payment["updatedAt"] = now
        payment["statusChangedAt"] = now
        payment.pop("pgResponse", None)
        return cancellation

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict | str]:
        parsed = json.loads(body) if body else None
        with self._lock:
            self.requests.append((method, path, parsed))
        if headers.get("Authorization") != f"PortOne {self.api_secret}":
            return 401, {"type": "UNAUTHORIZED", "message": "인증 정보가 올바르지 않습니다."}
        if self.latency:
            time.sleep(self.latency)
        if self.fail_with is not None:
            return self.fail_with, "<html><body>upstream error</body></html>"
        parts = [unquote(p) for p in urlsplit(path).path.strip("/").split("/")]
        if parts[0] == "billing-keys":
            return self._route_billing_key(method, path, parts)
        if method == "POST" and parts[2:] == ["billing-key"]:
            return self._pay_with_billing_key(parts[1], parsed or {})
        hold = None
        if method == "POST" and parts[2:] == ["cancel"]:
            with self._lock:
                hold = self._cancel_holds.pop(0) if self._cancel_holds else None
            if hold is not None:
                hold.arrived.set()
                hold.release.wait(timeout=60)
        try:
            return self._route(method, path, parts, parsed)
        finally:
            if hold is not None:
                hold.decided.set()

    def _route(self, method: str, path: str, parts: list[str], parsed) -> tuple[int, dict | str]:
        if len(parts) < 2 or parts[0] != "payments":
            return 404, {"type": "INVALID_REQUEST", "message": f"no route {path}"}
        payment_id = parts[1]
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                return 404, {"type": "PAYMENT_NOT_FOUND", "message": "결제 건이 존재하지 않습니다."}
            if method == "GET" and len(parts) == 2:
                return 200, copy.deepcopy(payment)
            if method == "POST" and parts[2:] == ["cancel"]:
                return self._handle_cancel(payment, parsed or {})
        return 404, {"type": "INVALID_REQUEST", "message": f"no route {method} {path}"}

    def _handle_cancel(self, payment: dict, body: dict) -> tuple[int, dict]:
        if payment["status"] == "CANCELLED":
            return 409, {"type": "PAYMENT_ALREADY_CANCELLED", "message": "이미 취소된 결제 건입니다."}
        if payment["status"] not in ("PAID", "PARTIAL_CANCELLED"):
            return 409, {"type": "PAYMENT_NOT_PAID", "message": "결제가 완료되지 않았습니다."}
        if not body.get("reason"):
            return 400, {"type": "INVALID_REQUEST", "message": "reason is required"}
        cancellable = payment["amount"]["total"] - payment["amount"]["cancelled"]
        current = body.get("currentCancellableAmount")
        if current is not None and current != cancellable:
            return 409, {
                "type": "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
                "message": "취소 가능 잔액 검증에 실패했습니다.",
            }
        amount = body.get("amount", cancellable)
        if amount > cancellable:
            return 409, {
                "type": "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
                "message": "결제 취소 금액이 취소 가능 금액을 초과했습니다.",
            }
        if self._cancel_failures:
            return self._cancel_failures.pop(0)
        cancellation = self._cancel(payment["id"], amount=amount, reason=body["reason"])
        return 200, {"cancellation": cancellation}


    def _route_billing_key(self, method: str, path: str, parts: list[str]) -> tuple[int, dict]:
        if len(parts) != 2:
            return 404, {"type": "INVALID_REQUEST", "message": f"no route {method} {path}"}
        with self._lock:
            info = self.billing_keys.get(parts[1])
            if info is None:
                return 404, {"type": "BILLING_KEY_NOT_FOUND", "message": "빌링키가 존재하지 않습니다."}
            if method == "GET":
                return 200, copy.deepcopy(info)
            if method == "DELETE":
                if info["status"] == "DELETED":
                    return 409, {"type": "BILLING_KEY_ALREADY_DELETED", "message": "이미 삭제된 빌링키입니다."}
                info["status"] = "DELETED"
                info["deletedAt"] = _now()
                return 200, {"deletedAt": info["deletedAt"]}
        return 404, {"type": "INVALID_REQUEST", "message": f"no route {method} {path}"}

    def _pay_with_billing_key(self, payment_id: str, body: dict) -> tuple[int, dict]:
        billing_key = body.get("billingKey")
        amount = (body.get("amount") or {}).get("total")
        if not billing_key or not isinstance(amount, int) or not body.get("orderName") or not body.get("currency"):
            return 400, {"type": "INVALID_REQUEST", "message": "billingKey, orderName, amount.total and currency are required"}
        with self._lock:
            existing = self.payments.get(payment_id)
            if existing is not None and existing["status"] not in ("FAILED", "READY"):
                return 409, {"type": "ALREADY_PAID", "message": "이미 결제가 완료되었습니다."}
            info = self.billing_keys.get(billing_key)
            if info is None:
                return 404, {"type": "BILLING_KEY_NOT_FOUND", "message": "빌링키가 존재하지 않습니다."}
            if info["status"] == "DELETED":
                return 409, {"type": "BILLING_KEY_ALREADY_DELETED", "message": "이미 삭제된 빌링키입니다."}
            channel_type = info["channels"][0]["type"]
            declined = self.declined_keys.get(billing_key)
            hold = self._charge_holds.pop(0) if self._charge_holds and declined is None else None
        order = {"amount": amount, "currency": body["currency"], "order_name": body["orderName"]}
        if declined is not None:
            payment = self.set_failed(payment_id, **order)
            with self._lock:
                payment["failure"] = {"reason": declined, "pgCode": "V801", "pgMessage": declined}
                payment["billingKey"] = billing_key
                payment["channel"] = self._channel(channel_type)
            return 400, {"type": "PG_PROVIDER", "message": f"카드사 승인 거절: {declined}",
                         "pgCode": "V801", "pgMessage": declined}
        payment = self.set_paid(payment_id, channel_type=channel_type, **order)
        with self._lock:
            payment["billingKey"] = billing_key
            payment["customer"] = copy.deepcopy(info["customer"])
            payment["method"] = {"type": "PaymentMethodCard", "card": copy.deepcopy(info["methods"][0]["card"])}
            answer = {"payment": {"pgTxId": payment["pgTxId"], "paidAt": payment["paidAt"]}}
        if hold is not None:  # charged: the caller waits for an answer it may never read
            hold.arrived.set()
            hold.release.wait(timeout=60)
            hold.decided.set()
        return 200, answer


class _Handler(BaseHTTPRequestHandler):
    portone: FakePortOne
    protocol_version = "HTTP/1.1"

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, payload = self.portone.handle(method, self.path, self.headers, body)
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
            pass  # the caller is gone (killed while waiting): PortOne's decision stands regardless

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format, *args) -> None:  # quiet: tests read self.portone.requests
        pass
