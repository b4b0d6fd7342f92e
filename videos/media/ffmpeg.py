"""The one ffmpeg runner: the flags every call needs, bounded time, stoppable, readable failures.

Reads of an untrusted input go through `videos.media.safety.input_args` (the probed demuxer
forced, file protocol only); everything else ffmpeg reads here our own code wrote.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import BinaryIO

from videos.media.process import (
    CancelCheck,
    ProcessCancelled,
    current_cancel_check,
    run_process,
)

FFMPEG = "ffmpeg"
FFMPEG_TIMEOUT_SECONDS = 120


class FFmpegError(Exception):
    pass


def run_ffmpeg(args: list[str], *, timeout: float | None = FFMPEG_TIMEOUT_SECONDS, cwd=None,
               cancel: CancelCheck | None = None) -> str:
    """Runs ffmpeg; returns its messages. FFmpegError on failure or timeout; ProcessCancelled
    when the cancel check (the argument's or the scope's) turns true while it runs."""
    command = [FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args]
    try:
        done = run_process(command, timeout=timeout, cwd=cwd, cancel=cancel, text=True)
    except subprocess.TimeoutExpired:
        raise FFmpegError(f"ffmpeg took longer than {timeout:.0f} s; the input may be damaged.") from None
    if done.returncode != 0:
        raise FFmpegError(done.stderr.strip()[-800:] or f"ffmpeg exited with {done.returncode}")
    return done.stderr


@contextmanager
def ffmpeg_stdin(args: list[str]) -> Iterator[BinaryIO]:
    """ffmpeg reading what the caller writes to it (`-i pipe:0` in `args`): for audio made block
    by block, never whole, and never written to disk first. Leaving the block normally closes
    ffmpeg's input and waits for it; an exception kills it. ffmpeg's messages go to a temporary
    file rather than a pipe: a pipe nobody reads can fill up and stall ffmpeg while we are
    blocked writing to it. The caller checks for cancellation between blocks."""
    with tempfile.TemporaryFile() as messages:
        proc = subprocess.Popen([FFMPEG, "-hide_banner", "-y", "-loglevel", "error", *args],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=messages)
        stopped_reading = False
        try:
            try:
                yield proc.stdin
                proc.stdin.close()
            except BrokenPipeError:
                stopped_reading = True  # ffmpeg failed; its messages say why
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if code != 0 or stopped_reading:
            messages.seek(0)
            text = messages.read().decode(errors="replace").strip()
            raise FFmpegError(text[-800:] or f"ffmpeg stopped reading its input (exit code {code})")


@lru_cache(maxsize=1)
def available_filters() -> frozenset[str]:
    done = subprocess.run([FFMPEG, "-hide_banner", "-filters"], capture_output=True, text=True)
    names = set()
    for line in done.stdout.splitlines():
        cols = line.split()
        if len(cols) >= 3 and "->" in cols[2]:
            names.add(cols[1])
    return frozenset(names)


__all__ = ["FFmpegError", "ProcessCancelled", "available_filters", "current_cancel_check", "ffmpeg_stdin",
           "run_ffmpeg"]
