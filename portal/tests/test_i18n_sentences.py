"""Whole sentences, not pieces: each sentence a reader sees with a number or a name in it is one
catalog entry with named placeholders, so Korean puts them where Korean puts them (the line
editor's quote, the job's cost, the line's facts, the dub form without engines)."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.tests.factories import give_credits
from dubbing.languages import language_support
from dubbing.models import Segment
from dubbing.services import dubbing_job_cancel, dubbing_job_render
from dubbing.tests.factories import DubbingJobFactory
from testing.waiting import wait_until

pytestmark = pytest.mark.django_db

def _korean(user) -> Client:
    user.locale = "ko"
    user.save(update_fields=["locale"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_line_editors_quote_is_korean_sentences_with_their_numbers(owner, staff, finished_job):
    give_credits(owner, 2, staff=staff)
    Segment.objects.filter(job=finished_job, index=1).update(target_text="¿Qué tal?", overrun=0.4, speed=1.3)

    html = _korean(owner).get(f"/jobs/{finished_job.id}/lines").content.decode()

    assert (
        "바뀐 대사 1개, 음성 1.5초 분량입니다. 다시 렌더링하는 데 <strong>1크레딧</strong>이 듭니다. 내 잔액: 2크레딧."
        in html
    )
    assert '<label class="visually-hidden" for="line-text-0">1번 대사의 번역</label>' in html
    assert "<strong>2번 대사</strong>" in html and "속도 1.30×" in html and "0.40초 초과" in html
    assert ">2번 대사 저장</button>" in html


def test_a_quote_beyond_the_balance_says_so_in_korean(owner, finished_job):
    Segment.objects.filter(job=finished_job, index=0).update(target_text="Buenas.")

    html = _korean(owner).get(f"/jobs/{finished_job.id}/lines").content.decode()

    assert "내 잔액: 0크레딧. 잔액이 부족합니다." in html


def test_the_job_page_writes_the_cost_as_elsewhere(owner, finished_job):
    html = _korean(owner).get(f"/jobs/{finished_job.id}").content.decode()

    assert "<dt>비용</dt><dd>1크레딧</dd>" in html  # as the dub form and the ledger write it, no space


def test_the_dub_form_without_engines_says_why_in_one_korean_sentence(owner, video, settings):
    settings.DUBBING_ENGINES = "openai"
    settings.OPENAI_API_KEY = ""
    reason = language_support().unavailable
    assert reason  # the engines' own words, kept: they name the setting to fix

    html = _korean(owner).get(f"/videos/{video.id}/dub").content.decode()

    assert f"이 서버에서 사용할 수 있는 더빙 엔진이 없습니다: {reason}." in html


def test_the_credits_page_says_the_balance_and_each_pack_in_korean_sentences(owner, settings):
    settings.PORTONE_STORE_ID, settings.PORTONE_CHANNEL_KEY, settings.PORTONE_API_SECRET = "store", "channel", "secret"

    html = _korean(owner).get("/credits").content.decode()

    assert "내 잔액: <strong>0</strong>크레딧. 1크레딧으로 동영상 1분을 더빙합니다." in html
    assert ">Standard 구매</button>" in html  # the pack's name, where Korean puts it


def test_the_video_page_and_the_upload_page_are_korean_sentences(owner, video, settings):
    page = _korean(owner)

    assert "<dd>640×360, 25 fps (h264)</dd>" in page.get(f"/videos/{video.id}").content.decode()
    upload = page.get("/videos/upload").content.decode()
    assert "MB, " in upload and "분까지이며, 더빙하려면 소리 트랙이 있어야 합니다." in upload


def test_a_cancelled_re_render_is_labelled_as_one_on_the_korean_job_page(owner, staff, finished_job):
    Segment.objects.filter(job=finished_job, index=0).update(target_text="Buenas.")
    give_credits(owner, 5, staff=staff)
    dubbing_job_cancel(job=dubbing_job_render(job=finished_job))

    html = _korean(owner).get(f"/jobs/{finished_job.id}").content.decode()

    assert (
        '<strong id="job-error-label">다시 렌더링을 마치지 못했습니다:</strong> '
        '<span id="job-error-detail">다시 렌더링이 취소되었습니다. 이전 더빙은 그대로 있습니다.</span>'
    ) in html


@pytest.mark.django_db(transaction=True)
def test_the_failed_job_email_names_the_language_and_the_error_in_korean(owner, video, broker, worker):
    from django.core import mail
    from django.db import transaction

    from dubbing.emails import job_failed_email_queue
    from dubbing.models import JobStatus

    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.FAILED, error_code="no_speech",
                            error_message="transcribe: no speech found in 2.0 s of audio")

    with transaction.atomic():
        job_failed_email_queue(job=job)
    wait_until(lambda: mail.outbox, timeout=10, what="the failed job's email")

    message = mail.outbox[-1]
    assert "스페인어" in message.subject and " es" not in message.subject
    assert "오디오에서 말소리를 찾지 못해 더빙할 것이 없습니다." in message.body
    assert "no speech found" not in message.body


def test_the_account_page_dates_the_membership_the_korean_way(owner):
    from datetime import UTC, datetime

    type(owner).objects.filter(pk=owner.pk).update(date_joined=datetime(2026, 12, 1, 9, 30, tzinfo=UTC))

    html = _korean(owner).get("/account").content.decode()

    assert "· 가입일 2026년 12월 1일" in html
