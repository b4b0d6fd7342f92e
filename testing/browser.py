"""Headless Chromium for the browser tests: screenshots of each page passed, and axe-core on it.

`Walk` wraps one Playwright page. `walk.check("name")` saves a full-page screenshot of the page
as it is at 1280 px and at 390 px (a phone) under test-artifacts/screenshots/<test>/, then runs
axe-core (vendored in testing/vendor/axe-core, MPL-2.0) on it and records every serious or
critical violation; the test asserts `walk.violations == []` at its end so one run lists them
all. Chromium is Debian's (`shutil.which("chromium")`), never a Playwright download.

The site sends a Content-Security-Policy, and a page it breaks is a broken page: every context
the browser of `chromium()` opens reports what the policy refused (a `securitypolicyviolation`
listener in every frame, and Chromium's "Refused to ..." console errors), and leaving `chromium()`
fails the test, at its teardown when a fixture holds the browser, if anything was refused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "testing" / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("ONEVOICE_TEST_ARTIFACTS", ROOT / "test-artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BLOCKING = ("serious", "critical")
# Runs before the page's own scripts in every frame, so nothing refused during loading is missed.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.onevoiceCSPViolation(event.effectiveDirective + " refused " + (event.blockedURI || "?")
    + " at " + (event.sourceFile || location.href) + ":" + event.lineNumber
    + (event.sample ? " (" + event.sample + ")" : ""));
}, true);
"""


def chromium_executable() -> str | None:
    return shutil.which("chromium")


class CSPWatchedBrowser:
    """A Playwright browser whose every context records what the Content-Security-Policy refused."""

    def __init__(self, browser):
        self._browser = browser
        self.csp_violations: list[str] = []

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        context.expose_binding(
            "onevoiceCSPViolation", lambda source, text: self.csp_violations.append(f"{source['frame'].url}: {text}")
        )
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._console)
        return context

    def new_page(self, **options):
        return self.new_context(**options).new_page()

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def check_csp(self) -> None:
        if self.csp_violations:
            import pytest

            pytest.fail("The Content-Security-Policy refused:\n" + "\n".join(self.csp_violations), pytrace=False)


@contextmanager
def chromium():
    """A headless Debian Chromium driven by Playwright (skips the test when either is missing).

    Fails the test on leaving if the Content-Security-Policy refused anything on any of its pages.
    """
    import pytest

    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_executable()
    if not executable:
        pytest.skip("chromium is not installed")
    # The ORM is used around Playwright's event loop, never concurrently with it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_ARGS)
            watched = CSPWatchedBrowser(browser)
            try:
                yield watched
            finally:
                browser.close()
            watched.check_csp()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def wait_for(page, expression: str, *, timeout: float = 30_000) -> None:
    """Wait until `expression` is true in the page (page.wait_for_function's job, in milliseconds).

    Playwright's wait_for_function evals its predicate inside the page, which the site's
    Content-Security-Policy refuses (no 'unsafe-eval'); page.evaluate goes through DevTools instead.
    """
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} ms waiting for: {expression}")
        page.wait_for_timeout(100)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Walk:
    """One user's tab: every `check` leaves two screenshots and an accessibility verdict."""

    def __init__(self, page, *, folder: str, who: str = ""):
        self.page = page
        self.folder = SCREENSHOTS / _slug(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.who = who
        self.violations: list[str] = []
        self.errors: list[str] = []
        self.count = 0
        page.set_viewport_size(DESKTOP)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))

    def check(self, name: str, *, axe: bool = True) -> None:
        self.count += 1
        stem = f"{self.count:02d}-{_slug((self.who + ' ' + name).strip())}"
        page = self.page
        page.wait_for_load_state("load")
        page.screenshot(path=str(self.folder / f"{stem}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(self.folder / f"{stem}-phone.png"), full_page=True)
        if axe:
            self._axe(name, stem)
        page.set_viewport_size(DESKTOP)

    def _axe(self, name: str, stem: str) -> None:
        page = self.page
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated, not added as an inline <script>: the site's policy refuses those.
            page.evaluate(AXE.read_text())
        result = page.evaluate(
            "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)})); }"
        )
        blocking = [v for v in result if v["impact"] in BLOCKING]
        report = self.folder / f"{stem}-axe.json"
        report.write_text(json.dumps({"url": page.url, "violations": result}, indent=2, ensure_ascii=False))
        for violation in blocking:
            self.violations.append(
                f"{name} ({page.url}): {violation['impact']} {violation['id']}: {violation['help']}: "
                + " | ".join(violation["nodes"][:5])
            )
