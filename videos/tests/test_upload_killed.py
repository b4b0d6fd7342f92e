"""An upload whose web worker is killed mid-way leaves nothing behind (issue 25, build item 5).

A real gunicorn (the production server) on a free loopback port, with its own data folder and
the test's database, receives a 300 MB upload; when part of it is on disk the whole server is killed
with SIGKILL, as the probe did (127 MB then stayed in /tmp). The partial file must be in the data
folder (FILE_UPLOAD_TEMP_DIR), never in the system's temporary folder, and `cleanup_uploads`
removes it once it is stale, while a fresh one (an upload that may still be running) stays.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from testing.processes import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
MB = 1024 * 1024

pytestmark = pytest.mark.slow


def _database_url() -> str:
    """The test database, for the server process to share (the test's user is committed)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _env(data_dir: Path, system_tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "RABBITMQ_URL", "AWS_"))}
    # TMPDIR: where Python's tempfile (and so Django without FILE_UPLOAD_TEMP_DIR) would write.
    env.update(ONEVOICE_DATA_DIR=str(data_dir), DJANGO_DEBUG="1", LOG_LEVEL="WARNING", TMPDIR=str(system_tmp),
               DATABASE_URL=_database_url(), DJANGO_SECRET_KEY=django_settings.SECRET_KEY)
    return env


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_upload_leaves_nothing_after_cleanup(tmp_path, owner, settings):
    data_dir, system_tmp = tmp_path / "data", tmp_path / "system-tmp"
    data_dir.mkdir()
    system_tmp.mkdir()
    env = _env(data_dir, system_tmp)
    token = AccessToken.for_user(owner)
    upload_tmp = data_dir / "tmp" / "uploads"

    port = free_port()
    server = subprocess.Popen(
        [str(GUNICORN), "onevoice.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--worker-class", "sync", "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=60)
        boundary = "----onevoice-upload-kill"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
                f"Content-Type: video/mp4\r\n\r\n").encode()
        announced = len(head) + 300 * MB + len(f"\r\n--{boundary}--\r\n")
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall((f"POST /api/v1/videos HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Authorization: Bearer {token}\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      f"Content-Length: {announced}\r\n\r\n").encode() + head)
        chunk = b"\0" * MB
        partial: list[Path] = []
        deadline = time.monotonic() + 60
        sent = 0
        while time.monotonic() < deadline:
            sock.sendall(chunk)
            sent += 1
            partial = _files(upload_tmp)
            if sent >= 20 and partial and partial[0].stat().st_size >= 8 * MB:
                break
        assert partial, "no partial upload appeared in the data folder's upload folder"

        os.killpg(server.pid, signal.SIGKILL)  # the master and its worker, mid-body
        server.wait(timeout=30)
        sock.close()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)

    # Where it was written: inside the data folder, nothing in the system's temporary folder.
    assert _files(system_tmp) == []
    left = _files(upload_tmp)
    assert left and left[0].stat().st_size >= 8 * MB  # what a killed worker cannot clean itself
    assert _files(data_dir / "media") == []  # nothing was stored as a video

    # The server's command, run here against the server's folder.
    settings.FILE_UPLOAD_TEMP_DIR = str(upload_tmp)
    # A file written to within the hour may be a live upload of another worker: it stays.
    call_command("cleanup_uploads", stdout=StringIO())
    assert _files(upload_tmp) == left

    two_hours_ago = time.time() - 2 * 3600
    for path in left:
        os.utime(path, (two_hours_ago, two_hours_ago))
    out = StringIO()
    call_command("cleanup_uploads", stdout=out)
    assert "removed 1 stale partial upload file(s)" in out.getvalue()
    assert _files(upload_tmp) == []
    assert _files(system_tmp) == []
