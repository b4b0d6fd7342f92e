"""Running ffmpeg/ffprobe: one place for the flags every call needs and for readable failures."""

from __future__ import annotations

import subprocess
from functools import lru_cache

# Inputs are local files only: no network, no concat lists that point elsewhere.
SAFE_INPUT = ["-protocol_whitelist", "file,pipe"]


class FFmpegError(Exception):
    pass


def run_ffmpeg(args: list[str], *, timeout: float | None = None, cwd=None) -> str:
    done = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    if done.returncode != 0:
        raise FFmpegError(done.stderr.strip()[-800:] or f"ffmpeg exited with {done.returncode}")
    return done.stderr


@lru_cache(maxsize=1)
def available_filters() -> frozenset[str]:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True, text=True)
    names = set()
    for line in done.stdout.splitlines():
        cols = line.split()
        if len(cols) >= 3 and "->" in cols[2]:
            names.add(cols[1])
    return frozenset(names)
