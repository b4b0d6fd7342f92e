"""`make run` on a fresh checkout: devserver makes the landing page's sample dub with its
in-process worker. On a fresh data folder the sample video's spoken-language detection and the
sample job's run were sent before anything had declared the dubbing actors (ActorNotFound for
detect_spoken_language, QueueNotFound for `dubbing` on the StubBroker), and the landing page
never got its sample."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
import pytest

from portal.tests.test_devserver_site_url import ROOT, _free_port, _wait_for
from testing.waiting import wait_until


@pytest.mark.slow
def test_a_fresh_devserver_makes_the_sample_dub_and_the_landing_page_plays_it(tmp_path):
    port = _free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in ("SITE_URL", "DATABASE_URL", "REDIS_URL", "RABBITMQ_URL")}
    env.update(ONEVOICE_DATA_DIR=str(tmp_path / "data"), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=300)
    log = tmp_path / "devserver.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "devserver", f"127.0.0.1:{port}", "--noreload", "--worker-threads", "2"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/healthz", process, log)

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
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
