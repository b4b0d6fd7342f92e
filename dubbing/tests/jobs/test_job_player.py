"""The job page's player (issue 21 item 4): the subtitles as WebVTT tracks (the dub's shown by
default), posters from the thumbnail, portrait video kept portrait, and a before/after switch
that keeps the moment. Real MP4s made by ffmpeg, played in Chromium."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.test import Client

from dubbing.models import ArtifactKind
from dubbing.tests.factories import ArtifactFactory, DubbingJobFactory
from testing.browser import chromium, wait_for
from videos.tests.factories import VideoFactory

VTT_TARGET = "WEBVTT\n\n00:00:00.200 --> 00:00:02.000\nHola a todos\n\n00:00:02.500 --> 00:00:04.500\nGracias por ver\n"
VTT_SOURCE = "WEBVTT\n\n00:00:00.200 --> 00:00:02.000\nHello everyone\n\n00:00:02.500 --> 00:00:04.500\nThanks for watching\n"


def _portrait_clip(path: Path, *, tone: int) -> bytes:
    """A 5-second 360x640 H.264/AAC clip (a phone's portrait video) with a tone of its own."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=360x640:rate=25:duration=5",
                    "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000:duration=5",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast", "-c:a", "aac",
                    "-movflags", "+faststart", "-shortest", str(path)], check=True)
    return path.read_bytes()


def _thumbnail(path: Path) -> bytes:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=360x640", "-frames:v", "1",
                    str(path)], check=True)
    return path.read_bytes()


@pytest.fixture
def portrait_job(owner, media_root, tmp_path):
    video = VideoFactory(owner=owner, title="Phone clip", width=360, height=640, duration=5.0,
                         source=_portrait_clip(tmp_path / "source.mp4", tone=440),
                         thumbnail=_thumbnail(tmp_path / "thumb.jpg"))
    job = DubbingJobFactory(owner=owner, video=video, succeeded=True, source_language="en")
    _store_outputs(job, tmp_path)
    return job


def _store_outputs(job, tmp_path) -> None:
    """The dub's outputs as the worker stores them: the portrait dub and both subtitle tracks."""
    ArtifactFactory(job=job, kind=ArtifactKind.DUBBED_VIDEO, content=_portrait_clip(tmp_path / "dub.mp4", tone=660),
                    filename="phone.es.mp4", content_type="video/mp4")
    ArtifactFactory(job=job, kind=ArtifactKind.SUBTITLES_TARGET_VTT, content=VTT_TARGET.encode(),
                    filename="phone.es.vtt", content_type="text/vtt")
    ArtifactFactory(job=job, kind=ArtifactKind.SUBTITLES_SOURCE_VTT, content=VTT_SOURCE.encode(),
                    filename="phone.en.vtt", content_type="text/vtt")


@pytest.mark.django_db
def test_the_job_page_gives_both_players_their_subtitle_tracks_and_the_poster(owner_browser, portrait_job):
    html = owner_browser.get(f"/jobs/{portrait_job.id}").content.decode()
    assert 'kind="subtitles"' in html and 'srclang="es"' in html and 'srclang="en"' in html
    assert html.count("poster=") == 2
    assert 'width="360" height="640"' in html and "player--portrait" in html


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_dub_plays_with_its_subtitles_and_switches_to_the_original_at_the_same_moment(
        live_server, owner, portrait_job, width):
    client = Client()
    client.force_login(owner)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        page = context.new_page()
        page.goto(f"{live_server.url}/jobs/{portrait_job.id}")
        # One player at a time, the dub first, its Spanish subtitles showing
        wait_for(page, "!document.getElementById('compare').hidden")
        assert page.locator("#original-figure").is_hidden() and page.locator("#dubbed-figure").is_visible()
        wait_for(page, "document.getElementById('dubbed-player').textTracks.length === 1"
                       " && document.getElementById('dubbed-player').textTracks[0].mode === 'showing'"
                       " && (document.getElementById('dubbed-player').textTracks[0].cues || []).length === 2")
        assert page.evaluate("document.getElementById('dubbed-player').textTracks[0].cues[1].text") == "Gracias por ver"
        # Portrait stays portrait, and nothing scrolls sideways
        box = page.locator("#dubbed-player").bounding_box()
        assert box["height"] > box["width"] * 1.4, box
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # When the viewer, at 2.3 s into the dub, switches to the original
        wait_for(page, "document.getElementById('dubbed-player').readyState >= 1")
        page.evaluate("document.getElementById('dubbed-player').currentTime = 2.3")
        wait_for(page, "Math.abs(document.getElementById('dubbed-player').currentTime - 2.3) < 0.05")
        page.get_by_role("button", name="Original").click()
        # Then the original shows at the same moment and the dub is hidden and paused
        assert page.locator("#original-figure").is_visible() and page.locator("#dubbed-figure").is_hidden()
        wait_for(page, "Math.abs(document.getElementById('original-player').currentTime - 2.3) < 0.3")
        assert page.evaluate("document.getElementById('dubbed-player').paused")
        assert page.get_by_role("button", name="Original").get_attribute("aria-pressed") == "true"
        page.screenshot(path=str(Path("test-artifacts") / f"job-player-{width}.png"), full_page=True)


