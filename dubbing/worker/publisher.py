"""The artifact publisher: a run's output files stored under the job, named for download."""

from __future__ import annotations

import json
import logging
import mimetypes
from pathlib import Path

from django.utils.text import slugify

from dubbing.models import ArtifactKind, DubbingJob
from dubbing.pipeline.errors import ErrorCode, PipelineError
from dubbing.pipeline.workspace import atomic_write_json
from dubbing.services import PublishedFile
from dubbing.storage import artifact_name, storage_delete, storage_save

logger = logging.getLogger(__name__)

_CONTENT_TYPES = {".srt": "application/x-subrip", ".vtt": "text/vtt", ".m4a": "audio/mp4", ".mp4": "video/mp4",
                  ".mkv": "video/x-matroska", ".json": "application/json"}


class ArtifactPublisher:
    """Uploads what the pipeline made to the media storage (the services then record them as
    the job's artifacts), and deletes the files a newer run replaced."""

    def __init__(self, job: DubbingJob, *, render: int):
        self.job = job
        self.render = render

    def download_name(self, kind: str, path: Path) -> str:
        base = slugify(Path(self.job.video.original_filename or self.job.video.title).stem)[:60] or "video"
        target = self.job.target_language
        if kind in (ArtifactKind.DUBBED_VIDEO, ArtifactKind.DUBBED_AUDIO):
            return f"{base}.{target}{path.suffix}"
        if kind == ArtifactKind.REPORT:
            return f"{base}.{target}.report.json"
        # subtitles_target_srt -> <base>.<target>.target.srt
        return f"{base}.{target}.{kind.replace('subtitles_', '').replace('_', '.')}"

    def with_outputs(self, report: Path, filenames: dict[str, str]) -> Path:
        """A copy of the run's report that names the input as its owner uploaded it and the job's
        other outputs by their download names: the report is downloaded beside them, so it points
        at them and at nothing on the server."""
        data = json.loads(Path(report).read_text())
        data["input"] = self.job.video.original_filename or self.job.video.title  # not the worker's copy
        data["outputs"] = {kind: name for kind, name in filenames.items() if kind != ArtifactKind.REPORT}
        copy = Path(report).with_name("report.published.json")
        atomic_write_json(copy, data)
        return copy

    def upload(self, files: dict[str, Path]) -> list[PublishedFile]:
        for kind in set(files) - set(ArtifactKind.values):
            logger.warning("Dubbing job %s: the pipeline made an unknown output %r; not published", self.job.id, kind)
        files = {kind: Path(path) for kind, path in files.items() if kind in ArtifactKind.values}
        filenames = {kind: self.download_name(kind, path) for kind, path in files.items()}
        if ArtifactKind.REPORT in files:
            files[ArtifactKind.REPORT] = self.with_outputs(files[ArtifactKind.REPORT], filenames)
        published = []
        for kind, path in files.items():
            filename = filenames[kind]
            name = artifact_name(self.job, kind, self.render, filename)
            content_type = _CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or (
                "application/octet-stream")
            try:
                storage_save(name, path, content_type=content_type)
            except OSError as exc:
                raise PipelineError("publish", None, f"Storing {kind} failed: {exc}", code=ErrorCode.STORAGE_ERROR) from exc
            published.append(PublishedFile(kind=kind, name=name, filename=filename, size=path.stat().st_size,
                                           content_type=content_type))
        return published

    def delete_quietly(self, names: list[str]) -> None:
        try:
            storage_delete(*names)
        except Exception:  # leftovers cost storage, not correctness
            logger.exception("Could not delete old outputs of dubbing job %s", self.job.id)
