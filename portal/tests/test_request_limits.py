"""Request-size limits answer in the error shape (the 400/413 page for pages), with one log line.

Django raises its limits lazily, when a view or a middleware first reads the body; each used to
escape as a 500 with a traceback. A body shorter than its Content-Length used to be parsed as if
it were whole.
"""

from __future__ import annotations

import json
import logging
import socket

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from testing.media import FIXTURE_MEDIA
from videos.models import Video

pytestmark = pytest.mark.django_db

OVER_5_MB = 5 * 1024 * 1024 + 1  # one byte past DATA_UPLOAD_MAX_MEMORY_SIZE


def _big_json() -> str:
    return json.dumps({"title": "x" * OVER_5_MB, "refresh": "x", "pack_id": "x"})


def _warnings(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


def _one_log_line(caplog, path: str, limit: int) -> None:
    (record,) = _warnings(caplog)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None  # one line, no traceback
    message = record.getMessage()
    assert path in message and str(limit) in message, message


def _shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.parametrize(
    ("method", "path", "signed_in", "limit"),
    [
        ("PATCH", "/api/v1/me", True, 5 * 1024 * 1024),
        ("POST", "/api/v1/billing/payments", True, 5 * 1024 * 1024),
        ("POST", "/api/v1/auth/token/refresh", False, 5 * 1024 * 1024),
        ("POST", "/api/v1/auth/logout", False, 5 * 1024 * 1024),
        ("POST", "/api/v1/uploads", True, 5 * 1024 * 1024),
        ("POST", "/api/v1/billing/webhooks/portone", False, 64 * 1024),  # its own, smaller cap
    ],
)
def test_a_json_body_over_the_limit_is_413_in_the_error_shape_with_one_log_line(
    api_client, owner, caplog, method, path, signed_in, limit
):
    if signed_in:
        api_client.force_authenticate(owner)
    caplog.set_level(logging.INFO)
    response = api_client.generic(method, path, _big_json(), "application/json")
    _shape(response, 413, "request_too_large")
    _one_log_line(caplog, path, limit)


def test_a_session_form_post_over_the_limit_is_413_in_the_error_shape(client, owner, caplog):
    # Session-authenticated: DRF's CSRF check reads request.POST before the view does.
    client.force_login(owner)
    caplog.set_level(logging.INFO)
    body = "title=" + "x" * OVER_5_MB
    response = client.generic("PATCH", "/api/v1/me", body, "application/x-www-form-urlencoded")
    _shape(response, 413, "request_too_large")
    response = client.generic("POST", "/api/v1/uploads", body, "application/x-www-form-urlencoded")
    _shape(response, 413, "request_too_large")
    assert len(_warnings(caplog)) == 2 and all(r.exc_info is None for r in _warnings(caplog))


@pytest.mark.parametrize("debug", [False, True])
def test_more_than_a_thousand_fields_on_an_upload_is_400_too_many_fields(
    owner_client, media_root, caplog, settings, debug
):
    settings.DEBUG = debug
    caplog.set_level(logging.INFO)
    fields = {f"f{i}": "x" for i in range(1100)}
    response = owner_client.post("/api/v1/videos", fields, format="multipart")
    _shape(response, 400, "too_many_fields")
    _one_log_line(caplog, "/api/v1/videos", 1000)
    assert not Video.objects.exists()


def test_more_than_a_hundred_file_parts_on_an_upload_is_400_too_many_files(owner_client, media_root, caplog):
    caplog.set_level(logging.INFO)
    files = [SimpleUploadedFile(f"clip{i}.mp4", b"\0" * 10, content_type="video/mp4") for i in range(101)]
    response = owner_client.post("/api/v1/videos", {"file": files}, format="multipart")
    _shape(response, 400, "too_many_files")
    _one_log_line(caplog, "/api/v1/videos", 100)
    assert not Video.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_a_big_legitimate_upload_still_streams_and_an_oversized_file_is_still_file_too_large(
    owner_client, media_root, settings
):
    # The upload's own limit (MAX_UPLOAD_MB) is far above DATA_UPLOAD_MAX_MEMORY_SIZE: files are
    # not counted against it.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024  # far below the clip's size
    with (FIXTURE_MEDIA / "speech_ko.mp4").open("rb") as fh:  # 1.7 MB
        response = owner_client.post("/api/v1/videos", {"file": fh, "title": "Clip"}, format="multipart")
    assert response.status_code == 201, response.json()
    settings.MAX_UPLOAD_MB = 1
    big = SimpleUploadedFile("big.mp4", b"\0" * (2 * 1024 * 1024), content_type="video/mp4")
    _shape(owner_client.post("/api/v1/videos", {"file": big}, format="multipart"), 413, "file_too_large")


@pytest.mark.parametrize("debug", [False, True])  # with DEBUG on too: no technical 400 page
def test_a_page_form_over_the_limit_is_the_413_page_with_one_log_line(caplog, settings, debug):
    settings.DEBUG = debug
    caplog.set_level(logging.INFO)
    body = "email=a%40example.com&password=" + "x" * OVER_5_MB
    for client in (Client(), Client(enforce_csrf_checks=True)):  # read by the view, or by the CSRF check
        caplog.clear()
        response = client.generic("POST", "/login", body, "application/x-www-form-urlencoded")
        assert response.status_code == 413
        assert response["Content-Type"].startswith("text/html")
        _one_log_line(caplog, "/login", 5 * 1024 * 1024)


def test_a_page_form_with_too_many_fields_is_the_400_page(caplog):
    caplog.set_level(logging.INFO)
    body = "&".join(f"f{i}=x" for i in range(1100))
    response = Client().generic("POST", "/login", body, "application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    _one_log_line(caplog, "/login", 1000)


def _multipart(boundary: str, payload: bytes) -> bytes:
    return (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="title"\r\n\r\nHalf\r\n'
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode() + payload + f"\r\n--{boundary}--\r\n".encode()


def _send_half(live_server, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """Announce the whole body, send half of it, shut the write side: what a dropped client does."""
    host, port = live_server.url.removeprefix("http://").split(":")
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + body[: len(body) // 2])
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):  # the timeout fails the test if the server hangs
            answer += chunk
    return answer


def _status_and_body(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_an_upload_shorter_than_its_content_length_is_400_incomplete_body(
    live_server, owner, media_root
):
    token = str(RefreshToken.for_user(owner).access_token)
    clip = (FIXTURE_MEDIA / "speech_en.mp4").read_bytes()
    boundary = "onevoiceboundary"
    answer = _send_half(
        live_server, "POST", "/api/v1/videos",
        {"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
        _multipart(boundary, clip),
    )
    status, body = _status_and_body(answer)
    assert (status, body["code"]) == (400, "incomplete_body"), body
    assert not Video.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_a_json_body_shorter_than_its_content_length_is_400_incomplete_body(live_server, owner):
    token = str(RefreshToken.for_user(owner).access_token)
    answer = _send_half(
        live_server, "PATCH", "/api/v1/me",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        json.dumps({"name": "Mallory" * 100}).encode(),
    )
    status, body = _status_and_body(answer)
    assert (status, body["code"]) == (400, "incomplete_body"), body
    owner.refresh_from_db()
    assert owner.name == "Alice"
