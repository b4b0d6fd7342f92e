"""The one retry-with-backoff helper (onevoice.retry): how long to wait between tries, from the
server's Retry-After when it gave one, else an exponential backoff; and a wait a cancel stops."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest

from onevoice.retry import backoff_delay, retry_after_seconds, retry_delay, wait


def test_the_backoff_doubles_from_its_base_up_to_its_cap():
    delays = [backoff_delay(attempt, base=0.5, cap=4.0) for attempt in range(1, 7)]

    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_a_jittered_backoff_stays_in_the_upper_half_and_spreads_out():
    for attempt, ceiling in [(1, 0.5), (3, 2.0), (9, 4.0)]:
        delays = {backoff_delay(attempt, base=0.5, cap=4.0, jitter=True) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After-Ms": "1500"}, 1.5),  # header names in any case
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "-3"}, 0.0),  # never a negative wait
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date already past
        ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),  # an unreadable one falls through
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_is_read_from_milliseconds_seconds_or_a_date(headers, seconds):
    assert retry_after_seconds(headers) == seconds


def test_a_retry_after_date_in_the_future_is_the_time_until_then():
    when = datetime.now(UTC) + timedelta(seconds=30)

    seconds = retry_after_seconds({"Retry-After": email.utils.format_datetime(when, usegmt=True)})

    assert 28.0 <= seconds <= 30.0  # the date has whole seconds


def test_the_server_s_retry_after_wins_over_the_backoff_and_is_capped():
    assert retry_delay(5, headers={"Retry-After": "3"}, base=0.5, cap=30.0) == 3.0
    assert retry_delay(1, headers={"Retry-After": "3600"}, retry_after_cap=20.0) == 20.0
    jittered = [retry_delay(1, headers={"Retry-After": "3600"}, retry_after_cap=5.0, jitter=True)
                for _ in range(50)]
    assert all(5.0 <= d <= 5.0 + 1.01 for d in jittered)


def test_without_retry_after_the_delay_is_the_backoff():
    assert [retry_delay(a, headers={"x-other": "1"}, base=0.5, cap=30.0) for a in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert retry_delay(20) == 30.0  # the default cap


def test_a_wait_of_nothing_returns_without_asking_about_cancellation():
    asked = []

    wait(0.0, cancelled=lambda: asked.append(1) or False)

    assert asked == []


def test_a_wait_asks_about_cancellation_between_its_steps_and_raises_what_on_cancel_makes():
    asked = []

    class Cancelled(Exception):
        pass

    # Given a cancel that turns true at the third look, during a 30 s wait in 10 ms steps
    with pytest.raises(Cancelled):
        wait(30.0, cancelled=lambda: asked.append(1) or len(asked) >= 3, on_cancel=Cancelled, step=0.01)

    # Then it looked three times and stopped there, not at the end of the 30 s
    assert len(asked) == 3


def test_a_cancelled_wait_without_on_cancel_just_returns():
    asked = []

    wait(30.0, cancelled=lambda: asked.append(1) or True)

    assert asked == [1]
