"""Two uploads racing for the last of a user's quota: exactly one wins, the loser leaves nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from testing.races import race
from videos.errors import QuotaExceeded
from videos.models import Video, VideoStatus
from videos.services import video_create_from_upload, video_mark_invalid
from videos.tests.conftest import FIXTURES, stored_files
from videos.tests.factories import VideoFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_cannot_both_take_the_last_of_the_quota(owner, settings, media_root):
    settings.USER_STORAGE_QUOTA_MB = 3  # room for one 1.7 MB file, not two
    data = (FIXTURES / "speech_ko.mp4").read_bytes()

    results = race([lambda: video_create_from_upload(owner=owner, file=SimpleUploadedFile("ko.mp4", data))] * 2)

    outcomes = ["ok" if isinstance(r, Video) else "quota_exceeded" if isinstance(r, QuotaExceeded) else repr(r)
                for r in results]
    assert sorted(outcomes) == ["ok", "quota_exceeded"]
    video = Video.objects.get()
    assert [p.relative_to(media_root).as_posix() for p in stored_files(media_root)] == [
        video.storage_key, video.thumbnail
    ]


@pytest.mark.django_db
def test_a_video_found_unusable_later_is_marked_invalid_with_its_reason(owner):
    video = VideoFactory(owner=owner, title="t", status=VideoStatus.READY)

    video_mark_invalid(video=video, reason="The audio stream cannot be decoded.")

    video.refresh_from_db()
    assert (video.status, video.invalid_reason) == ("invalid", "The audio stream cannot be decoded.")
