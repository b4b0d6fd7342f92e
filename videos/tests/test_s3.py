"""Videos on S3, against moto's server on loopback, through django-storages and boto3 as in production.

The presigned multipart flow is driven like a browser: the test PUTs each part to its URL.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from videos.models import Video, VideoStatus
from videos.tests.conftest import BUCKET, FIXTURES, bucket_keys, fixture_upload

pytestmark = pytest.mark.django_db


def _start(client, *, filename: str, size: int):
    response = client.post(
        "/api/v1/uploads", {"filename": filename, "size": size, "content_type": "video/mp4"}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _put_parts(started: dict, data: bytes) -> list[dict]:
    parts = []
    size = started["part_size"]
    for part in started["parts"]:
        number = part["part_number"]
        chunk = data[(number - 1) * size : number * size]
        response = httpx.put(part["url"], content=chunk, timeout=30)
        assert response.status_code == 200, response.text
        parts.append({"part_number": number, "etag": response.headers["ETag"]})
    return parts


def _multipart_uploads(s3) -> list[str]:
    return [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]


def test_a_server_upload_lands_in_the_bucket_and_plays_from_a_presigned_url(s3, owner_client, owner):
    created = owner_client.post("/api/v1/videos", {"file": fixture_upload("speech_en.mp4")}, format="multipart")
    assert created.status_code == 201, created.content
    video_id = created.json()["id"]

    assert bucket_keys(s3) == [f"videos/{owner.id}/{video_id}/source.mp4", f"videos/{owner.id}/{video_id}/thumbnail.jpg"]
    detail = owner_client.get(f"/api/v1/videos/{video_id}").json()
    source = httpx.get(detail["source_url"], timeout=30)
    assert source.status_code == 200
    assert source.content == (FIXTURES / "speech_en.mp4").read_bytes()
    assert source.headers["content-type"] == "video/mp4"
    assert "X-Amz-Expires" in detail["source_url"]
    ranged = httpx.get(detail["source_url"], headers={"Range": "bytes=0-9"}, timeout=30)
    assert ranged.status_code == 206 and len(ranged.content) == 10
    assert httpx.get(detail["thumbnail_url"], timeout=30).content[:3] == b"\xff\xd8\xff"

    assert owner_client.delete(f"/api/v1/videos/{video_id}").status_code == 204
    assert bucket_keys(s3) == []


def test_a_refused_server_upload_leaves_nothing_in_the_bucket(s3, owner_client):
    response = owner_client.post("/api/v1/videos", {"file": fixture_upload("truncated.mp4")}, format="multipart")

    assert response.status_code == 422
    assert bucket_keys(s3) == [] and Video.objects.count() == 0


def test_the_media_view_redirects_the_owner_to_a_presigned_url(s3, owner_client, owner, other):
    video_id = owner_client.post("/api/v1/videos", {"file": fixture_upload("speech_en.mp4")}, format="multipart").json()["id"]
    mine, theirs = Client(), Client()
    mine.force_login(owner)
    theirs.force_login(other)

    response = mine.get(f"/media/videos/{video_id}/source")

    assert response.status_code == 302
    assert httpx.get(response["Location"], timeout=30).content == (FIXTURES / "speech_en.mp4").read_bytes()
    assert theirs.get(f"/media/videos/{video_id}/source").status_code == 404


def test_a_direct_multipart_upload_is_completed_probed_and_kept(s3, owner_client, owner, big_media):
    data = big_media.read_bytes()
    started = _start(owner_client, filename="../big clip.mp4", size=len(data))
    assert len(started["parts"]) == 2  # 8 MiB parts for an ~11 MB file
    assert Video.objects.get(id=started["upload_id"]).status == VideoStatus.UPLOADING

    parts = _put_parts(started, data)
    response = owner_client.post(
        f"/api/v1/uploads/{started['upload_id']}/complete", {"parts": parts, "title": "Big"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["id"], body["status"], body["title"]) == (started["upload_id"], "ready", "Big")
    assert (body["width"], body["height"], body["has_audio"], body["size"]) == (320, 240, True, len(data))
    assert body["duration"] == pytest.approx(3.0, abs=0.1)
    video = Video.objects.get(id=body["id"])
    assert video.original_filename == "big clip.mp4"
    assert bucket_keys(s3) == sorted([video.storage_key, video.thumbnail])
    assert s3.get_object(Bucket=BUCKET, Key=video.storage_key)["Body"].read() == data
    assert _multipart_uploads(s3) == []
    # Completing twice is refused: the upload is no longer in progress.
    again = owner_client.post(f"/api/v1/uploads/{started['upload_id']}/complete", {"parts": parts}, format="json")
    assert again.status_code == 404


def test_complete_checks_the_real_size_not_the_declared_one(s3, owner_client, settings):
    settings.MAX_UPLOAD_MB = 1
    data = (FIXTURES / "speech_ko.mp4").read_bytes()  # 1.7 MB, declared as 300 KB
    started = _start(owner_client, filename="small.mp4", size=300_000)
    parts = _put_parts({**started, "part_size": len(data)}, data)

    response = owner_client.post(f"/api/v1/uploads/{started['upload_id']}/complete", {"parts": parts}, format="json")

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert bucket_keys(s3) == [] and Video.objects.count() == 0


def test_a_declared_size_over_the_limit_is_refused_up_front(s3, owner_client, settings):
    settings.MAX_UPLOAD_MB = 1

    response = owner_client.post("/api/v1/uploads", {"filename": "a.mp4", "size": 2 * 1024 * 1024}, format="json")

    assert response.status_code == 413
    assert _multipart_uploads(s3) == [] and Video.objects.count() == 0


@pytest.mark.parametrize(("name", "status", "code"), [("not_a_video.mp4", 415, "unsupported_media"), ("silent_video.mp4", 422, "invalid_media")])
def test_a_direct_upload_that_fails_probing_leaves_no_object_and_no_row(s3, owner_client, name, status, code):
    data = (FIXTURES / name).read_bytes()
    started = _start(owner_client, filename=name, size=len(data))
    parts = _put_parts(started, data)

    response = owner_client.post(f"/api/v1/uploads/{started['upload_id']}/complete", {"parts": parts}, format="json")

    assert response.status_code == status
    assert response.json()["code"] == code
    assert bucket_keys(s3) == [] and Video.objects.count() == 0


def test_wrong_etags_are_refused_and_the_upload_can_be_completed_after(s3, owner_client):
    data = (FIXTURES / "speech_en.mp4").read_bytes()
    started = _start(owner_client, filename="a.mp4", size=len(data))
    parts = _put_parts(started, data)

    wrong = owner_client.post(
        f"/api/v1/uploads/{started['upload_id']}/complete",
        {"parts": [{"part_number": 1, "etag": '"0123456789abcdef0123456789abcdef"'}]}, format="json",
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid_parts"

    right = owner_client.post(f"/api/v1/uploads/{started['upload_id']}/complete", {"parts": parts}, format="json")
    assert right.status_code == 201, right.content


def test_aborting_an_upload_removes_it_from_the_bucket(s3, owner_client, other_client):
    started = _start(owner_client, filename="a.mp4", size=1000)
    assert len(_multipart_uploads(s3)) == 1

    assert other_client.delete(f"/api/v1/uploads/{started['upload_id']}").status_code == 404
    assert other_client.post(f"/api/v1/uploads/{started['upload_id']}/complete", {"parts": [{"part_number": 1, "etag": "x"}]}, format="json").status_code == 404
    assert other_client.get(f"/api/v1/videos/{started['upload_id']}").status_code == 404
    response = owner_client.delete(f"/api/v1/uploads/{started['upload_id']}")

    assert response.status_code == 204
    assert _multipart_uploads(s3) == [] and Video.objects.count() == 0


def test_cleanup_uploads_aborts_only_uploads_abandoned_for_more_than_a_day(s3, owner_client):
    old = _start(owner_client, filename="old.mp4", size=1000)
    fresh = _start(owner_client, filename="fresh.mp4", size=1000)
    Video.objects.filter(id=old["upload_id"]).update(created_at=timezone.now() - timedelta(hours=25))
    fresh_upload_id = Video.objects.get(id=fresh["upload_id"]).multipart_upload_id

    call_command("cleanup_uploads")

    assert _multipart_uploads(s3) == [fresh_upload_id]
    assert list(Video.objects.values_list("id", flat=True)) == [Video.objects.get(id=fresh["upload_id"]).id]


def test_cleanup_uploads_aborts_stray_uploads_the_database_never_knew(s3, owner_client):
    stray = s3.create_multipart_upload(Bucket=BUCKET, Key="videos/lost/source")["UploadId"]
    kept = _start(owner_client, filename="kept.mp4", size=1000)

    call_command("cleanup_uploads", hours=0)  # everything counts as abandoned, except known rows' age

    remaining = _multipart_uploads(s3)
    assert stray not in remaining
    assert Video.objects.filter(id=kept["upload_id"]).exists() is False  # hours=0: the row is old too
