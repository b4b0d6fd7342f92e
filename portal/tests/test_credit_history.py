"""The credit history (page and API) says what each movement was: a dub or a re-render of a named
video, a refund, a purchase of a named order, a grant (issue 21: it said "Job debit -1")."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.models import LedgerEntry
from billing.services import credits_refund, credits_reserve, credits_signup_bonus
from billing.services.ledger import credits_render_reserve, ledger_entry_append
from billing.tests.factories import PaymentFactory, give_credits
from dubbing.tests.factories import DubbingJobFactory
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(owner, staff):
    """The owner's movements, oldest first: a sign-up bonus, a purchase, a staff grant, a dub of
    "Trip to Jeju", its re-render, a failed dub of "Seoul at night" refunded, and a dub whose video
    was deleted since."""
    credits_signup_bonus(user=owner)
    payment = PaymentFactory(user=owner, paid=True, pack__name="Standard", credits=100)
    ledger_entry_append(user=owner, kind=LedgerEntry.Kind.PURCHASE, amount=100,
                        idempotency_key=f"purchase:{payment.payment_id}", ref=f"payment:{payment.payment_id}",
                        payment=payment)
    give_credits(owner, 5, staff=staff)
    jeju = DubbingJobFactory(owner=owner, video=VideoFactory(owner=owner, title="Trip to Jeju"))
    credits_reserve(user=owner, job_id=jeju.id, attempt=1, amount=3)
    credits_render_reserve(user=owner, job_id=jeju.id, render=1, amount=1)
    seoul = DubbingJobFactory(owner=owner, video=VideoFactory(owner=owner, title="Seoul at night"))
    credits_reserve(user=owner, job_id=seoul.id, attempt=1, amount=2)
    credits_refund(user=owner, job_id=seoul.id, attempt=1)
    gone = DubbingJobFactory(owner=owner, video=VideoFactory(owner=owner, title="Gone"))
    credits_reserve(user=owner, job_id=gone.id, attempt=1, amount=1)
    gone.video.delete()  # takes its job with it, as deleting a video does
    return {"jeju": jeju, "seoul": seoul}


@pytest.fixture
def browser(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


EXPECTED_EN = [
    ("dub", "Dub of a deleted video"),
    ("refund", "Refund for the dub of “Seoul at night”"),
    ("dub", "Dub of “Seoul at night”"),
    ("rerender", "Re-render of “Trip to Jeju”"),
    ("dub", "Dub of “Trip to Jeju”"),
    ("grant", "Grant"),
    ("purchase", "Purchase: OneVoice Standard: 100 credits"),
    ("grant", "Sign-up bonus"),
]


def test_the_api_names_the_video_and_what_each_entry_was(owner_client, history):
    results = owner_client.get("/api/v1/billing/ledger").json()["results"]
    assert [(e["category"], e["description"]) for e in results] == EXPECTED_EN
    assert results[4]["video"] == {"id": str(history["jeju"].video_id), "title": "Trip to Jeju"}
    assert results[0]["video"] is None and results[6]["video"] is None
    assert results[5]["reason"] == "test"


def test_someone_elses_entries_and_videos_are_not_listed(other_client, history):
    assert other_client.get("/api/v1/billing/ledger").json()["count"] == 0


def test_the_api_speaks_the_readers_language(owner_client, owner, history):
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    results = owner_client.get("/api/v1/billing/ledger", HTTP_ACCEPT_LANGUAGE="ko").json()["results"]
    assert [e["description"] for e in results][:5] == [
        "삭제된 동영상 더빙", "“Seoul at night” 더빙 환불", "“Seoul at night” 더빙", "“Trip to Jeju” 다시 렌더링",
        "“Trip to Jeju” 더빙"]


def test_the_ledger_api_is_three_queries(owner_client, history, django_assert_num_queries):
    # 1 count for the paginator, 1 page of entries with their payment's pack and plan joined,
    # 1 for the videos of the page's jobs (force_authenticate needs no user query)
    with django_assert_num_queries(3):
        assert owner_client.get("/api/v1/billing/ledger").status_code == 200


def test_the_history_page_names_the_videos(browser, history, django_assert_num_queries):
    # session, user, the balance, the count, the page of entries (payments joined), their videos
    with django_assert_num_queries(6):
        html = browser.get("/credits/history").content.decode()
    for category, description in EXPECTED_EN:
        assert f'data-category="{category}"' in html
        assert description.replace("“", "&ldquo;").replace("”", "&rdquo;") in html or description in html


def test_the_history_page_in_korean(browser, owner, history):
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    html = browser.get("/credits/history").content.decode()
    assert "“Trip to Jeju” 다시 렌더링" in html and "삭제된 동영상 더빙" in html
