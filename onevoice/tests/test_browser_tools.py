"""The browser tests' own tools: axe-core really finds what it is there to find."""

from __future__ import annotations

import pytest

from testing.browser import Walk, chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_axe_reports_an_unlabelled_field_and_unreadable_text_as_serious():
    with chromium() as browser:
        page = browser.new_page()
        page.set_content(
            '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
            '<h1>Form</h1><input type="text" name="q">'
            '<p style="color:#bbb;background:#fff">faint text</p></main></body></html>'
        )
        walk = Walk(page, folder="browser-tools")
        walk.check("bad page")

    found = "\n".join(walk.violations)
    assert "label" in found
    assert "color-contrast" in found
