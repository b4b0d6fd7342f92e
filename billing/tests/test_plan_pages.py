"""The plans page and the test checkout's plans (issue 22 items 6 and "Done when"): a new user
chooses a plan in the test checkout (a billing key issued by the loopback PortOne, no money
moves), sees its credits, spends them, renews a month on and sees the second charge once."""

from __future__ import annotations

import pytest
from django.utils import translation

from billing import sandbox
from billing.models import LedgerEntry, Subscription
from billing.selectors import credits_balance, plan_credits_left
from billing.services import credits_reserve
from billing.tests.factories import give_credits

pytestmark = pytest.mark.django_db


@pytest.fixture
def test_checkout(settings):
    settings.DEBUG = True  # the sandbox runs only with debug on
    fake = sandbox.start()
    yield fake
    sandbox.stop()


def test_a_new_user_subscribes_in_the_test_checkout_spends_plan_credits_and_renews_once(
        owner, owner_browser, plan, test_checkout):
    # Given the plans page in the test checkout
    page = owner_browser.get("/plans")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-subscribe="{plan.id}"' in html and "test-checkout-sdk.js" in html and "no money moves" in html

    # When the user chooses the plan and the stand-in SDK registers a test card
    order = owner_browser.post("/api/v1/billing/subscription", {"plan_id": str(plan.id)},
                               content_type="application/json").json()
    issued = owner_browser.post("/credits/test-checkout/billing-key",
                                {"issueId": order["issue_id"], "issueName": order["issue_name"]},
                                content_type="application/json")
    assert issued.status_code == 200 and issued.json()["transactionType"] == "ISSUE_BILLING_KEY"
    completed = owner_browser.post("/api/v1/billing/subscription/complete",
                                   {"billing_key_id": issued.json()["billingKey"]}, content_type="application/json")

    # Then the plan is active with its credits, paid on the TEST channel
    assert completed.status_code == 200, completed.json()
    assert completed.json()["status"] == "active" and plan_credits_left(user=owner) == 100
    assert [c["channel"]["type"] for c in test_checkout.charges()] == ["TEST"]
    page = owner_browser.get("/plans").content.decode()
    assert 'id="plan-credits-left">100 / 100' in page and "Cancel at the end of this month" in page
    assert issued.json()["billingKey"] not in page  # the key is never shown

    # and dubbing spends plan credits first; the renewal a month on charges and grants once
    credits_reserve(user=owner, job_id="00000000-0000-0000-0000-000000000009", attempt=1, amount=7)
    assert owner_browser.post("/credits/test-checkout/renew").status_code == 302
    subscription = Subscription.objects.get()
    assert subscription.period_number == 2 and len(test_checkout.charges()) == 2
    kinds = list(LedgerEntry.objects.filter(account__user=owner).order_by("created_at", "id").values_list("kind", "amount"))
    # 93 plan credits were left; the test plan keeps at most 20: 73 expired
    assert kinds == [("plan_grant", 100), ("job_debit", -7), ("plan_expiry", -73), ("plan_grant", 100)]
    assert (credits_balance(user=owner), plan_credits_left(user=owner)) == (120, 120)


def test_the_test_checkout_issues_cards_only_for_the_users_own_request(owner_browser, other_browser, plan,
                                                                         test_checkout):
    order = owner_browser.post("/api/v1/billing/subscription", {"plan_id": str(plan.id)},
                               content_type="application/json").json()

    assert other_browser.post("/credits/test-checkout/billing-key", {"issueId": order["issue_id"]},
                              content_type="application/json").status_code == 404
    assert other_browser.post("/credits/test-checkout/renew").status_code == 404
    assert test_checkout.billing_keys == {}


def test_the_test_checkout_routes_are_gone_without_it(owner_browser, plan):
    assert owner_browser.post("/credits/test-checkout/billing-key", {"issueId": "x"},
                              content_type="application/json").status_code == 404
    assert owner_browser.post("/credits/test-checkout/renew").status_code == 404


def test_the_plans_page_says_when_a_charge_failed_and_offers_a_new_card(owner, owner_browser, subscribed):
    subscription, _ = subscribed
    Subscription.objects.filter(pk=subscription.pk).update(status="past_due", last_failure="Insufficient funds")

    html = owner_browser.get("/plans").content.decode()

    assert 'id="plan-past-due"' in html and "Insufficient funds" in html and 'data-plan-action="card"' in html


def test_the_plans_page_speaks_korean(owner, owner_browser, subscribed):
    owner.locale = "ko"
    owner.save(update_fields=["locale"])

    html = owner_browser.get("/plans").content.decode()

    with translation.override("ko"):
        assert translation.gettext("Monthly plans") in html and translation.gettext("Monthly plans") != "Monthly plans"
        assert translation.gettext("Plan credits left") in html


def test_the_history_shows_which_credits_were_plan_and_which_packs(owner, owner_browser, subscribed):
    give_credits(owner, 50)
    credits_reserve(user=owner, job_id="00000000-0000-0000-0000-000000000001", attempt=1, amount=120)

    html = owner_browser.get("/credits/history").content.decode()

    assert "plan -100, packs -20" in html and "plan credits" in html and "pack credits" in html
    assert credits_balance(user=owner) == 30


def test_a_korean_reader_reads_the_expiry_in_korean(owner, owner_browser, subscribed, started_on, portone):
    from datetime import UTC, datetime

    from billing.services import subscription_renew

    subscription = started_on(subscribed[0], datetime(2027, 1, 31, 9, tzinfo=UTC))
    subscription_renew(subscription_id=subscription.pk, now=datetime(2027, 2, 28, 9, tzinfo=UTC))
    owner.locale = "ko"
    owner.save(update_fields=["locale"])

    html = owner_browser.get("/credits/history").content.decode()

    assert "요금제 크레딧 소멸" in html and "이월하는 만큼을 넘은" in html and "rolled over" not in html
