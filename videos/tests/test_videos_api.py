"""Reading, renaming, deleting and serving videos; other people's videos do not exist."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core import signing
from django.test import Client

from videos import storage
from videos.models import Video
from videos.services import videos_delete_for_user
from videos.tests.conftest import FIXTURES, fixture_upload, stored_files

pytestmark = pytest.mark.django_db

SPEECH_EN = (FIXTURES / "speech_en.mp4").read_bytes()


def _path(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.path}?{parsed.query}"


def test_the_list_shows_only_my_videos_in_a_pinned_number_of_queries(
    owner_client, upload, other_client, ready_video, django_assert_num_queries
):
    upload(fixture_upload("speech_en_audio_only.m4a"))
    upload(fixture_upload("speech_en.mp4"), client=other_client)

    # 1: COUNT(*) of my videos for the paginator; 2: SELECT of the page of my videos.
    with django_assert_num_queries(2):
        response = owner_client.get("/api/v1/videos")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert {v["id"] for v in body["results"]} >= {ready_video["id"]}
    assert all(set(v) >= {"id", "title", "status", "duration", "thumbnail_url", "created_at"} for v in body["results"])


def test_a_video_has_a_time_limited_source_url_that_plays(owner_client, ready_video, api_client):
    body = owner_client.get(f"/api/v1/videos/{ready_video['id']}").json()

    assert body["source_url"].startswith("http://testserver/media/videos/")
    assert body["source_url_expires_in"] > 0
    # The signed link works without any session (a phone's player, an <video> tag).
    media = Client().get(_path(body["source_url"]))
    assert media.status_code == 200
    assert media["Content-Type"] == "video/mp4"
    assert b"".join(media.streaming_content) == SPEECH_EN


def test_it_renames_a_video(owner_client, ready_video):
    response = owner_client.patch(f"/api/v1/videos/{ready_video['id']}", {"title": "  New name "}, format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "New name"
    assert Video.objects.get(id=ready_video["id"]).title == "New name"


def test_deleting_a_video_removes_its_stored_files(owner_client, ready_video, media_root):
    assert len(stored_files(media_root)) == 2

    response = owner_client.delete(f"/api/v1/videos/{ready_video['id']}")

    assert response.status_code == 204
    assert not Video.objects.filter(id=ready_video["id"]).exists()
    assert stored_files(media_root) == []
    assert [p for p in Path(media_root).rglob("*") if ready_video["id"] in p.name] == []  # its folder too


def test_deleting_an_account_deletes_all_its_videos_and_files(owner, upload, other_client, media_root):
    upload(fixture_upload("speech_en.mp4"))
    upload(fixture_upload("speech_en_audio_only.m4a"))
    theirs = upload(fixture_upload("speech_en.mp4"), client=other_client).json()

    assert videos_delete_for_user(user=owner) == 2

    assert list(Video.objects.values_list("id", flat=True)) == [Video.objects.get(id=theirs["id"]).id]
    assert len(stored_files(media_root)) == 2  # only the other user's source and thumbnail
    assert [p for p in Path(media_root).rglob("*") if str(owner.id) in p.name] == []  # no empty folders


def test_someone_elses_video_is_not_found_on_every_endpoint(ready_video, other_client, other):
    video_id = ready_video["id"]
    assert other_client.get(f"/api/v1/videos/{video_id}").status_code == 404
    assert other_client.patch(f"/api/v1/videos/{video_id}", {"title": "x"}, format="json").status_code == 404
    assert other_client.delete(f"/api/v1/videos/{video_id}").status_code == 404
    assert other_client.post(f"/api/v1/uploads/{video_id}/complete", {"parts": []}, format="json").status_code == 404
    assert other_client.delete(f"/api/v1/uploads/{video_id}").status_code == 404
    assert other_client.get(f"/api/v1/videos/{video_id}").json()["code"] == "not_found"

    browser = Client()
    browser.force_login(other)
    for kind in storage.MEDIA_KINDS:
        assert browser.get(f"/media/videos/{video_id}/{kind}").status_code == 404
    assert browser.get(f"/videos/{video_id}").status_code == 404
    assert Video.objects.filter(id=video_id, title="speech_en").exists()


def test_the_media_view_serves_the_owners_session_and_nobody_else(ready_video, owner):
    url = f"/media/videos/{ready_video['id']}/source"
    assert Client().get(url).status_code == 404  # anonymous, no signed link

    browser = Client()
    browser.force_login(owner)
    response = browser.get(url)
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert b"".join(response.streaming_content) == SPEECH_EN
    thumb = browser.get(f"/media/videos/{ready_video['id']}/thumbnail")
    assert thumb["Content-Type"] == "image/jpeg"


def test_a_signed_link_is_bound_to_its_video_and_kind_and_expires(ready_video, upload, settings, monkeypatch):
    video_id = ready_video["id"]
    other_video = upload(fixture_upload("speech_en_audio_only.m4a")).json()["id"]
    token = storage.media_token(video_id=video_id, kind="thumbnail")
    anonymous = Client()

    assert anonymous.get(f"/media/videos/{video_id}/thumbnail?t={token}").status_code == 200
    assert anonymous.get(f"/media/videos/{video_id}/source?t={token}").status_code == 404
    assert anonymous.get(f"/media/videos/{other_video}/thumbnail?t={token}").status_code == 404
    assert anonymous.get(f"/media/videos/{video_id}/thumbnail?t={token}x").status_code == 404

    later = time.time() + settings.MEDIA_LINK_MAX_AGE + 5
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert anonymous.get(f"/media/videos/{video_id}/thumbnail?t={token}").status_code == 404


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=1000-", 1000, len(SPEECH_EN) - 1), ("bytes=-500", len(SPEECH_EN) - 500, len(SPEECH_EN) - 1),
     ("bytes=300000-999999999", 300000, len(SPEECH_EN) - 1)],
)
def test_a_range_request_gets_206_with_exactly_those_bytes(ready_video, owner, header, first, last):
    browser = Client()
    browser.force_login(owner)

    response = browser.get(f"/media/videos/{ready_video['id']}/source", headers={"Range": header})

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(SPEECH_EN)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert b"".join(response.streaming_content) == SPEECH_EN[first : last + 1]


@pytest.mark.parametrize("header", [f"bytes={len(SPEECH_EN)}-", "bytes=99999999-100000000", "bytes=-0"])
def test_an_unsatisfiable_range_gets_416(ready_video, owner, header):
    browser = Client()
    browser.force_login(owner)

    response = browser.get(f"/media/videos/{ready_video['id']}/source", headers={"Range": header})

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(SPEECH_EN)}"


def test_a_head_request_tells_players_the_size_and_that_ranges_work(ready_video, owner, other):
    browser = Client()
    browser.force_login(owner)

    response = browser.head(f"/media/videos/{ready_video['id']}/source")

    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(SPEECH_EN))
    stranger = Client()
    stranger.force_login(other)
    assert stranger.head(f"/media/videos/{ready_video['id']}/source").status_code == 404


def test_my_videos_page_shows_thumbnails_duration_and_status(owner, ready_video, upload):
    upload(fixture_upload("speech_en_audio_only.m4a"))
    browser = Client()
    browser.force_login(owner)

    response = browser.get("/videos")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/videos/{ready_video["id"]}"' in html
    assert f'src="/media/videos/{ready_video["id"]}/thumbnail?t=' in html
    assert "19 s" in html and "Ready" in html and "Audio only" in html


def test_the_video_page_has_a_player_on_the_checked_media_url(owner, ready_video, upload):
    audio = upload(fixture_upload("speech_en_audio_only.m4a")).json()
    browser = Client()
    browser.force_login(owner)

    video_page = browser.get(f"/videos/{ready_video['id']}").content.decode()
    audio_page = browser.get(f"/videos/{audio['id']}").content.decode()

    assert f'<video class="player" controls preload="metadata" playsinline src="/media/videos/{ready_video["id"]}/source?t=' in video_page
    assert "18.7 s" in video_page
    assert f'<audio class="player player--audio" controls preload="metadata" src="/media/videos/{audio["id"]}/source?t=' in audio_page


def test_the_upload_page_needs_a_login_and_offers_the_form(owner):
    assert Client().get("/videos/upload").status_code == 302
    browser = Client()
    browser.force_login(owner)

    html = browser.get("/videos/upload").content.decode()

    assert 'id="upload-form"' in html and 'data-direct="0"' in html and "js/video_upload.js" in html


def test_the_service_accepts_a_file_held_in_memory(owner, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from videos.services import video_create_from_upload

    video = video_create_from_upload(
        owner=owner, file=SimpleUploadedFile("a.m4a", (FIXTURES / "speech_en_audio_only.m4a").read_bytes())
    )

    assert video.status == "ready" and video.has_audio and not video.has_video
    assert [p.name for p in stored_files(media_root)] == ["source.m4a"]


def test_an_unknown_media_kind_is_not_found(ready_video, owner):
    browser = Client()
    browser.force_login(owner)

    assert browser.get(f"/media/videos/{ready_video['id']}/secrets").status_code == 404
