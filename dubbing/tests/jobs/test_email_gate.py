"""Dubbing (a new job, a retry, a re-render) waits for a confirmed email address when
REQUIRE_EMAIL_VERIFICATION is on: the API answers 403 email_unverified and spends nothing; the
pages offer the verification email again instead of the forms that spend credits."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing.languages import language_support
from dubbing.models import DubbingJob, JobStatus
from dubbing.tests.factories import DubbingJobFactory

pytestmark = pytest.mark.django_db

GATE = b'id="verify-email-gate"'
RESEND = b"Resend the verification email"


@pytest.fixture
def unverified(unverified_owner, settings):
    settings.REQUIRE_EMAIL_VERIFICATION = True
    return unverified_owner


@pytest.fixture
def failed_job(owner, staff, video):
    give_credits(owner, 5, staff=staff)
    return DubbingJobFactory(owner=owner, video=video, status=JobStatus.FAILED, error_code="engine_failed")


@pytest.fixture
def edited_job(owner, staff, finished_job):
    give_credits(owner, 5, staff=staff)
    finished_job.segments.filter(index=1).update(target_text="¿Qué tal?")
    return finished_job


def _refused(response) -> bool:
    return response.status_code == 403 and response.json()["code"] == "email_unverified" and response.json()["detail"]


# --- The API ----------------------------------------------------------------------------------------


def test_an_unverified_user_cannot_create_a_job(unverified, staff, owner_client, video):
    give_credits(unverified, 5, staff=staff)

    response = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es"}, format="json")

    assert _refused(response)
    assert not DubbingJob.objects.exists() and credits_balance(user=unverified) == 5
    assert owner_client.get("/api/v1/jobs").status_code == 200  # reads stay open


def test_an_unverified_user_cannot_retry_or_re_render(unverified, owner_client, failed_job, edited_job):
    assert _refused(owner_client.post(f"/api/v1/jobs/{failed_job.id}/retry"))
    assert owner_client.get(f"/api/v1/jobs/{edited_job.id}/render").status_code == 200  # the quote
    assert _refused(owner_client.post(f"/api/v1/jobs/{edited_job.id}/render"))

    failed_job.refresh_from_db()
    edited_job.refresh_from_db()
    assert failed_job.status == JobStatus.FAILED and failed_job.attempt == 1
    assert not edited_job.rendering
    assert credits_balance(user=unverified) == 10


def test_without_the_setting_an_unverified_user_retries_and_re_renders(
        settings, owner, owner_client, failed_job, edited_job):
    settings.REQUIRE_EMAIL_VERIFICATION = False
    owner.email_verified_at = None
    owner.save(update_fields=["email_verified_at"])

    assert owner_client.post(f"/api/v1/jobs/{failed_job.id}/retry").status_code == 200
    assert owner_client.post(f"/api/v1/jobs/{edited_job.id}/render").status_code == 202


def test_a_verified_user_retries_and_re_renders_when_verification_is_required(
        settings, owner_client, failed_job, edited_job):
    settings.REQUIRE_EMAIL_VERIFICATION = True

    assert owner_client.post(f"/api/v1/jobs/{failed_job.id}/retry").status_code == 200
    assert owner_client.post(f"/api/v1/jobs/{edited_job.id}/render").status_code == 202


# --- The pages --------------------------------------------------------------------------------------


def test_the_dub_form_offers_the_verification_email_instead(unverified, owner_browser, video):
    url = reverse("video_dub", args=[video.id])
    for html in (owner_browser.get(url).content, owner_browser.get(reverse("video_detail", args=[video.id])).content):
        assert GATE in html and RESEND in html
        assert f'action="{reverse("verify_email_resend")}"'.encode() in html
        assert b'id="dub-form"' not in html

    # A post from a page rendered earlier starts nothing.
    response = owner_browser.post(url, {"target_language": "es", "source_language": "auto", "background": "duck",
                                        "subtitles": "soft", "max_speed": "1.30"})
    assert response.status_code == 403 and GATE in response.content
    assert not DubbingJob.objects.exists()


@pytest.mark.parametrize("required", [False, True], ids=["not-required", "required-but-verified"])
def test_the_dub_form_works_when_the_gate_is_open(settings, owner, owner_browser, video, required):
    if not language_support().targets:
        pytest.skip("no dubbing engine here: the form is not offered at all")
    settings.REQUIRE_EMAIL_VERIFICATION = required
    if not required:
        owner.email_verified_at = None
        owner.save(update_fields=["email_verified_at"])

    html = owner_browser.get(reverse("video_dub", args=[video.id])).content

    assert GATE not in html
    assert b'id="dub-form"' in html


def test_the_job_page_refuses_a_retry_and_says_why(unverified, owner_browser, failed_job):
    detail = owner_browser.get(reverse("job_detail", args=[failed_job.id])).content
    assert GATE in detail and RESEND in detail

    response = owner_browser.post(reverse("job_retry", args=[failed_job.id]), follow=True)

    assert b"Verify your email address before starting paid work." in response.content
    failed_job.refresh_from_db()
    assert failed_job.status == JobStatus.FAILED and credits_balance(user=unverified) == 5


def test_the_line_editor_refuses_a_re_render_and_says_why(unverified, owner_browser, edited_job):
    lines = owner_browser.get(reverse("job_lines", args=[edited_job.id])).content
    assert GATE in lines and b'id="render-form"' not in lines

    response = owner_browser.post(reverse("job_render", args=[edited_job.id]), follow=True)

    assert b"Verify your email address before starting paid work." in response.content
    edited_job.refresh_from_db()
    assert not edited_job.rendering and credits_balance(user=unverified) == 5


def test_a_verified_user_sees_no_gate_on_the_job_pages(settings, owner_browser, failed_job, edited_job):
    settings.REQUIRE_EMAIL_VERIFICATION = True

    assert GATE not in owner_browser.get(reverse("job_detail", args=[failed_job.id])).content
    assert b'id="render-form"' in owner_browser.get(reverse("job_lines", args=[edited_job.id])).content
