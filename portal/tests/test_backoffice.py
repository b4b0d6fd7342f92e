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
def test_the_jobs_list_shows_each_jobs_status_without_scrolling_at_1280_px(live_server, staff):
    # Given jobs with a long title and a long owner address, as real ones have
    owner = UserFactory(email="a.very.long.address.for.a.creator@example-studio-company.com")
    for number in range(3):
        video = VideoFactory(owner=owner, title=f"Quarterly product walkthrough, part {number} (final cut, 4K)")
        DubbingJobFactory(owner=owner, video=video, error_code="engine_unavailable")
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
