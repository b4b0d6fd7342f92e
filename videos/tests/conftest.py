from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from testing.media import FIXTURE_MEDIA
from testing.s3_server import loopback_s3

FIXTURES = FIXTURE_MEDIA
BUCKET = "onevoice-test-media"


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def fixture_upload(name: str, *, as_name: str | None = None, content_type: str = "video/mp4") -> SimpleUploadedFile:
    return SimpleUploadedFile(as_name or name, (FIXTURES / name).read_bytes(), content_type=content_type)


@pytest.fixture
def upload(owner_client, media_root):
    """POST a file to /api/v1/videos as the owner."""

    def _upload(file, client=None, **data):
        return (client or owner_client).post("/api/v1/videos", {"file": file, **data}, format="multipart")

    return _upload


@pytest.fixture
def ready_video(upload):
    response = upload(fixture_upload("speech_en.mp4"))
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture(scope="session")
def _s3_server():
    with loopback_s3() as server:
        yield server


@pytest.fixture
def s3(_s3_server, settings):
    """Storage switched to S3 exactly as production does it, against the loopback server."""
    _s3_server.reset()
    client = _s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    for name, value in _s3_server.django_settings(BUCKET).items():
        setattr(settings, name, value)
    return client


def bucket_keys(client) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.fixture(scope="session")
def big_media(tmp_path_factory) -> Path:
    """A valid ~11 MB QuickTime file (uncompressed picture, cheap to make) for multi-part direct uploads."""
    path = tmp_path_factory.mktemp("media") / "big.mov"
    subprocess.run(
        [
            shutil.which("ffmpeg") or "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=3",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
            "-c:v", "rawvideo", "-pix_fmt", "uyvy422", "-c:a", "aac", "-b:a", "32k",
            "-shortest", str(path),
        ],
        check=True,
        timeout=120,
    )
    return path
