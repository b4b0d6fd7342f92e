"""Subprocesses that a cancelled job can stop.

A dub's long steps are subprocesses (ffmpeg decoding an hour of audio, espeak-ng, apertium).
`run_process` polls a cancel check while the child runs and kills it when the check turns true,
so cancelling a job never waits for an ffmpeg that has minutes left. The check comes from the
caller or, for engines that know nothing of jobs, from `cancel_scope`, which the pipeline runner
sets around each stage (copied into its worker threads by `dubbing.pipeline.concurrency`).
"""

from __future__ import annotations

import contextvars
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

POLL_SECONDS = 0.1

CancelCheck = Callable[[], bool]
_current_cancel: contextvars.ContextVar[CancelCheck | None] = contextvars.ContextVar("cancel_check", default=None)


class ProcessCancelled(Exception):
    """The cancel check turned true while the subprocess ran; it was killed."""


@contextmanager
def cancel_scope(check: CancelCheck | None) -> Iterator[None]:
    token = _current_cancel.set(check)
    try:
        yield
    finally:
        _current_cancel.reset(token)


def current_cancel_check() -> CancelCheck | None:
    return _current_cancel.get()


def cancelled() -> bool:
    check = _current_cancel.get()
    return bool(check and check())


def run_process(
    command: Sequence[str],
    *,
    input: bytes | str | None = None,
    timeout: float | None = None,
    cwd=None,
    text: bool = False,
    cancel: CancelCheck | None = None,
) -> subprocess.CompletedProcess:
    """Like `subprocess.run(command, capture_output=True)`, but killed when `cancel()` (or the
    scope's check) turns true (ProcessCancelled) or `timeout` passes (subprocess.TimeoutExpired).
    The caller reads the return code."""
    check = cancel or _current_cancel.get()
    if check is not None and check():
        raise ProcessCancelled()
    proc = subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        text=text,
    )
    deadline = None if timeout is None else time.monotonic() + timeout
    pending_input = input
    try:
        while True:
            wait = POLL_SECONDS if check is not None else None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(list(command), timeout)
                wait = left if wait is None else min(wait, left)
            try:
                stdout, stderr = proc.communicate(pending_input, timeout=wait)
                break
            except subprocess.TimeoutExpired:
                pending_input = None  # communicate() keeps feeding what it started to write
                if check is not None and check():
                    raise ProcessCancelled() from None
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(list(command), proc.returncode, stdout, stderr)


def process_map(fn, items: list, *, workers: int, initializer=None) -> list:
    """`list(pool.map(fn, items))` on a pool of spawned processes, stopped early (its processes
    terminated, ProcessCancelled raised) when the scope's cancel check turns true. spawn, not
    fork: forking a process that has threads (Dramatiq workers, a progress sampler) can leave the
    child waiting on a lock held by a thread that does not exist."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(items))),
                               mp_context=multiprocessing.get_context("spawn"), initializer=initializer)
    futures = [pool.submit(fn, item) for item in items]
    try:
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=POLL_SECONDS * 2, return_when=FIRST_COMPLETED)
            if pending and cancelled():
                raise ProcessCancelled()
        return [f.result() for f in futures]
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()  # a chunk may take seconds; do not wait for it
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
