"""Community fixtures: small files in a fresh local media folder, a ready video with a
thumbnail, succeeded jobs with their artifacts (rows made directly: the pipeline never runs)."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client

from community.models import Post
from dubbing.models import Artifact, ArtifactKind, DubbingJob, JobStatus
from dubbing.storage import artifact_name
from videos.models import Video, VideoStatus
from videos.storage import source_key, thumbnail_key

DUBBED_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"dubbed video bytes " * 50
SUBTITLE_BYTES = b"1\n00:00:00,000 --> 00:00:01,000\nHola\n"
THUMBNAIL_BYTES = b"\xff\xd8\xff\xe0 a tiny jpeg"
SOURCE_BYTES = b"the private original upload"


def make_video(owner, *, title="My talk", thumbnail=True) -> Video:
    video_id = uuid.uuid4()
    key = source_key(owner_id=owner.pk, video_id=video_id, extension="mp4")
    storages["default"].save(key, ContentFile(SOURCE_BYTES))
    thumb = ""
    if thumbnail:
        thumb = thumbnail_key(owner_id=owner.pk, video_id=video_id)
        storages["default"].save(thumb, ContentFile(THUMBNAIL_BYTES))
    return Video.objects.create(
        id=video_id, owner=owner, title=title, storage_key=key, size=len(SOURCE_BYTES), content_type="video/mp4",
        duration=12.0, width=640, height=360, has_audio=True, has_video=True, thumbnail=thumb,
        status=VideoStatus.READY,
    )


def add_artifact(job, kind: str, content: bytes, *, filename: str, content_type: str) -> Artifact:
    name = artifact_name(job, kind, 0, filename)
    storages["default"].save(name, ContentFile(content))
    return Artifact.objects.create(
        job=job, kind=kind, name=name, filename=filename, size=len(content), content_type=content_type
    )


def make_job(owner, video=None, *, target="es", status=JobStatus.SUCCEEDED, artifacts=True) -> DubbingJob:
    from django.utils import timezone

    video = video or make_video(owner)
    job = DubbingJob.objects.create(
        owner=owner, video=video, target_language=target, status=status, cost_credits=1,
        progress=100 if status == JobStatus.SUCCEEDED else 0,
        finished_at=timezone.now() if status == JobStatus.SUCCEEDED else None,
    )
    if artifacts and status == JobStatus.SUCCEEDED:
        add_artifact(job, ArtifactKind.DUBBED_VIDEO, DUBBED_BYTES, filename="dub.es.mp4", content_type="video/mp4")
        add_artifact(job, ArtifactKind.SUBTITLES_TARGET_SRT, SUBTITLE_BYTES, filename="dub.es.srt",
                     content_type="application/x-subrip")
    return job


def make_post(author, *, title="My dub", target="es", **fields) -> Post:
    job = make_job(author, target=target)
    return Post.objects.create(author=author, job=job, title=title, **fields)


@pytest.fixture
def job(owner, media_root):
    return make_job(owner)


@pytest.fixture
def post(owner, media_root):
    return make_post(owner, title="Alice's Spanish dub", description="First try.")


@pytest.fixture
def owner_browser(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def other_browser(other) -> Client:
    client = Client()
    client.force_login(other)
    return client


@pytest.fixture
def staff_browser(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client
