"""Stage 1: what the input is (streams and durations), and whether it can be dubbed."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from dubbing.pipeline.ffmpeg import SAFE_INPUT


class ProbeError(Exception):
    pass


@dataclass
class MediaInfo:
    duration: float
    has_video: bool
    has_audio: bool
    video_duration: float | None
    audio_duration: float | None
    video_codec: str
    audio_sample_rate: int | None
    audio_channels: int | None
    format_name: str

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MediaInfo:
        return cls(**data)

    @property
    def timeline_duration(self) -> float:
        """The dub's length: the video stream's for video (the container's may be longer)."""
        return self.video_duration or self.duration


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def probe(path: Path, *, max_duration_seconds: float | None = None) -> MediaInfo:
    path = Path(path)
    if not path.is_file():
        raise ProbeError(f"{path} does not exist or is not a file.")
    if path.stat().st_size == 0:
        raise ProbeError(f"{path.name} is empty.")
    try:
        done = subprocess.run(
            ["ffprobe", "-v", "error", *SAFE_INPUT, "-show_format", "-show_streams", "-of", "json", str(path)],
            capture_output=True, text=True, timeout=60,
        )
    except subprocess.TimeoutExpired:
        raise ProbeError(f"Reading {path.name} took too long; it may be damaged.") from None
    if done.returncode != 0:
        raise ProbeError(f"{path.name} cannot be read as audio or video; it may be damaged or not a media file.")
    data = json.loads(done.stdout or "{}")
    streams = data.get("streams", [])
    fmt = data.get("format", {})
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if audio is None:
        raise ProbeError(f"{path.name} has no audio stream, so there is nothing to dub.")
    duration = _float(fmt.get("duration")) or _float(audio.get("duration"))
    if not duration:
        raise ProbeError(f"The duration of {path.name} cannot be read.")
    if max_duration_seconds and duration > max_duration_seconds:
        raise ProbeError(f"{path.name} lasts {duration / 60:.0f} minutes; at most {max_duration_seconds / 60:.0f} are accepted.")
    return MediaInfo(
        duration=duration,
        has_video=video is not None,
        has_audio=True,
        video_duration=_float(video.get("duration")) if video else None,
        audio_duration=_float(audio.get("duration")),
        video_codec=video.get("codec_name", "") if video else "",
        audio_sample_rate=int(audio["sample_rate"]) if audio.get("sample_rate") else None,
        audio_channels=int(audio["channels"]) if audio.get("channels") else None,
        format_name=fmt.get("format_name", ""),
    )
