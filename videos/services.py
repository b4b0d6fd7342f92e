"""Writes for videos: accept an upload (server or direct-to-S3), rename, delete.

Probing is synchronous and happens before anything is stored: a refused file leaves no Video
row and no stored object. Storage and ffmpeg work run outside database transactions; the row is
written last, in a short transaction that re-checks the quota with the owner's row locked (two
uploads racing for the last megabytes cannot both win).

One module (over 400 lines) because the two ways in, a server upload and a direct-to-S3 upload,
end in the same probe, quota check and row write, which are easiest to check side by side.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import tempfile
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath, PureWindowsPath

from botocore.exceptions import ClientError
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from onevoice import events
from videos import errors, storage
from videos.events import VideoEvent
from videos.media import probe
from videos.models import SpokenLanguageStatus, Video, VideoStatus

logger = logging.getLogger(__name__)

MB = 1024 * 1024
S3_MIN_PART_SIZE = 8 * MB  # S3 requires 5 MiB for every part but the last
S3_MAX_PARTS = 1000  # S3 allows 10,000; fewer, larger parts keep the URL list small
DOWNLOAD_CHUNK = 1 * MB


def max_upload_bytes() -> int:
    return settings.MAX_UPLOAD_MB * MB


def _quota_bytes() -> int:
    return settings.USER_STORAGE_QUOTA_MB * MB


def display_filename(name: str | None) -> str:
    """The user's filename, safe to show: no directories, no control characters, bounded."""
    name = unicodedata.normalize("NFC", name or "")
    # Either kind of separator may come from the client, whatever OS the server runs.
    name = PureWindowsPath(PurePosixPath(name.replace("\\", "/")).name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:255]
    return name or "upload"


