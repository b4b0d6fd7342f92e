"""Retry with backoff, once for the whole product (base layer, plain Python: no Django).

Dubbing jobs, webhook deliveries and every engine client wait the same way between tries: an
exponential delay (`base * 2^(attempt-1)`, capped), optionally jittered, unless the server said
how long to wait (`Retry-After` as seconds or an HTTP date, or OpenAI's `retry-after-ms`), which
is honoured up to a cap. `wait` sleeps in short steps so that a cancelled job stops waiting.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime


def backoff_delay(attempt: int, *, base: float, cap: float, jitter: bool = False) -> float:
    """Seconds to wait before try `attempt + 1` (attempt counts from 1): `base * 2^(attempt-1)`,
    at most `cap`. With jitter, a random point in the upper half ("equal jitter"), so clients
    told to back off together do not all return in the same instant."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(delay / 2, delay) if jitter else delay


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a server asked for: `retry-after-ms` (OpenAI), else `Retry-After` as seconds or
    an HTTP date; None when absent or unreadable. Header names are matched case-insensitively."""
    if not headers:
        return None
    lowered = {str(name).lower(): value for name, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def retry_delay(attempt: int, *, headers: Mapping[str, str] | None = None, base: float = 0.5,
                cap: float = 30.0, retry_after_cap: float = 30.0, jitter: bool = False) -> float:
    """The server's `Retry-After` (capped at `retry_after_cap`, with a little jitter when asked)
    when it gave one, else the exponential backoff for `attempt`."""
    asked = retry_after_seconds(headers)
    if asked is not None:
        asked = min(asked, retry_after_cap)
        return asked + (random.uniform(0, min(0.25 * asked, 1.0) + 0.01) if jitter else 0.0)
    return backoff_delay(attempt, base=base, cap=cap, jitter=jitter)


def wait(seconds: float, *, cancelled: Callable[[], bool] | None = None,
         on_cancel: Callable[[], BaseException] | None = None, step: float = 0.1) -> None:
    """Sleep `seconds` in steps of at most `step`; when `cancelled()` turns true, raise
    `on_cancel()` (or return early when no exception is given)."""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        if cancelled is not None and cancelled():
            if on_cancel is not None:
                raise on_cancel()
            return
        time.sleep(min(step, left))
