"""The line editor's speakers panel (issue 20 item 5): each speaker's name and voice, a preview
button per voice and a play button per line; saving without JavaScript; and in a real browser:
rename a speaker, hear a preview, change a voice and see the changed lines and the quote."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from billing.tests.factories import give_credits
from dubbing.languages import language_support
from dubbing.models import DubbingJob, JobStatus, Segment
from dubbing.tests.factories import DubbingJobFactory, JobStepFactory, SegmentFactory
from testing.browser import Walk, chromium, wait_for

pytestmark = pytest.mark.django_db

FAST_VOICES = ("m1", "f3")  # espeak-ng variants: the previews are judged as audio, not as voices


@pytest.fixture
def voices():
    found = language_support().voices.get("es") or []
    if not set(FAST_VOICES) <= set(found):
        pytest.skip("espeak-ng's Spanish variants are not installed here")
    return found


@pytest.fixture
def dialogue_job(owner, video):
    """A succeeded Spanish dub: speaker_1 says lines 1 and 3, speaker_2 line 2; cast m1 and f3."""
    job = DubbingJobFactory(owner=owner, video=video, succeeded=True, stage="publish")
    lines = [("Hello, everyone.", "Hola a todos.", "speaker_1"), ("Hi! Good to be here.", "¡Hola! Me alegra estar aquí.",
             "speaker_2"), ("See you tomorrow.", "Hasta mañana, amigos.", "speaker_1")]
    for index, (source, target, speaker) in enumerate(lines):
        SegmentFactory(job=job, index=index, source_text=source, target_text=target, speaker=speaker)
    JobStepFactory(job=job, name="synthesize", position=6, detail={"voices": {"speaker_1": "m1", "speaker_2": "f3"}})
    return job


@pytest.fixture
def browser(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def test_the_job_page_links_to_the_speakers(browser, dialogue_job):
    html = browser.get(f"/jobs/{dialogue_job.id}").content.decode()
    assert f'href="/jobs/{dialogue_job.id}/lines#speakers"' in html and "Speakers and voices" in html


def test_the_editor_lists_each_speaker_with_a_name_field_their_voices_and_a_player_per_line(
    browser, dialogue_job, voices
):
    DubbingJob.objects.filter(id=dialogue_job.id).update(speaker_names={"speaker_2": "Minji"})

    html = browser.get(f"/jobs/{dialogue_job.id}/lines").content.decode()

    # Two speakers, the named one by her name, the other by number
    assert html.count('class="speaker__form"') == 2
    assert 'value="Minji"' in html and "Speaker 1" in html
    # every voice of the language, the speaker's own checked, each with its preview
    assert html.count('name="voice"') == 2 * len(voices)
    assert re.search(r'value="f3" checked', html)
    assert f'/api/v1/voices/es/m1/preview?job={dialogue_job.id}&amp;speaker=speaker_2' in html
    assert "Hear the voice m1" in html
    # each line names its speaker as the panel does and can be played
    speakers = re.findall(r'class="line__speaker" data-speaker="([^"]+)">([^<]+)<', html)
    assert speakers == [("speaker_1", "Speaker 1"), ("speaker_2", "Minji"), ("speaker_1", "Speaker 1")]
    for index in range(3):
        assert f"/api/v1/jobs/{dialogue_job.id}/segments/{index}/audio" in html
    assert "Play the dubbed line 2" in html


def test_the_panel_reads_korean(owner, browser, dialogue_job, voices):
    owner.locale = "ko"
    owner.save(update_fields=["locale"])
    html = browser.get(f"/jobs/{dialogue_job.id}/lines").content.decode()
    assert "화자와 목소리" in html and "화자 1" in html and "m1 목소리 듣기" in html and "2번 대사 듣기" in html


def test_a_speaker_saved_without_javascript_is_named_and_revoiced(owner, staff, browser, dialogue_job, voices):
    give_credits(owner, 2, staff=staff)
    url = f"/jobs/{dialogue_job.id}/speakers/speaker_1"

    response = browser.post(url, {"name": "Jisoo", "voice": "f3"})

    assert response.status_code == 302 and response["Location"].endswith(f"/jobs/{dialogue_job.id}/lines#speakers")
    dialogue_job.refresh_from_db()
    assert dialogue_job.speaker_names == {"speaker_1": "Jisoo"}
    assert dialogue_job.options["speaker_voices"] == {"speaker_1": "f3"}
    assert [s.changed for s in Segment.objects.filter(job=dialogue_job).order_by("index")] == [True, False, True]
    page = browser.get(f"/jobs/{dialogue_job.id}/lines").content.decode()
    assert "Voice saved: 2 lines will be spoken again when you re-render." in page
    assert "2 changed lines" in page and "Jisoo" in page

    # A bad name is said on the page and changes nothing
    browser.post(url, {"name": "x" * 60})
    page = browser.get(f"/jobs/{dialogue_job.id}/lines").content.decode()
    assert "A name has at most 50 characters." in page
    assert DubbingJob.objects.get(id=dialogue_job.id).speaker_names == {"speaker_1": "Jisoo"}


def test_someone_elses_speaker_is_404_and_a_running_jobs_panel_is_read_only(other, browser, dialogue_job, voices):
    stranger = Client()
    stranger.force_login(other)
    assert stranger.post(f"/jobs/{dialogue_job.id}/speakers/speaker_1", {"name": "Mine"}).status_code == 404
    assert DubbingJob.objects.get(id=dialogue_job.id).speaker_names == {}

    DubbingJob.objects.filter(id=dialogue_job.id).update(status=JobStatus.RUNNING)
    html = browser.get(f"/jobs/{dialogue_job.id}/lines").content.decode()
    assert html.count('class="speaker__fields" disabled') == 2
    browser.post(f"/jobs/{dialogue_job.id}/speakers/speaker_1", {"name": "Late"})
    assert DubbingJob.objects.get(id=dialogue_job.id).speaker_names == {}


def _store_fitted_clip(job, segment_id: str, folder) -> None:
    """The line's fitted clip and fit.json in the job's work store, as a render leaves them: the
    line spoken by espeak-ng at the mix rate."""
    import json
    import subprocess

    from dubbing.storage import JobWorkStore

    line = Segment.objects.get(job=job, segment_id=segment_id)
    clip = folder / f"{segment_id}.wav"
    subprocess.run(["espeak-ng", "-v", "es", "-w", str(folder / "raw.wav"), line.target_text], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(folder / "raw.wav"), "-ar", "48000", "-c:a", "pcm_f32le",
                    str(clip)], check=True)
    fitted = folder / "fit.json"
    fitted.write_text(json.dumps({segment_id: {"fitted_file": f"fit/{segment_id}-test.wav"}}))
    store = JobWorkStore(job.id, job.target_language)
    store.save("fit.json", fitted)
    store.save(f"fit/{segment_id}-test.wav", clip)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_rename_hear_and_revoice_a_speaker_in_the_browser(live_server, owner, staff, dialogue_job, voices,
                                                          settings, tmp_path):
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"  # the previews' cache
    give_credits(owner, 3, staff=staff)
    _store_fitted_clip(dialogue_job, "s0001", tmp_path)
    client = Client()
    client.force_login(owner)
    with chromium() as browser_app:
        context = browser_app.new_context()
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        page = context.new_page()
        walk = Walk(page, folder="speakers-and-voices")
        page.goto(f"{live_server.url}/jobs/{dialogue_job.id}/lines")
        page.evaluate("window.sameDocument = true")
        walk.check("speakers panel")

        # Rename speaker 2 from the keyboard
        name = page.get_by_label("Name · Speaker 2")
        name.focus()
        page.keyboard.type("Minji")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        save = page.locator("#speaker-2 button[type=submit]")
        save.focus()
        page.keyboard.press("Enter")
        wait_for(page, "document.querySelector('#speaker-2 .speaker__status').textContent.startsWith('Saved.')")
        assert page.locator("#line-1 .line__speaker").text_content() == "Minji"
        assert DubbingJob.objects.get(id=dialogue_job.id).speaker_names == {"speaker_2": "Minji"}
        assert "No line has changed" in page.locator("#render-quote").text_content()

        # Hear a preview of another voice for speaker 1 (the real engine renders it)
        page.locator("#speaker-1 summary").click()
        play = page.get_by_role("button", name="Hear the voice f3").first
        play.click()
        wait_for(page, "document.getElementById('player-status').textContent === 'Playing.'", timeout=30_000)
        assert play.get_attribute("aria-pressed") == "true"
        assert len(list((tmp_path / "work" / "previews").glob("*.wav"))) == 1
        walk.check("a preview playing")
        # A line's clip plays through the same player (stopping the preview); a line whose clip is
        # missing says so instead of failing.
        line_play = page.locator("#line-1 .line__play")
        line_play.click()
        wait_for(page, "document.querySelector('#line-1 .line__play').getAttribute('aria-pressed') === 'true'"
                       " && document.getElementById('player-status').textContent === 'Playing.'", timeout=15_000)
        assert play.get_attribute("aria-pressed") == "false"
        page.locator("#line-0 .line__play").click()
        wait_for(page, "document.getElementById('player-status').textContent.startsWith('This could not be played')")
        assert page.locator("#line-0 .line__play").get_attribute("aria-pressed") == "false"

        # Change speaker 1's voice: lines 1 and 3 are marked, the quote follows
        page.locator("#speaker-1 input[value=f3]").check()
        page.locator("#speaker-1 button[type=submit]").click()
        wait_for(page, "document.querySelector('#speaker-1 .speaker__status').textContent.includes('lines 1, 3')")
        assert page.locator("#line-0 .line__changed").is_visible() and page.locator("#line-2 .line__changed").is_visible()
        assert page.locator("#line-1 .line__changed").is_hidden()
        wait_for(page, "document.getElementById('render-quote').textContent.includes('2 changed lines')")
        assert "Re-rendering costs 1 credit" in page.locator("#render-quote").text_content()
        assert not page.locator("#render-button").is_disabled()
        assert page.evaluate("window.sameDocument") is True
        walk.check("a voice changed")
        assert [s.changed for s in Segment.objects.filter(job=dialogue_job).order_by("index")] == [True, False, True]

        # The same panel in Korean, at 390 px too (walk.check), reachable and named for a screen reader
        owner.locale = "ko"
        owner.save(update_fields=["locale"])
        page.reload()
        assert page.locator("#speakers-heading").text_content() == "화자와 목소리"
        assert page.locator("#line-1 .line__speaker").text_content() == "Minji"
        assert page.get_by_role("button", name="2번 대사 듣기").is_visible()
        walk.check("speakers panel in Korean")
        assert walk.violations == [] and walk.errors == []


def test_a_cloned_speaker_says_so_with_the_reason_and_their_clone_has_no_preview(browser, dialogue_job, voices):
    # Given a render that cloned speaker_2 and says why speaker_1 was not
    JobStepFactory(job=dialogue_job, name="synthesize", position=6, render=1, detail={
        "voices": {"speaker_1": "m1", "speaker_2": "clone"}, "cloned": {"speaker_1": False, "speaker_2": True},
        "voice_reasons": {"speaker_1": "not cloned: only 2.1 s of clear speech alone", "speaker_2": ""}})

    html = browser.get(f"/jobs/{dialogue_job.id}/lines").content.decode()

    assert html.count("Their own voice, cloned") == 1
    assert "not cloned: only 2.1 s of clear speech alone" in html
    assert 'value="clone" checked' in html and "Hear the voice clone" not in html
    assert html.count('name="voice"') == 2 * len(voices) + 1

    # Renaming them from the form (which sends the voice they have, a clone) is a rename only
    response = browser.post(f"/jobs/{dialogue_job.id}/speakers/speaker_2", {"name": "Minji", "voice": "clone"})
    assert response.status_code == 302
    dialogue_job.refresh_from_db()
    assert dialogue_job.speaker_names == {"speaker_2": "Minji"} and not dialogue_job.options.get("speaker_voices")
    assert not any(s.changed for s in Segment.objects.filter(job=dialogue_job))
