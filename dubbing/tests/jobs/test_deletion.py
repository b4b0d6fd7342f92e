"""Deleting a video or an account takes its dubbing jobs with it: files erased, unfinished jobs
refunded, the ledger kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from billing.models import LedgerEntry
from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing import services
from dubbing.models import DubbingJob
from dubbing.storage import JobWorkStore
from videos.models import Video
from videos.storage import media_storage
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db


def _left_behind(*ids) -> list[Path]:
    """Files or folders under the media root still named after a deleted owner, video or job."""
    root = Path(media_storage().location)
    return [p for p in root.rglob("*") if any(str(i) in p.name for i in ids)]


def _queued_job_with_files(owner, tmp_path):
    video = VideoFactory(owner=owner, duration=90.0, source=b"not really a video")
    give_credits(owner, 5)
    job = services.dubbing_job_create(owner=owner, video_id=video.id, target_language="es", source_language="en")
    part = tmp_path / "clip.wav"
    part.write_bytes(b"RIFF....")
    JobWorkStore(job.id, "es").save("synth/s0001-abc.wav", part)
    return video, job


def test_deleting_a_video_removes_its_jobs_and_their_files_and_refunds_unfinished_ones(owner, owner_client, tmp_path):
    video, job = _queued_job_with_files(owner, tmp_path)
    assert credits_balance(user=owner) == 3  # 2 minutes reserved
    stored = f"jobs/{job.id}/work/es/synth/s0001-abc.wav"
    assert media_storage().exists(stored)

    response = owner_client.delete(f"/api/v1/videos/{video.id}")

    assert response.status_code == 204
    assert not Video.objects.filter(id=video.id).exists()
    assert not DubbingJob.objects.filter(id=job.id).exists()
    assert not media_storage().exists(stored)
    assert _left_behind(video.id, job.id) == []  # no empty folders either
    assert credits_balance(user=owner) == 5
    kinds = sorted(LedgerEntry.objects.filter(ref__startswith=f"job:{job.id}#").values_list("kind", flat=True))
    assert kinds == ["job_debit", "job_refund"]  # the ledger keeps the history


def test_deleting_the_account_removes_its_jobs_and_videos(owner, owner_client, password, tmp_path):
    video, job = _queued_job_with_files(owner, tmp_path)

    response = owner_client.delete("/api/v1/me", {"password": password}, format="json")

    assert response.status_code == 204
    assert not DubbingJob.objects.filter(owner=owner).exists()
    assert not Video.objects.filter(owner=owner).exists()
    assert not media_storage().exists(f"jobs/{job.id}/work/es/synth/s0001-abc.wav")
    assert _left_behind(owner.id, video.id, job.id) == []  # no empty folders either


def test_a_wrong_password_deletes_nothing(owner, owner_client, tmp_path):
    video, job = _queued_job_with_files(owner, tmp_path)

    response = owner_client.delete("/api/v1/me", {"password": "wrong"}, format="json")

    assert response.status_code == 400
    assert DubbingJob.objects.filter(id=job.id).exists() and Video.objects.filter(id=video.id).exists()
