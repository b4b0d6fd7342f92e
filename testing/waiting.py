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
