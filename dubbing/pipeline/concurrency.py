"""Per-segment work on a thread pool that stops cleanly at the first failure or cancellation:
work not yet started is dropped (finished segments are already checkpointed on disk)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def run_each(items: Iterable[T], fn: Callable[[T], R], *, workers: int,
             on_done: Callable[[T, R], None] = lambda item, result: None) -> None:
    items = list(items)
    if workers <= 1:
        for item in items:
            on_done(item, fn(item))
        return
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        # Each task runs in a copy of the caller's context: the cancel scope that lets a
        # cancelled job stop the subprocesses its tasks start (videos.media.process) goes along.
        futures = {pool.submit(contextvars.copy_context().run, fn, item): item for item in items}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in finished:
                if future.exception() is not None:
                    raise future.exception()
                on_done(futures[future], future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
