"""Where video bytes live, and the short-lived links that hand them out.

Storage goes through Django's storage API (`storages["default"]`): the local filesystem under
the data folder by default, S3/R2 through django-storages when a bucket is configured. Nothing
is ever public: local files are served by `views.video_media` after an owner check or a signed
link; S3 objects through presigned URLs.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.urls import reverse

MEDIA_SIGNING_SALT = "videos.media"
SOURCE = "source"
THUMBNAIL = "thumbnail"
MEDIA_KINDS = (SOURCE, THUMBNAIL)


def media_storage() -> Storage:
    return storages["default"]


def is_s3(storage: Storage | None = None) -> bool:
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a runtime requirement
        return False
    return isinstance(storage or media_storage(), S3Storage)


def s3_target(storage: Storage, name: str) -> tuple:
    """(boto3 client, bucket, object key) for a storage name, honouring AWS_LOCATION."""
    from storages.utils import clean_name

    return storage.connection.meta.client, storage.bucket_name, storage._normalize_name(clean_name(name))


def empty_folders_remove(name: str, *, storage: Storage | None = None) -> None:
    """Remove the folders above a deleted object as long as they are empty (local storage only:
    an object store has no folders). Stops at the storage root and at the first folder in use."""
    storage = storage or media_storage()
    if not isinstance(storage, FileSystemStorage):
        return
    root = Path(storage.location).resolve()
    folder = Path(storage.path(name)).parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()  # only ever succeeds on an empty folder
        except FileNotFoundError:
            pass
        except OSError:
            return
        folder = folder.parent


def source_key(*, owner_id: uuid.UUID, video_id: uuid.UUID, extension: str) -> str:
    # Server-generated: the user's filename never reaches a path or an object key.
    suffix = f".{extension}" if extension else ""
    return f"videos/{owner_id}/{video_id}/source{suffix}"


def thumbnail_key(*, owner_id: uuid.UUID, video_id: uuid.UUID) -> str:
    return f"videos/{owner_id}/{video_id}/thumbnail.jpg"


def media_token(*, video_id: uuid.UUID, kind: str) -> str:
    return signing.dumps({"v": str(video_id), "k": kind}, salt=MEDIA_SIGNING_SALT, compress=True)


def media_token_valid(token: str, *, video_id: uuid.UUID, kind: str) -> bool:
    try:
        data = signing.loads(token, salt=MEDIA_SIGNING_SALT, max_age=settings.MEDIA_LINK_MAX_AGE)
    except signing.BadSignature:  # also covers SignatureExpired
        return False
    return data == {"v": str(video_id), "k": kind}


def media_url(*, name: str, video_id: uuid.UUID, kind: str, content_type: str = "", request=None) -> str:
    """A time-limited URL for one stored object of a video."""
    storage = media_storage()
    if is_s3(storage):
        parameters = {"ResponseContentType": content_type} if content_type else None
        return storage.url(name, parameters=parameters, expire=settings.MEDIA_LINK_MAX_AGE)
    path = reverse("video_media", kwargs={"video_id": video_id, "kind": kind})
    url = f"{path}?t={media_token(video_id=video_id, kind=kind)}"
    return request.build_absolute_uri(url) if request is not None else url
