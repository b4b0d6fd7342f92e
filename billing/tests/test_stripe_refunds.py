"""Refunds of Stripe payments: staff refund from the admin through Stripe's Refunds API (full and
partial), by the one credit formula; a refund Stripe refuses, or fails later, puts the credits
back once; a refund made in Stripe's dashboard takes them back once, however often its events
arrive."""

from __future__ import annotations

import pytest

from billing.models import LedgerEntry, Payment, PaymentRefund
from billing.selectors import credits_balance

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_paid(owner, owner_client, stripe_api, usd_pack, send_stripe):
    """The owner's USD pack ($9.99, 100 credits) paid through Stripe Checkout and credited."""
    response = owner_client.post("/api/v1/billing/payments", {"pack_id": str(usd_pack.id)}, format="json")
    order = response.json()
    for body in stripe_api.pay(order["checkout"]["session_id"]):
        assert send_stripe(stripe_api, body).status_code == 200
    assert credits_balance(user=owner) == 100
    return Payment.objects.get(payment_id=order["payment_id"])


def _refund(staff_browser, payment, **form):
    return staff_browser.post(f"/admin/billing/payment/{payment.pk}/refund/", form)


def _refund_posts(stripe_api) -> list[dict]:
    return [body for method, path, body in stripe_api.requests if (method, path) == ("POST", "/v1/refunds")]


def test_staff_refund_part_then_the_rest_through_stripe(owner, staff_browser, stripe_api, stripe_paid, send_stripe):
    page = staff_browser.get(f"/admin/billing/payment/{stripe_paid.pk}/refund/")
    assert b"Already refunded at Stripe" in page.content
    assert _refund(staff_browser, stripe_paid, amount="500", reason="Half the video failed").status_code == 302
    # ceil(500 x 100 / 999) = 51 credits
    assert credits_balance(user=owner) == 49
    (posted,) = _refund_posts(stripe_api)
    assert posted["payment_intent"] == stripe_paid.provider_payment_id and posted["amount"] == "500"
    assert posted["metadata"]["reason"] == "Half the video failed"
    refund = PaymentRefund.objects.get()
    assert refund.status == "succeeded" and refund.provider_cancellation_id.startswith("re_")
    stripe_paid.refresh_from_db()
    assert stripe_paid.status == "partially_cancelled" and stripe_paid.cancelled_amount == 500

    assert _refund(staff_browser, stripe_paid, amount="", reason="The rest").status_code == 302
    assert credits_balance(user=owner) == 0  # the other 49: never more than the payment bought
    stripe_paid.refresh_from_db()
    assert stripe_paid.status == "cancelled" and stripe_paid.cancelled_amount == 999
    # Stripe's own events for our refunds take nothing more.
    charge = stripe_api.charges[stripe_api.payment_intents[stripe_paid.provider_payment_id]["latest_charge"]]
    from testing.stripe_server import event_body

    for _ in range(3):
        assert send_stripe(stripe_api, event_body("charge.refunded", charge)).status_code == 200
    assert credits_balance(user=owner) == 0
    assert sum(LedgerEntry.objects.filter(kind="payment_refund").values_list("amount", flat=True)) == -100
    assert PaymentRefund.objects.count() == 2


def test_a_refund_stripe_refuses_puts_the_credits_back_once(owner, staff_browser, stripe_api, stripe_paid,
                                                          send_stripe):
    stripe_api.fail_next_refund()
    response = _refund(staff_browser, stripe_paid, amount="", reason="Customer asked")
    assert response.status_code == 302
    messages = staff_browser.get(response["Location"]).content.decode()
    assert "Stripe did not cancel the payment, so the 100 credits were put back" in messages
    assert credits_balance(user=owner) == 100
    refund = PaymentRefund.objects.get()
    assert refund.status == "failed" and "charge_disputed" in refund.error
    assert LedgerEntry.objects.filter(idempotency_key=f"payment_refund_reversal:{refund.id}").count() == 1
    # Nothing was refunded at Stripe, so a later sync finds nothing to take back.
    from billing.services import payment_sync

    payment_sync(payment=stripe_paid)
    assert credits_balance(user=owner) == 100
    stripe_paid.refresh_from_db()
    assert stripe_paid.status == "paid"


