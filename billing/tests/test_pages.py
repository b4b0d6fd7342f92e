from __future__ import annotations

import pytest
from django.test import Client

from billing.models import Payment
from billing.selectors import credits_balance
from billing.services import credits_signup_bonus

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def test_the_credits_page_shows_the_balance_and_packs_with_buy_buttons(
    owner, browser, pack, portone, settings
):
    credits_signup_bonus(user=owner)
    response = browser.get("/credits")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-balance="10"' in html
    assert f'data-buy-pack="{pack.id}"' in html and "₩15,000" in html
    assert f'<script src="{settings.PORTONE_BROWSER_SDK_URL}"></script>' in html
    assert "billing/credits.js" in html and "csrfmiddlewaretoken" in html
    assert "Payments are not configured" not in html


def test_the_credits_page_says_when_payments_are_not_configured(owner, browser, pack, settings):
    settings.PORTONE_STORE_ID = settings.PORTONE_CHANNEL_KEY = settings.PORTONE_API_SECRET = ""
    response = browser.get("/credits")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Payments are not configured" in html
    assert "data-buy-pack" not in html and "browser-sdk" not in html
    assert "Test 100" in html


def test_the_credits_page_needs_a_login(client):
    response = client.get("/credits")
    assert response.status_code == 302


def test_the_page_flow_completes_a_payment_with_session_and_csrf(owner, pack, portone):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    page = browser.get("/credits")
    token = str(page.context["csrf_token"])
    denied = browser.post(
        "/api/v1/billing/payments", {"pack_id": str(pack.id)}, content_type="application/json"
    )
    assert denied.status_code == 403
    prepared = browser.post(
        "/api/v1/billing/payments",
        {"pack_id": str(pack.id)},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert prepared.status_code == 201
    payment_id = prepared.json()["payment_id"]
    portone.set_paid(payment_id, amount=15000)
    completed = browser.post(f"/api/v1/billing/payments/{payment_id}/complete", HTTP_X_CSRFTOKEN=token)
    assert completed.status_code == 200 and completed.json()["status"] == "paid"
    result = browser.get(f"/credits/payments/{payment_id}")
    assert b"100 credits were added" in result.content
    assert credits_balance(user=owner) == 100


def test_the_phone_return_page_completes_the_payment(owner, browser, prepare, portone):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    response = browser.get(f"/credits/payments/return?paymentId={order['payment_id']}")
    assert response.status_code == 200
    assert b'data-status="paid"' in response.content
    browser.get(f"/credits/payments/return?paymentId={order['payment_id']}")
    assert credits_balance(user=owner) == 100


def test_the_phone_return_page_shows_the_sdk_error_and_credits_nothing(owner, browser, prepare, portone):
    order = prepare()
    portone.set_ready(order["payment_id"], amount=15000)
    response = browser.get(
        f"/credits/payments/return?paymentId={order['payment_id']}&code=FAILURE_TYPE_PG&message=User+closed+the+window"
    )
    assert response.status_code == 200
    # PortOne was asked (still waiting for the customer): the checkout is cancelled, and says so
    assert b"User closed the window" in response.content and b'data-status="cancelled"' in response.content
    assert b"The checkout was closed before paying." in response.content
    assert credits_balance(user=owner) == 0


def test_the_phone_return_page_shows_a_mismatch(owner, browser, prepare, portone):
    order = prepare()
    portone.set_paid(order["payment_id"], amount=10)
    response = browser.get(f"/credits/payments/return?paymentId={order['payment_id']}")
    assert b'data-status="failed"' in response.content and b"the order costs 15000" in response.content
    assert credits_balance(user=owner) == 0


def test_payment_pages_of_someone_else_are_404(other, prepare, portone):
    order = prepare()
    browser = Client()
    browser.force_login(other)
    assert browser.get(f"/credits/payments/{order['payment_id']}").status_code == 404
    assert browser.get(f"/credits/payments/return?paymentId={order['payment_id']}").status_code == 404
    assert Payment.objects.get(payment_id=order["payment_id"]).status == "pending"


def test_the_history_page_lists_the_ledger(owner, browser):
    credits_signup_bonus(user=owner)
    response = browser.get("/credits/history")
    assert response.status_code == 200
    assert b"Sign-up bonus" in response.content and b"+10" in response.content


def test_the_credits_page_query_count_is_fixed(owner, browser, pack, django_assert_num_queries):
    credits_signup_bonus(user=owner)
    # session, user, balance with its plan credits, packs, their prices, recent ledger entries
    with django_assert_num_queries(6):
        assert browser.get("/credits").status_code == 200


def test_the_header_shows_a_signed_in_users_balance_on_every_page(owner, browser, client):
    credits_signup_bonus(user=owner)
    for path in ("/", "/videos", "/jobs", "/community", "/credits/history", "/account"):
        html = browser.get(path).content.decode()
        assert '<a class="site-nav__balance" href="/credits" id="header-balance"' in html, path
        assert ">10 credits</a>" in html, path
    assert 'id="header-balance"' not in client.get("/").content.decode()  # signed out: no balance


def test_the_header_balance_reads_korean_counters(owner, browser):
    credits_signup_bonus(user=owner)
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    assert ">10크레딧</a>" in browser.get("/jobs").content.decode()


def _pay(browser, portone, pack) -> str:
    prepared = browser.post("/api/v1/billing/payments", {"pack_id": str(pack.id)}, content_type="application/json")
    assert prepared.status_code == 201, prepared.content
    payment_id = prepared.json()["payment_id"]
    portone.set_paid(payment_id, amount=15000)
    assert browser.post(f"/api/v1/billing/payments/{payment_id}/complete").json()["status"] == "paid"
    return payment_id


@pytest.fixture
def api_browser(owner) -> Client:
    """The signed-in browser without CSRF enforcement (the test client's default)."""
    client = Client()
    client.force_login(owner)
    return client


def test_after_paying_the_next_step_leads_back_to_the_video_being_dubbed(api_browser, pack, portone):
    api_browser.get("/credits?next=/videos/2c8e0b3a-5a7e-4a43-9d1c-1f6f1f0c1a11/dub")
    payment_id = _pay(api_browser, portone, pack)
    html = api_browser.get(f"/credits/payments/{payment_id}").content.decode()
    assert '<a class="button" href="/videos/2c8e0b3a-5a7e-4a43-9d1c-1f6f1f0c1a11/dub">Back to the video you were dubbing</a>' in html
    # the phone return page leads there too
    html = api_browser.get(f"/credits/payments/return?paymentId={payment_id}").content.decode()
    assert 'href="/videos/2c8e0b3a-5a7e-4a43-9d1c-1f6f1f0c1a11/dub"' in html


def test_after_paying_from_the_credits_page_the_next_step_is_an_upload(api_browser, pack, portone):
    api_browser.get("/credits?next=/videos/2c8e0b3a-5a7e-4a43-9d1c-1f6f1f0c1a11/dub")
    api_browser.get("/credits")  # came back on their own: no video to return to
    payment_id = _pay(api_browser, portone, pack)
    html = api_browser.get(f"/credits/payments/{payment_id}").content.decode()
    assert '<a class="button" href="/videos/upload">Upload a video to dub</a>' in html
    assert "Back to the video you were dubbing" not in html


def test_a_next_address_off_the_site_is_ignored(api_browser, pack, portone):
    for target in ("https://evil.example/videos", "//evil.example/x", "javascript:alert(1)"):
        api_browser.get("/credits", {"next": target})
        payment_id = _pay(api_browser, portone, pack)
        html = api_browser.get(f"/credits/payments/{payment_id}").content.decode()
        assert "evil.example" not in html and "javascript:" not in html
        assert 'href="/videos/upload"' in html


def test_an_unpaid_payment_offers_no_next_step_but_the_credits_page(api_browser, pack, portone):
    prepared = api_browser.post("/api/v1/billing/payments", {"pack_id": str(pack.id)}, content_type="application/json")
    html = api_browser.get(f"/credits/payments/{prepared.json()['payment_id']}").content.decode()
    assert "Upload a video to dub" not in html and 'href="/credits">Back to credits</a>' in html