# Every <track> of both players, as the browser has them: the player, its language, label, whether
# shown by default, the kind of file it loads (the link's token differs between answers) and its cues.
TRACKS = """
() => Array.from(document.querySelectorAll('#job-players video track'), t => ({
  player: t.closest('video').id, srclang: t.srclang, label: t.label, default: t.default,
  file: new URL(t.src).pathname.split('/').filter(Boolean).slice(-2).join('/'), loaded: t.readyState,
  cues: t.track.cues ? Array.from(t.track.cues, c => c.text) : null}))
"""

DOWNLOADS = """
() => Array.from(document.querySelectorAll('#download-list li'), li => ({
  kind: li.querySelector('a').dataset.kind, file: li.querySelector('a').getAttribute('download'),
  details: li.querySelector('.muted') && li.querySelector('.muted').textContent.trim()}))
"""


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_dub_finishing_while_the_page_is_open_gives_both_players_their_tracks(live_server, owner, media_root,
                                                                                 tmp_path):
    from dubbing.models import JobStatus
    from dubbing.services import job_snapshot_refresh

    video = VideoFactory(owner=owner, title="Phone clip", width=360, height=640, duration=5.0,
                         source=_portrait_clip(tmp_path / "source.mp4", tone=440),
                         thumbnail=_thumbnail(tmp_path / "thumb.jpg"))
    job = DubbingJobFactory(owner=owner, video=video, status=JobStatus.RUNNING, progress=60, source_language="auto")
    client = Client()
    client.force_login(owner)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        page = context.new_page()
        page.goto(f"{live_server.url}/jobs/{job.id}")
        page.evaluate("window.sameDocument = true")
        assert page.evaluate(TRACKS) == []

        # The worker finishes the dub: its outputs stored, the language it heard, the job succeeded.
        _store_outputs(job, tmp_path)
        job.refresh_from_db()
        job.status, job.progress, job.detected_language = JobStatus.SUCCEEDED, 100, "en"
        job.save(update_fields=["status", "progress", "detected_language"])
        job_snapshot_refresh(job)

        # Without a reload, both players get their subtitles: the Spanish on the dub, shown; the
        # English that was said on the original, there to switch on. Both load their cues.
        wait_for(page, "!document.getElementById('dubbed-player').hidden")
        page.get_by_role("button", name="Original").click()  # a hidden player's track may not load
        wait_for(page, "Array.from(document.querySelectorAll('#job-players video track')).length === 2")
        page.locator("#original-player track").evaluate("t => { t.track.mode = 'hidden'; }")  # loads its cues
        wait_for(page, "Array.from(document.querySelectorAll('#job-players video track')).every(t => t.readyState === 2)")
        live = page.evaluate(TRACKS)
        assert page.evaluate("window.sameDocument") is True, "the page reloaded"
        assert [(t["player"], t["srclang"], t["default"]) for t in live] == [
            ("original-player", "en", False), ("dubbed-player", "es", True)], live
        assert [t["cues"] for t in live] == [["Hello everyone", "Thanks for watching"], ["Hola a todos", "Gracias por ver"]]

        # The downloads name their files as a reloaded page does (they were bare labels).
        wait_for(page, "document.querySelectorAll('#download-list li .muted').length === 3")
        live_downloads = page.evaluate(DOWNLOADS)

        # The same tracks and downloads as the page loaded after the dub finished.
        page.reload()
        assert page.evaluate(DOWNLOADS) == live_downloads
        assert {d["file"] for d in live_downloads} == {"phone.es.mp4", "phone.es.vtt", "phone.en.vtt"}
        page.get_by_role("button", name="Original").click()
        page.locator("#original-player track").evaluate("t => { t.track.mode = 'hidden'; }")
        wait_for(page, "Array.from(document.querySelectorAll('#job-players video track')).every(t => t.readyState === 2)")
        assert page.evaluate(TRACKS) == live
