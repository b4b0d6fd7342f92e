"""Job services against the real database: what is refused (and that nothing is reserved then),
what each state change does to the ledger, and the races that only row locks settle."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from billing.errors import InsufficientCredits
from billing.models import CreditAccount, LedgerEntry
from billing.selectors import credits_balance
from billing.services import credits_grant
from billing.tests.factories import UserWithCreditsFactory, give_credits
from dubbing import selectors, services
from dubbing.errors import DubbingErrorCode
from dubbing.models import Artifact, DubbingJob, JobStatus, Segment
from dubbing.services import job_snapshot_refresh
from dubbing.storage import (
    JobWorkStore,
    artifact_name,
    artifact_token,
    artifact_token_valid,
    artifact_url,
)
from onevoice.errors import ServiceError
from testing.races import race
from videos.models import VideoStatus
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db


# --- helpers ----------------------------------------------------------------------------------

def job_entries(job) -> list[tuple[str, int, str]]:
    return list(
        LedgerEntry.objects.filter(ref__startswith=f"job:{job.id}#")
        .order_by("created_at", "id")
        .values_list("kind", "amount", "idempotency_key")
    )


def net_cost(job) -> int:
    return -(LedgerEntry.objects.filter(ref__startswith=f"job:{job.id}#").aggregate(s=Sum("amount"))["s"] or 0)


def claim(job):
    claimed = services.dubbing_job_claim(job_id=job.id, attempt=job.attempt,
                                         render=job.render_count if job.rendering else 0)
    assert claimed is not None
    return claimed


@pytest.fixture(autouse=True)
def _balances_equal_ledger_sums(request):
    """After every test here: each account's balance is the sum of its ledger entries."""
    yield
    for account in CreditAccount.objects.annotate(total=Sum("entries__amount")):
        assert account.balance == (account.total or 0)
        assert account.balance >= 0


@pytest.fixture
def funded(owner):
    give_credits(owner, 20)
    return owner


@pytest.fixture
def video(funded):
    return VideoFactory(owner=funded)


