"""Labels in Korean: the job page's states and downloads, the credit history's movements, the
payment's status, the dub form's cost line, and the Django admin for a Korean staff member
(our models' and fields' names, choices and actions; Django's own words come from Django)."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.models import Payment
from billing.tests.factories import CreditPackFactory, PaymentFactory
from billing.services.ledger import credits_grant
from dubbing.models import ArtifactKind, JobStatus
from dubbing.tests.factories import ArtifactFactory, DubbingJobFactory

pytestmark = pytest.mark.django_db

def _korean(user):
    user.locale = "ko"
    user.save(update_fields=["locale"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_job_page_names_its_state_and_downloads_in_korean(owner, finished_job):
    ArtifactFactory(job=finished_job, kind=ArtifactKind.SUBTITLES_TARGET_SRT,
                    content=b"1\n00:00:00,000 --> 00:00:01,000\nHola\n", filename="dub.es.srt",
                    content_type="application/x-subrip")
    page = _korean(owner)

    html = page.get(f"/jobs/{finished_job.id}").content.decode()

    assert 'class="job-badge job-badge--succeeded">완료<' in html
    assert ">번역 자막 (SRT)</a>" in html
    labels = re.search(r'<script id="artifact-labels" type="application/json">(.*?)</script>', html).group(1)
    assert json.loads(labels)["subtitles_target_srt"] == "번역 자막 (SRT)"  # the labels the script uses
    assert "스페인어 더빙" in html


def test_a_running_job_page_holds_the_publish_form_hidden_for_the_script(owner, video):
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.RUNNING, stage="transcribe", progress=30)
    page = Client()
    page.force_login(owner)

    html = page.get(f"/jobs/{job.id}").content.decode()

    assert f'<section class="card publish" id="job-publish" aria-labelledby="publish-heading-{job.id}" hidden>' in html
    assert f'action="/community/publish/{job.id}"' in html


def test_a_failed_job_page_has_no_publish_form(owner, video):
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.FAILED, error_code="no_speech",
                            error_message="No speech.")
    page = Client()
    page.force_login(owner)

    assert 'id="job-publish"' not in page.get(f"/jobs/{job.id}").content.decode()


def test_the_credit_history_names_each_movement_in_korean(owner, staff):
    credits_grant(user=owner, amount=5, staff=staff, reason="welcome", idempotency_key="grant:1")
    page = _korean(owner)

    html = page.get("/credits/history").content.decode()

    assert '<td data-label="내용" class="ledger__what"><span>지급 <span class="muted">' in html
    assert "잔액: <strong>5</strong>크레딧." in html


def test_a_refunded_payment_reads_its_status_and_amount_in_korean(owner):
    payment = PaymentFactory(user=owner, pack=CreditPackFactory(name="Standard", credits=100, price=15_000),
                             status=Payment.Status.PARTIALLY_CANCELLED, cancelled_amount=5_000,
                             credited_at=timezone.now())
    page = _korean(owner)

    html = page.get(f"/credits/payments/{payment.payment_id}").content.decode()

    assert "상태: 부분 취소 (₩5,000 환불됨)." in html


def test_the_dub_form_counts_in_korean(owner, staff, video):
    credits_grant(user=owner, amount=5, staff=staff, reason="test", idempotency_key="grant:2")
    page = _korean(owner)

    html = page.get(f"/videos/{video.id}/dub").content.decode()

    assert "1크레딧으로 더빙하기" in html
    assert "(이 더빙 후 4크레딧 남음)" in html
    assert 'id="dub-languages">스페인어<' in html


def test_the_admin_speaks_korean_to_a_korean_staff_member(owner, staff, video):
    DubbingJobFactory(owner=owner, video=video, status=JobStatus.FAILED)
    payment = PaymentFactory(user=owner, pack=CreditPackFactory(name="Standard", credits=100, price=15_000),
                             paid=True)
    admin = _korean(staff)

    index = admin.get("/admin/").content.decode()
    payments = admin.get("/admin/billing/payment/").content.decode()
    refund = admin.get(f"/admin/billing/payment/{payment.pk}/refund/").content.decode()
    jobs = admin.get("/admin/dubbing/dubbingjob/").content.decode()

    assert "OneVoice 관리" in index and "환불, 크레딧, 더빙 작업, 커뮤니티 관리" in index  # the back-office says OneVoice
    assert ">결제</" in index and "크레딧 팩" in index and "더빙 작업" in index  # ours: apps and models
    assert "결제 완료" in payments and "선택한 결제 환불 (전체 또는 부분)…" in payments
    assert "PG 상태" in payments  # a field's column header
    assert "환불할 수 있는 금액" in refund and 'data-amount="15000">₩15,000<' in refund
    assert 'value="환불"' in refund
    assert "선택한 실패·취소 작업 다시 시도 (비용을 다시 예약)" in jobs and "엔진" in jobs


# A particle left to the reader, as Django's Korean writes them: "상태 (으)로", "결제 를(을)", "을/를".
ADMIN_PLACEHOLDER = re.compile(r"\((을|를|이|가|은|는|과|와|으)\)|(을|를|이|가|은|는|과|와)/(을|를|이|가|은|는|과|와)")


def test_the_admin_lists_say_their_filters_titles_and_counts_as_korean_writes_them(owner, staff, video):
    for status in (JobStatus.FAILED, JobStatus.SUCCEEDED, JobStatus.RUNNING):
        DubbingJobFactory(owner=owner, video=video, status=status)
    PaymentFactory(user=owner, pack=CreditPackFactory(name="Standard", credits=100, price=15_000), paid=True)
    credits_grant(user=owner, amount=5, staff=staff, reason="welcome", idempotency_key="grant:labels")
    admin = _korean(staff)

    jobs = admin.get("/admin/dubbing/dubbingjob/").content.decode()
    payments = admin.get("/admin/billing/payment/").content.decode()  # view-only: "Select %s to view"
    ledger = admin.get("/admin/billing/ledgerentry/").content.decode()

    for html in (jobs, payments, ledger):
        text = re.sub(r"<script.*?</script>|<[^>]+>", " ", html, flags=re.S)
        assert not ADMIN_PLACEHOLDER.search(text), ADMIN_PLACEHOLDER.search(text).group()
    assert "상태별" in jobs and "단계별" in jobs and "더빙할 언어별" in jobs  # Django's "상태 (으)로"
    assert "더빙 작업 3개" in jobs  # Django's "3 더빙 작업"
    assert "<h1>볼 결제 선택</h1>" in payments and "결제 1개" in payments  # Django's "보기위한 1결제 를(을) 선택"
    assert "Standard (100크레딧, 15000 KRW)" in payments  # the pack, not "(100 credits, ...)"
    assert re.search(r'column-account_user">.*?사용자', ledger, re.S) and "Account  user" not in ledger
    # The index names other packages' apps and models in Korean too (they were English)
    index = re.sub(r"<script.*?</script>|<[^>]+>", "\n", admin.get("/admin/").content.decode(), flags=re.S)
    for english in ("Django Dramatiq", "Tasks", "Token Blacklist", "Outstanding Tokens", "Blacklisted Tokens"):
        assert english not in index, english
    assert "백그라운드 작업" in index and "토큰 차단 목록" in index and "차단된 토큰" in index
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.force_login(UserFactory(email="en-staff@example.com", staff=True, locale="en"))
    listed = english.get("/admin/dubbing/dubbingjob/").content.decode()
    assert "3 dubbing jobs" in listed and "By status" in listed  # English as Django says it
    assert "Background tasks" in english.get("/admin/").content.decode()


def test_a_payment_in_the_korean_back_office_is_named_in_korean(owner, staff):
    from billing.models import PaymentRefund

    payment = PaymentFactory(user=owner, pack=CreditPackFactory(name="Standard", credits=100, price=15_000),
                             paid=True, payment_id="ov-labels-1", status=Payment.Status.PARTIALLY_CANCELLED)
    PaymentRefund.objects.create(payment=payment, source=PaymentRefund.Source.ADMIN, amount=5000, credits=34,
                                 status=PaymentRefund.Status.SUCCEEDED, reason="Partial")
    admin = _korean(staff)

    page = admin.get(f"/admin/billing/payment/{payment.pk}/change/").content.decode()

    # Django's "뷰 결제" and our "(partially_cancelled)", "refund 5000 of ... (succeeded)"
    assert "<h1>결제 보기</h1>" in page and "뷰 " not in page
    assert "ov-labels-1 (부분 취소)" in page and "partially_cancelled" not in page
    assert "ov-labels-1에서 5000 환불 (완료)" in page and "refund 5000 of" not in page


def test_a_failed_jobs_error_reads_korean_on_the_page_and_in_the_api(owner, video):
    from rest_framework.test import APIClient

    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.FAILED, error_code="no_speech",
                            error_message="transcribe: No speech was found in the audio, so there is nothing to dub.")
    page = _korean(owner)
    api = APIClient(HTTP_ACCEPT_LANGUAGE="ko")
    api.force_authenticate(owner)

    html = page.get(f"/jobs/{job.id}").content.decode()
    korean = api.get(f"/api/v1/jobs/{job.id}").json()["error"]
    english = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    english.force_authenticate(owner)

    assert '<span id="job-error-detail">오디오에서 말소리를 찾지 못해 더빙할 것이 없습니다.</span>' in html
    assert korean == {"code": "no_speech", "detail": "오디오에서 말소리를 찾지 못해 더빙할 것이 없습니다."}
    assert english.get(f"/api/v1/jobs/{job.id}").json()["error"]["detail"].startswith("transcribe: No speech")