def _default_title(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return (stem.strip() or "Untitled")[:200]


def _used_bytes(owner, *, exclude_id: uuid.UUID | None = None) -> int:
    videos = Video.objects.filter(owner=owner)
    if exclude_id:
        videos = videos.exclude(id=exclude_id)
    return videos.aggregate(total=Sum("size"))["total"] or 0


def _check_size(*, owner, size: int, exclude_id: uuid.UUID | None = None) -> None:
    if size <= 0:
        raise errors.EmptyFile()
    if size > max_upload_bytes():
        raise errors.FileTooLarge(errors.file_too_large_detail())
    if _used_bytes(owner, exclude_id=exclude_id) + size > _quota_bytes():
        raise errors.QuotaExceeded(
            gettext("This upload would take you over your %(quota)s MB storage quota. Delete some videos first.")
            % {"quota": settings.USER_STORAGE_QUOTA_MB}
        )


def _probe(path: str | Path) -> probe.MediaInfo:
    try:
        info = probe.probe_media(path)
        probe.require_dubbable(info, max_duration_seconds=settings.MAX_VIDEO_MINUTES * 60)
    except probe.MediaError as exc:
        raise errors.from_media_error(exc) from None
    return info


def _apply_info(video: Video, info: probe.MediaInfo) -> None:
    video.size = info.size
    video.content_type = info.content_type
    video.format = info.format
    video.duration = info.duration
    video.width = info.width
    video.height = info.height
    video.fps = info.fps
    video.video_codec = info.video_codec
    video.audio_codec = info.audio_codec
    video.has_audio = info.has_audio
    video.has_video = info.has_video


def _delete_objects(*names: str) -> None:
    media = storage.media_storage()
    for name in names:
        if not name:
            continue
        try:
            media.delete(name)
            storage.empty_folders_remove(name, storage=media)
        except Exception:  # a leftover object must not hide the error that got us here
            logger.exception("Could not delete stored object %s", name)


def _store_thumbnail(*, source_path: str | Path, info: probe.MediaInfo, owner_id, video_id) -> str:
    if not info.has_video:
        return ""
    with tempfile.TemporaryDirectory(prefix="onevoice-thumb-") as tmp:
        out = Path(tmp) / "thumbnail.jpg"
        if not probe.make_thumbnail(source_path, info, out):
            return ""
        with out.open("rb") as fh:
            return storage.media_storage().save(
                storage.thumbnail_key(owner_id=owner_id, video_id=video_id), File(fh, name="thumbnail.jpg")
            )


@transaction.atomic
def _save_ready_video(*, video: Video, exclude_from_quota: bool = False) -> Video:
    """Write the row with the owner locked, after re-checking the quota against committed rows."""
    get_user_model().objects.select_for_update().only("id").get(pk=video.owner_id)
    if _used_bytes(video.owner_id, exclude_id=video.id) + video.size > _quota_bytes():
        raise errors.QuotaExceeded()
    video.status = VideoStatus.READY
    video.multipart_upload_id = ""
    video.save()
    if video.has_audio:
        events.publish(VideoEvent.READY, video_id=video.id, owner_id=video.owner_id)  # after commit
    return video


def video_create_from_upload(*, owner, file: File, title: str = "") -> Video:
    """Accept a file already received to local disk (a TemporaryUploadedFile, or any File with a path)."""
    original = display_filename(getattr(file, "name", ""))
    _check_size(owner=owner, size=file.size)
    if not hasattr(file, "temporary_file_path"):
        # ffprobe needs a path: spill an in-memory file to disk first (the API never sends one).
        with tempfile.NamedTemporaryFile(prefix="onevoice-upload-", suffix=".upload",
                                         dir=settings.FILE_UPLOAD_TEMP_DIR) as spilled:
            for chunk in file.chunks():
                spilled.write(chunk)
            spilled.flush()
            return _create_from_path(owner=owner, file=file, path=spilled.name, original=original, title=title)
    return _create_from_path(
        owner=owner, file=file, path=file.temporary_file_path(), original=original, title=title
    )


def _create_from_path(*, owner, file: File, path: str, original: str, title: str) -> Video:
    info = _probe(path)

    video = Video(owner=owner, title=(title or "").strip()[:200] or _default_title(original), original_filename=original)
    _apply_info(video, info)
    thumbnail = _store_thumbnail(source_path=path, info=info, owner_id=owner.pk, video_id=video.id)
    key = storage.source_key(owner_id=owner.pk, video_id=video.id, extension=info.extension)
    stored = ""
    try:
        file.seek(0)
        # The filesystem backend moves a temporary upload into place; S3 streams it in parts.
        stored = storage.media_storage().save(key, file)
        video.storage_key = stored
        video.thumbnail = thumbnail
        return _save_ready_video(video=video)
    except BaseException:
        _delete_objects(stored, thumbnail)
        raise


def video_update(*, video: Video, title: str | None = None, spoken_language: str | None = None) -> Video:
    """The owner renames the video, or says which language is spoken in it ("" forgets it)."""
    fields = ["updated_at"]
    if title is not None:
        video.title = title.strip()[:200] or video.title
        fields.append("title")
    if spoken_language is not None:
        code = spoken_language.strip().lower()
        if code and not re.fullmatch(r"[a-z]{2,3}", code):
            message = gettext("Give a language code such as en, es or ko.")
            raise errors.InvalidSpokenLanguage(message, errors={"spoken_language": [message]})
        video.spoken_language = code
        video.spoken_language_confidence = None
        video.spoken_language_status = SpokenLanguageStatus.USER if code else ""
        fields += ["spoken_language", "spoken_language_confidence", "spoken_language_status"]
    video.save(update_fields=fields)
    return video


def video_spoken_language_record(*, video_id, status: str, language: str = "", confidence: float | None = None) -> bool:
    """Record what detection found (or that it started). A language the owner chose is never
    overwritten; False when the video is gone or its language was chosen meanwhile."""
    return bool(Video.objects.filter(id=video_id).exclude(spoken_language_status=SpokenLanguageStatus.USER).update(
        spoken_language=language, spoken_language_confidence=confidence, spoken_language_status=status,
        updated_at=timezone.now()))


def video_mark_invalid(*, video: Video, reason: str) -> Video:
    """For later stages (the dubbing pipeline) that find an accepted file unusable."""
    Video.objects.filter(id=video.id).update(
        status=VideoStatus.INVALID, invalid_reason=reason[:500], updated_at=timezone.now()
    )
    video.refresh_from_db()
    return video


def _abort_multipart(video: Video) -> None:
    if not video.multipart_upload_id:
        return
    media = storage.media_storage()
    if not storage.is_s3(media):
        return
    client, bucket, key = storage.s3_target(media, video.storage_key)
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=video.multipart_upload_id)
    except client.exceptions.NoSuchUpload:
        pass


