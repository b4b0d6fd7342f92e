"""Seed data for a living demo (`manage.py seed_data`): three accounts, videos from the fixture
clips, finished dubs made by the real pipeline, and a published post with likes and comments.

It signs up accounts (with billing's bonus), uploads videos, grants credits, dubs and publishes, so
it sits in portal, above every app it composes. Idempotent: everything is looked up by what makes
it unique (an email, an owner's video title, a video's target language, a job's post, a comment's
author and text) and made only when missing; credits are granted under fixed idempotency keys. So
a second run adds nothing, and a run cut short finishes the rest next time.

The dubs run inline, in this process, through the dubbing actor's own function (the same claim,
heartbeat, pipeline and publishing a worker runs), so the command needs no worker running; a
worker that also receives the job's message finds nothing to claim.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files import File
from django.db import transaction

from accounts.models import User
from billing.models import LedgerEntry
from billing.services.ledger import ledger_entry_append
from community.models import Comment, Post
from community.services import comment_create, post_like, post_publish
from dubbing.models import DubbingJob, JobStatus
from dubbing.services import dubbing_job_cost, dubbing_job_create
from dubbing.tasks import run_dubbing_job
from portal.account import demo_account_ensure
from portal.sample import sample_clip
from testing.media import FIXTURE_MEDIA
from videos.models import Video, VideoStatus
from videos.services import video_create_from_upload

logger = logging.getLogger(__name__)

CREATOR_EMAIL = "demo@onevoice.local"  # the account `ensure_demo_user` makes too
VIEWER_EMAIL = "viewer@onevoice.local"
STAFF_EMAIL = "staff@onevoice.local"
# (title, fixture clip, source language, dub targets)
VIDEOS = (
    ("Welcome to the channel", "speech_en.mp4", "en", ("es", "pt")),
    ("안녕하세요 (Korean sample)", "speech_ko.mp4", "ko", ()),
)
POST_TITLE = "My first dub: English to Spanish"
POST_DESCRIPTION = "Dubbed with OneVoice's offline engines. Every line keeps its timing."
COMMENTS = (
    (VIEWER_EMAIL, "The timing is spot on. Which voice is this?"),
    (CREATOR_EMAIL, "The default Spanish voice; you can pick another per speaker."),
    (STAFF_EMAIL, "Welcome to OneVoice!"),
)


@dataclass
class SeedResult:
    users: dict[str, User] = field(default_factory=dict)
    videos: list[Video] = field(default_factory=list)
    jobs: list[DubbingJob] = field(default_factory=list)
    post: Post | None = None
    made: list[str] = field(default_factory=list)  # what this run added, for the command to print


def _account(result: SeedResult, *, email: str, password: str, name: str, staff: bool = False) -> User:
    with transaction.atomic():
        user, created = demo_account_ensure(email=email, password=password)
        wanted = {"name": name, "is_staff": staff}
        changed = [key for key, value in wanted.items() if getattr(user, key) != value]
        for key in changed:
            setattr(user, key, wanted[key])
        if changed:
            user.save(update_fields=changed)
    if created:
        result.made.append(f"account {email}")
    result.users[email] = user
    return user


def _clip(filename: str) -> Path | None:
    clip = FIXTURE_MEDIA / filename
    if clip.is_file():
        return clip
    # Without the shared fixtures (an image, a fresh machine): the English clip is made with
    # espeak-ng and ffmpeg as the landing page's sample is; the Korean one is left out.
    return sample_clip() if filename == "speech_en.mp4" else None


def _video(result: SeedResult, *, owner: User, title: str, filename: str) -> Video | None:
    video = Video.objects.filter(owner=owner, title=title, status=VideoStatus.READY).order_by("created_at").first()
    if video is None:
        clip = _clip(filename)
        if clip is None:
            logger.warning("seed_data: no clip for %s (the fixture clips are not beside the checkout)", title)
            return None
        with clip.open("rb") as handle:
            video = video_create_from_upload(owner=owner, file=File(handle, name=filename), title=title)
        result.made.append(f"video {title!r}")
    result.videos.append(video)
    return video


def _dub(result: SeedResult, *, owner: User, video: Video, source: str, target: str) -> DubbingJob:
    job = DubbingJob.objects.filter(video=video, target_language=target, status=JobStatus.SUCCEEDED).first()
    if job is None:
        job = DubbingJob.objects.filter(video=video, target_language=target).exclude(
            status__in=(JobStatus.FAILED, JobStatus.CANCELLED)).first()
    if job is None:
        # Its credits, granted once per video and language whatever happens next.
        ledger_entry_append(user=owner, kind=LedgerEntry.Kind.GRANT,
                            amount=dubbing_job_cost(duration_seconds=video.duration or 0),
                            idempotency_key=f"seed_data:{video.id}:{target}", reason="Seed data: a demo dub")
        job = dubbing_job_create(owner=owner, video_id=video.id, target_language=target, source_language=source,
                                 background="duck")
        result.made.append(f"dub {video.title!r} -> {target}")
    if job.status != JobStatus.SUCCEEDED:
        # A job left queued (this run's, or one a cut-short run left): run it here. A running one
        # belongs to a worker; the reaper hands it back if that worker is gone.
        if job.status == JobStatus.QUEUED:
            run_dubbing_job.fn(str(job.id), job.attempt, 0)
        job.refresh_from_db()
    result.jobs.append(job)
    return job


def _post(result: SeedResult, *, author: User, job: DubbingJob) -> Post | None:
    if job.status != JobStatus.SUCCEEDED:
        return None
    post = Post.objects.filter(job=job).first()
    if post is None:
        post = post_publish(author=author, job_id=job.id, title=POST_TITLE, description=POST_DESCRIPTION)
        result.made.append(f"post {POST_TITLE!r}")
    for email in (VIEWER_EMAIL, STAFF_EMAIL):
        post_like(post=post, user=result.users[email])  # idempotent
    for email, body in COMMENTS:
        author_ = result.users[email]
        if not Comment.objects.filter(post=post, author=author_, body=body).exists():
            comment_create(post=post, author=author_, body=body)
            result.made.append(f"comment by {email}")
    result.post = post
    return post


def seed_data_ensure(*, password: str) -> SeedResult:
    result = SeedResult()
    creator = _account(result, email=CREATOR_EMAIL, password=password, name="Dana Creator")
    _account(result, email=VIEWER_EMAIL, password=password, name="Vic Viewer")
    _account(result, email=STAFF_EMAIL, password=password, name="Sam Staff", staff=True)
    first_dub = None
    for title, filename, source, targets in VIDEOS:
        video = _video(result, owner=creator, title=title, filename=filename)
        if video is None:
            continue
        for target in targets:
            job = _dub(result, owner=creator, video=video, source=source, target=target)
            first_dub = first_dub or job
    if first_dub is not None:
        _post(result, author=creator, job=first_dub)
    return result
