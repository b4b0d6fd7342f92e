"""Where a job's files live in the configured storage, and the short-lived links to its outputs.

Everything goes through Django's default storage (local files under the media folder, or S3/R2
through django-storages), under `jobs/<job_id>/`:

- `jobs/<job_id>/work/<target_language>/<name>`: the durable copy of the pipeline's workspace
  (extracted audio, transcript, synthesized and fitted clips...). `JobWorkStore` is the
  pipeline's `ArtifactStore` over it, so a job redelivered to a worker with an empty disk
  restores its finished work instead of calling its engines again.
- `jobs/<job_id>/r<render>/<kind>/<filename>`: the published outputs of one run. Each render writes
  under its own number, so the previous outputs stay downloadable until the new ones are
  recorded; the actor deletes the old ones afterwards.

Nothing is public: S3 objects are handed out through presigned URLs, local files through the
`job_artifact` view with a signed, time-limited token.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage
from django.urls import reverse

from videos.storage import is_s3, media_storage, s3_target

ARTIFACT_SIGNING_SALT = "dubbing.artifact"


def job_prefix(job_id: uuid.UUID | str) -> str:
    return f"jobs/{job_id}"


def work_prefix(job_id: uuid.UUID | str, target_language: str) -> str:
    return f"{job_prefix(job_id)}/work/{target_language}"


def analysis_prefix(key: str) -> str:
    """Where a shared source analysis (dubbing.models.SourceAnalysis) keeps its files."""
    return f"analyses/{_clean_relative(key)}"


def _clean_relative(name: str) -> str:
    """`name` as a relative POSIX path with no way out of its folder."""
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts):
        raise ValueError(f"Not a relative storage name: {name!r}")
    return path.as_posix()


def artifact_name(job, kind: str, render: int, filename: str) -> str:
    """The storage name of one output of render `render` (0 = the first run) of `job`."""
    return f"{job_prefix(job.id)}/r{render}/{_clean_relative(kind)}/{_clean_relative(filename)}"


def _copy_to(src_open, dest: Path) -> None:
    """Copy a readable binary stream to `dest` atomically (temporary name, then os.replace)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(src_open, out, length=1 << 20)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def storage_fetch(name: str, dest: Path, *, storage: Storage | None = None) -> bool:
    """Copy stored `name` to the local file `dest`; False when there is no such object."""
    storage = storage or media_storage()
    if is_s3(storage):
        from botocore.exceptions import ClientError

        client, bucket, key = s3_target(storage, name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            client.download_file(bucket, key, str(tmp))
        except ClientError as exc:
            tmp.unlink(missing_ok=True)
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        os.replace(tmp, dest)
        return True
    if isinstance(storage, FileSystemStorage):
        path = Path(storage.path(name))
        if not path.is_file():
            return False
        with open(path, "rb") as src:
            _copy_to(src, dest)
        return True
    if not storage.exists(name):
        return False
    with storage.open(name, "rb") as src:
        _copy_to(src, dest)
    return True


_generic_save_lock = threading.Lock()


def storage_save(name: str, src: Path, *, content_type: str = "", storage: Storage | None = None) -> None:
    """Store the local file `src` under exactly `name`, replacing what was there.

    `Storage.save()` would pick another name on a collision (AWS_S3_FILE_OVERWRITE is off and
    FileSystemStorage never overwrites), so S3 uploads go through the client and local files
    are moved into place under a temporary name: safe from several threads at once.
    """
    storage = storage or media_storage()
    if is_s3(storage):
        client, bucket, key = s3_target(storage, name)
        extra = {"ContentType": content_type} if content_type else None
        client.upload_file(str(src), bucket, key, ExtraArgs=extra)
        return
    if isinstance(storage, FileSystemStorage):
        path = Path(storage.path(name))
        with open(src, "rb") as data:
            _copy_to(data, path)
        return
    with _generic_save_lock, open(src, "rb") as data:
        if storage.exists(name):
            storage.delete(name)
        saved = storage.save(name, File(data))
    if saved != name:
        raise OSError(f"Storage saved {name!r} as {saved!r}")


def storage_delete(*names: str, storage: Storage | None = None) -> None:
    """Delete stored objects, ignoring ones already gone."""
    storage = storage or media_storage()
    for name in names:
        if name:
            storage.delete(name)


def storage_delete_prefix(prefix: str, *, storage: Storage | None = None) -> None:
    """Delete every object under `prefix/` (a job's whole folder when it is deleted)."""
    storage = storage or media_storage()
    prefix = prefix.rstrip("/")
    if is_s3(storage):
        client, bucket, key = s3_target(storage, prefix + "/")
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=key):
            objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if objects:
                client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
        return
    if isinstance(storage, FileSystemStorage):
        shutil.rmtree(storage.path(prefix), ignore_errors=True)
        return
    folders, files = storage.listdir(prefix)
    for name in files:
        storage.delete(f"{prefix}/{name}")
    for folder in folders:
        storage_delete_prefix(f"{prefix}/{folder}", storage=storage)


class JobWorkStore:
    """The pipeline's ArtifactStore for one job and target language (dubbing.pipeline.store).

    Thread-safe: the runner calls save() from its worker threads. S3 clients are thread-safe and
    local writes go through a temporary name and os.replace.
    """

    def __init__(self, job_id: uuid.UUID | str, target_language: str, *, storage: Storage | None = None):
        self.prefix = work_prefix(job_id, target_language)
        self._storage = storage

    @property
    def storage(self) -> Storage:
        return self._storage or media_storage()

    def storage_name(self, name: str) -> str:
        return f"{self.prefix}/{_clean_relative(name)}"

    def fetch(self, name: str, dest: Path) -> bool:
        return storage_fetch(self.storage_name(name), Path(dest), storage=self.storage)

    def save(self, name: str, src: Path) -> None:
        storage_save(self.storage_name(name), Path(src), storage=self.storage)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.prefix!r})"


class SourceAnalysisStore(JobWorkStore):
    """The store of one shared source analysis: the runner's `source_store`."""

    def __init__(self, key: str, *, storage: Storage | None = None):
        self.prefix = analysis_prefix(key)
        self._storage = storage


def artifact_token(*, job_id: uuid.UUID | str, kind: str) -> str:
    return signing.dumps({"j": str(job_id), "k": kind}, salt=ARTIFACT_SIGNING_SALT, compress=True)


def artifact_token_valid(token: str, *, job_id: uuid.UUID | str, kind: str) -> bool:
    try:
        data = signing.loads(token, salt=ARTIFACT_SIGNING_SALT, max_age=settings.MEDIA_LINK_MAX_AGE)
    except signing.BadSignature:  # also covers SignatureExpired
        return False
    return data == {"j": str(job_id), "k": kind}


def artifact_url(
    *, job_id: uuid.UUID | str, kind: str, name: str, content_type: str = "", request=None
) -> str:
    """A time-limited URL for one output of a job: presigned on S3, else a signed link to the
    `job_artifact` view (which serves the job's current file of that kind)."""
    storage = media_storage()
    if is_s3(storage):
        parameters = {"ResponseContentType": content_type} if content_type else None
        return storage.url(name, parameters=parameters, expire=settings.MEDIA_LINK_MAX_AGE)
    path = reverse("job_artifact", kwargs={"job_id": job_id, "kind": kind})
    url = f"{path}?t={artifact_token(job_id=job_id, kind=kind)}"
    return request.build_absolute_uri(url) if request is not None else url