def video_delete(*, video: Video) -> None:
    """Delete the row, then the stored objects (a failure there is logged, never resurrects the row)."""
    names = (video.storage_key, video.thumbnail)
    multipart = Video(id=video.id, storage_key=video.storage_key, multipart_upload_id=video.multipart_upload_id)
    video.delete()
    if multipart.multipart_upload_id:
        try:
            _abort_multipart(multipart)
        except Exception:
            logger.exception("Could not abort multipart upload for video %s", multipart.id)
    else:
        _delete_objects(*names)


def videos_delete_for_user(*, user) -> int:
    """Delete every video of `user` and its stored objects (account deletion). Returns the count."""
    count = 0
    for video in list(Video.objects.filter(owner=user)):
        video_delete(video=video)
        count += 1
    return count


# --- Direct upload to object storage ---------------------------------------------------------


@dataclass(frozen=True)
class DirectUpload:
    video: Video
    part_size: int
    parts: list[dict]  # [{"part_number", "url"}]
    expires_in: int


def _require_s3():
    media = storage.media_storage()
    if not storage.is_s3(media):
        raise errors.DirectUploadUnavailable()
    return media


def direct_upload_start(*, owner, filename: str, size: int, content_type: str = "") -> DirectUpload:
    """Open a multipart upload and presign one PUT URL per part.

    `content_type` is accepted for API symmetry and ignored: the stored type comes from probing.
    The declared `size` only sizes the parts and pre-checks the limits; `complete` checks the
    real object, because presigned part URLs cannot limit what is sent to them.
    """
    media = _require_s3()
    _check_size(owner=owner, size=size)
    original = display_filename(filename)
    video_id = uuid.uuid4()
    key = storage.source_key(owner_id=owner.pk, video_id=video_id, extension="")
    client, bucket, object_key = storage.s3_target(media, key)
    upload_id = client.create_multipart_upload(
        Bucket=bucket, Key=object_key, ContentType="application/octet-stream"
    )["UploadId"]
    try:
        video = Video.objects.create(
            id=video_id,
            owner=owner,
            title=_default_title(original),
            original_filename=original,
            storage_key=key,
            size=size,
            status=VideoStatus.UPLOADING,
            multipart_upload_id=upload_id,
        )
    except BaseException:
        client.abort_multipart_upload(Bucket=bucket, Key=object_key, UploadId=upload_id)
        raise
    part_size = max(S3_MIN_PART_SIZE, math.ceil(size / S3_MAX_PARTS))
    expires_in = settings.AWS_QUERYSTRING_EXPIRE
    parts = [
        {
            "part_number": number,
            "url": client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": bucket, "Key": object_key, "UploadId": upload_id, "PartNumber": number},
                ExpiresIn=expires_in,
            ),
        }
        for number in range(1, math.ceil(size / part_size) + 1)
    ]
    return DirectUpload(video=video, part_size=part_size, parts=parts, expires_in=expires_in)


def _claim_upload(video: Video) -> str:
    """Take the upload for one `complete` call: a second concurrent call finds nothing to claim."""
    upload_id = video.multipart_upload_id
    claimed = Video.objects.filter(
        id=video.id, status=VideoStatus.UPLOADING, multipart_upload_id=upload_id
    ).exclude(multipart_upload_id="").update(multipart_upload_id="", updated_at=timezone.now())
    if claimed != 1:
        raise errors.UploadNotInProgress()
    return upload_id


def _refuse_direct_upload(video: Video, *, key: str) -> None:
    """A refused direct upload leaves nothing behind: no object, no row."""
    _delete_objects(key)
    Video.objects.filter(id=video.id).delete()


