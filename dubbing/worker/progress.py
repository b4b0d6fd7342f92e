"""How far a job is and how long it has left, from what each stage costs.

Each stage costs a fixed part (a model loaded, a process started) plus a part per second of
media, fitted to `bench/pipeline.py`'s split on an 18.7-second and a 60-second clip (the figures,
the command and the fit are in docs/jobs.md "Progress and time left"). A job's bar gives each
stage its share of the expected seconds for the job's own media length. Within a stage the bar
follows the stage's own progress events, or, for a stage that sends none (recognition), the time
it has run against what it is expected to take at this run's speed, up to nine tenths of it.
The time left is the expected seconds still to go at this run's speed: the time the finished
stages took against what they were expected to take.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# stage -> (fixed seconds, seconds per second of media): the line through the two clips' figures
# (a negative fixed part read as 0), the local engines with the background ducked, on the
# shared 2-core machine (load average 12-16 while measured: only the ratios matter here).
STAGE_COST: dict[str, tuple[float, float]] = {
    "probe": (0.11, 0.0053),
    "extract": (0.72, 0.076),
    # Mostly a model loaded: 10.6 s at both lengths once scaled to the duck runs' load (the
    # separate runs' transcribe was 1.3-1.5x slower); per second, the U-Nets' 0.11x real time
    # (docs/sound.md: 1.3 s per 11.9 s block on 2 threads).
    "separate": (10.0, 0.11),
    "transcribe": (0.0, 0.83),
    "segment": (15.3, 0.108),
    "translate": (1.02, 0.0082),
    "synthesize": (0.0, 0.021),
    "fit": (0.0, 0.115),
    "mix": (0.42, 0.085),
    "mux": (0.47, 0.0070),
    "publish": (0.02, 0.0),
}
DEFAULT_MEDIA_SECONDS = 60.0  # a job whose duration is unknown (never probed): a minute
# The time left is said once recognition has started: before it only the quick first stages have
# run, and their speed says little about the rest.
ETA_FROM_STAGE = "transcribe"
# A stage without progress events is shown at most this far along until it says it is done.
TIMED_FRACTION_CAP = 0.9
# The run's measured speed (actual / expected seconds) is kept within these bounds: one odd
# stage (a model already in memory, a burst of load) must not swing the estimate tenfold.
SPEED_BOUNDS = (0.25, 4.0)


def stage_seconds(*, media_seconds: float | None, separate: bool) -> dict[str, float]:
    """Each stage's expected seconds on the benchmark's machine for media this long. Without
    separation (a background other than "separate") its stage does nothing and weighs nothing."""
    length = media_seconds if media_seconds and media_seconds > 0 else DEFAULT_MEDIA_SECONDS
    expected = {stage: fixed + per_second * length for stage, (fixed, per_second) in STAGE_COST.items()}
    if not separate:
        expected["separate"] = 0.0
    return expected


@dataclass
class ProgressClock:
    """One run's progress, fed the pipeline's events with the time they came (`now`, seconds on
    a monotonic clock). Plain Python: the recorder feeds it and writes what it says."""

    expected: dict[str, float]
    order: tuple[str, ...]
    finished: set[str] = field(default_factory=set)
    reused: set[str] = field(default_factory=set)  # done earlier: no time spent in this run
    took: dict[str, float] = field(default_factory=dict)  # seconds the finished stages took here
    stage: str = ""
    fraction: float = 0.0  # the current stage's own progress events
    stage_started: float | None = None
    shown: int = 0  # the last percent given out: the bar never goes back

    @property
    def total(self) -> float:
        return sum(self.expected.values()) or 1.0

    def start(self, stage: str, *, now: float) -> None:
        self.stage, self.fraction, self.stage_started = stage, 0.0, now

    def advance(self, stage: str, fraction: float) -> None:
        if stage == self.stage and stage not in self.finished:
            self.fraction = max(self.fraction, min(1.0, fraction))

    def finish(self, stage: str, *, cached: bool, seconds: float) -> None:
        self.finished.add(stage)
        if cached:
            self.reused.add(stage)
        else:
            self.took[stage] = seconds
        self.stage, self.fraction, self.stage_started = stage, 1.0, None

    def speed(self) -> float:
        """Actual over expected seconds of the stages this run did (1.0 before any)."""
        expected = sum(self.expected.get(stage, 0.0) for stage in self.took)
        if expected <= 0:
            return 1.0
        low, high = SPEED_BOUNDS
        return min(high, max(low, sum(self.took.values()) / expected))

    def _current_fraction(self, now: float) -> float:
        if self.stage in self.finished or not self.stage:
            return 0.0
        expected = self.expected.get(self.stage, 0.0) * self.speed()
        timed = 0.0
        if self.stage_started is not None and expected > 0:
            timed = min(TIMED_FRACTION_CAP, (now - self.stage_started) / expected)
        return max(self.fraction, timed)

    def percent(self, *, now: float) -> int:
        """0-99 while running, never going back."""
        done = sum(self.expected.get(stage, 0.0) for stage in self.finished)
        current = self.expected.get(self.stage, 0.0) * self._current_fraction(now)
        self.shown = max(self.shown, min(99, int(100 * (done + current) / self.total)))
        return self.shown

    def seconds_left(self, *, now: float) -> float | None:
        """None before recognition has started; else the expected seconds still to go, at this
        run's speed."""
        if not self._reached(ETA_FROM_STAGE):
            return None
        speed = self.speed()
        later = sum(seconds for stage, seconds in self.expected.items()
                    if stage not in self.finished and stage != self.stage)
        current = 0.0
        if self.stage not in self.finished:
            expected = self.expected.get(self.stage, 0.0) * speed
            ran = now - self.stage_started if self.stage_started is not None else 0.0
            current = expected * (1.0 - self.fraction) if self.fraction > 0 else max(0.0, expected - ran)
            # A stage running past its estimate still has something left: a tenth of it.
            current = max(current, 0.1 * expected)
        return later * speed + current

    def _reached(self, stage: str) -> bool:
        if stage in self.finished or self.stage == stage:
            return True
        position = {name: i for i, name in enumerate(self.order)}
        return position.get(self.stage, -1) > position.get(stage, len(self.order))
