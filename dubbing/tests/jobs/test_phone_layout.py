"""What a phone shows (issue 21): My dubs fits 390 px with every status whole and a language name
never broken inside a word; the line editor's re-render panel does not cover the lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from dubbing.models import Segment
from dubbing.tests.factories import DubbingJobFactory
from testing.browser import chromium
from videos.tests.factories import VideoFactory

SHOTS = Path("test-artifacts") / "screenshots" / "phone-layout"


def _page(browser, live_server, user, width=390):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": width, "height": 844})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context.new_page()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale", ["en", "ko"])
def test_my_dubs_fits_a_phone_with_whole_statuses_and_unbroken_language_names(live_server, owner, locale):
    owner.locale = locale
    owner.save(update_fields=["locale"])
    video = VideoFactory(owner=owner, title="Quarterly product walkthrough for the whole team (final cut)")
    for status in ("succeeded", "failed", "running", "queued"):
        DubbingJobFactory(owner=owner, video=video, status=status, progress=40 if status == "running" else 0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = _page(browser, live_server, owner)
        page.goto(live_server.url + "/jobs")
        page.screenshot(path=str(SHOTS / f"my-dubs-{locale}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        badges = page.locator(".job-badge")
        assert badges.count() == 4
        for index in range(4):
            badge = badges.nth(index)
            assert badge.evaluate("b => b.scrollWidth <= b.clientWidth + 1"), badge.inner_text()
            box = badge.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        # Every fact of every job is on screen (the table used to scroll sideways, hiding cost and date)
        cells = page.evaluate("[...document.querySelectorAll('.job-table td')].map(td => td.getBoundingClientRect().right)")
        assert len(cells) == 20 and max(cells) <= 390, cells
        # "스페인어" / "Spanish" on one line: its cell's text is one line high
        heights = page.evaluate("""[...document.querySelectorAll('.job-table td[data-label]:nth-child(2)')].map(td => {
            const range = document.createRange(); range.selectNodeContents(td);
            return range.getClientRects().length; })""")
        assert heights and all(count == 1 for count in heights), heights


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_re_render_panel_leaves_the_lines_visible_on_a_phone(live_server, owner):
    job = DubbingJobFactory(owner=owner, succeeded=True)
    for index in range(8):
        Segment.objects.create(job=job, index=index, segment_id=f"s{index + 1:04d}", start=index * 3.0, end=index * 3.0 + 2.5,
                               source_text=f"Line {index} in English.", target_text=f"Línea {index} en español.",
                               rendered_text=f"Línea {index} en español.")
    with chromium() as browser:
        page = _page(browser, live_server, owner)
        page.goto(f"{live_server.url}/jobs/{job.id}/lines")
        page.mouse.wheel(0, 1200)
        page.wait_for_timeout(300)
        panel = page.locator("#render-panel").bounding_box()
        header = page.locator(".site-header").bounding_box()
        # The panel scrolled away with the page instead of sticking over the lines under the header
        assert panel["y"] + panel["height"] <= header["y"] + header["height"] or panel["y"] >= 844, (panel, header)
