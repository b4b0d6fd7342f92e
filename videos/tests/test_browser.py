"""The upload page in headless Chromium: progress, then "checking", then the video page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from testing.browser import chromium, wait_for
from videos.models import Video
from videos.tests.conftest import FIXTURES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RECORD_STATUS = """
window.addEventListener('DOMContentLoaded', () => {
  const status = document.getElementById('upload-status');
  const error = document.getElementById('upload-error');
  const bar = document.getElementById('upload-bar');
  if (!status) return;
  new MutationObserver(() => window.recordStatus(status.textContent + ' | bar=' + bar.getAttribute('value')))
    .observe(status, {childList: true, characterData: true, subtree: true});
  new MutationObserver(() => window.recordStatus('ERROR: ' + error.textContent))
    .observe(error, {childList: true, characterData: true, subtree: true});
});
"""


@pytest.fixture
def browser_page(live_server, owner, media_root):
    client = Client()
    client.force_login(owner)
    session = client.cookies["sessionid"].value
    # chromium() fails the test at teardown if the Content-Security-Policy refused anything.
    with chromium() as browser:
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        statuses: list[str] = []
        page.expose_function("recordStatus", lambda text: statuses.append(text))
        page.add_init_script(RECORD_STATUS)
        yield page, statuses


@pytest.mark.django_db(transaction=True)
def test_uploading_on_the_page_shows_progress_then_the_video(browser_page, live_server):
    page, statuses = browser_page
    page.goto(f"{live_server.url}/videos/upload")
    page.set_input_files("#upload-file", str(FIXTURES / "speech_en.mp4"))
    page.fill("#upload-title", "From the browser")
    page.click("#upload-submit")

    page.wait_for_url(re.compile(r".*/videos/[0-9a-f-]{36}$"), timeout=60_000)

    assert any(s.startswith("Uploading… ") for s in statuses), statuses
    assert any(s.startswith("Checking the file…") for s in statuses), statuses
    assert page.locator("h1.video-title").inner_text() == "From the browser"
    assert page.locator(".video-facts .video-duration").inner_text() == "18.7 s"
    player = page.locator("video.player")
    assert player.count() == 1
    # The player really loads from the permission-checked media URL (with ranges).
    wait_for(page, "document.querySelector('video.player').readyState >= 1", timeout=30_000)
    assert page.evaluate("document.querySelector('video.player').duration") == pytest.approx(18.68, abs=0.1)
    poster = player.get_attribute("poster")
    assert poster and "/thumbnail?t=" in poster
    assert page.request.get(f"{live_server.url}{poster}").headers["content-type"] == "image/jpeg"

    page.goto(f"{live_server.url}/videos")
    assert page.locator(".video-card img.video-card__thumb").count() == 1
    assert Video.objects.get().title == "From the browser"


@pytest.mark.django_db(transaction=True)
def test_a_refused_file_shows_the_reason_on_the_page(browser_page, live_server):
    page, _ = browser_page
    page.goto(f"{live_server.url}/videos/upload")
    page.set_input_files("#upload-file", str(FIXTURES / "not_a_video.mp4"))
    page.click("#upload-submit")

    error = page.locator("#upload-error")
    error.wait_for(state="visible", timeout=30_000)

    assert "not a video or audio format we accept" in error.inner_text()
    assert page.url.endswith("/videos/upload")
    assert Video.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_with_object_storage_the_page_uploads_straight_to_the_bucket(browser_page, live_server, s3, big_media):
    from videos.tests.conftest import BUCKET, bucket_keys

    # The CORS rule docs/deployment.md tells operators to set: browsers must be allowed to PUT the
    # parts and to read each part's ETag.
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [live_server.url], "AllowedMethods": ["PUT", "GET", "HEAD"],
        "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3600,
    }]})
    page, statuses = browser_page
    page.goto(f"{live_server.url}/videos/upload")
    assert page.locator("#upload-form").get_attribute("data-direct") == "1"
    page.set_input_files("#upload-file", str(big_media))
    page.click("#upload-submit")

    page.wait_for_url(re.compile(r".*/videos/[0-9a-f-]{36}$"), timeout=60_000)

    assert any(s.startswith("Checking the file…") for s in statuses), statuses
    video = Video.objects.get()
    assert video.status == "ready" and video.size == big_media.stat().st_size
    assert bucket_keys(s3) == sorted([video.storage_key, video.thumbnail])
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