@pytest.fixture
def job(video, funded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return services.dubbing_job_create(owner=funded, video_id=video.id, target_language="es")


def _code(excinfo) -> str:
    return str(excinfo.value.code)


def _nothing_reserved() -> None:
    assert not DubbingJob.objects.exists()
    assert not LedgerEntry.objects.filter(kind="job_debit").exists()


# --- creating ---------------------------------------------------------------------------------

def test_it_reserves_the_cost_in_the_same_transaction_and_sends_on_commit(funded, video,
                                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.dubbing_job_create(owner=funded, video_id=video.id, target_language="es", background="keep")
    # 150 s is three started minutes.
    assert job.cost_credits == 3
    assert job_entries(job) == [("job_debit", -3, f"job_debit:{job.id}:1")]
    assert credits_balance(user=funded) == 17
    assert job.status == JobStatus.QUEUED and job.attempt == 1
    assert job.options["background"] == "keep" and job.options["target_language"] == "es"
    assert job.engines["tts"] == "kokoro"  # Spanish's default voice since issue 19
    assert len(callbacks) == 1  # the actor's message, sent only once the transaction commits
    snapshot = DubbingJob.objects.get(pk=job.pk).snapshot
    assert snapshot["status"] == "queued" and snapshot["cost_credits"] == 3 and snapshot["artifacts"] == {}
    assert snapshot["id"] == str(job.id) and snapshot["error"] is None


def test_someone_elses_video_is_404_and_nothing_is_reserved(funded, other):
    theirs = VideoFactory(owner=other)
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_create(owner=funded, video_id=theirs.id, target_language="es")
    assert excinfo.value.status_code == 404 and _code(excinfo) == DubbingErrorCode.VIDEO_NOT_FOUND
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_create(owner=funded, video_id="not-a-uuid", target_language="es")
    assert excinfo.value.status_code == 404
    _nothing_reserved()


@pytest.mark.parametrize("status", [VideoStatus.UPLOADING, VideoStatus.INVALID])
def test_a_video_that_is_not_ready_is_409_and_nothing_is_reserved(funded, status):
    video = VideoFactory(owner=funded, status=status)
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_create(owner=funded, video_id=video.id, target_language="es")
    assert excinfo.value.status_code == 409 and _code(excinfo) == DubbingErrorCode.VIDEO_NOT_READY
    _nothing_reserved()


def _unreachable_target(settings) -> str:
    """A language the configured voice speaks but no installed translation pair reaches."""
    from dubbing.engine_config import build_engines
    from dubbing.pipeline.options import DubOptions

    engines = build_engines(DubOptions(target_language="es"), settings)
    reachable = {target for _, target in engines.translator.supported_pairs()}
    return next(code for code in sorted(engines.tts.languages()) if code not in reachable and len(code) == 2)


def test_an_unsupported_pair_is_400_saying_plainly_what_it_needs(funded, video, settings):
    from dubbing.languages import language_name

    target = _unreachable_target(settings)
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_create(owner=funded, video_id=video.id, target_language=target)
    assert excinfo.value.status_code == 400 and _code(excinfo) == DubbingErrorCode.UNSUPPORTED_PAIR
    # A voice speaks it, no translator reaches it: the user's subtitles would do (issue 21).
    name = language_name(target)
    assert excinfo.value.detail == (f"To dub into {name} here, upload your {name} subtitles, or ask your "
                                    "administrator to enable a cloud translator.")
    _nothing_reserved()


@pytest.mark.parametrize(
    ("options", "field", "code"),
    [({"max_speed": 2.0}, "max_speed", DubbingErrorCode.INVALID_OPTIONS),
     ({"background": "loud"}, "background", DubbingErrorCode.INVALID_OPTIONS),
     ({"subtitles": "maybe"}, "subtitles", DubbingErrorCode.INVALID_OPTIONS),
     ({"glossary": ["not", "a", "map"]}, "glossary", DubbingErrorCode.INVALID_OPTIONS),
     # API.md: the same source and target language has a code of its own
     ({"source_language": "es"}, "target_language", DubbingErrorCode.SAME_LANGUAGE)],
)
def test_invalid_options_are_400_per_field(funded, video, options, field, code):
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_create(owner=funded, video_id=video.id, target_language="es", **options)
    assert excinfo.value.status_code == 400 and _code(excinfo) == code
    assert field in excinfo.value.errors
    _nothing_reserved()


def test_too_few_credits_is_402_and_nothing_is_created(owner):
    give_credits(owner, 2)
    video = VideoFactory(owner=owner, duration=181)  # four minutes
    with pytest.raises(InsufficientCredits) as excinfo:
        services.dubbing_job_create(owner=owner, video_id=video.id, target_language="es")
    assert excinfo.value.status_code == 402 and excinfo.value.code == "insufficient_credits"
    _nothing_reserved()
    assert credits_balance(user=owner) == 2


def test_a_language_listed_twice_is_refused_before_anything_is_reserved(funded, video):
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_jobs_create(owner=funded, video_id=video.id, target_languages=["es", "es"])
    assert _code(excinfo) == DubbingErrorCode.INVALID_OPTIONS and "target_languages" in excinfo.value.errors
    _nothing_reserved()


# --- cancel, retry, fail ----------------------------------------------------------------------

def test_cancelling_a_queued_job_ends_it_and_refunds_once(job, funded):
    services.dubbing_job_cancel(job=job)
    assert job.status == JobStatus.CANCELLED and job.finished_at is not None
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_cancel(job=job)
    assert _code(excinfo) == DubbingErrorCode.JOB_NOT_CANCELLABLE
    assert [k for k, *_ in job_entries(job)] == ["job_debit", "job_refund"]
    assert net_cost(job) == 0 and credits_balance(user=funded) == 20
    # A delivery that arrives after the cancel finds nothing to claim.
    assert services.dubbing_job_claim(job_id=job.id, attempt=1, render=0) is None
    assert DubbingJob.objects.get(pk=job.pk).snapshot["status"] == "cancelled"


def test_cancelling_a_running_job_asks_its_worker_which_ends_it_refunded(job):
    running = claim(job)
    services.dubbing_job_cancel(job=job)
    assert job.status == JobStatus.RUNNING and job.cancel_requested
    assert services.dubbing_job_heartbeat(job_id=job.id, claim_token=running.claim_token) == (True, True)
    services.dubbing_job_end_cancelled(job_id=job.id, claim_token=running.claim_token)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and net_cost(job) == 0


def test_a_second_delivery_of_the_same_message_claims_nothing(job):
    first = services.dubbing_job_claim(job_id=job.id, attempt=1, render=0)
    second = services.dubbing_job_claim(job_id=job.id, attempt=1, render=0)
    assert first is not None and second is None
    assert services.dubbing_job_claim(job_id=job.id, attempt=2, render=0) is None


def test_a_failed_job_is_refunded_once(job, django_capture_on_commit_callbacks):
    running = claim(job)
    with django_capture_on_commit_callbacks(execute=True):
        services.dubbing_job_fail(job_id=job.id, claim_token=running.claim_token, code="no_speech", message="silence")
    # A late duplicate of the same failure (the claim is gone) changes nothing.
    assert services.dubbing_job_fail(job_id=job.id, claim_token=running.claim_token, code="x", message="y") is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "no_speech"
    assert job.snapshot["error"] == {"code": "no_speech", "detail": "silence"}
    assert [k for k, *_ in job_entries(job)] == ["job_debit", "job_refund"]


def test_a_retryable_failure_is_queued_again_until_the_tries_run_out(job, settings):
    settings.DUBBING_JOB_MAX_TRIES = 3
    for expected_tries in (1, 2):
        running = claim(job)
        _, requeued = services.dubbing_job_retry_later(job_id=job.id, claim_token=running.claim_token,
                                                       code="engine_server_error", message="500")
        job.refresh_from_db()
        assert requeued and job.status == JobStatus.QUEUED and job.tries == expected_tries
    running = claim(job)
    _, requeued = services.dubbing_job_retry_later(job_id=job.id, claim_token=running.claim_token,
                                                   code="engine_server_error", message="500")
    job.refresh_from_db()
    assert not requeued and job.status == JobStatus.FAILED and job.tries == 3
    assert [k for k, *_ in job_entries(job)] == ["job_debit", "job_refund"]


def test_retry_is_a_new_attempt_that_reserves_again(job, funded):
    services.dubbing_job_cancel(job=job)
    services.dubbing_job_retry(job=job)
    assert job.attempt == 2 and job.status == JobStatus.QUEUED
    assert [key for *_, key in job_entries(job)] == [
        f"job_debit:{job.id}:1", f"job_refund:{job.id}:1", f"job_debit:{job.id}:2"]
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_retry(job=job)
    assert _code(excinfo) == DubbingErrorCode.JOB_NOT_RETRYABLE
    # The first attempt's message, delivered late, claims nothing.
    assert services.dubbing_job_claim(job_id=job.id, attempt=1, render=0) is None


def test_a_retry_without_the_credits_is_402_and_changes_nothing(job, funded):
    services.dubbing_job_cancel(job=job)
    credits_grant(user=funded, amount=-credits_balance(user=funded), staff=funded, reason="t", idempotency_key="drain")
    with pytest.raises(InsufficientCredits):
        services.dubbing_job_retry(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.attempt == 1


# --- cancel racing completion -----------------------------------------------------------------

def _publish(job, running, kinds=("dubbed_audio",)):
    files = [services.PublishedFile(kind=k, name=artifact_name(job, k, 0, f"talk.{k}"), filename=f"talk.{k}",
                                    size=10, content_type="audio/mp4") for k in kinds]
    return services.dubbing_job_succeed(job_id=job.id, claim_token=running.claim_token, files=files)


def test_a_cancel_that_reaches_the_row_first_wins_over_completion(job):
    running = claim(job)
    services.dubbing_job_cancel(job=job)
    finished, discard = _publish(job, running)
    job.refresh_from_db()
    assert finished is None and discard  # the uploaded files are the caller's to delete
    assert job.status == JobStatus.CANCELLED and net_cost(job) == 0 and not Artifact.objects.exists()


def test_completion_that_reaches_the_row_first_wins_over_a_cancel(job):
    running = claim(job)
    finished, _ = _publish(job, running)
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_cancel(job=job)
    assert _code(excinfo) == DubbingErrorCode.JOB_NOT_CANCELLABLE
    job.refresh_from_db()
    assert finished is not None and job.status == JobStatus.SUCCEEDED and net_cost(job) == job.cost_credits
    assert set(job.snapshot["artifacts"]) == {"dubbed_audio"} and job.snapshot["progress"] == 100


# --- lines, quote, render ---------------------------------------------------------------------

@pytest.fixture
def succeeded(job):
    running = claim(job)
    services.segments_upsert(job=job, stage="translate", segments=[
        _line(0, 0.0, 2.5, "Hello there.", "Hola."), _line(1, 3.0, 7.0, "How are you?", "¿Cómo estás?"),
        _line(2, 8.0, 30.0, "Long line.", "Línea larga."),
    ])
    _publish(job, running, kinds=("dubbed_audio", "subtitles_target_srt"))
    job.refresh_from_db()
    return job


def _line(index, start, end, source, target):
    return services_result(index=index, id=f"s{index:04d}", start=start, end=end, speaker=None,
                           source_text=source, target_text=target)


def services_result(**fields):
    from dubbing.pipeline.runner import SegmentResult

    return SegmentResult(**fields)


def test_editing_a_line_of_a_running_job_is_409(job):
    claim(job)
    with pytest.raises(ServiceError) as excinfo:
        services.segment_update(job=job, index=0, target_text="Hola")
    assert excinfo.value.status_code == 409 and _code(excinfo) == DubbingErrorCode.JOB_RUNNING


def test_quote_counts_only_the_changed_lines_source_seconds(succeeded, funded):
    quote = selectors.render_quote(job=succeeded)
    assert quote.changed_segments == [] and quote.cost_credits == 0
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_render(job=succeeded)
    assert _code(excinfo) == DubbingErrorCode.NOTHING_TO_RENDER

    services.segment_update(job=succeeded, index=1, target_text="¿Qué tal?")
    services.segment_update(job=succeeded, index=0, target_text="¡Hola!")
    quote = selectors.render_quote(job=succeeded)
    assert quote.changed_segments == [0, 1] and quote.changed_seconds == pytest.approx(6.5)
    assert quote.cost_credits == 1 and quote.balance == credits_balance(user=funded)
    with pytest.raises(ServiceError) as excinfo:
        services.segment_update(job=succeeded, index=99, target_text="x")
    assert excinfo.value.status_code == 404 and _code(excinfo) == DubbingErrorCode.SEGMENT_NOT_FOUND


def test_re_rendering_only_lines_of_no_length_costs_a_started_minute(succeeded, funded, settings):
    settings.CREDITS_PER_MINUTE = 2
    Segment.objects.filter(job=succeeded, index=0).update(end=0.0)  # a recognizer's zero-length word
    services.segment_update(job=succeeded, index=0, target_text="¡Hola!")
    before = credits_balance(user=funded)

    quote = selectors.render_quote(job=succeeded)
    services.dubbing_job_render(job=succeeded)

    assert quote.changed_seconds == 0 and quote.cost_credits == 2
    assert credits_balance(user=funded) == before - 2


def test_a_render_reserves_its_quote_and_a_failed_render_refunds_it_keeping_the_outputs(succeeded):
    services.segment_update(job=succeeded, index=2, target_text="Otra línea.")
    before = set(Artifact.objects.filter(job=succeeded).values_list("name", flat=True))
    services.dubbing_job_render(job=succeeded)
    assert succeeded.rendering and succeeded.render_count == 1 and succeeded.status == JobStatus.QUEUED
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_render(job=succeeded)
    assert _code(excinfo) == DubbingErrorCode.JOB_RUNNING
    running = services.dubbing_job_claim(job_id=succeeded.id, attempt=1, render=1)
    assert running is not None
    services.dubbing_job_fail(job_id=succeeded.id, claim_token=running.claim_token, code="engine_failed",
                              message="boom")
    succeeded.refresh_from_db()
    assert succeeded.status == JobStatus.SUCCEEDED and not succeeded.rendering
    assert set(Artifact.objects.filter(job=succeeded).values_list("name", flat=True)) == before
    assert Segment.objects.get(job=succeeded, index=2).changed  # still to be rendered
    keys = [key for *_, key in job_entries(succeeded)]
    assert keys[-2:] == [f"job_render:{succeeded.id}:1", f"job_render_refund:{succeeded.id}:1"]


def test_a_cancelled_render_is_refunded_and_the_job_is_back_to_its_outputs(succeeded):
    services.segment_update(job=succeeded, index=0, target_text="Buenas.")
    services.dubbing_job_render(job=succeeded)
    services.dubbing_job_cancel(job=succeeded)
    succeeded.refresh_from_db()
    assert succeeded.status == JobStatus.SUCCEEDED and not succeeded.rendering
    assert net_cost(succeeded) == succeeded.cost_credits
    assert succeeded.snapshot["artifacts"].keys() == {"dubbed_audio", "subtitles_target_srt"}


def test_a_successful_render_marks_the_lines_rendered_and_replaces_the_outputs(succeeded):
    services.segment_update(job=succeeded, index=0, target_text="Buenas.")
    services.dubbing_job_render(job=succeeded)
    assert selectors.target_overrides(job=succeeded)["s0000"] == "Buenas."
    running = services.dubbing_job_claim(job_id=succeeded.id, attempt=1, render=1)
    old = set(Artifact.objects.filter(job=succeeded).values_list("name", flat=True))
    files = [services.PublishedFile(kind="dubbed_audio", name=artifact_name(succeeded, "dubbed_audio", 1, "t.m4a"),
                                    filename="t.m4a", size=5, content_type="audio/mp4")]
    lines = [_line(0, 0.0, 2.5, "Hello there.", "Buenas.")]
    job, stale = services.dubbing_job_succeed(job_id=succeeded.id, claim_token=running.claim_token, files=files,
                                              segments=lines)
    assert job.status == JobStatus.SUCCEEDED and not job.rendering
    assert set(stale) == old  # the previous render's files, for the worker to delete
    assert list(Artifact.objects.filter(job=succeeded).values_list("kind", "render")) == [("dubbed_audio", 1)]
    assert not Segment.objects.get(job=succeeded, index=0).changed
    assert net_cost(succeeded) == succeeded.cost_credits + 1


# --- staff refund -----------------------------------------------------------------------------

def test_a_staff_refund_gives_back_the_net_cost_once_per_form(succeeded, staff, funded):
    entry = services.dubbing_job_refund(job=succeeded, staff=staff, reason="bad voice", idempotency_key="form-1")
    again = services.dubbing_job_refund(job=succeeded, staff=staff, reason="bad voice", idempotency_key="form-1")
    assert entry.pk == again.pk and entry.amount == succeeded.cost_credits and entry.staff == staff
    with pytest.raises(ServiceError) as excinfo:  # a second form: nothing left to refund
        services.dubbing_job_refund(job=succeeded, staff=staff, reason="again", idempotency_key="form-2")
    assert _code(excinfo) == DubbingErrorCode.REFUND_NOT_ALLOWED
    assert net_cost(succeeded) == 0 and credits_balance(user=funded) == 20


def test_a_running_job_cannot_be_refunded_by_staff(job, staff):
    with pytest.raises(ServiceError) as excinfo:
        services.dubbing_job_refund(job=job, staff=staff, reason="x", idempotency_key="k")
    assert _code(excinfo) == DubbingErrorCode.JOB_RUNNING


# --- the reaper -------------------------------------------------------------------------------

def _go_stale(job, settings):
    DubbingJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.DUBBING_HEARTBEAT_STALE_SECONDS + 1))


def test_the_reaper_requeues_a_job_whose_worker_went_silent(job, settings, django_capture_on_commit_callbacks):
    running = claim(job)
    _go_stale(job, settings)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        counts = services.dubbing_jobs_reap()
    job.refresh_from_db()
    assert counts["requeued"] == 1 and len(callbacks) == 1
    assert job.status == JobStatus.QUEUED and job.tries == 1 and job.error_code == "worker_lost"
    # The silent worker, if it comes back, has lost its claim.
    assert services.dubbing_job_heartbeat(job_id=job.id, claim_token=running.claim_token) == (False, True)
    assert _publish(job, running)[0] is None
    assert claim(job).attempt == 1


def test_the_reaper_cancels_a_dead_job_whose_cancel_was_requested(job, settings):
    claim(job)
    services.dubbing_job_cancel(job=job)
    _go_stale(job, settings)
    assert services.dubbing_jobs_reap()["cancelled"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and net_cost(job) == 0


def test_the_reaper_fails_a_job_that_keeps_losing_its_worker(job, settings):
    settings.DUBBING_JOB_MAX_TRIES = 1
    claim(job)
    _go_stale(job, settings)
    assert services.dubbing_jobs_reap()["failed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and net_cost(job) == 0


def test_the_reaper_resends_a_job_whose_message_was_lost(job, settings, django_capture_on_commit_callbacks):
    DubbingJob.objects.filter(pk=job.pk).update(
        resend_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.dubbing_jobs_reap()["resent"] == 1
        assert services.dubbing_jobs_reap()["resent"] == 0  # not again until another interval passed
    assert len(callbacks) == 1


# --- storage helpers --------------------------------------------------------------------------

def test_the_work_store_round_trips_and_refuses_escaping_names(tmp_path, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "media"}}}
    store = JobWorkStore(uuid.uuid4(), "es")
    src = tmp_path / "clip.wav"
    src.write_bytes(b"one")
    store.save("synth/s0001-ab.wav", src)
    src.write_bytes(b"two")
    store.save("synth/s0001-ab.wav", src)  # overwrites under the same name
    dest = tmp_path / "restored" / "clip.wav"
    assert store.fetch("synth/s0001-ab.wav", dest) and dest.read_bytes() == b"two"
    assert not store.fetch("synth/missing.wav", tmp_path / "nothing.wav")
    for bad in ("../escape.wav", "/abs.wav", "a/../../b"):
        with pytest.raises(ValueError):
            store.save(bad, src)


def test_artifact_links_are_signed_per_job_and_kind(settings):
    settings.MEDIA_LINK_MAX_AGE = 60
    job_id = uuid.uuid4()
    token = artifact_token(job_id=job_id, kind="dubbed_video")
    assert artifact_token_valid(token, job_id=job_id, kind="dubbed_video")
    assert not artifact_token_valid(token, job_id=job_id, kind="dubbed_audio")
    assert not artifact_token_valid(token, job_id=uuid.uuid4(), kind="dubbed_video")
    assert not artifact_token_valid(token + "x", job_id=job_id, kind="dubbed_video")
    url = artifact_url(job_id=job_id, kind="dubbed_video", name="jobs/x/r0/a.mp4", content_type="video/mp4")
    assert f"/media/jobs/{job_id}/dubbed_video?t=" in url


def test_the_snapshot_lists_the_current_runs_steps(succeeded):
    services.job_step_start(job=succeeded, attempt=1, render=0, name="probe", position=0)
    services.job_step_finish(job=succeeded, attempt=1, render=0, name="probe", position=0, status="done", seconds=0.5)
    services.job_step_finish(job=succeeded, attempt=1, render=0, name="extract", position=1, status="skipped",
                             seconds=0.0)
    snapshot = job_snapshot_refresh(succeeded)
    assert [(s["name"], s["status"]) for s in snapshot["steps"]] == [("probe", "done"), ("extract", "skipped")]
    assert snapshot["steps"][0]["seconds"] == 0.5 and snapshot["steps"][0]["finished_at"]


# --- PostgreSQL races -------------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_users_starting_jobs_at_once_keep_every_balance_equal_to_its_ledger():
    users = UserWithCreditsFactory.create_batch(20, credits=5)
    videos = [VideoFactory(owner=user, duration=100) for user in users]  # 2 credits a job

    # Each user starts three jobs at once: two fit in five credits, the third is refused.
    work = [lambda u=u, v=v: services.dubbing_job_create(owner=u, video_id=v.id, target_language="es")
            for u, v in zip(users, videos) for _ in range(3)]
    results = race(work)

    assert sum(isinstance(r, DubbingJob) for r in results) == 40
    assert sum(isinstance(r, InsufficientCredits) for r in results) == 20
    for user in users:
        assert DubbingJob.objects.filter(owner=user).count() == 2
        assert credits_balance(user=user) == 1
    for account in CreditAccount.objects.annotate(total=Sum("entries__amount")):
        assert account.balance == account.total


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancel_racing_completion_ends_in_one_state_with_a_matching_ledger(owner):
    give_credits(owner, 50)
    video = VideoFactory(owner=owner, duration=60)
    outcomes = []
    for _ in range(8):
        job = services.dubbing_job_create(owner=owner, video_id=video.id, target_language="es")
        running = claim(job)
        results = race([lambda j=job: services.dubbing_job_cancel(job=DubbingJob.objects.get(pk=j.pk)),
                         lambda j=job, r=running: _publish(j, r)])
        job.refresh_from_db()
        outcomes.append(job.status)
        if job.status == JobStatus.SUCCEEDED:
            assert net_cost(job) == job.cost_credits and Artifact.objects.filter(job=job).count() == 1
            assert isinstance(results[0], ServiceError) or results[0].cancel_requested
        else:
            assert job.status == JobStatus.CANCELLED
            assert net_cost(job) == 0 and not Artifact.objects.filter(job=job).exists()
        assert len([e for e in job_entries(job) if e[0] == "job_refund"]) <= 1
    assert set(outcomes) <= {JobStatus.SUCCEEDED, JobStatus.CANCELLED}


def test_the_work_store_and_artifact_links_on_s3(settings, tmp_path):
    from testing.s3_server import loopback_s3

    with loopback_s3() as s3:
        client = s3.client()
        client.create_bucket(Bucket="jobs-test")
        for name, value in s3.django_settings("jobs-test").items():
            setattr(settings, name, value)
        job_id = uuid.uuid4()
        store = JobWorkStore(job_id, "es")
        src = tmp_path / "clip.wav"
        src.write_bytes(b"first")
        store.save("synth/s0001.wav", src)
        src.write_bytes(b"second")
        store.save("synth/s0001.wav", src)  # the same key, replaced (no renamed copy)
        keys = [o["Key"] for o in client.list_objects_v2(Bucket="jobs-test")["Contents"]]
        assert keys == [f"jobs/{job_id}/work/es/synth/s0001.wav"]
        dest = tmp_path / "back.wav"
        assert store.fetch("synth/s0001.wav", dest) and dest.read_bytes() == b"second"
        assert not store.fetch("synth/none.wav", tmp_path / "none.wav")

        url = artifact_url(job_id=job_id, kind="dubbed_audio", name=keys[0], content_type="audio/mp4")
        assert "X-Amz-Signature" in url and "jobs-test" in url

        from dubbing.storage import storage_delete_prefix

        storage_delete_prefix(f"jobs/{job_id}")
        assert "Contents" not in client.list_objects_v2(Bucket="jobs-test")


def test_reap_jobs_runs_one_pass_from_the_command_line(job, settings):
    from io import StringIO

    from django.core.management import call_command

    claim(job)
    DubbingJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    out = StringIO()
    call_command("reap_jobs", stdout=out)
    assert "requeued=1" in out.getvalue()
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


# --- admin ------------------------------------------------------------------------------------

def _admin_action(client, action: str, jobs, **extra):
    from django.contrib.admin import helpers

    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [str(j.pk) for j in jobs], **extra}
    return client.post("/admin/dubbing/dubbingjob/", data)


def test_staff_refund_a_job_through_the_admin_form_once_however_often_it_is_submitted(client, staff, succeeded):
    client.force_login(staff)
    form = _admin_action(client, "refund_jobs", [succeeded])
    assert form.status_code == 200
    key = form.context["form"].initial["idempotency_key"]
    assert key and f'value="{key}"' in form.content.decode()
    for _ in range(2):  # a double submit of the same rendered form
        done = _admin_action(client, "refund_jobs", [succeeded], apply="1", reason="bad voice", idempotency_key=key)
        assert done.status_code == 302
    refunds = LedgerEntry.objects.filter(ref=f"job:{succeeded.id}#staff")
    assert [(e.amount, e.staff_id, e.reason) for e in refunds] == [(succeeded.cost_credits, staff.pk, "bad voice")]
    # A reason is required: the form is shown again and nothing moves.
    again = _admin_action(client, "refund_jobs", [succeeded], apply="1", reason=" ", idempotency_key="other")
    assert again.status_code == 200 and refunds.count() == 1


def test_staff_cancel_and_retry_through_the_admin(client, staff, job):
    client.force_login(staff)
    assert _admin_action(client, "cancel_jobs", [job]).status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert _admin_action(client, "retry_jobs", [job]).status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.attempt == 2
    page = client.get(f"/admin/dubbing/dubbingjob/{job.pk}/change/")
    assert page.status_code == 200
    listing = client.get("/admin/dubbing/dubbingjob/", {"status": "queued", "engine": "kokoro"})
    assert listing.status_code == 200 and str(job.pk) in listing.content.decode()
    assert str(job.pk) not in client.get("/admin/dubbing/dubbingjob/", {"engine": "set:openai"}).content.decode()


def test_deleting_a_videos_jobs_removes_their_files_and_refunds_the_unfinished(job, funded, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "media"}}}
    src = tmp_path / "clip.wav"
    src.write_bytes(b"x")
    JobWorkStore(job.id, "es").save("synth/s0001.wav", src)
    assert (tmp_path / "media" / "jobs" / str(job.id)).is_dir()

    assert services.dubbing_jobs_delete(video=job.video) == 1
    assert not DubbingJob.objects.filter(pk=job.pk).exists()
    assert not (tmp_path / "media" / "jobs" / str(job.id)).exists()
    assert net_cost(job) == 0 and credits_balance(user=funded) == 20  # it never ran: refunded
