"""The API answers a Bearer token's user in that user's `locale` (the locale middleware runs
before DRF has authenticated the token), else in the Accept-Language; through the real token
endpoint and real tokens."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from dubbing.languages import language_support
from dubbing.models import JobStatus, Segment, StepStatus
from dubbing.services import dubbing_job_cancel, dubbing_job_render
from billing.tests.factories import give_credits
from dubbing.tests.factories import DubbingJobFactory
from videos.tests.factories import VideoFactory
from videos.models import Video

pytestmark = pytest.mark.django_db


def _bearer(user, password: str, *, accept_language: str) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=accept_language)
    answer = client.post("/api/v1/auth/token", {"email": user.email, "password": password}, format="json")
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {answer.json()['access']}")
    return client


@pytest.fixture
def korean(owner):
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    return owner


def _ready_video(owner) -> Video:
    return VideoFactory(owner=owner, title="Speech", duration=125.0)


def test_a_korean_token_user_polling_a_missing_job_reads_korean(korean, password):
    client = _bearer(korean, password, accept_language="en-US,en;q=0.9")

    response = client.get(f"/api/v1/jobs/{uuid.uuid4()}")  # the polling view's short path

    assert response.status_code == 404
    assert response.json() == {"detail": "더빙 작업을 찾을 수 없습니다.", "code": "job_not_found"}


def test_a_korean_token_user_polling_a_failed_job_reads_its_error_in_korean(korean, password):
    job = DubbingJobFactory(owner=korean, video=_ready_video(korean), status=JobStatus.FAILED, error_code="no_speech",
                            error_message="transcribe: no speech found in 125.0 s of audio")
    client = _bearer(korean, password, accept_language="en-US,en;q=0.9")

    response = client.get(f"/api/v1/jobs/{job.id}")  # the polling view's short path

    assert response.status_code == 200
    assert response.json()["error"] == {"code": "no_speech", "detail": "오디오에서 말소리를 찾지 못해 더빙할 것이 없습니다."}
    assert response["Content-Language"] == "ko"


def test_an_english_token_user_polling_a_failed_job_reads_the_pipelines_words(owner, password):
    job = DubbingJobFactory(owner=owner, video=_ready_video(owner), status=JobStatus.FAILED, error_code="no_speech",
                            error_message="transcribe: no speech found in 125.0 s of audio")
    client = _bearer(owner, password, accept_language="ko")

    response = client.get(f"/api/v1/jobs/{job.id}")

    assert response.json()["error"]["detail"] == "transcribe: no speech found in 125.0 s of audio"


def test_a_cancelled_re_render_reads_as_one_in_korean(korean, staff, password):
    job = DubbingJobFactory(owner=korean, video=_ready_video(korean), status=JobStatus.SUCCEEDED, stage="publish",
                            progress=100, steps=[("probe", StepStatus.DONE)], segments=[("Hello there.", "Hola.")])
    Segment.objects.filter(job=job, index=0).update(target_text="Buenas.")
    give_credits(korean, 5, staff=staff)
    dubbing_job_cancel(job=dubbing_job_render(job=job))  # queued, so it ends at once
    client = _bearer(korean, password, accept_language="en")

    body = client.get(f"/api/v1/jobs/{job.id}").json()

    assert body["status"] == "succeeded"  # the last dub stays
    assert body["error"] == {"code": "cancelled", "detail": "다시 렌더링이 취소되었습니다. 이전 더빙은 그대로 있습니다."}


def test_polling_a_running_job_never_reads_the_account(korean, password, django_assert_num_queries):
    job = DubbingJobFactory(owner=korean, video=_ready_video(korean), status=JobStatus.RUNNING, stage="transcribe",
                            progress=30)
    client = _bearer(korean, password, accept_language="en")
    client.get(f"/api/v1/jobs/{job.id}")  # the token verified once; later polls reuse it

    with django_assert_num_queries(1):  # the job's snapshot row; no user row for its locale
        response = client.get(f"/api/v1/jobs/{job.id}")

    assert response.status_code == 200 and response.json()["error"] is None


def test_a_korean_token_users_validation_errors_are_korean(korean, password):
    client = _bearer(korean, password, accept_language="en")

    response = client.post("/api/v1/jobs", {}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["errors"]["video_id"] == ["이 필드는 필수 항목입니다."]
    assert body["detail"] == "video_id: 이 필드는 필수 항목입니다."
    assert response["Content-Language"] == "ko"


def test_a_korean_token_user_short_of_credits_reads_how_many_in_korean(korean, password):
    if not language_support().supports("en", "es"):
        pytest.skip("the local engines here cannot dub en->es")
    client = _bearer(korean, password, accept_language="en")
    video = _ready_video(korean)  # 3 started minutes; the balance is 0

    response = client.post(
        "/api/v1/jobs", {"video_id": str(video.id), "target_language": "es", "source_language": "en"}, format="json"
    )

    assert response.status_code == 402
    assert response.json() == {
        "detail": "3크레딧이 필요한데 잔액은 0크레딧입니다.",
        "code": "insufficient_credits",
    }


def test_a_missing_video_on_a_write_endpoint_is_korean_too(korean, password):
    client = _bearer(korean, password, accept_language="en")

    response = client.get(f"/api/v1/videos/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json()["detail"] == "동영상을 찾을 수 없습니다."


def test_an_english_token_user_reads_english_whatever_the_header(owner, password):
    client = _bearer(owner, password, accept_language="ko-KR,ko;q=0.9")

    response = client.get(f"/api/v1/jobs/{uuid.uuid4()}")

    assert response.json()["detail"] == "Dubbing job not found."
    assert response["Content-Language"] == "en"


def test_without_a_token_the_accept_language_decides(db):
    response = APIClient().post(
        "/api/v1/auth/token", {"email": "nobody@example.com", "password": "x"}, format="json",
        HTTP_ACCEPT_LANGUAGE="ko",
    )

    assert response.status_code == 401
    assert response.json()["detail"] == "이메일 또는 비밀번호가 올바르지 않습니다."
