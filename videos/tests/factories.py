"""factory_boy factories for videos' model: the video row, and its files in storage when a test
reads them.

- `VideoFactory`: a ready 150-second row; `source=b"..."` / `thumbnail=b"..."` also store those bytes
  where the row says they are.
- `StoredVideoFactory`: the same with a small source and a thumbnail stored (`thumbnail=False`: none),
  for pages and downloads that serve them.
- `SpeechVideoFactory`: a ready video whose source really is the fixture clip speech_en.mp4, with
  the facts the probe would have read, for tests that hand it to the pipeline or the job services.

Files are written to the default storage: use them with the `media_root` fixture.
"""

from __future__ import annotations

import uuid

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from factory.django import DjangoModelFactory

from accounts.tests.factories import UserFactory
from testing.media import FIXTURE_MEDIA
from videos.models import VideoStatus
from videos.storage import source_key, thumbnail_key

SOURCE_BYTES = b"the private original upload"
THUMBNAIL_BYTES = b"\xff\xd8\xff\xe0 a tiny jpeg"
SPEECH_EN = FIXTURE_MEDIA / "speech_en.mp4"
SPEECH_EN_SECONDS = 18.68


def _store_source(video, content: bytes) -> None:
    storages["default"].save(video.storage_key, ContentFile(content))
    type(video).objects.filter(pk=video.pk).update(size=len(content))
    video.size = len(content)


def _store_thumbnail(video, content: bytes) -> None:
    video.thumbnail = thumbnail_key(owner_id=video.owner_id, video_id=video.id)
    storages["default"].save(video.thumbnail, ContentFile(content))
    type(video).objects.filter(pk=video.pk).update(thumbnail=video.thumbnail)


class VideoFactory(DjangoModelFactory):
    """A ready 150-second video row. `source=b"..."` (or `thumbnail=b"..."`) also stores those
    bytes where the row says they are, for tests that download or delete them."""

    class Meta:
        model = "videos.Video"
        skip_postgeneration_save = True

    id = factory.LazyFunction(uuid.uuid4)
    owner = factory.SubFactory(UserFactory)
    title = "Talk"
    storage_key = factory.LazyAttribute(lambda v: source_key(owner_id=v.owner.pk, video_id=v.id, extension="mp4"))
    content_type = "video/mp4"
    size = 1000
    duration = 150.0
    width = 640
    height = 360
    has_audio = True
    has_video = True
    status = VideoStatus.READY

    @factory.post_generation
    def source(video, create: bool, content: bytes | None, **kwargs) -> None:
        if create and content is not None:
            _store_source(video, content)

    @factory.post_generation
    def thumbnail(video, create: bool, content: bytes | None, **kwargs) -> None:
        if create and content is not None:
            _store_thumbnail(video, content)


class StoredVideoFactory(VideoFactory):
    """A ready 12-second video whose source (SOURCE_BYTES) and thumbnail (THUMBNAIL_BYTES) are in
    storage; `thumbnail=False` stores none."""

    title = "My talk"
    duration = 12.0

    @factory.post_generation
    def source(video, create: bool, content: bytes | None, **kwargs) -> None:
        if create:
            _store_source(video, SOURCE_BYTES if content is None else content)

    @factory.post_generation
    def thumbnail(video, create: bool, content: bytes | bool | None, **kwargs) -> None:
        if create and content is not False:
            _store_thumbnail(video, THUMBNAIL_BYTES if content is None else content)


class SpeechVideoFactory(VideoFactory):
    """A ready video whose source file really is in storage (speech_en.mp4, 18.68 s of English)."""

    title = "Speech"
    original_filename = "speech_en.mp4"
    format = "mov,mp4"
    duration = SPEECH_EN_SECONDS
    fps = 25
    video_codec = "h264"
    audio_codec = "aac"

    @factory.post_generation
    def source(video, create: bool, content: bytes | None, **kwargs) -> None:
        if create:
            _store_source(video, SPEECH_EN.read_bytes() if content is None else content)
