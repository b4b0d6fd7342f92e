"""A queued job whose message was lost (a broker restart) is sent again within two minutes,
once; a retry waiting out its backoff is not sent early (issue 25 item 6). The reaper is run at
chosen times (`now=`) against the real database; the messages it would send are the on-commit
callbacks it queues.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.tests.factories import give_credits
from dubbing import services
from dubbing.models import DubbingJob, JobStatus
from dubbing.services.claims import retry_delay_seconds
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(owner, django_capture_on_commit_callbacks):
    give_credits(owner, 20)
    video = VideoFactory(owner=owner)
    with django_capture_on_commit_callbacks(execute=False):
        return services.dubbing_job_create(owner=owner, video_id=video.id, target_language="es")


def _reap_at(now, capture) -> tuple[int, int]:
    """(jobs the reaper counted as re-sent, messages it queued) for a pass at `now`."""
    with capture(execute=False) as callbacks:
        resent = services.dubbing_jobs_reap(now=now)["resent"]
    return resent, len(callbacks)


def test_a_lost_message_is_resent_within_two_minutes_and_only_once(job, django_capture_on_commit_callbacks):
    created = timezone.now()
    assert _reap_at(created + timedelta(seconds=30), django_capture_on_commit_callbacks) == (0, 0)  # not lost yet

    assert _reap_at(created + timedelta(seconds=120), django_capture_on_commit_callbacks) == (1, 1)
    for minutes in (3, 5, 10):  # later passes leave it alone: once
        assert _reap_at(created + timedelta(minutes=minutes), django_capture_on_commit_callbacks) == (0, 0)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_a_job_claimed_in_time_is_never_resent(job, settings, django_capture_on_commit_callbacks):
    settings.DUBBING_HEARTBEAT_STALE_SECONDS = 3600  # its worker stays alive throughout
    assert services.dubbing_job_claim(job_id=job.id, attempt=job.attempt, render=0) is not None
    assert _reap_at(timezone.now() + timedelta(seconds=120), django_capture_on_commit_callbacks) == (0, 0)


def test_a_retry_waiting_out_its_backoff_is_not_resent_early(job, settings, django_capture_on_commit_callbacks):
    settings.DUBBING_JOB_RETRY_BACKOFF = 600.0
    settings.DUBBING_JOB_RETRY_BACKOFF_MAX = 600.0
    claimed = services.dubbing_job_claim(job_id=job.id, attempt=job.attempt, render=0)
    with django_capture_on_commit_callbacks(execute=False):
        _, requeued = services.dubbing_job_retry_later(job_id=job.id, claim_token=claimed.claim_token,
                                                       code="engine_error", message="try again")
    assert requeued
    delay = retry_delay_seconds(1)
    assert delay == 600.0
    failed_at = timezone.now()

    # Within its backoff (and a minute past it) the delayed message is not overdue.
    for seconds in (60, 120, 300, delay + 30):
        assert _reap_at(failed_at + timedelta(seconds=seconds), django_capture_on_commit_callbacks) == (0, 0)
    # Unclaimed well after it was due: lost, sent again once.
    assert _reap_at(failed_at + timedelta(seconds=delay + 120), django_capture_on_commit_callbacks) == (1, 1)
    assert _reap_at(failed_at + timedelta(seconds=delay + 240), django_capture_on_commit_callbacks) == (0, 0)


def test_a_job_queued_before_resend_at_existed_is_resent_after_the_long_interval(
        job, settings, django_capture_on_commit_callbacks):
    DubbingJob.objects.filter(pk=job.pk).update(resend_at=None)
    now = timezone.now()
    assert _reap_at(now + timedelta(seconds=120), django_capture_on_commit_callbacks) == (0, 0)
    late = now + timedelta(seconds=settings.DUBBING_QUEUED_RESEND_SECONDS + 5)
    assert _reap_at(late, django_capture_on_commit_callbacks) == (1, 1)
    assert _reap_at(late + timedelta(seconds=60), django_capture_on_commit_callbacks) == (0, 0)
