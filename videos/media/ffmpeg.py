"""Running ffmpeg/ffprobe: one place for the flags every call needs and for readable failures."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import BinaryIO

# Reads of the untrusted INPUT go through videos.media_safety.input_args (the probed demuxer
# forced, file protocol only); everything else ffmpeg reads here the pipeline wrote itself.


class FFmpegError(Exception):
    pass


def run_ffmpeg(args: list[str], *, timeout: float | None = None, cwd=None) -> str:
    try:
        done = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
        )
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
    blocked writing to it."""
    with tempfile.TemporaryFile() as messages:
        proc = subprocess.Popen(["ffmpeg", "-hide_banner", "-y", "-loglevel", "error", *args],
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
    done = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True, text=True)
    names = set()
    for line in done.stdout.splitlines():
        cols = line.split()
        if len(cols) >= 3 and "->" in cols[2]:
            names.add(cols[1])
    return frozenset(names)
