"""The progress bar and the time left (issue 21 item 5: the bar sat at 5% through recognition and
covered 70% of the wall time with 5->31%, and said nothing of the time left).

The clock's arithmetic on its own first (plain Python, a clock the test moves), then the
recorder writing it on a real job row and the API saying it, and (test_jobs_actor) a real run."""

from __future__ import annotations

import uuid

import pytest

from dubbing.pipeline.runner import STAGES
from dubbing.worker.progress import STAGE_COST, ProgressClock, stage_seconds


def _clock(media_seconds=60.0, separate=False) -> ProgressClock:
    return ProgressClock(expected=stage_seconds(media_seconds=media_seconds, separate=separate), order=tuple(STAGES))


def _shares(media_seconds: float, separate: bool = False) -> dict[str, float]:
    expected = stage_seconds(media_seconds=media_seconds, separate=separate)
    return {stage: seconds / sum(expected.values()) for stage, seconds in expected.items()}


def test_the_weights_are_the_measured_costs_for_the_media_length():
    expected = stage_seconds(media_seconds=600.0, separate=True)
    assert expected == {stage: fixed + per_second * 600.0 for stage, (fixed, per_second) in STAGE_COST.items()}
    assert list(expected) == list(STAGES)


def test_recognition_and_its_lines_are_most_of_a_job_and_the_bar_says_so():
    # What the benchmark measured: transcribe and segment (speaker turns) take most of the time,
    # synthesis with the fast voice little (the old fixed weights gave them 21% and 30%).
    short, long = _shares(18.7), _shares(600.0)
    assert short["transcribe"] + short["segment"] > 0.6
    assert long["transcribe"] > 0.5 and long["synthesize"] < 0.05
    # segment's cost is mostly fixed (a model loaded), transcribe's grows with the media
    assert short["segment"] > long["segment"] and long["transcribe"] > short["transcribe"]


def test_separation_weighs_only_when_the_background_is_separated():
    assert _shares(60.0, separate=False)["separate"] == 0.0
    assert _shares(60.0, separate=True)["separate"] > 0.1


def test_an_unknown_length_counts_as_a_minute():
    assert stage_seconds(media_seconds=None, separate=False) == stage_seconds(media_seconds=60.0, separate=False)


def _run(clock: ProgressClock, *, speed: float, t: float = 0.0, events_in: tuple[str, ...] = ("fit", "mix")):
    """Every stage in order, each taking `speed` times its expected seconds; stages named in
    `events_in` send progress events (one going backwards), the others none. Returns
    (time, percent, seconds left, stage) samples taken every half second."""
    samples = []
    for stage in STAGES:
        length = clock.expected[stage] * speed
        clock.start(stage, now=t)
        steps = max(1, int(length / 0.5))
        for i in range(steps):
            t += length / steps
            if stage in events_in:
                clock.advance(stage, (i + 1) / steps)
                clock.advance(stage, i / steps / 2)  # an older event arriving late changes nothing
            samples.append((t, clock.percent(now=t), clock.seconds_left(now=t), stage))
        clock.finish(stage, cached=False, seconds=length)
        samples.append((t, clock.percent(now=t), clock.seconds_left(now=t), stage))
    return samples


def test_the_bar_never_goes_back_and_moves_during_recognition():
    samples = _run(_clock(), speed=1.7)
    percents = [p for _, p, _, _ in samples]
    assert percents == sorted(percents) and percents[-1] == 99
    during_recognition = [p for _, p, _, stage in samples if stage == "transcribe"]
    assert during_recognition[-2] - during_recognition[0] >= 20  # not stuck at one number


def test_the_bar_follows_the_time_when_the_machine_runs_as_measured():
    # On a machine as fast as the benchmark's, the bar's percent is the share of time gone.
    clock = _clock()
    samples = _run(clock, speed=1.0)
    total = samples[-1][0]
    for t, percent, _, stage in samples:
        if stage in ("transcribe", "segment", "mux"):
            assert abs(percent - 100 * t / total) <= 10, (stage, t, percent)


def test_the_time_left_is_unknown_before_recognition_then_follows_the_runs_speed():
    clock = _clock()
    samples = _run(clock, speed=2.0)
    total = samples[-1][0]
    before = [left for _, _, left, stage in samples if STAGES.index(stage) < STAGES.index("transcribe")]
    assert before and all(left is None for left in before)
    after = [(t, left) for t, _, left, stage in samples if STAGES.index(stage) >= STAGES.index("segment")]
    assert after and all(left is not None and left >= 0 for _, left in after)
    # From the first finished recognition on, the run's speed (twice the benchmark's) is known:
    # the estimate is within a fifth of the truth (floor: a few seconds near the end).
    for t, left in after:
        assert abs(left - (total - t)) <= max(0.2 * (total - t), 3.0), (t, left, total - t)


