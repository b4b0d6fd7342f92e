"""Run callables at the same moment in threads, for the races only real row locks and unique
indexes settle (PostgreSQL tests: each thread gets its own database connection, closed after)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def race(workers: list[Callable[[], object]]) -> list:
    """Start every callable together (a barrier) in its own thread; return, in order, what each
    returned or the exception it raised."""
    barrier = threading.Barrier(len(workers))
    results: list = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
            results[index] = error
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
