"""Stage 1: what the input is (streams and durations), and whether it can be dubbed.

Media is hostile until probed, so the pipeline asks the same hardened probe as uploads
(`videos.probe.probe_media`: signature sniffing, one allowed demuxer forced, local files only,
bounded time). The `MediaInfo` it returns names the demuxer (`info.format`) that every later
read of the input passes to `videos.media_safety.input_args`.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

from videos.probe import MediaError, MediaInfo, probe_media, require_dubbable

__all__ = ["MediaInfo", "ProbeError", "info_from_dict", "info_to_dict", "probe", "timeline_duration"]


class ProbeError(Exception):
    pass


def probe(path: Path, *, max_duration_seconds: float | None = None) -> MediaInfo:
    """The input's MediaInfo, or ProbeError with a message fit for the person who gave the file."""
    path = Path(path)
    if not path.is_file():
        raise ProbeError(f"{path} does not exist or is not a file.")
    try:
        info = probe_media(path)
        require_dubbable(info, max_duration_seconds=max_duration_seconds or math.inf)
    except MediaError as exc:
        raise ProbeError(f"{path.name}: {exc.detail}") from None
    except OSError as exc:
        raise ProbeError(f"Cannot read {path.name}: {exc.strerror or exc}.") from None
    return info


def timeline_duration(info: MediaInfo) -> float:
    """The dub's length: the video stream's for video (the container's may be longer)."""
    return info.video_duration or info.duration


def info_to_dict(info: MediaInfo) -> dict:
    return asdict(info)


def info_from_dict(data: dict) -> MediaInfo:
    return MediaInfo(**data)
