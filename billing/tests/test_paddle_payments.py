"""Buying a pack through Paddle: checkout, webhooks, complete, refunds, and their faults.

Everything runs against the loopback Paddle API (testing/paddle_server.py); webhook bodies are
the events it records, signed as Paddle documents (Paddle-Signature: ts=...;h1=HMAC-SHA256 of
"<ts>:<raw body>" with the destination's secret).
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.conf import settings
from django.utils import timezone

from billing import services
from billing.models import CreditPack, LedgerEntry, Payment, PaymentRefund, WebhookDelivery
from billing.selectors import credits_balance
from billing.services.paddle_catalog import paddle_catalog_sync
from onevoice.errors import ServiceError
from testing.paddle_server import sign_webhook

pytestmark = pytest.mark.django_db

PAYMENTS = "/api/v1/billing/payments"
WEBHOOK = "/api/v1/billing/webhooks/paddle"


@pytest.fixture
def catalog(paddle, pack):
    """Paddle prices for the packs and plans, as `manage.py paddle_catalog` makes them."""
    paddle_catalog_sync()
    return paddle


@pytest.fixture
def deliver(api_client, paddle):
    """Post a recorded Paddle event to our webhook, signed now (or as `headers` say)."""

    def send(event: dict, *, timestamp: int | None = None, headers: dict | None = None, body: str | None = None):
        raw = body if body is not None else json.dumps(event, separators=(",", ":"))
        signed = headers if headers is not None else sign_webhook(paddle.webhook_secret, raw, timestamp=timestamp)
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.items()}
        return api_client.generic("POST", WEBHOOK, raw, "application/json", **extra)

    return send


def buy(client, pack) -> dict:
    response = client.post(PAYMENTS, {"pack_id": str(pack.id)})
    assert response.status_code == 201, response.content
    return response.json()


def purchases(owner) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(account__user=owner, kind=LedgerEntry.Kind.PURCHASE))


def test_a_pack_is_sold_through_paddle_and_credited_once_when_the_transaction_completes(
    owner, owner_client, pack, catalog, deliver
):
    before = credits_balance(user=owner)
    order = buy(owner_client, pack)

    checkout = order["checkout"]
    assert checkout["provider"] == "paddle" and checkout["transaction_id"].startswith("txn_")
    assert checkout["client_token"] == "test_0123456789abcdef0123456789a"
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.provider == "paddle" and payment.provider_checkout_id == checkout["transaction_id"]
    transaction = catalog.transactions[checkout["transaction_id"]]
    assert transaction["custom_data"] == {"payment_id": payment.payment_id, "user_id": str(owner.pk)}
    assert [i["price"]["id"] for i in transaction["items"]] == [payment.pack.paddle_prices.get().paddle_price_id]

    catalog.pay(checkout["transaction_id"])
    for event in catalog.events_of("transaction.paid") + catalog.events_of("transaction.completed"):
        assert deliver(event).status_code == 200

    payment.refresh_from_db()
    assert payment.status == "paid" and payment.credited_at is not None
    assert payment.provider_payment_id == checkout["transaction_id"]
    assert payment.provider_customer_id.startswith("ctm_")
    assert credits_balance(user=owner) == before + pack.credits
    assert len(purchases(owner)) == 1
    stored = WebhookDelivery.objects.filter(provider="paddle").order_by("received_at")
    assert [d.event_type for d in stored] == ["transaction.paid", "transaction.completed"]
    assert all(d.verified and d.processed and d.payment_id == payment.payment_id for d in stored)


def test_the_same_event_three_times_and_out_of_order_credits_once(owner, owner_client, pack, catalog, deliver):
    before = credits_balance(user=owner)
    order = buy(owner_client, pack)
    catalog.pay(order["checkout"]["transaction_id"])
    completed = catalog.events_of("transaction.completed")[0]
    paid = catalog.events_of("transaction.paid")[0]
    created = catalog.events_of("transaction.created")[0]

    for event in (completed, completed, paid, completed, created):  # late, repeated, older last
        assert deliver(event).status_code == 200

    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.status == "paid" and payment.provider_status == "completed"
    assert credits_balance(user=owner) == before + pack.credits and len(purchases(owner)) == 1
    assert WebhookDelivery.objects.filter(provider="paddle", webhook_id=completed["event_id"]).count() == 3


def test_complete_from_the_page_credits_and_a_later_webhook_adds_nothing(owner, owner_client, pack, catalog, deliver):
    before = credits_balance(user=owner)
    order = buy(owner_client, pack)
    unpaid = owner_client.post(f"{PAYMENTS}/{order['payment_id']}/complete")
    assert unpaid.status_code == 200 and unpaid.json()["status"] == "pending"
    catalog.pay(order["checkout"]["transaction_id"])

    response = owner_client.post(f"{PAYMENTS}/{order['payment_id']}/complete")

    assert response.status_code == 200 and response.json()["status"] == "paid"
    assert deliver(catalog.events_of("transaction.completed")[0]).status_code == 200
    assert credits_balance(user=owner) == before + pack.credits and len(purchases(owner)) == 1


class TestWebhookFaults:
    def test_a_bad_signature_is_refused_and_nothing_is_stored(self, catalog, deliver, owner_client, pack):
        order = buy(owner_client, pack)
        catalog.pay(order["checkout"]["transaction_id"])
        event = catalog.events_of("transaction.completed")[0]
        body = json.dumps(event, separators=(",", ":"))
        forged = sign_webhook("pdl_ntfset_someone_else", body)

        response = deliver(event, headers=forged)

        assert response.status_code == 400 and response.json()["code"] == "invalid_webhook"
        assert not WebhookDelivery.objects.exists()
        assert Payment.objects.get(payment_id=order["payment_id"]).credited_at is None

    def test_an_old_timestamp_is_refused(self, catalog, deliver, owner_client, pack):
        order = buy(owner_client, pack)
        catalog.pay(order["checkout"]["transaction_id"])
        response = deliver(catalog.events_of("transaction.completed")[0], timestamp=int(time.time()) - 600)
        assert response.status_code == 400 and response.json()["code"] == "invalid_webhook"
        assert "stale_timestamp" in response.json()["detail"]
        assert not WebhookDelivery.objects.exists()

    def test_a_body_over_the_limit_is_refused_before_it_is_read(self, catalog, deliver):
        event = {"event_id": "evt_big", "event_type": "transaction.updated", "occurred_at": "2026-12-06T00:00:00Z",
                 "notification_id": "ntf_big", "data": {"id": "txn_big", "padding": "x" * (70 * 1024)}}
        response = deliver(event)
        assert response.status_code == 413
        assert not WebhookDelivery.objects.exists()

    def test_without_a_webhook_secret_deliveries_are_refused_with_503(self, catalog, deliver, settings):
        settings.PADDLE_WEBHOOK_SECRET = []
        event = {"event_id": "evt_1", "event_type": "transaction.completed", "occurred_at": "2026-12-06T00:00:00Z",
                 "notification_id": "ntf_1", "data": {"id": "txn_1"}}
        response = deliver(event)
        assert response.status_code == 503 and response.json()["code"] == "payments_not_configured"
        assert not WebhookDelivery.objects.exists()

    def test_an_event_for_a_transaction_we_never_made_is_stored_and_ignored(self, catalog, deliver, owner):
        before = credits_balance(user=owner)
        event = {"event_id": "evt_01stranger", "event_type": "transaction.completed",
                 "occurred_at": "2026-12-06T00:00:00Z", "notification_id": "ntf_01stranger",
                 "data": {"id": "txn_01notours", "status": "completed", "origin": "web",
                          "custom_data": {"payment_id": "ov-not-ours"}}}

        response = deliver(event)

        assert response.status_code == 200 and response.json()["processed"] is True
        delivery = WebhookDelivery.objects.get()
        assert delivery.verified and delivery.provider == "paddle"
        assert delivery.error == "Ignored: no payment with this id."
        assert credits_balance(user=owner) == before and not catalog.requests[-1][1].startswith("/transactions/txn_01")

    def test_an_event_type_we_do_not_handle_is_stored_and_ignored(self, catalog, deliver):
        event = {"event_id": "evt_cust", "event_type": "customer.created", "occurred_at": "2026-12-06T00:00:00Z",
                 "notification_id": "ntf_cust", "data": {"id": "ctm_1"}}
        assert deliver(event).status_code == 200
        assert WebhookDelivery.objects.get().error == "Ignored: not a payment event this server handles."


class TestCheckoutFaults:
    def test_paddle_timing_out_at_checkout_is_502_and_a_retry_works(self, owner_client, pack, catalog, settings):
        settings.PADDLE_TIMEOUT_SECONDS = 0.3
        catalog.latency = 2.0
        response = owner_client.post(PAYMENTS, {"pack_id": str(pack.id)}, HTTP_IDEMPOTENCY_KEY="buy-1")
        assert response.status_code == 502 and response.json()["code"] == "provider_unavailable"
        catalog.latency = 0
        retried = owner_client.post(PAYMENTS, {"pack_id": str(pack.id)}, HTTP_IDEMPOTENCY_KEY="buy-1")
        assert retried.status_code == 201 and retried.json()["checkout"]["transaction_id"].startswith("txn_")
        # The order whose checkout never started was not kept: one payment, the retried one.
        assert list(Payment.objects.values_list("payment_id", flat=True)) == [retried.json()["payment_id"]]

    def test_paddle_timing_out_at_complete_is_502_and_safe_to_retry(
        self, owner, owner_client, pack, catalog, settings
    ):
        before = credits_balance(user=owner)
        order = buy(owner_client, pack)
        catalog.pay(order["checkout"]["transaction_id"])
        settings.PADDLE_TIMEOUT_SECONDS = 0.3
        catalog.latency = 2.0
        response = owner_client.post(f"{PAYMENTS}/{order['payment_id']}/complete")
        assert response.status_code == 502 and response.json()["code"] == "provider_unavailable"
        assert credits_balance(user=owner) == before
        catalog.latency = 0
        assert owner_client.post(f"{PAYMENTS}/{order['payment_id']}/complete").json()["status"] == "paid"
        assert owner_client.post(f"{PAYMENTS}/{order['payment_id']}/complete").json()["status"] == "paid"
        assert credits_balance(user=owner) == before + pack.credits

    def test_a_pack_without_a_paddle_price_cannot_be_bought_through_paddle(self, owner_client, pack, paddle):
        response = owner_client.post(PAYMENTS, {"pack_id": str(pack.id)})
        assert response.status_code == 503 and response.json()["code"] == "payments_not_configured"
        assert not [r for r in paddle.requests if r[1] == "/transactions"]

    def test_a_checkout_never_paid_expires_and_credits_nothing(self, owner, owner_client, pack, catalog, deliver):
        before = credits_balance(user=owner)
        order = buy(owner_client, pack)
        assert services.payments_sync_pending()["still_pending"] == 1  # Paddle: still draft
        Payment.objects.filter(payment_id=order["payment_id"]).update(
            created_at=timezone.now() - timedelta(minutes=settings.CHECKOUT_EXPIRE_MINUTES + 1))

        assert services.payments_sync_pending()["expired"] == 1

        payment = Payment.objects.get(payment_id=order["payment_id"])
        assert payment.status == "expired" and payment.credited_at is None
        assert credits_balance(user=owner) == before
        # Paid after all (a tab left open): Paddle's webhook credits it then, once.
        catalog.pay(order["checkout"]["transaction_id"])
        for _ in range(2):
            deliver(catalog.events_of("transaction.completed")[-1])
        assert credits_balance(user=owner) == before + pack.credits and len(purchases(owner)) == 1

def _paid(owner_client, pack, catalog, deliver) -> Payment:
    order = buy(owner_client, pack)
    catalog.pay(order["checkout"]["transaction_id"])
    deliver(catalog.events_of("transaction.completed")[-1])
    return Payment.objects.get(payment_id=order["payment_id"])


class TestRefunds:
    def test_a_refund_paddle_has_not_decided_stays_pending_with_its_credits_taken(
        self, owner, owner_client, staff, pack, catalog, deliver
    ):
        payment = _paid(owner_client, pack, catalog, deliver)
        after_purchase = credits_balance(user=owner)
        refund = services.payment_refund(payment=payment, amount=None, reason="asked", staff=staff)
        deliver(catalog.events_of("adjustment.created")[-1])
        assert services.refunds_sync_pending(older_than_seconds=0)["still_pending"] == 1
        refund.refresh_from_db()
        assert refund.status == "pending" and credits_balance(user=owner) == after_purchase - pack.credits
        # Nothing more can be refunded while Paddle reviews it.
        with pytest.raises(ServiceError):
            services.payment_refund(payment=payment, amount=None, reason="again", staff=staff)

    def test_a_full_refund_is_a_paddle_adjustment_settled_when_paddle_approves(
        self, owner, owner_client, staff, pack, catalog, deliver
    ):
        payment = _paid(owner_client, pack, catalog, deliver)
        after_purchase = credits_balance(user=owner)

        refund = services.payment_refund(payment=payment, amount=None, reason="asked", staff=staff)

        assert refund.status == "pending" and refund.provider_cancellation_id.startswith("adj_")
        assert credits_balance(user=owner) == after_purchase - pack.credits  # taken at once
        adjustment = catalog.adjustments[refund.provider_cancellation_id]
        assert adjustment["type"] == "full" and adjustment["transaction_id"] == payment.provider_checkout_id
        catalog.approve_adjustment(adjustment["id"])
        assert deliver(catalog.events_of("adjustment.updated")[-1]).status_code == 200  # settles it

        refund.refresh_from_db()
        payment.refresh_from_db()
        assert refund.status == "succeeded" and payment.status == "cancelled"
        assert payment.cancelled_amount == payment.amount
        assert credits_balance(user=owner) == after_purchase - pack.credits

    def test_a_partial_refund_takes_back_its_share_of_the_credits(
        self, owner, owner_client, staff, pack, catalog, deliver
    ):
        payment = _paid(owner_client, pack, catalog, deliver)
        after_purchase = credits_balance(user=owner)

        refund = services.payment_refund(payment=payment, amount=pack.price // 4, reason="part", staff=staff)

        adjustment = catalog.adjustments[refund.provider_cancellation_id]
        assert adjustment["type"] == "partial" and adjustment["items"][0]["amount"] == str(pack.price // 4)
        catalog.approve_adjustment(adjustment["id"])
        deliver(catalog.events_of("adjustment.updated")[-1])
        payment.refresh_from_db()
        assert payment.refunds.get().status == "succeeded"
        assert payment.status == "partially_cancelled" and payment.cancelled_amount == pack.price // 4
        assert credits_balance(user=owner) == after_purchase - pack.credits // 4

    def test_an_adjustment_paddle_rejects_puts_the_credits_back_once(
        self, owner, owner_client, staff, pack, catalog, deliver
    ):
        payment = _paid(owner_client, pack, catalog, deliver)
        after_purchase = credits_balance(user=owner)
        refund = services.payment_refund(payment=payment, amount=None, reason="asked", staff=staff)
        catalog.reject_adjustment(refund.provider_cancellation_id)
        for _ in range(3):  # Paddle redelivers; sync_refunds passes by too
            deliver(catalog.events_of("adjustment.updated")[-1])
        services.refunds_sync_pending(older_than_seconds=0)

        refund.refresh_from_db()
        payment.refresh_from_db()
        assert refund.status == "failed" and payment.status == "paid" and payment.cancelled_amount == 0
        assert credits_balance(user=owner) == after_purchase
        assert LedgerEntry.objects.filter(idempotency_key=f"payment_refund_reversal:{refund.id}").count() == 1

    def test_a_refund_paddle_refuses_at_once_puts_the_credits_back_once(
        self, owner, owner_client, staff, pack, catalog, deliver
    ):
        payment = _paid(owner_client, pack, catalog, deliver)
        after_purchase = credits_balance(user=owner)
        catalog.refuse_next_adjustment(code="transaction_locked", detail="a chargeback is open")

        refund = services.payment_refund(payment=payment, amount=None, reason="asked", staff=staff)

        assert refund.status == "failed" and "transaction_locked" in refund.error
        assert credits_balance(user=owner) == after_purchase
        services.refunds_sync_pending(older_than_seconds=0)
        assert credits_balance(user=owner) == after_purchase
        assert PaymentRefund.objects.get().status == "failed"

    def test_a_refund_made_in_paddles_dashboard_takes_its_credits_back(
        self, owner, owner_client, pack, catalog, deliver
    ):
        payment = _paid(owner_client, pack, catalog, deliver)
        after_purchase = credits_balance(user=owner)
        catalog.refund_in_dashboard(payment.provider_checkout_id, amount=pack.price // 2)
        for event in catalog.events_of("adjustment.created") + catalog.events_of("adjustment.updated"):
            deliver(event)
        payment.refresh_from_db()
        assert payment.status == "partially_cancelled"
        assert credits_balance(user=owner) == after_purchase - pack.credits // 2
        assert payment.refunds.get().source == "provider"


def test_staff_refund_a_paddle_payment_in_the_admin_through_paddle(
    owner, owner_client, staff_browser, pack, catalog, deliver
):
    payment = _paid(owner_client, pack, catalog, deliver)
    after_purchase = credits_balance(user=owner)

    response = staff_browser.post(f"/admin/billing/payment/{payment.pk}/refund/",
                                  {"amount": str(pack.price), "reason": "Asked within a week"}, follow=True)

    assert response.status_code == 200
    assert "Paddle is still deciding the refund" in response.content.decode()
    refund = PaymentRefund.objects.get()
    assert refund.status == "pending" and catalog.adjustments[refund.provider_cancellation_id]["type"] == "full"
    assert credits_balance(user=owner) == after_purchase - pack.credits
    catalog.approve_adjustment(refund.provider_cancellation_id)
    deliver(catalog.events_of("adjustment.updated")[-1])
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    change = staff_browser.get(f"/admin/billing/payment/{payment.pk}/change/")
    assert payment.provider_checkout_id.encode() in change.content


class TestReceipts:
    def test_the_buyer_is_sent_to_a_fresh_paddle_invoice_link(self, owner, owner_client, pack, catalog, deliver):
        payment = _paid(owner_client, pack, catalog, deliver)
        assert payment.receipt_url.endswith(f"/credits/payments/{payment.payment_id}/receipt")
        client = Client()
        client.force_login(owner)

        response = client.get(f"/credits/payments/{payment.payment_id}/receipt")

        invoice = catalog.transactions[payment.provider_checkout_id]["invoice_id"]
        assert response.status_code == 302 and response["Location"] == f"{catalog.base_url}/invoices/{invoice}.pdf"
        assert catalog.requests[-1][:2] == ("GET", f"/transactions/{payment.provider_checkout_id}/invoice")

    def test_someone_elses_receipt_is_404_and_staff_may_open_it(
        self, owner_client, other, staff, pack, catalog, deliver
    ):
        payment = _paid(owner_client, pack, catalog, deliver)
        for user, status in ((other, 404), (staff, 302)):
            client = Client()
            client.force_login(user)
            assert client.get(f"/credits/payments/{payment.payment_id}/receipt").status_code == status

    def test_an_unpaid_checkout_has_no_receipt(self, owner, owner_client, pack, catalog):
        order = buy(owner_client, pack)
        client = Client()
        client.force_login(owner)
        assert client.get(f"/credits/payments/{order['payment_id']}/receipt").status_code == 404
        assert Payment.objects.get(payment_id=order["payment_id"]).receipt_url == ""

    def test_paddle_down_says_so_and_keeps_the_link(self, owner, owner_client, pack, catalog, deliver):
        payment = _paid(owner_client, pack, catalog, deliver)
        catalog.fail_with = 503
        client = Client()
        client.force_login(owner)
        response = client.get(f"/credits/payments/{payment.payment_id}/receipt")
        assert response.status_code == 502 and "Paddle did not answer" in response.content.decode()


def test_a_buyer_paying_in_usd_goes_to_paddle_and_a_staff_refund_appears_once_in_the_ledger(
    owner, owner_client, staff_browser, catalog, deliver, portone
):
    # PortOne takes won; the pack's dollar price goes to Paddle (PAYMENTS_INTERNATIONAL_PROVIDERS).
    pack = next(p for p in CreditPack.objects.filter(active=True) if p.price_in("USD"))
    before = credits_balance(user=owner)
    won = owner_client.post(PAYMENTS, {"pack_id": str(pack.id)}).json()
    assert Payment.objects.get(payment_id=won["payment_id"]).provider == "portone"

    order = owner_client.post(PAYMENTS, {"pack_id": str(pack.id), "currency": "USD"},
                              HTTP_ACCEPT_LANGUAGE="en-US").json()

    assert (order["currency"], order["amount"], order["checkout"]["provider"]) == ("USD", pack.price_in("USD"), "paddle")
    transaction = catalog.transactions[order["checkout"]["transaction_id"]]
    assert transaction["details"]["totals"]["subtotal"] == str(pack.price_in("USD"))
    assert transaction["currency_code"] == "USD"
    catalog.pay(order["checkout"]["transaction_id"])
    for event in catalog.events_of("transaction.completed") * 2:
        deliver(event)
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert credits_balance(user=owner) == before + pack.credits

    staff_browser.post(f"/admin/billing/payment/{payment.pk}/refund/",
                       {"amount": str(payment.amount), "reason": "Bought by mistake"})
    adjustment_id = PaymentRefund.objects.get(payment=payment).provider_cancellation_id
    catalog.approve_adjustment(adjustment_id)
    for _ in range(2):
        deliver(catalog.events_of("adjustment.updated")[-1])

    assert credits_balance(user=owner) == before
    entries = LedgerEntry.objects.filter(payment=payment).values_list("kind", "amount")
    assert sorted(entries) == sorted([("purchase", pack.credits), ("payment_refund", -pack.credits)])
