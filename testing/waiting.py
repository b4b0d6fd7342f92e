"""The one polling helper for tests that wait on another thread or process (a Dramatiq worker, a
live server, a subprocess): ask again until the answer is there.

The timeout bounds the wait so a broken build fails instead of hanging; it is not a claim about
speed (timings belong in bench/). Give it generously.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05,
               what: str | Callable[[], object] = "the condition") -> T:
    """Call `condition` until it returns something truthy, and return that.

    After `timeout` seconds without it, raise AssertionError naming `what`: a string, or a
    callable whose result (the state the test was waiting on) goes into the message."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:g} s waiting for {described}; last answer: {value!r}")
        time.sleep(interval)


def wait_for_row(row: T, predicate: Callable[[T], object], *, timeout: float = 240.0, interval: float = 0.1) -> T:
    """Read `row` again from the database until `predicate(row)` holds (a job another process is
    running, say); return it. On timeout the error shows the row's status, stage, progress and error."""

    def reached() -> bool:
        row.refresh_from_db()
        return bool(predicate(row))

    def state() -> str:
        shown = ("status", "stage", "progress", "error_code", "error_message")
        return f"{type(row).__name__} {row.pk} ({', '.join(f'{f}={getattr(row, f)!r}' for f in shown if hasattr(row, f))})"

    wait_until(reached, timeout=timeout, interval=interval, what=state)
    return row
