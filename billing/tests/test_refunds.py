from __future__ import annotations

import uuid

import pytest
from django.test import Client

from billing.errors import RefundNotAllowed
from billing.models import LedgerEntry, Payment, PaymentRefund
from billing.selectors import credits_balance
from billing.services import credits_reserve, payment_refund

pytestmark = pytest.mark.django_db

COMPLETE = "/api/v1/billing/payments/{}/complete"


def _refund_url(payment) -> str:
    return f"/admin/billing/payment/{payment.pk}/refund/"


def test_staff_refund_part_of_a_payment_in_the_admin(owner, owner_client, staff, staff_browser, paid, portone):
    page = staff_browser.get(_refund_url(paid))
    assert page.status_code == 200
    assert 'data-amount="15000">₩15,000<'.encode() in page.content

    response = staff_browser.post(_refund_url(paid), {"amount": "3000", "reason": "Video never rendered"})
    assert response.status_code == 302

    # ceil(3000 * 100 / 15000) = 20 credits leave the balance
    assert credits_balance(user=owner) == 80
    entry = LedgerEntry.objects.get(kind="payment_refund")
    assert (entry.amount, entry.staff, entry.reason, entry.payment) == (
        -20,
        staff,
        "Video never rendered",
        paid,
    )
    refund = PaymentRefund.objects.get()
    assert refund.status == "succeeded" and refund.amount == 3000 and refund.provider_cancellation_id
    assert refund.provider_response["totalAmount"] == 3000  # as PortOne returned it
    paid.refresh_from_db()
    assert paid.status == "partially_cancelled" and paid.cancelled_amount == 3000
    # PortOne was asked with the concurrency guard
    method, path, body = portone.requests[-1]
    assert (method, path) == ("POST", f"/payments/{paid.payment_id}/cancel")
    assert body["amount"] == 3000 and body["currentCancellableAmount"] == 15000

    change = staff_browser.get(f"/admin/billing/payment/{paid.pk}/change/")
    assert b"Video never rendered" in change.content and b"Refund this payment" in change.content
    ledger = staff_browser.get("/admin/billing/ledgerentry/?kind__exact=payment_refund")
    assert ledger.status_code == 200 and b"Video never rendered" in ledger.content
    mine = owner_client.get("/api/v1/billing/ledger").json()["results"]
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in mine] == [
        ("payment_refund", -20, 80),
        ("purchase", 100, 100),
    ]


def test_the_webhook_for_our_own_refund_removes_nothing_more(owner, staff, paid, portone, send_webhook):
    refund = payment_refund(payment=paid, amount=3000, reason="partial", staff=staff)
    send_webhook(
        portone,
        "Transaction.PartialCancelled",
        paid.payment_id,
        cancellation_id=refund.provider_cancellation_id,
    )
    assert credits_balance(user=owner) == 80
    assert PaymentRefund.objects.count() == 1


def test_a_full_refund_removes_every_credit_of_the_payment(owner, staff, paid, portone):
    payment_refund(payment=paid, amount=3000, reason="first part", staff=staff)
    refund = payment_refund(payment=paid, amount=None, reason="the rest", staff=staff)
    assert refund.amount == 12000 and refund.credits == 80
    assert credits_balance(user=owner) == 0
    paid.refresh_from_db()
    assert paid.status == "cancelled" and paid.cancelled_amount == 15000
    with pytest.raises(RefundNotAllowed):
        payment_refund(payment=paid, amount=1, reason="again", staff=staff)


def test_it_removes_at_most_the_balance(owner, staff, paid, portone):
    credits_reserve(user=owner, job_id=uuid.uuid4(), attempt=1, amount=90)
    refund = payment_refund(payment=paid, amount=15000, reason="all of it", staff=staff)
    assert refund.status == "succeeded" and refund.credits == 10
    assert credits_balance(user=owner) == 0


def test_it_refuses_a_refund_larger_than_what_is_refundable_before_calling_portone(
    owner, staff, staff_browser, paid, portone
):
    calls = len(portone.requests)
    response = staff_browser.post(_refund_url(paid), {"amount": "15001", "reason": "too much"})
    assert response.status_code == 200
    assert "At most ₩15,000 can be refunded.".encode() in response.content
    assert len(portone.requests) == calls
    assert credits_balance(user=owner) == 100
    assert not PaymentRefund.objects.exists()
    assert staff_browser.post(_refund_url(paid), {"amount": "10", "reason": ""}).status_code == 200
    assert not PaymentRefund.objects.exists()


