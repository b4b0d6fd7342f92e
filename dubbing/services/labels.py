"""Speaker names in a job's outputs: the WebVTT files' voice spans (`<v Minji>`) and the report's
`speaker_names`. SRT has no place for a speaker, and the audio never changes for a name.

The worker writes them into a run's files before they are published (`outputs_label`); a rename
rewrites the stored files of the current outputs in place (`job_outputs_relabel`), so a name costs
no render. Both read the names from the job row and each line's speaker from its Segment row.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from django.db import transaction

from dubbing.models import Artifact, ArtifactKind, DubbingJob
from dubbing.pipeline.subtitles import vtt_voices_set
from dubbing.selectors import cue_voices
from dubbing.services.transitions import job_lock, job_snapshot_refresh
from dubbing.storage import storage_fetch, storage_save

logger = logging.getLogger(__name__)

VTT_KINDS = (ArtifactKind.SUBTITLES_SOURCE_VTT, ArtifactKind.SUBTITLES_TARGET_VTT,
             ArtifactKind.SUBTITLES_BILINGUAL_VTT)
LABELLED_KINDS = (*VTT_KINDS, ArtifactKind.REPORT)


def _label_file(kind: str, path: Path, *, voices: dict[str, str], names: dict[str, str]) -> None:
    if kind == ArtifactKind.REPORT:
        report = json.loads(path.read_text(encoding="utf-8"))
        report["speaker_names"] = dict(names)
        # The casting's per-speaker entries ([{"speaker": "speaker_1", "voice": ...}, ...]) name them too.
        speakers = report.get("speakers")
        entries = speakers.items() if isinstance(speakers, dict) else (
            (entry.get("speaker"), entry) for entry in speakers or [] if isinstance(entry, dict))
        for label, entry in entries:
            if isinstance(entry, dict):
                entry["name"] = names.get(label, "") if isinstance(label, str) else ""
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        path.write_text(vtt_voices_set(path.read_text(encoding="utf-8"), voices), encoding="utf-8")


def outputs_label(*, job: DubbingJob, files: dict[str, Path]) -> None:
    """Write the job's speaker names into a run's local output files before they are published.
    A file that cannot be labelled is published as the pipeline wrote it (logged): a name is
    never worth failing a dub."""
    voices, names = cue_voices(job=job), dict(job.speaker_names or {})
    for kind in LABELLED_KINDS:
        if kind.value in files:
            try:
                _label_file(kind.value, Path(files[kind.value]), voices=voices, names=names)
            except (OSError, ValueError, TypeError, AttributeError, KeyError):
                logger.exception("Dubbing job %s: could not write speaker names into %s", job.id, kind.value)


def job_outputs_relabel(*, job: DubbingJob) -> int:
    """Rewrite the job's stored WebVTT files and report with its speakers' current names (after a
    rename, outside any transaction). Returns how many files were rewritten. A file that cannot
    be rewritten is logged and left as it was: the name is saved, and the next render writes it."""
    rewritten, resized = 0, False
    artifacts = list(Artifact.objects.filter(job_id=job.id, kind__in=[k.value for k in LABELLED_KINDS]))
    if not artifacts:
        return 0
    voices, names = cue_voices(job=job), dict(job.speaker_names or {})
    with tempfile.TemporaryDirectory(prefix="onevoice-labels-") as folder:
        for artifact in artifacts:
            local = Path(folder) / f"{artifact.kind}{Path(artifact.name).suffix}"
            try:
                if not storage_fetch(artifact.name, local):
                    continue
                _label_file(artifact.kind, local, voices=voices, names=names)
                storage_save(artifact.name, local, content_type=artifact.content_type)
            except (OSError, ValueError, TypeError, AttributeError, KeyError):
                logger.exception("Dubbing job %s: could not write speaker names into %s", job.id, artifact.name)
                continue
            size = local.stat().st_size
            if size != artifact.size:
                Artifact.objects.filter(id=artifact.id).update(size=size)
                resized = True
            rewritten += 1
    if resized:
        with transaction.atomic():  # the snapshot lists the files' sizes; rebuilt from the fresh row
            job_snapshot_refresh(job_lock(job))
    return rewritten
