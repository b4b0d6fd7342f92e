"""Several target languages in one request (API.md "Dubbing jobs"): one job per language, the
sum reserved at once, bad lists refused naming the field with nothing created, and the source
side (probe, extract, transcription, segmentation) run once for all of them: the loopback
OpenAI server counts the recognizer's calls. Jobs run through a real Dramatiq worker."""

from __future__ import annotations

import uuid

import pytest
from django.core.files import File

from billing.models import LedgerEntry
from billing.selectors import credits_balance
from billing.services import credits_grant
from dubbing.models import DubbingJob, JobStatus, Segment, SourceAnalysis
from testing.media import FIXTURE_MEDIA
from testing.waiting import wait_until
from videos.services import video_create_from_upload

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def media_root(media_root, settings, tmp_path):
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"
    return media_root


@pytest.fixture
def video(owner, media_root):
    with open(FIXTURE_MEDIA / "speech_en.mp4", "rb") as f:
        return video_create_from_upload(owner=owner, file=File(f, name="speech_en.mp4"))


@pytest.fixture
def openai_engines(settings, openai_server):
    settings.DUBBING_ENGINES = "openai"
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.OPENAI_API_KEY = "test"
    for name in ("DUBBING_ASR_ENGINE", "DUBBING_TRANSLATE_ENGINE", "DUBBING_TTS_ENGINE"):
        setattr(settings, name, None)
    from dubbing.languages import language_support_clear

    language_support_clear()
    yield openai_server
    language_support_clear()


def _grant(user, amount):
    credits_grant(user=user, amount=amount, staff=user, reason="test", idempotency_key=f"t:{uuid.uuid4()}")


def _wait_final(ids, timeout=240.0):
    final = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)

    def jobs_if_all_final():
        jobs = list(DubbingJob.objects.filter(id__in=ids))
        return jobs if all(j.status in final for j in jobs) else None

    return wait_until(jobs_if_all_final, timeout=timeout, interval=0.2, what=lambda: list(
        DubbingJob.objects.filter(id__in=ids).values_list("target_language", "status", "stage", "error_message")))


@pytest.mark.slow
def test_three_languages_in_one_request_transcribe_the_video_once(
        owner, owner_client, video, openai_engines, broker, worker):
    _grant(owner, 10)
    answer = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_languages": ["es", "ca", "gl"],
                                                "source_language": "en", "background": "drop"}, format="json")
    assert answer.status_code == 201, answer.json()
    results = answer.json()["results"]
    assert [r["target_language"] for r in results] == ["es", "ca", "gl"]
    jobs = _wait_final([r["id"] for r in results])
    assert {j.status for j in jobs} == {JobStatus.SUCCEEDED}, [(j.error_code, j.error_message) for j in jobs]
    # One recognition for the three jobs, one analysis row, used by each.
    assert openai_engines.counts["transcriptions"] == 1
    analysis = SourceAnalysis.objects.get()
    assert analysis.uses == 3 and analysis.claim_token is None
    # The same lines, each in its own language.
    lines = {j.target_language: list(Segment.objects.filter(job=j).order_by("index")) for j in jobs}
    assert len({tuple(s.source_text for s in rows) for rows in lines.values()}) == 1
    assert len({tuple(s.target_text for s in rows) for rows in lines.values()}) == 3
    # A later job on the same video reuses the analysis too.
    later = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es",
                                               "source_language": "en", "background": "drop"}, format="json")
    (job,) = _wait_final([later.json()["id"]])
    assert job.status == JobStatus.SUCCEEDED and openai_engines.counts["transcriptions"] == 1
    assert credits_balance(user=owner) == 10 - 4 * job.cost_credits


@pytest.mark.parametrize("targets, reason", [
    (["es", "es"], "twice"),
    (["es", "xx"], "xx"),
    (["es", "ca", "fr", "pt", "it", "gl"], "5"),
])
def test_a_bad_list_of_languages_is_refused_naming_the_field_and_nothing_is_created(
        owner, owner_client, video, targets, reason):
    _grant(owner, 20)
    answer = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_languages": targets,
                                                "source_language": "en"}, format="json")
    assert answer.status_code == 400, answer.json()
    assert "target_languages" in answer.json()["errors"]
    assert reason in " ".join(answer.json()["errors"]["target_languages"])
    assert not DubbingJob.objects.exists()
    assert credits_balance(user=owner) == 20


def test_languages_the_balance_cannot_all_pay_for_are_refused_with_402_and_nothing_is_created(
        owner, owner_client, video):
    _grant(owner, 1)  # one job's worth; speech_en.mp4 is 19 s = 1 credit
    answer = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_languages": ["es", "ca"],
                                                "source_language": "en"}, format="json")
    assert answer.status_code == 402 and answer.json()["code"] == "insufficient_credits"
    assert not DubbingJob.objects.exists()
    assert not LedgerEntry.objects.filter(account__user=owner, kind="job_debit").exists()
    assert credits_balance(user=owner) == 1


@pytest.mark.slow
def test_languages_detected_automatically_share_one_analysis_too(owner, owner_client, video, openai_engines, broker,
                                                                 worker):
    """With "auto", detection chooses among the same languages for every target, so the jobs
    make one analysis instead of one per target."""
    _grant(owner, 10)
    answer = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_languages": ["es", "ca"],
                                                "background": "drop"}, format="json")
    assert answer.status_code == 201, answer.json()
    jobs = _wait_final([r["id"] for r in answer.json()["results"]])
    assert {j.status for j in jobs} == {JobStatus.SUCCEEDED}, [(j.error_code, j.error_message) for j in jobs]
    assert {j.detected_language for j in jobs} == {"en"}
    assert openai_engines.counts["transcriptions"] == 1
    assert SourceAnalysis.objects.get().uses == 2
