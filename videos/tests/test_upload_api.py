"""POST /api/v1/videos: what is accepted, what is refused, and that a refusal leaves nothing."""

from __future__ import annotations

import io
import os
import subprocess
import threading
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from videos.models import Video, VideoStatus
from videos.services import display_filename
from videos.tests.conftest import FIXTURES, fixture_upload, stored_files
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db


def test_it_accepts_speech_en_with_probed_details_and_a_thumbnail(upload, media_root, owner):
    response = upload(fixture_upload("speech_en.mp4"), title="My talk")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "My talk"
    assert body["status"] == "ready"
    assert body["duration"] == pytest.approx(18.68, abs=0.05)
    assert (body["width"], body["height"], body["has_audio"], body["has_video"]) == (640, 360, True, True)
    assert body["size"] == (FIXTURES / "speech_en.mp4").stat().st_size
    assert body["content_type"] == "video/mp4"
    assert body["thumbnail_url"]
    video = Video.objects.get(id=body["id"], owner=owner)
    assert (video.fps, video.video_codec, video.audio_codec) == (25.0, "h264", "aac")
    stored = stored_files(media_root)
    assert [p.name for p in stored] == ["source.mp4", "thumbnail.jpg"]
    assert stored[0].read_bytes() == (FIXTURES / "speech_en.mp4").read_bytes()
    assert stored[1].read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG


def test_it_accepts_an_audio_only_file_without_a_thumbnail(upload, media_root):
    response = upload(fixture_upload("speech_en_audio_only.m4a", content_type="audio/mp4"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["has_audio"], body["has_video"], body["width"]) == (True, False, None)
    assert body["content_type"] == "audio/mp4"
    assert body["thumbnail_url"] is None
    assert body["title"] == "speech_en_audio_only"
    assert [p.name for p in stored_files(media_root)] == ["source.m4a"]


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("not_a_video.mp4", 415, "unsupported_media"),
        ("truncated.mp4", 422, "invalid_media"),
        ("silent_video.mp4", 422, "invalid_media"),
    ],
)
def test_it_refuses_bad_fixtures_and_keeps_nothing(upload, media_root, name, status, code):
    response = upload(fixture_upload(name))

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert Video.objects.count() == 0
    assert stored_files(media_root) == []


def test_it_refuses_an_empty_file(upload, media_root):
    response = upload(SimpleUploadedFile("empty.mp4", b"", content_type="video/mp4"))

    assert response.status_code == 400
    assert response.json()["code"] == "empty_file"
    assert Video.objects.count() == 0 and stored_files(media_root) == []


def test_it_trusts_neither_the_extension_nor_the_clients_content_type(upload):
    # A real MP4 named and labelled as text is accepted as what it is...
    ok = upload(fixture_upload("speech_en.mp4", as_name="notes.txt", content_type="text/plain"))
    assert ok.status_code == 201
    assert ok.json()["content_type"] == "video/mp4"
    # ...and random bytes named and labelled as a video are not.
    bad = upload(fixture_upload("not_a_video.mp4", as_name="movie.mov", content_type="video/quicktime"))
    assert bad.status_code == 415


def test_it_refuses_an_image_as_unsupported_media(upload, tmp_path, media_root):
    png = tmp_path / "frame.png"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x64:duration=1",
         "-frames:v", "1", str(png)],
        check=True,
    )
    response = upload(SimpleUploadedFile("frame.mp4", png.read_bytes(), content_type="video/mp4"))

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media"
    assert stored_files(media_root) == []


def test_an_hls_playlist_is_refused_and_the_file_it_names_is_never_opened(upload, tmp_path, media_root):
    # The "segment" is a FIFO: opening it for writing blocks until someone opens it for reading,
    # so the writer thread below only finishes if ffprobe (or anything) tried to read it.
    fifo = tmp_path / "secret.ts"
    os.mkfifo(fifo)
    opened = threading.Event()

    def wait_for_a_reader():
        with open(fifo, "wb"):
            opened.set()

    writer = threading.Thread(target=wait_for_a_reader, daemon=True)
    writer.start()
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\nfile:{fifo}\n{fifo}\n#EXT-X-ENDLIST\n"

    response = upload(SimpleUploadedFile("playlist.mp4", playlist.encode(), content_type="video/mp4"))

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media"
    writer.join(timeout=1)
    assert not opened.is_set()
    assert Video.objects.count() == 0 and stored_files(media_root) == []
    os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # release the writer thread
    writer.join(timeout=5)


def test_it_refuses_a_file_longer_than_the_duration_limit(upload, settings, tmp_path, media_root):
    settings.MAX_VIDEO_MINUTES = 1
    long_audio = tmp_path / "long.m4a"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=62",
         "-c:a", "aac", "-b:a", "16k", str(long_audio)],
        check=True,
    )
    response = upload(SimpleUploadedFile("long.m4a", long_audio.read_bytes(), content_type="audio/mp4"))

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_media"
    assert "minutes" in response.json()["detail"]
    assert stored_files(media_root) == []


