"""`make run` on a fresh checkout: devserver makes the landing page's sample dub with its
in-process worker. On a fresh data folder the sample video's spoken-language detection and the
sample job's run were sent before anything had declared the dubbing actors (ActorNotFound for
detect_spoken_language, QueueNotFound for `dubbing` on the StubBroker), and the landing page
never got its sample."""

from __future__ import annotations

import re

import httpx
import pytest

from portal.tests.test_devserver_site_url import fresh_devserver
from testing.waiting import wait_until


@pytest.mark.slow
def test_a_fresh_devserver_makes_the_sample_dub_and_the_landing_page_plays_it(tmp_path):
    with fresh_devserver(tmp_path, "--worker-threads", "2") as (base, log):
        def sample_dubbed():
            assert "could not be made" not in log.read_text(), log.read_text()[-3000:]
            home = httpx.get(base + "/", timeout=30.0).text
            return re.search(r'id="sample-dubbed"[^>]*src="([^"]+)"', home)

        found = wait_until(sample_dubbed, timeout=900, interval=3.0,
                           what=lambda: f"the sample dub on the landing page:\n{log.read_text()[-3000:]}")
        dubbed = httpx.get(base + found.group(1).replace("&amp;", "&"), timeout=60.0)
        assert dubbed.status_code == 200 and dubbed.content[4:8] == b"ftyp", dubbed.status_code
        text = log.read_text()
        assert "undefined actor" not in text and "QueueNotFound" not in text, text[-3000:]
