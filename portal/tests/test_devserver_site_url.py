"""The links in emails follow the address `devserver` listens on (issue 21: with `PORT=8023 make
run` the verification link pointed at 127.0.0.1:8000)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from portal.management.commands.devserver import listening_url
from testing.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_a_wildcard_bind_is_reached_through_loopback():
    assert listening_url("0.0.0.0", 8023) == "http://127.0.0.1:8023"
    assert listening_url("::", "9000", ipv6=True) == "http://[::1]:9000"
    assert listening_url("192.168.1.5", 8000) == "http://192.168.1.5:8000"
    assert listening_url("::1", 8001, ipv6=True) == "http://[::1]:8001"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"devserver exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=2.0)
        except httpx.TransportError:
            return False
        return True

    wait_until(answers, timeout=timeout, interval=0.3, what=lambda: f"devserver at {url}:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def fresh_devserver(tmp_path: Path, *options: str):
    """devserver on a free port over a fresh embedded set-up (its own data folder, migrated; no
    SITE_URL, database, broker or cache from the environment), as `make run` starts it on a new
    machine: yields its base URL and the file its output goes to, stops it after."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in ("SITE_URL", "DATABASE_URL", "REDIS_URL", "RABBITMQ_URL")}
    env.update(ONEVOICE_DATA_DIR=str(tmp_path / "data"), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=300)
    log = tmp_path / "devserver.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "devserver", f"127.0.0.1:{port}", "--noreload", *options],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/healthz", process, log)
        yield base, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.slow
def test_the_verification_link_points_at_the_port_devserver_listens_on(tmp_path):
    # Given a fresh embedded set-up served by devserver on a port that is not 8000, no SITE_URL
    with fresh_devserver(tmp_path, "--no-sample-dub", "--worker-threads", "1") as (base, log):
        # When someone signs up
        answer = httpx.post(base + "/api/v1/auth/register", timeout=30.0, json={
            "email": "newcomer@example.com", "password": "a long pass phrase 42", "name": "New"})
        assert answer.status_code == 201, answer.text
        # Then the console email's link carries devserver's own address, and it verifies the account
        links = wait_until(lambda: re.findall(r"https?://[^\s\"'<>]+/verify-email/[^\s\"'<>]+", log.read_text()),
                           timeout=30, interval=0.2, what=lambda: f"the console email:\n{log.read_text()[-3000:]}")
        assert all(link.startswith(base + "/") for link in links), links
        page = httpx.get(links[0], timeout=30.0)
        assert page.status_code == 200, page.text[:500]
