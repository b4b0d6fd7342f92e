"""The fit decision as a pure function of times (no audio)."""

from __future__ import annotations

import pytest

from dubbing.pipeline.fit import Slot, needs_shortening, plan_fit


def test_it_borrows_the_silence_after_a_line_before_speeding_up():
    # Given a 2 s line followed by 1.5 s of silence, and a 3 s clip
    plan = plan_fit([Slot(0.0, 2.0), Slot(3.5, 5.0)], [3.0, 1.0], max_speed=1.3, timeline_end=6.0)
    # Then it plays at normal speed, reaching into the gap, and the next line keeps its start
    assert plan[0].speed == 1.0 and plan[0].length == pytest.approx(3.0)
    assert plan[1].start == pytest.approx(3.5) and plan[1].displacement == 0.0


def test_it_speeds_up_only_as_much_as_needed_and_never_past_max_speed():
    plan = plan_fit([Slot(0.0, 2.0), Slot(2.5, 4.0)], [3.0, 1.0], max_speed=1.3, timeline_end=6.0)
    assert plan[0].speed == pytest.approx(1.2)  # 3.0 s into the 2.5 s before the next line
    assert plan[0].end == pytest.approx(2.5)
    capped = plan_fit([Slot(0.0, 1.0), Slot(1.0, 2.0)], [5.0, 0.5], max_speed=1.3, timeline_end=9.0)
    assert capped[0].speed == pytest.approx(1.3)
    assert capped[0].length == pytest.approx(5.0 / 1.3)


def test_a_line_too_long_even_at_max_speed_asks_for_shortening():
    plan = plan_fit([Slot(0.0, 1.0), Slot(1.2, 2.0), Slot(5.0, 6.0)], [3.0, 0.5, 0.5], max_speed=1.3,
                    timeline_end=7.0)
    assert needs_shortening(plan) == [0]
    fits = plan_fit([Slot(0.0, 1.0), Slot(1.2, 2.0)], [1.5, 0.5], max_speed=1.3, timeline_end=7.0)
    assert needs_shortening(fits) == []


def test_a_run_over_line_delays_the_next_and_the_lines_after_return_to_their_starts():
    slots = [Slot(0.0, 1.0), Slot(1.0, 2.0), Slot(2.5, 3.0), Slot(6.0, 7.0), Slot(8.0, 9.0)]
    lengths = [2.6, 0.6, 0.5, 1.0, 1.0]
    plan = plan_fit(slots, lengths, max_speed=1.3, timeline_end=10.0)
    # The first line runs over at max speed: 2.6 / 1.3 = 2.0 s, ending at 2.0
    assert plan[0].speed == pytest.approx(1.3) and plan[0].end == pytest.approx(2.0)
    # Never two voices at once: the second starts when the first ends, and speeds up into its gap
    assert plan[1].start == pytest.approx(2.0) and plan[1].displacement == pytest.approx(1.0)
    assert plan[1].end <= plan[2].start + 1e-9
    # so the third line is back at its own start, and so are all after it
    assert [p.displacement for p in plan[2:]] == [0.0, 0.0, 0.0]
    for a, b in zip(plan, plan[1:]):
        assert a.end <= b.start + 1e-9


def test_displacement_never_carries_past_the_next_gap():
    # A run of tightly packed long lines, then a pause: the line after the pause is on time.
    slots = [Slot(i * 1.0, i * 1.0 + 1.0) for i in range(4)] + [Slot(10.0, 11.0)]
    plan = plan_fit(slots, [2.0] * 4 + [1.0], max_speed=1.3, timeline_end=12.0)
    assert plan[-1].displacement == 0.0
    assert all(p.speed <= 1.3 + 1e-9 for p in plan)
