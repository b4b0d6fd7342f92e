"""The dubbing pages: the "Dub this video" form (cost and balance before confirming), My dubs, the
job page (live progress hooks, players, downloads, actions) and the line editor."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing.languages import language_support
from dubbing.models import ArtifactKind, DubbingJob, JobStatus, Segment, StepStatus
from dubbing.tests.factories import ArtifactFactory, DubbingJobFactory, add_segments
from testing.browser import chromium, wait_for
from videos.tests.factories import SpeechVideoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def stranger(other) -> Client:
    client = Client()
    client.force_login(other)
    return client


def _needs_en_es():
    if not language_support().supports("en", "es"):
        pytest.skip("the local engines here cannot dub en->es")


# --- Dub this video ------------------------------------------------------------------------------------


def test_the_video_page_shows_the_dub_form_with_its_cost_and_my_balance(owner, staff, browser, video):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)

    html = browser.get(f"/videos/{video.id}").content.decode()

    assert "Dub this video" in html
    assert f'action="/videos/{video.id}/dub"' in html
    assert 'data-cost-per-language="1" data-balance="5"' in html
    assert 'id="dub-cost" data-cost="1">1 credit<' in html
    assert 'id="dub-balance">5 credits<' in html
    assert "(4 credits left after this dub)" in html
    # Every field has a label, and the choices come from the engines.
    for name in ("target_language", "source_language", "background", "subtitles", "max_speed", "glossary"):
        assert f'<label for="id_{name}">' in html and f'id="id_{name}"' in html
    assert '<option value="es" selected>Spanish</option>' in html
    assert '<option value="auto" selected>' in html
    assert 'min="1.0" max="1.5"' in html
    assert 'id="dub-submit"' in html


def test_too_few_credits_says_so_beside_the_button_with_a_link_to_buy(owner, browser, media_root):
    _needs_en_es()
    long_video = SpeechVideoFactory(owner=owner, duration=125.0)  # 3 started minutes

    html = browser.get(f"/videos/{long_video.id}").content.decode()

    assert 'data-cost="3">3 credits<' in html and 'id="dub-balance">0 credits<' in html
    assert "You need 3 more credits for this dub." in html
    assert f'href="/credits?next=/videos/{long_video.id}"' in html  # and back here after paying
    assert re.search(r'<button type="submit" class="button" id="dub-submit" disabled aria-describedby="dub-short">', html)


def test_the_form_starts_a_job_and_goes_to_its_page(owner, staff, browser, video):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)

    response = browser.post(
        f"/videos/{video.id}/dub",
        {
            "target_language": "es", "source_language": "auto", "background": "keep", "subtitles": "burned",
            "max_speed": "1.25", "glossary": "OneVoice = OneVoice\n\n  Hello = Hola  \n",
        },
    )

    job = DubbingJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.id}"
    assert job.options["background"] == "keep" and job.options["subtitles"] == "burned"
    assert job.options["max_speed"] == 1.25
    assert job.options["glossary"] == {"OneVoice": "OneVoice", "Hello": "Hola"}
    assert credits_balance(user=owner) == 4


def test_a_bad_glossary_line_is_shown_on_the_form(owner, staff, browser, video):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)
    response = browser.post(
        f"/videos/{video.id}/dub",
        {"target_language": "es", "source_language": "auto", "background": "duck", "subtitles": "soft",
         "max_speed": "1.3", "glossary": "good = bueno\njust a term"},
    )
    assert response.status_code == 400
    assert 'Line 2 is not &quot;term = translation&quot;.' in response.content.decode()
    assert not DubbingJob.objects.exists()


def test_posting_with_too_few_credits_says_so_and_creates_nothing(owner, browser, media_root):
    _needs_en_es()
    long_video = SpeechVideoFactory(owner=owner, duration=125.0)
    response = browser.post(
        f"/videos/{long_video.id}/dub",
        {"target_language": "es", "source_language": "auto", "background": "duck", "subtitles": "soft", "max_speed": "1.3"},
    )
    assert response.status_code == 402
    html = response.content.decode()
    assert 'id="dub-error"' in html and f'href="/credits?next=/videos/{long_video.id}/dub"' in html
    assert not DubbingJob.objects.exists()


def test_the_dub_page_is_404_for_someone_elses_video(stranger, video):
    assert stranger.get(f"/videos/{video.id}/dub").status_code == 404
    assert stranger.post(f"/videos/{video.id}/dub", {"target_language": "es"}).status_code == 404
    assert not DubbingJob.objects.exists()


# --- My dubs -----------------------------------------------------------------------------------------------


def test_my_dubs_lists_my_jobs_with_status_filters(owner, other, browser, media_root, django_assert_num_queries):
    mine = SpeechVideoFactory(owner=owner, title="Mine")
    running = DubbingJobFactory(owner=owner, video=mine, status=JobStatus.RUNNING, progress=42)
    failed = DubbingJobFactory(owner=owner, video=mine, status=JobStatus.FAILED, error_code="no_speech")
    DubbingJobFactory(owner=other, video=SpeechVideoFactory(owner=other, title="Theirs"))

    # session, user, COUNT of my jobs, the page of jobs with their video joined, the header's balance
    with django_assert_num_queries(5):
        html = browser.get("/jobs").content.decode()

    assert f'href="/jobs/{running.id}"' in html and f'href="/jobs/{failed.id}"' in html
    assert "Theirs" not in html
    assert "42%" in html
    assert '<a href="/jobs" aria-current="page">All</a>' in html

    html = browser.get("/jobs?status=failed").content.decode()
    assert f'href="/jobs/{failed.id}"' in html and f'href="/jobs/{running.id}"' not in html
    assert '<a href="/jobs?status=failed" aria-current="page">Failed</a>' in html
    html = browser.get("/jobs?status=active").content.decode()
    assert f'href="/jobs/{running.id}"' in html and f'href="/jobs/{failed.id}"' not in html


def test_my_dubs_has_an_empty_state(browser):
    html = browser.get("/jobs").content.decode()
    assert "You have not dubbed anything yet." in html and 'href="/videos"' in html
    html = browser.get("/jobs?status=cancelled").content.decode()
    assert "No dubs with this status." in html


def test_the_navigation_links_to_my_dubs(browser):
    html = browser.get("/jobs").content.decode()
    assert '<a href="/jobs" aria-current="page">My dubs</a>' in html


def test_the_pages_need_a_login(client, finished_job):
    for url in ("/jobs", f"/jobs/{finished_job.id}", f"/jobs/{finished_job.id}/lines"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


# --- The job page -------------------------------------------------------------------------------------------


def test_a_running_job_page_has_the_progress_the_steps_and_the_polling_hooks(owner, browser, video):
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.RUNNING, stage="transcribe", progress=30,
                            steps=[("probe", StepStatus.DONE), ("extract", StepStatus.DONE),
                                   ("transcribe", StepStatus.RUNNING)])

    html = browser.get(f"/jobs/{job.id}").content.decode()

    assert f'data-api-url="/api/v1/jobs/{job.id}"' in html and 'data-active="1"' in html
    assert '<progress id="job-progress" max="100" value="30">' in html
    assert "Recognize the speech" in html
    # Every stage is listed while the job runs; those not reached yet are waiting.
    assert html.count('class="job-step job-step--done"') == 2
    assert html.count('class="job-step job-step--running"') == 1
    assert 'class="job-step job-step--waiting" data-step="publish"' in html
    assert 'id="job-cancel">' in html  # shown
    assert 'id="job-retry" hidden>' in html
    assert "js/dubbing_job.js" in html
    assert 'id="stage-labels"' in html and 'id="stage-order"' in html


def test_a_failed_job_page_shows_the_error_plainly_and_offers_a_retry(owner, browser, video):
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.FAILED, error_code="no_speech",
                            error_message="No speech was found in this video.")
    html = browser.get(f"/jobs/{job.id}").content.decode()
    assert 'data-active="0"' in html
    assert '<div id="job-error" class="message message--error" role="alert">' in html
    assert "No speech was found in this video." in html and "no_speech" in html
    assert 'id="job-retry">' in html and 'id="job-cancel" hidden>' in html


def test_a_finished_job_page_plays_both_versions_and_links_every_file(owner, browser, finished_job):
    kinds = {
        ArtifactKind.DUBBED_VIDEO: ("speech.es.mp4", "video/mp4"),
        ArtifactKind.DUBBED_AUDIO: ("speech.es.m4a", "audio/mp4"),
        ArtifactKind.SUBTITLES_TARGET_SRT: ("speech.es.srt", "application/x-subrip"),
        ArtifactKind.SUBTITLES_TARGET_VTT: ("speech.es.vtt", "text/vtt"),
        ArtifactKind.SUBTITLES_SOURCE_SRT: ("speech.en.srt", "application/x-subrip"),
        ArtifactKind.SUBTITLES_SOURCE_VTT: ("speech.en.vtt", "text/vtt"),
        ArtifactKind.SUBTITLES_BILINGUAL_SRT: ("speech.en-es.srt", "application/x-subrip"),
        ArtifactKind.SUBTITLES_BILINGUAL_VTT: ("speech.en-es.vtt", "text/vtt"),
    }
    for kind, (filename, content_type) in kinds.items():
        ArtifactFactory(job=finished_job, kind=kind, content=b"data", filename=filename, content_type=content_type)

    html = browser.get(f"/jobs/{finished_job.id}").content.decode()

    assert re.search(rf'<video class="player" id="original-player" controls preload="metadata" playsinline src="/media/videos/{finished_job.video_id}/source\?t=', html)
    assert re.search(rf'id="dubbed-player" controls preload="metadata" playsinline[^>]*\s+src="/media/jobs/{finished_job.id}/dubbed_video\?t=', html)
    for kind, (filename, _) in kinds.items():
        assert re.search(rf'href="/media/jobs/{finished_job.id}/{kind}\?t=[^"&]+&amp;download=1" download="{re.escape(filename)}"', html), kind
    assert f'href="/jobs/{finished_job.id}/lines"' in html and 'id="job-lines-link" hidden' not in html

    # The links really download.
    link = re.search(rf'href="(/media/jobs/{finished_job.id}/subtitles_target_srt\?[^"]+)"', html).group(1)
    response = Client().get(link.replace("&amp;", "&"))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"data"
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_job_page_is_404_for_someone_else(stranger, finished_job):
    assert stranger.get(f"/jobs/{finished_job.id}").status_code == 404
    assert stranger.get(f"/jobs/{finished_job.id}/lines").status_code == 404
    for action in ("cancel", "retry", "render"):
        assert stranger.post(f"/jobs/{finished_job.id}/{action}").status_code == 404
    assert stranger.post(f"/jobs/{finished_job.id}/lines", {"index": 0, "target_text": "x"}).status_code == 404
    assert Segment.objects.get(job=finished_job, index=0).target_text == "Hola."


def test_cancel_from_the_page_refunds_and_comes_back(owner, staff, browser, video):
    _needs_en_es()
    give_credits(owner, 5, staff=staff)
    browser.post(f"/videos/{video.id}/dub", {"target_language": "es", "source_language": "auto",
                                             "background": "duck", "subtitles": "soft", "max_speed": "1.3"})
    job = DubbingJob.objects.get()
    assert credits_balance(user=owner) == 4

    response = browser.post(f"/jobs/{job.id}/cancel", follow=True)

    assert response.redirect_chain[-1][0] == f"/jobs/{job.id}"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and credits_balance(user=owner) == 5
    assert "The job is cancelled" in response.content.decode()


# --- The line editor ----------------------------------------------------------------------------------------


def test_the_line_editor_escapes_html_and_scripts_in_the_lines(owner, browser, video):
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.SUCCEEDED, progress=100)
    add_segments(job, [("<script>alert('src')</script>", '<img src=x onerror="alert(1)">')])

    html = browser.get(f"/jobs/{job.id}/lines").content.decode()

    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;src&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_the_line_editor_shows_each_lines_text_speed_overrun_and_the_quote(owner, staff, browser, finished_job):
    give_credits(owner, 2, staff=staff)
    Segment.objects.filter(job=finished_job, index=1).update(target_text="¿Qué tal?", overrun=0.4, speed=1.3)

    html = browser.get(f"/jobs/{finished_job.id}/lines").content.decode()

    assert "Hello there." in html and "Hola." in html and "¿Qué tal?" in html
    assert '<label class="visually-hidden" for="line-text-0">Translation of line 1</label>' in html
    assert "speed 1.30×" in html and "runs over by 0.40 s" in html
    assert "1 changed line, 1.5 s of speech. Re-rendering costs <strong>1 credit</strong>. Your balance: 2 credits." in html
    assert 'id="render-button">' in html  # enabled
    assert f'data-api-url="/api/v1/jobs/{finished_job.id}/segments/"' in html and "js/dubbing_lines.js" in html


def test_a_line_saved_without_javascript_and_rendered_from_the_page(owner, staff, browser, finished_job):
    give_credits(owner, 2, staff=staff)
    response = browser.post(f"/jobs/{finished_job.id}/lines", {"index": "0", "target_text": "  Buenas   tardes. "})
    assert response.status_code == 302 and response["Location"].endswith("#line-0")
    assert Segment.objects.get(job=finished_job, index=0).target_text == "Buenas tardes."

    response = browser.post(f"/jobs/{finished_job.id}/render")
    assert response.status_code == 302
    finished_job.refresh_from_db()
    assert finished_job.rendering and credits_balance(user=owner) == 1


def test_the_lines_of_a_running_job_are_read_only(owner, browser, video):
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.RUNNING, stage="fit")
    add_segments(job, [("Hi.", "Hola.")])
    html = browser.get(f"/jobs/{job.id}/lines").content.decode()
    assert "readonly" in html and "Lines can be edited once the dub has succeeded." in html
    assert "render-button" not in html
    browser.post(f"/jobs/{job.id}/lines", {"index": "0", "target_text": "Buenas."})
    assert Segment.objects.get(job=job).target_text == "Hola."


def test_an_unknown_job_id_is_404(browser):
    assert browser.get(f"/jobs/{uuid.uuid4()}").status_code == 404


# --- In a real browser: live progress and saving a line without reloading ------------------------------------


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
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_job_page_follows_the_job_to_the_end_without_reloading(browser_page, live_server, owner, video):
    from dubbing.models import JobStep
    from dubbing.services import job_snapshot_refresh
    from testing.media import FIXTURE_MEDIA

    page, errors = browser_page
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.RUNNING, stage="extract", progress=10,
                            steps=[("probe", StepStatus.DONE), ("extract", StepStatus.RUNNING)])
    page.goto(f"{live_server.url}/jobs/{job.id}")
    page.evaluate("window.sameDocument = true")
    assert page.locator("#job-progress").get_attribute("value") == "10"

    # The worker moves on: the page follows within a second or two.
    JobStep.objects.filter(job=job, name="extract").update(status=StepStatus.DONE)
    JobStep.objects.create(job=job, attempt=1, name="transcribe", position=2, status=StepStatus.RUNNING)
    DubbingJob.objects.filter(id=job.id).update(stage="transcribe", progress=35, detected_language="en")
    job.refresh_from_db()
    job_snapshot_refresh(job)
    wait_for(page, "document.getElementById('job-progress').value === 35", timeout=5000)
    assert page.locator("#job-stage").text_content() == "Recognize the speech"
    assert page.locator("#job-source-language").text_content() == "English"
    assert page.locator('[data-step="transcribe"]').get_attribute("class") == "job-step job-step--running"

    # ...and it finishes: 100%, the dubbed player and the downloads appear, polling stops.
    JobStep.objects.filter(job=job, name="transcribe").update(status=StepStatus.DONE)
    DubbingJob.objects.filter(id=job.id).update(status=JobStatus.SUCCEEDED, stage="publish", progress=100)
    job.refresh_from_db()
    ArtifactFactory(job=job, kind=ArtifactKind.DUBBED_VIDEO, content=(FIXTURE_MEDIA / "speech_en.mp4").read_bytes(),
                    filename="speech.es.mp4", content_type="video/mp4")
    ArtifactFactory(job=job, kind=ArtifactKind.SUBTITLES_TARGET_SRT,
                    content=b"1\n00:00:00,000 --> 00:00:01,000\nHola\n", filename="speech.es.srt",
                    content_type="application/x-subrip")
    wait_for(page, "document.querySelectorAll('#download-list li').length === 2", timeout=5000)

    assert page.evaluate("window.sameDocument") is True  # never reloaded
    assert page.locator("#job-progress").get_attribute("value") == "100"
    assert page.locator("#job-status").text_content() == "Succeeded"
    assert page.locator("#job-cancel").is_hidden() and page.locator("#job-lines-link").is_visible()
    assert page.locator("#dubbed-player").is_visible()
    wait_for(page, "document.getElementById('dubbed-player').readyState >= 1", timeout=10000)
    assert page.locator("#download-list a").first.text_content() == "Dubbed video"
    assert errors == []


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_line_is_saved_with_the_keyboard_and_the_quote_follows(browser_page, live_server, owner, staff, finished_job):
    page, errors = browser_page
    give_credits(owner, 3, staff=staff)
    page.goto(f"{live_server.url}/jobs/{finished_job.id}/lines")
    page.evaluate("window.sameDocument = true")
    assert "No line has changed" in page.locator("#render-quote").text_content()
    assert page.locator("#render-button").is_disabled()

    page.locator("#line-text-1").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("¿Qué tal estás?")
    page.keyboard.press("Control+Enter")

    wait_for(page, "document.querySelector('#line-1 .line__status').textContent === 'Saved.'", timeout=5000)
    wait_for(page, "document.getElementById('render-quote').textContent.includes('1 changed line')", timeout=5000)
    assert page.evaluate("window.sameDocument") is True
    assert Segment.objects.get(job=finished_job, index=1).target_text == "¿Qué tal estás?"
    assert page.locator("#line-1 .line__changed").is_visible()
    assert not page.locator("#render-button").is_disabled()
    assert "Your balance: 3 credits." in page.locator("#render-quote").text_content()
    assert errors == []
