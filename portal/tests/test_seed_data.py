"""`manage.py seed_data`: accounts, videos from the fixture clips, dubs made by the real pipeline,
a published post with likes and comments; run twice, the second run adds nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.models import User
from billing.models import LedgerEntry
from community.models import Comment, Like, Post
from dubbing.models import Artifact, DubbingJob, JobStatus
from portal.seed import CREATOR_EMAIL, STAFF_EMAIL, VIEWER_EMAIL
from videos.models import Video

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (User, Video, DubbingJob, Artifact, Post, Like, Comment, LedgerEntry)}


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_data", stdout=out, stderr=out)
    return out.getvalue()


def test_seed_data_makes_a_living_demo_and_a_second_run_adds_nothing(media_root, settings, tmp_path, client):
    settings.DUBBING_ENGINES = "local"
    settings.DUBBING_WORKSPACE_DIR = tmp_path / "work"

    first = _seed()

    creator, viewer, staff = (User.objects.get(email=e) for e in (CREATOR_EMAIL, VIEWER_EMAIL, STAFF_EMAIL))
    assert staff.is_staff and not creator.is_staff and not viewer.is_staff
    assert all(u.email_verified for u in (creator, viewer, staff))
    assert client.login(email=VIEWER_EMAIL, password="onevoice-demo")
    assert f"{VIEWER_EMAIL} / onevoice-demo" in first
    videos = Video.objects.filter(owner=creator)
    assert videos.count() == 2 and all(v.duration and v.duration > 10 for v in videos)
    # The dubs were made by the real pipeline: succeeded, charged, their outputs stored.
    jobs = DubbingJob.objects.filter(owner=creator).order_by("target_language")
    assert [(j.target_language, j.status) for j in jobs] == [("es", JobStatus.SUCCEEDED), ("pt", JobStatus.SUCCEEDED)]
    for job in jobs:
        dubbed = job.artifacts.get(kind="dubbed_video")
        assert (media_root / dubbed.name).stat().st_size > 10_000
        assert LedgerEntry.objects.filter(ref__startswith=f"job:{job.id}", kind="job_debit").count() == 1
    post = Post.objects.get(author=creator)
    assert post.job.target_language == "es"
    assert set(post.likes.values_list("user__email", flat=True)) == {VIEWER_EMAIL, STAFF_EMAIL}
    assert post.comments.count() == 3
    creator.credit_account.refresh_from_db()
    assert creator.credit_account.balance == sum(LedgerEntry.objects.filter(account__user=creator)
                                                 .values_list("amount", flat=True))

    before = _counts()
    second = _seed()
    assert _counts() == before
    assert "Nothing to add" in second
