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


CSP_BROKEN_PAGE = (
    '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
    "<script>document.title = 'ran';</script>"
    '<button id="go" onclick="document.title = \'clicked\'">Go</button></main></body></html>'
)


def test_a_page_the_content_security_policy_breaks_fails_the_test():
    with pytest.raises(pytest.fail.Exception) as failed, chromium() as browser:
        page = browser.new_page()
        page.route("http://csp.test/", lambda route: route.fulfill(
            status=200, content_type="text/html", body=CSP_BROKEN_PAGE,
            headers={"Content-Security-Policy": "default-src 'self'"},
        ))
        page.goto("http://csp.test/")
        page.click("#go")
        for _ in range(50):  # the reports arrive over the DevTools connection
            if len(browser.csp_violations) >= 2:
                break
            page.wait_for_timeout(100)
        assert page.title() == "t"  # neither the inline script nor the handler ran

    report = str(failed.value)
    assert "Content-Security-Policy refused" in report
    assert "script-src-elem refused inline" in report
    assert "script-src-attr refused inline" in report