def test_it_puts_the_credits_back_and_shows_the_error_when_portone_refuses_the_cancel(
    owner, staff_browser, paid, portone
):
    portone.fail_next_cancel()
    response = staff_browser.post(_refund_url(paid), {"amount": "3000", "reason": "refund"}, follow=True)
    assert response.status_code == 200
    assert b"PortOne did not cancel the payment" in response.content
    assert b"refund refused by the card company" in response.content
    assert credits_balance(user=owner) == 100
    kinds = list(
        LedgerEntry.objects.filter(payment=paid).order_by("created_at").values_list("kind", "amount")
    )
    assert kinds == [("purchase", 100), ("payment_refund", -20), ("adjustment", 20)]
    refund = PaymentRefund.objects.get()
    assert refund.status == "failed" and "PgProviderError" in refund.error
    paid.refresh_from_db()
    assert paid.status == "paid" and paid.cancelled_amount == 0
    assert portone.get(paid.payment_id)["status"] == "PAID"


def test_a_concurrent_console_cancellation_makes_the_admin_refund_fail_safely(
    owner, staff, paid, portone, send_webhook
):
    # Someone cancels in PortOne's console; our payment row has not heard of it yet.
    portone.cancel_in_console(paid.payment_id, amount=5000)
    refund = payment_refund(payment=paid, amount=3000, reason="admin", staff=staff)
    assert refund.status == "failed" and "CancellableAmountConsistencyBroken" in refund.error
    assert credits_balance(user=owner) == 100
    send_webhook(portone, "Transaction.PartialCancelled", paid.payment_id, cancellation_id="c")
    assert credits_balance(user=owner) == 100 - 34  # ceil(5000 * 100 / 15000)


def test_it_puts_the_credits_back_when_portone_is_unreachable_during_a_refund(
    owner, staff, paid, portone, settings
):
    settings.PORTONE_API_BASE_URL = portone.unreachable_url()
    refund = payment_refund(payment=paid, amount=3000, reason="refund", staff=staff)
    assert refund.status == "failed" and "did not answer" in refund.error
    assert credits_balance(user=owner) == 100


def test_it_refuses_to_refund_an_unpaid_payment(owner, staff, prepare, portone):
    order = prepare()
    payment = Payment.objects.get(payment_id=order["payment_id"])
    with pytest.raises(RefundNotAllowed):
        payment_refund(payment=payment, amount=100, reason="nope", staff=staff)
    assert portone.requests == []


def test_staff_grant_and_remove_credits_with_a_reason(owner, staff, staff_browser, rendered_grant_key):
    from billing.services import credit_account_ensure

    account = credit_account_ensure(user=owner)
    url = "/admin/billing/creditaccount/"
    form = {"action": "grant_or_remove_credits", "_selected_action": [str(account.pk)]}
    page = staff_browser.post(url, form)
    assert page.status_code == 200 and b"reason" in page.content
    # Each submit posts back the key of the form it was rendered with (a fresh one each time).
    form_key = {"idempotency_key": rendered_grant_key(page)}
    missing_reason = staff_browser.post(url, {**form, **form_key, "apply": "1", "amount": "5", "reason": " "})
    assert missing_reason.status_code == 200
    assert credits_balance(user=owner) == 0
    staff_browser.post(url, {**form, **form_key, "apply": "1", "amount": "15", "reason": "Support gesture"})
    form_key = {"idempotency_key": rendered_grant_key(staff_browser.post(url, form))}
    staff_browser.post(url, {**form, **form_key, "apply": "1", "amount": "-5", "reason": "Duplicate grant"})
    assert credits_balance(user=owner) == 10
    entries = list(
        LedgerEntry.objects.filter(account__user=owner).order_by("created_at").values_list("kind", "amount", "staff")
    )
    assert entries == [("grant", 15, staff.pk), ("adjustment", -5, staff.pk)]
    form_key = {"idempotency_key": rendered_grant_key(staff_browser.post(url, form))}
    too_much = staff_browser.post(url, {**form, **form_key, "apply": "1", "amount": "-50", "reason": "x"}, follow=True)
    assert b"balance is 10" in too_much.content
    assert credits_balance(user=owner) == 10


