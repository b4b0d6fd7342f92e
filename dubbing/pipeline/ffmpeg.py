"""Running ffmpeg/ffprobe: one place for the flags every call needs and for readable failures."""

from __future__ import annotations

import subprocess
from functools import lru_cache

# Reads of the untrusted INPUT go through videos.media_safety.input_args (the probed demuxer
# forced, file protocol only). This weaker form remains only for mux.py's read of the original
# video, until that stage takes the probed demuxer too.
SAFE_INPUT = ["-protocol_whitelist", "file,pipe"]


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


@lru_cache(maxsize=1)
def available_filters() -> frozenset[str]:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True, text=True)
    names = set()
    for line in done.stdout.splitlines():
        cols = line.split()
        if len(cols) >= 3 and "->" in cols[2]:
            names.add(cols[1])
    return frozenset(names)