def test_stages_done_earlier_do_not_make_the_run_look_fast():
    # A re-render: everything up to translate was reused (no time spent); the rest runs at
    # three times the benchmark's speed... slower. The estimate uses only what this run did.
    clock = _clock()
    for stage in STAGES[: STAGES.index("synthesize")]:
        clock.start(stage, now=0.0)
        clock.finish(stage, cached=True, seconds=0.0)
    t = 0.0
    for stage in ("synthesize", "fit"):
        clock.start(stage, now=t)
        t += clock.expected[stage] * 3.0
        clock.finish(stage, cached=False, seconds=clock.expected[stage] * 3.0)
    clock.start("mix", now=t)
    left = clock.seconds_left(now=t)
    truth = 3.0 * sum(clock.expected[s] for s in ("mix", "mux", "publish"))
    assert left == pytest.approx(truth, rel=0.01)


@pytest.fixture
def running_job(db, media_root):
    from django.utils import timezone

    from dubbing.models import JobStatus
    from dubbing.tests.factories import DubbingJobFactory

    job = DubbingJobFactory(status=JobStatus.RUNNING, claim_token=uuid.uuid4(), started_at=timezone.now(),
                            video__duration=60.0)
    return job


def test_the_recorder_writes_the_bar_and_the_api_says_the_time_left(running_job, owner_client):
    """Events as the pipeline sends them, on a real job row; the API's eta_seconds is null
    before recognition, then the estimate, counted down from the finish time written."""
    from dubbing.pipeline.runner import Event
    from dubbing.worker.recorder import StepRecorder

    now = [0.0]
    recorder = StepRecorder(running_job, render=0, on_claim_lost=lambda: pytest.fail("claim lost"),
                            clock=lambda: now[0])
    client = owner_client
    client.force_authenticate(running_job.owner)

    def api():
        return client.get(f"/api/v1/jobs/{running_job.id}").json()

    written = []
    for stage in STAGES:
        recorder.on_event(Event("started", stage))
        body = api()
        if STAGES.index(stage) < STAGES.index("transcribe"):
            assert body["eta_seconds"] is None, stage
        else:
            assert isinstance(body["eta_seconds"], int) and body["eta_seconds"] >= 0, (stage, body)
        seconds = recorder.progress.expected[stage]
        now[0] += seconds / 2
        recorder.flush_if_dirty()  # the monitor's tick: the clock alone moves the bar
        written.append(api()["progress"])
        now[0] += seconds / 2
        recorder.on_event(Event("done", stage, fraction=1.0, seconds=seconds))
        written.append(api()["progress"])
    assert written == sorted(written) and written[-1] == 99
    # The expected seconds gone by the end of recognition are what the bar showed then.
    expected = recorder.progress.expected
    upto = sum(expected[s] for s in STAGES[: STAGES.index("transcribe") + 1])
    assert written[2 * STAGES.index("transcribe") + 1] == int(100 * upto / sum(expected.values()))


def test_the_job_page_says_the_time_left_in_both_languages(running_job, owner):
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from dubbing.services import job_progress_save

    job_progress_save(job=running_job, claim_token=running_job.claim_token, stage="segment", progress=40,
                      eta_at=timezone.now() + timedelta(seconds=170))  # 2.8 minutes
    browser = Client()
    browser.force_login(running_job.owner)
    assert '<span id="job-eta" class="muted">About 3 minutes left</span>' in browser.get(
        f"/jobs/{running_job.id}").content.decode()
    running_job.owner.locale = "ko"
    running_job.owner.save(update_fields=["locale"])
    assert '<span id="job-eta" class="muted">약 3분 남았습니다</span>' in browser.get(
        f"/jobs/{running_job.id}").content.decode()
    job_progress_save(job=running_job, claim_token=running_job.claim_token, stage="mux", progress=95,
                      eta_at=timezone.now() + timedelta(seconds=20))
    assert '<span id="job-eta" class="muted">1분 안에 끝납니다</span>' in browser.get(
        f"/jobs/{running_job.id}").content.decode()
