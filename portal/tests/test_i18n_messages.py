"""What the pages flash and what the services refuse with, in a Korean user's language: whole
sentences with their numbers and names in place, never English pieces."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from billing.selectors import credits_balance
from community.models import Post
from dubbing.languages import language_name, language_support
from dubbing.models import DubbingJob, JobStatus
from billing.tests.factories import CreditPackFactory, PaymentFactory, give_credits
from dubbing.tests.factories import DubbingJobFactory
from testing.media import FIXTURE_MEDIA

pytestmark = pytest.mark.django_db

@pytest.fixture
def korean(owner):
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    return owner


@pytest.fixture
def page(korean) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")  # the account's language wins over the browser's
    client.force_login(korean)
    return client


def _flashes(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _needs(*targets: str) -> None:
    support = language_support()
    if not all(support.supports("en", target) for target in targets):
        pytest.skip(f"the local engines here cannot dub en->{targets}")


def test_starting_a_dub_into_two_languages_says_so_in_one_korean_sentence(korean, staff, page, video):
    _needs("es", "ca")
    give_credits(korean, 5, staff=staff)

    response = page.post(f"/videos/{video.id}/dub", {
        "target_language": "es", "more_languages": ["ca"], "source_language": "en", "background": "drop",
        "subtitles": "soft", "max_speed": "1.30"}, follow=True)

    total = sum(job.cost_credits for job in DubbingJob.objects.all())
    with translation.override("ko"):
        names = f"{language_name('es')}, {language_name('ca')}"
    assert _flashes(response) == [f"{names} 더빙을 시작했습니다: {total}크레딧을 예약했습니다."]
    assert names == "스페인어, 카탈로니아어"


def test_too_few_credits_on_the_dub_form_says_how_many_in_korean(korean, page, video):
    _needs("es")

    response = page.post(f"/videos/{video.id}/dub", {
        "target_language": "es", "source_language": "en", "background": "drop", "subtitles": "soft",
        "max_speed": "1.30"})

    assert response.status_code == 402
    assert "1크레딧이 필요한데 잔액은 0크레딧입니다." in response.content.decode()


def test_cancelling_from_the_page_flashes_korean(korean, page, video):
    job = DubbingJobFactory(owner=korean, video=video, status=JobStatus.QUEUED)

    response = page.post(f"/jobs/{job.id}/cancel", follow=True)

    assert _flashes(response) == ["작업을 취소했습니다. 크레딧은 환불되었습니다."]


def test_a_line_saved_from_the_editor_is_announced_with_its_number(korean, page, video):
    job = DubbingJobFactory(owner=korean, video=video, status=JobStatus.SUCCEEDED, progress=100,
                            segments=[("Hello.", "Hola."), ("Bye.", "Adiós.")])

    saved = page.post(f"/jobs/{job.id}/lines", {"index": "1", "target_text": "Chao."}, follow=True)
    empty = page.post(f"/jobs/{job.id}/lines", {"index": "0", "target_text": "  "}, follow=True)

    assert _flashes(saved) == ["2번째 대사를 저장했습니다."]
    assert _flashes(empty) == ["대사는 비워 둘 수 없습니다."]


def test_editing_a_running_jobs_line_is_refused_in_korean(korean, page, video):
    job = DubbingJobFactory(owner=korean, video=video, status=JobStatus.RUNNING, segments=[("Hello.", "Hola.")])

    response = page.post(f"/jobs/{job.id}/lines", {"index": "0", "target_text": "Chao."}, follow=True)

    assert _flashes(response) == ["작업이 진행 중입니다. 끝난 뒤에 대사를 편집하세요."]


def test_choosing_korean_on_the_profile_says_saved_in_korean(owner):
    client = Client()
    client.force_login(owner)

    response = client.post("/account", {"name": "Alice", "locale": "ko"}, follow=True)

    assert _flashes(response) == ["프로필을 저장했습니다."]


def test_publishing_and_deleting_a_post_flash_korean(korean, page, finished_job):
    published = page.post(f"/community/publish/{finished_job.id}", {"title": "안녕", "description": ""}, follow=True)
    post = Post.objects.get(job=finished_job)
    deleted = page.post(f"/community/posts/{post.id}/delete", follow=True)

    assert _flashes(published) == ["더빙을 커뮤니티에 공유했습니다."]
    assert _flashes(deleted) == ["게시물을 삭제했습니다. 더빙은 갤러리에 그대로 있습니다."]


def test_a_webhook_url_that_is_not_https_is_refused_in_korean(korean, page, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False

    response = page.post("/settings/webhooks", {"action": "create", "url": "http://127.0.0.1:9/hook",
                                                "events": ["job.succeeded"]}, follow=True)

    assert _flashes(response) == ["이 URL은 웹훅을 받을 수 없습니다: 웹훅 URL은 https를 써야 합니다."]


def test_a_file_that_is_not_media_is_refused_in_korean_by_the_api(korean, media_root):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="ko")
    client.force_authenticate(korean)

    with (FIXTURE_MEDIA / "not_a_video.mp4").open("rb") as upload:
        response = client.post("/api/v1/videos", {"file": upload, "title": "x"}, format="multipart")

    assert response.status_code in (415, 422)
    assert response.json()["detail"] in (
        "받을 수 있는 동영상이나 오디오 형식이 아닙니다 (MP4/MOV, WebM/MKV, AVI, MPEG-TS, MP3, AAC, WAV, Ogg, FLAC).",
        "미디어 파일로 보이지만 읽을 수 없습니다. 손상되었거나 일부만 있을 수 있습니다.",
    )



def test_a_refund_quote_refusal_reads_korean(korean):
    from billing.services.refunds import payment_refund_quote

    payment = PaymentFactory(user=korean, pack=CreditPackFactory(name="S", credits=10, price=15_000))

    with translation.override("ko"):
        quote = payment_refund_quote(payment=payment)

    assert quote.reason == "이 결제는 결제 완료가 아니라 '대기 중' 상태입니다."
    assert credits_balance(user=korean) == 0
