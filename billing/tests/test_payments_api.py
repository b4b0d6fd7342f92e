from __future__ import annotations

import pytest

from billing.models import LedgerEntry, Payment
from billing.selectors import credits_balance

pytestmark = pytest.mark.django_db

COMPLETE = "/api/v1/billing/payments/{}/complete"


def test_it_lists_active_packs_with_their_prices(owner_client, pack):
    response = owner_client.get("/api/v1/billing/packs")
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert first == {
        "id": str(pack.id),
        "name": "Test 100",
        "credits": 100,
        "price": 15000,
        "currency": "KRW",
        "prices": [{"currency": "KRW", "amount": 15000}],
    }
    names = [p["name"] for p in response.json()["results"]]
    assert {"Starter", "Standard", "Pro", "Studio"} <= set(names)  # the data migration's packs


def test_it_answers_503_when_payments_are_not_configured(owner_client, pack, settings):
    settings.PORTONE_STORE_ID = settings.PORTONE_CHANNEL_KEY = settings.PORTONE_API_SECRET = ""
    response = owner_client.post("/api/v1/billing/payments", {"pack_id": str(pack.id)})
    assert response.status_code == 503
    assert response.json()["code"] == "payments_not_configured"
    assert not Payment.objects.exists()


def test_it_prepares_a_payment_with_the_server_price_and_everything_the_sdk_needs(
    owner_client, pack, portone
):
    # A price from the client is refused by name, and nothing is prepared; the price is the server's.
    priced = owner_client.post("/api/v1/billing/payments", {"pack_id": str(pack.id), "amount": 1})
    assert priced.status_code == 400 and priced.json()["code"] == "unknown_field"
    assert set(priced.json()["errors"]) == {"amount"} and not Payment.objects.exists()
    response = owner_client.post("/api/v1/billing/payments", {"pack_id": str(pack.id)})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["amount"] == 15000 and body["currency"] == "KRW"
    assert body["store_id"] == portone.store_id
    assert body["channel_key"] == "channel-key-test"
    assert body["pay_method"] == "CARD"
    assert body["redirect_url"].endswith("/credits/payments/return")
    assert body["order_name"] and body["payment_id"].startswith("ov-")
    assert Payment.objects.get(payment_id=body["payment_id"]).amount == 15000


def test_it_refuses_an_inactive_or_unknown_pack(owner_client, pack, portone):
    pack.active = False
    pack.save()
    response = owner_client.post("/api/v1/billing/payments", {"pack_id": str(pack.id)})
    assert response.status_code == 400
    assert response.json()["code"] == "pack_unavailable"
    assert owner_client.post("/api/v1/billing/payments", {"pack_id": "nope"}).status_code == 400


def test_it_credits_a_paid_payment_once(owner, owner_client, prepare, portone):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    first = owner_client.post(COMPLETE.format(order["payment_id"]))
    second = owner_client.post(COMPLETE.format(order["payment_id"]))
    assert first.status_code == 200 and first.json()["status"] == "paid"
    assert second.status_code == 200 and second.json()["status"] == "paid"
    assert credits_balance(user=owner) == 100
    entry = LedgerEntry.objects.get(account__user=owner, kind="purchase")
    assert entry.amount == 100 and entry.ref == f"payment:{order['payment_id']}"
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.provider_status == "PAID" and payment.paid_at is not None
    assert payment.provider_response["amount"]["total"] == 15000
    # the request carried our API secret
    assert ("GET", f"/payments/{order['payment_id']}", None) in portone.requests


@pytest.mark.parametrize(
    "paid",
    [
        {"amount": 100},  # amount tampered in the browser
        {"amount": 15000, "currency": "USD"},
    ],
    ids=["amount_tampered", "currency_differs"],
)
def test_it_refuses_a_payment_that_does_not_match_the_order(owner, owner_client, prepare, portone, paid):
    order = prepare()
    portone.set_paid(order["payment_id"], **paid)
    response = owner_client.post(COMPLETE.format(order["payment_id"]))
    assert response.status_code == 422
    assert response.json()["code"] == "payment_mismatch"
    assert credits_balance(user=owner) == 0
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.status == "failed" and payment.failure_code == "payment_mismatch"
    assert not LedgerEntry.objects.filter(kind="purchase").exists()


def test_it_refuses_a_test_channel_payment_in_live_mode(owner, owner_client, prepare, portone):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000, channel_type="TEST")
    response = owner_client.post(COMPLETE.format(order["payment_id"]))
    assert response.status_code == 422
    assert response.json()["code"] == "payment_mismatch"
    assert credits_balance(user=owner) == 0