def direct_upload_complete(*, video: Video, parts: list[dict], title: str = "") -> Video:
    media = _require_s3()
    upload_id = _claim_upload(video)
    client, bucket, object_key = storage.s3_target(media, video.storage_key)
    ordered = sorted(parts, key=lambda p: int(p["part_number"]))
    try:
        client.complete_multipart_upload(
            Bucket=bucket,
            Key=object_key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": int(p["part_number"]), "ETag": p["etag"]} for p in ordered]},
        )
    except client.exceptions.NoSuchUpload:
        Video.objects.filter(id=video.id).delete()
        raise errors.UploadNotInProgress(gettext("The storage no longer has this upload; start again.")) from None
    except ClientError as exc:
        # Wrong or missing ETags: give the upload back so the client can fix its list and retry.
        logger.info("complete_multipart_upload refused: %s", exc)
        Video.objects.filter(id=video.id).update(multipart_upload_id=upload_id)
        raise errors.InvalidParts() from None

    try:
        real_size = client.head_object(Bucket=bucket, Key=object_key)["ContentLength"]
        _check_size(owner=video.owner, size=real_size, exclude_id=video.id)
        # Beside the uploads being received: inside the data folder, where cleanup_uploads looks.
        with tempfile.TemporaryDirectory(prefix="onevoice-direct-", dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
            local = Path(tmp) / "source"
            _download(client, bucket=bucket, key=object_key, to=local, max_bytes=real_size)
            info = _probe(local)
            _apply_info(video, info)
            video.thumbnail = _store_thumbnail(
                source_path=local, info=info, owner_id=video.owner_id, video_id=video.id
            )
        if title.strip():
            video.title = title.strip()[:200]
        try:
            return _save_ready_video(video=video)
        except BaseException:
            _delete_objects(video.thumbnail)
            raise
    except BaseException:
        _refuse_direct_upload(video, key=video.storage_key)
        raise


def _download(client, *, bucket: str, key: str, to: Path, max_bytes: int) -> None:
    """Copy the object to a local file in bounded chunks (never the whole body in memory).

    Probing happens on this local copy with `-protocol_whitelist file`: letting ffprobe fetch a
    presigned https URL itself would mean whitelisting network protocols for hostile input.
    """
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    written = 0
    with to.open("wb") as fh:
        for chunk in body.iter_chunks(DOWNLOAD_CHUNK):
            written += len(chunk)
            if written > max_bytes:
                raise errors.FileTooLarge(gettext("The stored object grew while it was being read."))
            fh.write(chunk)
    os.chmod(to, 0o600)


def direct_upload_abort(*, video: Video) -> None:
    if video.status != VideoStatus.UPLOADING:
        raise errors.UploadNotInProgress()
    _require_s3()
    _abort_multipart(video)
    Video.objects.filter(id=video.id, status=VideoStatus.UPLOADING).delete()


def direct_uploads_cleanup(*, older_than: timedelta) -> dict[str, int]:
    """Abort multipart uploads abandoned for longer than `older_than` (rows and stray ones)."""
    cutoff = timezone.now() - older_than
    rows = 0
    for video in Video.objects.filter(status=VideoStatus.UPLOADING, created_at__lt=cutoff):
        try:
            _abort_multipart(video)
        except Exception:
            logger.exception("Could not abort the upload of video %s", video.id)
            continue
        Video.objects.filter(id=video.id, status=VideoStatus.UPLOADING).delete()
        rows += 1

    stray = 0
    media = storage.media_storage()
    if storage.is_s3(media):
        # Uploads the database does not know about (a crash between S3 and the row).
        client, bucket, prefix = storage.s3_target(media, "videos/")
        known = set(Video.objects.exclude(multipart_upload_id="").values_list("multipart_upload_id", flat=True))
        paginator = client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                if upload["UploadId"] in known or upload["Initiated"] >= cutoff:
                    continue
                try:
                    client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                    stray += 1
                except client.exceptions.NoSuchUpload:
                    pass
    return {"rows": rows, "stray": stray}


def upload_temp_files_cleanup(*, older_than: timedelta) -> int:
    """Remove what a process that died mid-upload left in FILE_UPLOAD_TEMP_DIR: partial uploads
    (files) and direct-upload downloads (folders).

    A live upload or download writes continuously, so only entries untouched for `older_than`
    (a folder: its newest file) go. Returns how many entries were removed."""
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        try:
            if path.is_symlink():
                continue
            if path.is_dir():
                newest = max([path.stat().st_mtime] + [p.stat().st_mtime for p in path.rglob("*")])
                if newest < cutoff:
                    shutil.rmtree(path)
                    removed += 1
            elif path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # finished (or removed) by its own process meanwhile
    return removed