def test_a_refund_pending_at_stripe_that_fails_later_puts_the_credits_back_once(
    owner, staff_browser, stripe_api, stripe_paid, send_stripe
):
    stripe_api.refund_pending = True
    response = _refund(staff_browser, stripe_paid, amount="999", reason="Customer asked")
    assert "Stripe is still deciding the refund" in staff_browser.get(response["Location"]).content.decode()
    refund = PaymentRefund.objects.get()
    assert refund.status == "pending" and credits_balance(user=owner) == 0
    for _ in range(3):  # the failure's event, delivered three times
        for body in stripe_api.settle_refund(refund.provider_cancellation_id, status="failed"):
            assert send_stripe(stripe_api, body).status_code == 200
    refund.refresh_from_db()
    assert refund.status == "failed"
    assert credits_balance(user=owner) == 100
    assert LedgerEntry.objects.filter(kind="adjustment", payment=stripe_paid).count() == 1


def test_a_refund_pending_at_stripe_that_succeeds_later_completes(owner, staff_browser, stripe_api, stripe_paid,
                                                                 send_stripe):
    stripe_api.refund_pending = True
    _refund(staff_browser, stripe_paid, amount="999", reason="Customer asked")
    refund = PaymentRefund.objects.get()
    for body in stripe_api.settle_refund(refund.provider_cancellation_id, status="succeeded"):
        send_stripe(stripe_api, body)
    refund.refresh_from_db()
    stripe_paid.refresh_from_db()
    assert refund.status == "succeeded" and stripe_paid.status == "cancelled"
    assert credits_balance(user=owner) == 0


def test_a_refund_in_stripes_dashboard_takes_the_credits_back_once(owner, stripe_api, stripe_paid, send_stripe):
    events = stripe_api.refund_in_dashboard(stripe_paid.provider_payment_id, amount=300)
    for body in [*events, *reversed(events), *events]:
        assert send_stripe(stripe_api, body).status_code == 200
    # ceil(300 x 100 / 999) = 31
    assert credits_balance(user=owner) == 69
    refund = PaymentRefund.objects.get()
    assert refund.source == "provider" and refund.amount == 300 and refund.credits == 31
    stripe_paid.refresh_from_db()
    assert stripe_paid.status == "partially_cancelled" and stripe_paid.cancelled_amount == 300


def test_a_refund_whose_answer_times_out_is_taken_back_once_when_stripe_reports_it(
    owner, staff_browser, stripe_api, stripe_paid, send_stripe, settings
):
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    stripe_api.latency = 1.5  # Stripe refunds, the answer comes too late
    _refund(staff_browser, stripe_paid, amount="", reason="Customer asked")
    stripe_api.latency = 0
    refund = PaymentRefund.objects.get(source="admin")
    assert refund.status == "failed" and credits_balance(user=owner) == 100  # unknown: put back
    charge = stripe_api.charges[stripe_api.payment_intents[stripe_paid.provider_payment_id]["latest_charge"]]
    from testing.stripe_server import event_body

    send_stripe(stripe_api, event_body("charge.refunded", charge))
    send_stripe(stripe_api, event_body("charge.refunded", charge))
    assert credits_balance(user=owner) == 0  # Stripe did refund: the credits leave, once
    assert PaymentRefund.objects.filter(source="provider", status="succeeded").count() == 1


def test_the_admin_shows_the_provider_its_ids_and_receipt(staff_browser, stripe_paid):
    page = staff_browser.get(f"/admin/billing/payment/{stripe_paid.pk}/change/").content.decode()
    assert "Stripe" in page and stripe_paid.provider_payment_id in page
    assert stripe_paid.provider_checkout_id in page and stripe_paid.receipt_url in page
    listing = staff_browser.get("/admin/billing/payment/?provider__exact=stripe").content.decode()
    assert stripe_paid.payment_id in listing
