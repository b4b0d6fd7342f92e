"""The back-office says OneVoice and its jobs list fits a 1280 px screen (issue 21 item 8). Here
with the flows above the apps: the back-office shows every app's rows (jobs, videos, users)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from dubbing.tests.factories import DubbingJobFactory
from testing.browser import chromium
from videos.tests.factories import VideoFactory


@pytest.mark.django_db
def test_the_admin_is_titled_onevoice_in_english(staff_browser):
    index = staff_browser.get("/admin/").content.decode()
    assert "<title>Refunds, credits, dubbing jobs and moderation | OneVoice back-office</title>" in index
    assert "Django administration" not in index


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("locale", ["en", "ko"])
def test_the_jobs_list_shows_each_jobs_status_without_scrolling_at_1280_px(live_server, staff, locale):
    staff.locale = locale
    staff.save(update_fields=["locale"])
    # Given jobs with a long title and a long owner address, as real ones have
    owner = UserFactory(email="a.very.long.address.for.a.creator@example-studio-company.com")
    for number in range(3):
        video = VideoFactory(owner=owner, title=f"Quarterly product walkthrough, part {number} (final cut, 4K)")
        DubbingJobFactory(owner=owner, video=video, error_code="engine_unavailable",
                          engines={"asr": "faster-whisper", "translate": "apertium", "tts": "kokoro"})
    client = Client()
    client.force_login(staff)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        page = context.new_page()
        # When staff open the jobs list
        assert page.goto(live_server.url + "/admin/dubbing/dubbingjob/").status == 200
        # Then every job's status cell is inside the screen and nothing scrolls sideways
        cells = page.locator("#result_list td.field-status, #result_list th.field-status")
        assert cells.count() == 3
        for index in range(cells.count()):
            box = cells.nth(index).bounding_box()
            assert box and box["x"] + box["width"] <= 1280, box
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        # And the whole list is in view: no column scrolled out of the list's box (with the app
        # sidebar and a title's video id the box was 630 px and the table 1,940: status and all
        # after it were hidden), each status on one line
        results = page.locator("#changelist .results")
        assert results.evaluate("r => r.scrollWidth <= r.clientWidth + 1"), results.evaluate(
            "r => [r.scrollWidth, r.clientWidth]")
        edge = results.bounding_box()["x"] + results.bounding_box()["width"]
        headers = page.evaluate("Array.from(document.querySelectorAll('#result_list thead th'),"
                                " th => [th.className, Math.round(th.getBoundingClientRect().right)])")
        assert len(headers) == 11 and all(right <= edge + 1 for _, right in headers), (edge, headers)
        for index in range(cells.count()):
            lines = cells.nth(index).evaluate("c => { const r = document.createRange(); r.selectNodeContents(c);"
                                              " return new Set(Array.from(r.getClientRects(), b => Math.round(b.top))).size; }")
            assert lines == 1, (cells.nth(index).inner_text(), lines)
        # An address breaks after a dot or a hyphen or before its @, never inside a word
        breaks = page.evaluate("""() => Array.from(document.querySelectorAll('#result_list td.field-owner_email'), td => {
            const text = td.textContent, found = [], range = document.createRange();
            const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT); let node, prev = null;
            while ((node = walker.nextNode())) for (let i = 0; i < node.length; i++) {
              range.setStart(node, i); range.setEnd(node, i + 1); const top = range.getClientRects()[0].top;
              if (prev && top > prev.top + 2) found.push(prev.ch + '|' + node.data[i]);
              prev = {top: top, ch: node.data[i]};
            }
            return [text, found]; })""")
        assert len(breaks) == 3 and all(text == owner.email for text, _ in breaks), breaks
        assert all(pair[0] in ".-" or pair[2] == "@" for _, found in breaks for pair in found), breaks
        titles = page.locator("#result_list .field-video_title").all_inner_texts()
        assert titles == [f"Quarterly product walkthrough, part {n} (final cut, 4K)" for n in (2, 1, 0)], titles
        page.screenshot(path=f"test-artifacts/admin-jobs-list-1280-{locale}.png", full_page=True)