def test_the_ledger_is_read_only_in_the_admin(owner, staff_browser):
    from billing.services import credits_signup_bonus

    entry = credits_signup_bonus(user=owner)
    assert staff_browser.get("/admin/billing/ledgerentry/add/").status_code == 403
    assert (
        staff_browser.post(f"/admin/billing/ledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    listing = staff_browser.get(
        f"/admin/billing/ledgerentry/?account__user__id__exact={owner.pk}&kind__exact=signup_bonus"
    )
    # The address with its line-break chances (<wbr>) taken out
    assert listing.status_code == 200 and b"alice@example.com" in listing.content.replace(b"<wbr>", b"")
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_the_refund_action_opens_the_refund_form(staff_browser, paid):
    response = staff_browser.post(
        "/admin/billing/payment/", {"action": "refund_payment", "_selected_action": [str(paid.pk)]}
    )
    assert response.status_code == 302 and response["Location"] == _refund_url(paid)


def test_billing_admin_pages_open_for_staff(staff_browser, paid, portone, send_webhook):
    from billing.models import WebhookDelivery

    send_webhook(portone, "Transaction.Paid", paid.payment_id)
    delivery = WebhookDelivery.objects.get()
    for url in [
        "/admin/billing/payment/",
        f"/admin/billing/payment/{paid.pk}/change/",
        "/admin/billing/webhookdelivery/",
        "/admin/billing/paymentrefund/",
        "/admin/billing/creditpack/",
        "/admin/billing/creditaccount/",
        "/admin/billing/ledgerentry/",
    ]:
        assert staff_browser.get(url).status_code == 200, url
    detail = staff_browser.get(f"/admin/billing/webhookdelivery/{delivery.pk}/change/")
    assert detail.status_code == 200 and b"Transaction.Paid" in detail.content


def test_a_non_staff_user_cannot_open_the_refund_form(owner, paid):
    browser = Client()
    browser.force_login(owner)
    response = browser.get(_refund_url(paid))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_late_paid_answer_does_not_undo_a_refund(owner, owner_client, staff, paid, portone):
    before_refund = portone.get(paid.payment_id)  # what a slow request fetched before the refund
    payment_refund(payment=paid, amount=3000, reason="partial", staff=staff)
    portone.payments[paid.payment_id] = before_refund
    response = owner_client.post(COMPLETE.format(paid.payment_id))
    assert response.status_code == 200 and response.json()["status"] == "partially_cancelled"
    assert response.json()["cancelled_amount"] == 3000
    assert credits_balance(user=owner) == 80


def test_a_staff_refund_emails_the_user_what_left_their_balance(
    owner, staff, paid, portone, outgoing_emails, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(payment=paid, amount=3000, reason="Video never rendered", staff=staff)

    assert len(outgoing_emails) == 1
    email = outgoing_emails[0]
    assert email["recipient"] == owner.email and email["subject"] == "Your OneVoice payment was refunded"
    assert "Your payment for OneVoice Test 100: 100 credits was refunded." in email["body"]
    assert "Refunded: ₩3,000" in email["body"] and "Credits removed: 20 credits" in email["body"]
    assert "Your balance now: 80 credits" in email["body"] and "Reason: Video never rendered" in email["body"]
    assert "/credits/history" in email["body"]


def test_the_refund_email_is_in_the_users_language_and_sent_once(
    owner, staff, paid, portone, outgoing_emails, django_capture_on_commit_callbacks, send_webhook
):
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(payment=paid, amount=3000, reason="영상이 만들어지지 않음", staff=staff)
        send_webhook(portone, "Transaction.PartialCancelled", paid.payment_id)  # our own refund, echoed

    assert len(outgoing_emails) == 1
    body = outgoing_emails[0]["body"]
    assert outgoing_emails[0]["subject"] == "OneVoice 결제가 환불되었습니다"
    assert "환불 금액: ₩3,000" in body and "차감된 크레딧: 20개" in body and "현재 잔액: 80 크레딧" in body
    assert "사유: 영상이 만들어지지 않음" in body


def test_a_refund_made_in_the_portone_console_emails_the_user_too(
    owner, paid, portone, outgoing_emails, django_capture_on_commit_callbacks, send_webhook
):
    cancellation = portone.cancel_in_console(paid.payment_id, reason="Customer asked by phone")
    with django_capture_on_commit_callbacks(execute=True):
        response = send_webhook(portone, "Transaction.Cancelled", paid.payment_id, cancellation_id=cancellation["id"])

    assert response.status_code == 200, response.content
    assert credits_balance(user=owner) == 0
    assert [e["subject"] for e in outgoing_emails] == ["Your OneVoice payment was refunded"]
    assert "Credits removed: 100 credits" in outgoing_emails[0]["body"]
    assert "Reason: Customer asked by phone" in outgoing_emails[0]["body"]
