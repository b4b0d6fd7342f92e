"""The landing page's sample dub: made by the real pipeline when missing, shown to anyone."""

from __future__ import annotations

import subprocess

import pytest
from django.test import Client

from portal import sample
from dubbing.models import DubbingJob, JobStatus
from testing.waiting import wait_until
from videos.models import Video


def _finished(job) -> bool:
    job.refresh_from_db()
    return job.status not in (JobStatus.QUEUED, JobStatus.RUNNING)


@pytest.mark.django_db
def test_before_any_sample_the_landing_page_says_how_one_is_made(client):
    page = client.get("/").content.decode()

    assert 'id="sample-missing"' in page and "make run" in page
    assert "Your video, speaking another language." in page


@pytest.mark.django_db
def test_in_korean_the_particle_sits_on_the_command(client):
    # One sentence, the command inside it: it was three, the particle a word of its own ("make run 으로")
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()

    assert "사이트를 <code>make run</code>으로 시작하면" in page


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_sample_is_dubbed_by_the_real_pipeline_and_anyone_can_watch_it(media_root, worker):
    job = sample.sample_dub_ensure()
    assert job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    assert Client().get("/").content.decode().count('id="sample-pending"') == 1
    wait_until(lambda: _finished(job), timeout=240, interval=0.5, what="the sample's dub to finish")
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.engines["tts"] == "kokoro"  # the landing page's Spanish is Kokoro's, the default (issue 19)

    # Again at the next start-up: the same dub, nothing new queued, no credits left over.
    assert sample.sample_dub_ensure() == job
    assert DubbingJob.objects.count() == 1 and Video.objects.count() == 1
    from billing.selectors import credits_balance

    assert credits_balance(user=job.owner) == 0

    visitor = Client()  # not signed in
    context = sample.sample_context()
    page = visitor.get("/").content.decode()
    assert 'id="sample-dubbed"' in page
    assert context["sample_lines"] and context["sample_lines"][0].target_text
    # Every line is shown, the weak ones too, not a chosen few
    assert len(context["sample_lines"]) == job.segments.count()
    assert page.count("<tr><td>") == job.segments.count()
    for url in (context["sample_source_url"], context["sample_dubbed_url"]):
        response = visitor.get(url, HTTP_RANGE="bytes=0-99")
        assert response.status_code == 206
        assert response["Content-Type"].startswith("video/")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_landing_page_plays_the_sample_in_a_real_browser(media_root, worker, live_server):
    from testing.browser import Walk, chromium, wait_for

    job = sample.sample_dub_ensure()
    wait_until(lambda: _finished(job), timeout=240, interval=0.5, what="the sample's dub to finish")
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    with chromium() as browser:
        walk = Walk(browser.new_page(), folder="landing")
        walk.page.goto(live_server.url + "/")
        wait_for(walk.page, "document.getElementById('sample-dubbed').readyState >= 1")
        walk.check("landing with the sample")
        walk.page.goto(live_server.url + "/signup")
        walk.check("sign up")
    assert walk.violations == [], "\n".join(walk.violations)
    assert walk.errors == []


def test_without_the_shared_fixtures_the_sample_clip_is_made_here(tmp_path):
    clip = sample._made_clip(tmp_path)

    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type:format=duration", "-of", "csv=p=0", str(clip)],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert "video" in probe and "audio" in probe
    assert float(probe[-1]) > 5
    assert sample._made_clip(tmp_path) == clip  # made once

