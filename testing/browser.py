"""Headless Chromium for the browser tests: screenshots of each page passed, and axe-core on it.

`Walk` wraps one Playwright page. `walk.check("name")` saves a full-page screenshot of the page
as it is at 1280 px and at 390 px (a phone) under test-artifacts/screenshots/<test>/, then runs
axe-core (vendored in testing/vendor/axe-core, MPL-2.0) on it and records every serious or
critical violation; the test asserts `walk.violations == []` at its end so one run lists them
all. Chromium is Debian's (`shutil.which("chromium")`), never a Playwright download.
"""

from __future__ import annotations

import json
import os
import re
import shutil
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


def chromium_executable() -> str | None:
    return shutil.which("chromium")


@contextmanager
def chromium():
    """A headless Debian Chromium driven by Playwright (skips the test when either is missing)."""
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
            try:
                yield browser
            finally:
                browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


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
            page.add_script_tag(content=AXE.read_text())
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