def test_it_accepts_a_test_channel_when_allowed(owner, owner_client, prepare, portone, settings):
    settings.PORTONE_ALLOW_TEST_CHANNEL = True
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000, channel_type="TEST")
    assert owner_client.post(COMPLETE.format(order["payment_id"])).status_code == 200
    assert credits_balance(user=owner) == 100


def test_it_marks_a_failed_payment_failed_without_credits(owner, owner_client, prepare, portone):
    order = prepare()
    portone.set_failed(order["payment_id"], amount=15000)
    response = owner_client.post(COMPLETE.format(order["payment_id"]))
    assert response.status_code == 409
    assert response.json()["code"] == "payment_failed"
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "failed"
    assert credits_balance(user=owner) == 0


@pytest.mark.parametrize("setter", ["set_ready", "set_virtual_account_issued"])
def test_it_leaves_an_unfinished_payment_pending(owner, owner_client, prepare, portone, setter):
    order = prepare()
    getattr(portone, setter)(order["payment_id"], amount=15000)
    response = owner_client.post(COMPLETE.format(order["payment_id"]))
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert credits_balance(user=owner) == 0


def test_it_leaves_a_payment_pending_when_portone_has_not_seen_it(owner, owner_client, prepare, portone):
    order = prepare()
    response = owner_client.post(COMPLETE.format(order["payment_id"]))
    assert response.status_code == 200 and response.json()["status"] == "pending"
    assert credits_balance(user=owner) == 0


def test_it_answers_404_for_an_unknown_payment_id(owner_client, portone):
    response = owner_client.post(COMPLETE.format("ov-does-not-exist"))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_it_answers_404_for_someone_elses_payment(owner, other, other_client, prepare, portone):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    response = other_client.post(COMPLETE.format(order["payment_id"]))
    assert response.status_code == 404
    assert credits_balance(user=other) == 0 and credits_balance(user=owner) == 0
    assert other_client.get("/api/v1/billing/payments").json()["count"] == 0


@pytest.mark.parametrize("fault", ["5xx", "unreachable"])
def test_it_answers_502_and_stays_pending_when_portone_fails(
    owner, owner_client, prepare, portone, settings, fault
):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    if fault == "5xx":
        portone.fail_with = 503
    else:
        settings.PORTONE_API_BASE_URL = portone.unreachable_url()
    response = owner_client.post(COMPLETE.format(order["payment_id"]))
    assert response.status_code == 502
    assert response.json()["code"] == "provider_unavailable"
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "pending"
    assert credits_balance(user=owner) == 0

    # PortOne is back: the same call now credits.
    portone.fail_with = None
    settings.PORTONE_API_BASE_URL = portone.base_url
    assert owner_client.post(COMPLETE.format(order["payment_id"])).json()["status"] == "paid"
    assert credits_balance(user=owner) == 100


def test_it_lists_my_payments_and_ledger(owner, owner_client, prepare, portone):
    from billing.services import credits_signup_bonus

    credits_signup_bonus(user=owner)
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    owner_client.post(COMPLETE.format(order["payment_id"]))
    payments = owner_client.get("/api/v1/billing/payments").json()
    assert payments["count"] == 1 and payments["results"][0]["status"] == "paid"
    ledger = owner_client.get("/api/v1/billing/ledger").json()
    assert [e["kind"] for e in ledger["results"]] == ["purchase", "signup_bonus"]
    assert ledger["results"][0]["balance_after"] == 110
    assert set(ledger["results"][0]) == {"id", "kind", "category", "description", "reason", "video", "amount",
                                         "plan_amount", "balance_after", "created_at", "ref"}
    assert ledger["results"][0]["category"] == "purchase" and ledger["results"][0]["video"] is None


def test_it_pins_the_query_count_of_the_ledger_list(owner, owner_client, django_assert_num_queries):
    from billing.services import credits_signup_bonus

    credits_signup_bonus(user=owner)
    # 1 count for the paginator, 1 page of entries (force_authenticate needs no user query)
    with django_assert_num_queries(2):
        assert owner_client.get("/api/v1/billing/ledger").status_code == 200


def test_it_requires_authentication(api_client):
    assert api_client.get("/api/v1/billing/ledger").status_code == 401


def test_it_pins_the_query_count_of_the_packs_and_payments_lists(
    owner, owner_client, prepare, portone, django_assert_num_queries
):
    prepare()
    prepare()
    # 1 count, 1 page of packs, their prices in other currencies (prefetched for the page)
    with django_assert_num_queries(3):
        assert owner_client.get("/api/v1/billing/packs").status_code == 200
    # 1 count, 1 page of payments (pack joined, not fetched per row)
    with django_assert_num_queries(2):
        assert owner_client.get("/api/v1/billing/payments").json()["count"] == 2
