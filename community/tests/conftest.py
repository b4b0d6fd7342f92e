"""Community fixtures: small files in a fresh local media folder, a ready video with a
thumbnail, succeeded jobs with their artifacts (rows made directly: the pipeline never runs)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from community.models import Post
from dubbing.models import Artifact, ArtifactKind, DubbingJob, JobStatus
from dubbing.storage import artifact_name
from testing.factories import DubbingJobFactory, VideoFactory
from videos.models import Video

DUBBED_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"dubbed video bytes " * 50
SUBTITLE_BYTES = b"1\n00:00:00,000 --> 00:00:01,000\nHola\n"
THUMBNAIL_BYTES = b"\xff\xd8\xff\xe0 a tiny jpeg"
SOURCE_BYTES = b"the private original upload"


def make_video(owner, *, title="My talk", thumbnail=True) -> Video:
    return VideoFactory(owner=owner, title=title, duration=12.0, source=SOURCE_BYTES,
                        thumbnail=THUMBNAIL_BYTES if thumbnail else None)


def add_artifact(job, kind: str, content: bytes, *, filename: str, content_type: str) -> Artifact:
    name = artifact_name(job, kind, 0, filename)
    storages["default"].save(name, ContentFile(content))
    return Artifact.objects.create(
        job=job, kind=kind, name=name, filename=filename, size=len(content), content_type=content_type
    )


def make_job(owner, video=None, *, target="es", status=JobStatus.SUCCEEDED, artifacts=True) -> DubbingJob:
    job = DubbingJobFactory(owner=owner, video=video or make_video(owner), target_language=target, status=status,
                            succeeded=status == JobStatus.SUCCEEDED)
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


