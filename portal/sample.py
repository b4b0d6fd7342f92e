"""The landing page's sample dub: a real job of the real pipeline, made at start-up when missing.

It grants billing credits to a videos upload and creates a dubbing job, so it sits in portal,
above all three, with the landing page (portal.views.home) that shows it.

`devserver` calls `sample_dub_start()`, which returns at once: a background thread makes sure
the sample account has its sample video (the English fixture clip speech_en.mp4 when the shared
fixtures are beside the checkout, else the same kind of clip made here with espeak-ng and ffmpeg)
and a succeeded Spanish dub of it, queuing one through `dubbing_job_create` (its credits granted
to the sample account first) for the in-process worker when there is none. The landing page
shows whatever exists: the two players and the lines, or how far the dub has got.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import threading
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import close_old_connections
from django.utils import timezone

from billing.models import LedgerEntry
from billing.services.ledger import ledger_entry_append
from dubbing.models import ArtifactKind, DubbingJob, JobStatus, Segment
from dubbing.services import dubbing_job_cost, dubbing_job_create
from dubbing.storage import artifact_url
from testing.media import FIXTURE_MEDIA
from videos import storage as video_storage
from videos.models import Video, VideoStatus
from videos.services import video_create_from_upload

logger = logging.getLogger(__name__)

SAMPLE_EMAIL = "sample@onevoice.local"
SAMPLE_TITLE = "OneVoice sample"
SAMPLE_SOURCE = "en"
SAMPLE_TARGET = "es"
SAMPLE_SENTENCES = (
    "Hello, and welcome to OneVoice.",
    "Upload a video, choose a language, and get it back speaking that language.",
    "Every line keeps its timing, and you can fix any line and render it again.",
)
_ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def _sample_videos():
    return Video.objects.filter(owner__email=SAMPLE_EMAIL, title=SAMPLE_TITLE)


def sample_job() -> DubbingJob | None:
    """The newest sample dub that is done or on its way (None before start-up made one)."""
    jobs = DubbingJob.objects.filter(
        video__in=_sample_videos(), target_language=SAMPLE_TARGET
    ).select_related("video")
    return (
        jobs.filter(status=JobStatus.SUCCEEDED).order_by("-created_at").first()
        or jobs.filter(status__in=_ACTIVE).order_by("-created_at").first()
    )


def _fixture_clip() -> Path | None:
    clip = FIXTURE_MEDIA / "speech_en.mp4"
    return clip if clip.is_file() else None


def _made_clip(folder: Path) -> Path:
    """The same kind of clip as the fixtures: espeak-ng speech with pauses over a test pattern."""
    clip = folder / "sample_en.mp4"
    if clip.is_file():
        return clip
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="onevoice-sample-") as work:
        speech = Path(work) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", "150", "-g", "12", "-w", str(speech), " ".join(SAMPLE_SENTENCES)],
            check=True, capture_output=True, timeout=120,
        )
        partial = Path(work) / "sample.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25", "-i", str(speech),
             "-af", "apad=pad_dur=1", "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
             str(partial)],
            check=True, capture_output=True, timeout=300,
        )
        partial.replace(clip)
    return clip


def sample_clip() -> Path:
    return _fixture_clip() or _made_clip(Path(settings.DATA_DIR) / "sample")


def _sample_owner():
    user_model = get_user_model()
    user = user_model.objects.filter(email=SAMPLE_EMAIL).first()
    if user is None:
        user = user_model.objects.create_user(
            email=SAMPLE_EMAIL, password=None, name="OneVoice", email_verified_at=timezone.now()
        )
    return user


def sample_dub_ensure() -> DubbingJob | None:
    """The sample dub, queued through the same service as a user's when there is none."""
    job = sample_job()
    if job is not None:
        return job
    owner = _sample_owner()
    video = _sample_videos().filter(status=VideoStatus.READY).order_by("-created_at").first()
    if video is None:
        clip = sample_clip()
        with clip.open("rb") as handle:
            video = video_create_from_upload(owner=owner, file=File(handle, name=clip.name), title=SAMPLE_TITLE)
    cost = dubbing_job_cost(duration_seconds=video.duration or 0)
    attempt = DubbingJob.objects.filter(video=video).count() + 1
    ledger_entry_append(
        user=owner,
        kind=LedgerEntry.Kind.GRANT,
        amount=cost,
        idempotency_key=f"sample_dub:{video.id}:{attempt}",
        reason="The landing page's sample dub",
    )
    return dubbing_job_create(
        owner=owner, video_id=video.id, target_language=SAMPLE_TARGET, source_language=SAMPLE_SOURCE
    )


def _ensure_logged() -> None:
    try:
        job = sample_dub_ensure()
        if job is not None:
            logger.info("Sample dub: job %s is %s", job.id, job.status)
    except Exception:  # a start-up nicety: never take the server down
        logger.exception("The sample dub could not be made")
    finally:
        close_old_connections()


def sample_dub_start() -> threading.Thread:
    """Make the sample dub in the background when it is missing; never blocks start-up."""
    thread = threading.Thread(target=_ensure_logged, name="sample-dub", daemon=True)
    thread.start()
    return thread


def sample_context() -> dict:
    """What the landing page shows of the sample: players and lines, or its progress."""
    job = sample_job()
    if job is None:
        return {}
    if job.status != JobStatus.SUCCEEDED:
        return {"sample_job": job}
    video = job.video
    dubbed = job.artifacts.filter(kind=ArtifactKind.DUBBED_VIDEO).first()
    if dubbed is None or not video.storage_key:
        return {}
    return {
        "sample_job": job,
        "sample_source_url": video_storage.media_url(
            name=video.storage_key, video_id=video.id, kind=video_storage.SOURCE, content_type=video.content_type
        ),
        "sample_dubbed_url": artifact_url(
            job_id=job.id, kind=ArtifactKind.DUBBED_VIDEO, name=dubbed.name, content_type=dubbed.content_type
        ),
        # Every line, the weak ones too: the sample shows what the offline engines really make.
        "sample_lines": list(Segment.objects.filter(job=job).order_by("index")),
    }