def test_it_refuses_an_upload_over_the_users_quota(upload, owner, settings, media_root):
    settings.USER_STORAGE_QUOTA_MB = 1
    VideoFactory(owner=owner, title="old", size=900 * 1024, status=VideoStatus.READY)

    response = upload(fixture_upload("speech_en.mp4"))

    assert response.status_code == 413
    assert response.json()["code"] == "quota_exceeded"
    assert Video.objects.count() == 1 and stored_files(media_root) == []


class CountingInput(io.RawIOBase):
    """A request body that counts how much of it the server read."""

    def __init__(self, data: bytes):
        self._stream = io.BytesIO(data)
        self.bytes_read = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self._stream.readinto(buffer)
        self.bytes_read += n
        return n

    def read(self, size=-1):
        data = self._stream.read(size)
        self.bytes_read += len(data)
        return data


def _multipart(filename: str, payload: bytes) -> bytes:
    return encode_multipart(BOUNDARY, {"file": SimpleUploadedFile(filename, payload, content_type="video/mp4")})


def test_a_body_declared_over_the_limit_is_refused_before_any_of_it_is_read(owner_client, settings, media_root):
    settings.MAX_UPLOAD_MB = 1
    body = _multipart("big.mp4", b"\0" * (5 * 1024 * 1024))
    stream = CountingInput(body)

    response = owner_client.post(
        "/api/v1/videos", content_type=MULTIPART_CONTENT,
        **{"wsgi.input": stream, "CONTENT_LENGTH": str(len(body))},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert stream.bytes_read == 0
    assert Video.objects.count() == 0 and stored_files(media_root) == []


def test_a_file_passing_the_limit_while_streaming_stops_before_the_whole_file_is_written(
    owner_client, settings, media_root, tmp_path
):
    # 1 MB limit, and a file 40 KB over it: Content-Length is within the multipart allowance,
    # so only the streaming count can catch it.
    settings.MAX_UPLOAD_MB = 1
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    payload = (FIXTURES / "speech_ko.mp4").read_bytes()[: 1024 * 1024 + 40 * 1024]
    body = _multipart("big.mp4", payload)

    response = owner_client.post("/api/v1/videos", data=body, content_type=MULTIPART_CONTENT)

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    handler = response.wsgi_request.upload_handlers[0]
    assert handler.bytes_written <= 1024 * 1024 < len(payload)
    assert [p for p in tmp_path.iterdir() if p.name != "media"] == []  # the partial temp file is gone
    assert Video.objects.count() == 0 and stored_files(media_root) == []


def test_a_hostile_filename_never_reaches_the_storage_key(upload, media_root, owner):
    response = upload(fixture_upload("speech_en.mp4", as_name="..\\..\\etc/pass\x07wd\x1b[31m.mp4"))

    assert response.status_code == 201, response.content
    video = Video.objects.get(id=response.json()["id"])
    assert video.storage_key == f"videos/{owner.id}/{video.id}/source.mp4"
    assert "/" not in video.original_filename and "\\" not in video.original_filename
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in video.original_filename)
    assert [p.relative_to(media_root).as_posix() for p in stored_files(media_root)] == [
        video.storage_key, f"videos/{owner.id}/{video.id}/thumbnail.jpg"
    ]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\clip.mp4", "clip.mp4"),
        ("bad\x00na\nme\r\t.mp4", "badname.mp4"),
        ("", "upload"),
        ("..", "upload"),
        ("한국어 영상.mp4", "한국어 영상.mp4"),
    ],
)
def test_display_filename_keeps_only_a_safe_base_name(raw, shown):
    assert display_filename(raw) == shown


def test_it_needs_a_file(owner_client, media_root):
    response = owner_client.post("/api/v1/videos", {"title": "nothing"}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_anonymous_clients_cannot_upload(api_client, media_root):
    response = api_client.post("/api/v1/videos", {"file": fixture_upload("speech_en.mp4")}, format="multipart")

    assert response.status_code == 401
    assert stored_files(media_root) == []


def test_direct_upload_is_unavailable_without_object_storage(owner_client, media_root):
    response = owner_client.post(
        "/api/v1/uploads", {"filename": "a.mp4", "size": 1000, "content_type": "video/mp4"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "direct_upload_unavailable"
    assert Video.objects.count() == 0


def test_the_session_upload_needs_the_csrf_token(client, owner, media_root):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    refused = browser.post("/api/v1/videos", {"file": fixture_upload("speech_en.mp4")})
    assert refused.status_code == 403

    browser.get("/videos/upload")
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(
        "/api/v1/videos", {"file": fixture_upload("speech_en.mp4")}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201, accepted.content
    assert Path(media_root).exists()
