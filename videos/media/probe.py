"""What a media file really is: signature first, then ffprobe with the hardened arguments.

Plain Python, no Django: the upload path and the dubbing pipeline both call
`probe_media(path)` and get a `MediaInfo` or a `MediaError` with a machine code.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from videos.media import safety as media_safety
from videos.media.ffmpeg import FFmpegError, run_ffmpeg
from videos.media.process import run_process
from videos.media.safety import Container

logger = logging.getLogger(__name__)


class MediaError(Exception):
    """A file we refuse. `code` is the API error code, `status` the HTTP status it maps to."""

    code = "invalid_media"
    status = 422

    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(detail)


class EmptyMedia(MediaError):
    code = "empty_file"
    status = 400


class UnsupportedMedia(MediaError):
    """Not a container we accept at all (random bytes, images, playlists, documents)."""

    code = "unsupported_media"
    status = 415


class InvalidMedia(MediaError):
    """Claims to be a container we accept but cannot be read, or cannot be dubbed."""

    code = "invalid_media"
    status = 422


@dataclass(frozen=True)
class MediaInfo:
    format: str  # the demuxer that read it ("mov", "matroska", ...)
    extension: str  # what we name the stored file
    content_type: str  # as probed, never as the client said
    size: int
    duration: float  # seconds
    has_audio: bool
    has_video: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str = ""
    audio_codec: str = ""
    audio_channels: int | None = None
    audio_sample_rate: int | None = None
    video_duration: float | None = None
    audio_duration: float | None = None
    stream_count: int = 0


def _ratio(value: str | None) -> float | None:
    try:
        ratio = Fraction(value or "")
    except (ValueError, ZeroDivisionError):
        return None
    return round(float(ratio), 3) if ratio > 0 else None


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _content_type(container: Container, tags: dict, has_video: bool) -> str:
    kind = "video" if has_video else "audio"
    if container is media_safety.MOV:
        return "video/quicktime" if tags.get("major_brand", "").strip() == "qt" and has_video else f"{kind}/mp4"
    if container is media_safety.MATROSKA:
        return f"{kind}/webm" if tags.get("doctype") == "webm" else f"{kind}/x-matroska"
    return {
        "avi": "video/x-msvideo",
        "mpegts": "video/mp2t",
        "mp3": "audio/mpeg",
        "aac": "audio/aac",
        "wav": "audio/wav",
        "ogg": f"{kind}/ogg",
        "flac": "audio/flac",
    }[container.demuxer]


def run_ffprobe(path: str | Path, container: Container) -> dict:
    try:
        # A refusal (non-zero exit) is an answer about the file, read below.
        done = run_process(media_safety.ffprobe_command(path, container.demuxer),
                           timeout=media_safety.PROBE_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise InvalidMedia("Reading the file took too long; it may be damaged.") from None
    if done.returncode != 0:
        logger.info("ffprobe refused a file: %s", done.stderr.decode(errors="replace")[-500:])
        raise InvalidMedia(
            "The file looks like a media file but cannot be read; it may be damaged or incomplete."
        )
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise InvalidMedia("The file could not be read.") from None


def _main_streams(streams: list[dict]) -> tuple[dict, dict]:
    """(the first video stream, the first audio stream), each {} when absent; InvalidMedia for
    too many streams, none at all, or a picture without a size or too large."""
    if len(streams) > media_safety.MAX_STREAMS:
        raise InvalidMedia(f"The file has {len(streams)} streams; at most {media_safety.MAX_STREAMS} are accepted.")
    video = [
        s for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not video and not audio:
        raise InvalidMedia("The file has no audio or video stream.")
    v = video[0] if video else {}
    width, height = v.get("width"), v.get("height")
    if video and (not width or not height):
        raise InvalidMedia("The video stream has no picture size.")
    if video and max(width, height) > media_safety.MAX_DIMENSION:
        raise InvalidMedia(
            f"The video is {width}x{height}; at most {media_safety.MAX_DIMENSION} pixels per side are accepted."
        )
    return v, audio[0] if audio else {}


def probe_media(path: str | Path) -> MediaInfo:
    """Decide what the file at `path` is. Raises EmptyMedia, UnsupportedMedia or InvalidMedia."""
    container, size = media_safety.sniff_file(path)
    if size == 0:
        raise EmptyMedia("The file is empty.")
    if container is None:
        raise UnsupportedMedia(
            "This is not a video or audio format we accept (MP4/MOV, WebM/MKV, AVI, MPEG-TS, MP3, AAC, WAV, Ogg, FLAC)."
        )
    data = run_ffprobe(path, container)
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    v, a = _main_streams(streams)
    video, audio = bool(v), bool(a)
    width, height = v.get("width"), v.get("height")
    video_duration = _float(v.get("duration"))
    audio_duration = _float(a.get("duration"))
    duration = _float(fmt.get("duration")) or max(video_duration or 0, audio_duration or 0)
    if not duration:
        raise InvalidMedia("The file's duration cannot be read.")

    tags = {**(fmt.get("tags") or {})}
    content_type = _content_type(container, tags, bool(video))
    extension = container.extension
    if container is media_safety.MOV:
        extension = {"audio/mp4": "m4a", "video/quicktime": "mov"}.get(content_type, "mp4")
    return MediaInfo(
        format=container.demuxer,
        extension=extension,
        content_type=content_type,
        size=size,
        duration=round(duration, 3),
        has_audio=bool(audio),
        has_video=bool(video),
        width=width if video else None,
        height=height if video else None,
        fps=_ratio(v.get("avg_frame_rate")) or _ratio(v.get("r_frame_rate")) if video else None,
        video_codec=v.get("codec_name", "") if video else "",
        audio_codec=a.get("codec_name", ""),
        audio_channels=a.get("channels"),
        audio_sample_rate=int(a["sample_rate"]) if a.get("sample_rate") else None,
        video_duration=video_duration,
        audio_duration=audio_duration,
        stream_count=len(streams),
    )


def timeline_duration(info: MediaInfo) -> float:
    """A dub's length: the video stream's for video (the container's may be longer)."""
    return info.video_duration or info.duration


def require_dubbable(info: MediaInfo, *, max_duration_seconds: float) -> None:
    """Refuse what cannot be dubbed: no audio to translate, or longer than the limit."""
    if not info.has_audio:
        raise InvalidMedia("The file has no audio stream, so there is nothing to dub.")
    if info.duration > max_duration_seconds:
        raise InvalidMedia(
            f"The file is {info.duration / 60:.1f} minutes long; at most {max_duration_seconds / 60:.0f} minutes are accepted."
        )


def make_thumbnail(path: str | Path, info: MediaInfo, out_path: str | Path, *, width: int = 480) -> bool:
    """Write a JPEG of a frame near the start to `out_path`. False when there is no picture."""
    if not info.has_video:
        return False
    at = min(1.0, (info.video_duration or info.duration) / 2)
    try:
        run_ffmpeg([
            "-threads", "1",
            "-ss", f"{at:.3f}",
            *media_safety.input_args(path, info.format),
            "-map", "0:v:0",
            "-frames:v", "1",
            "-vf", f"scale='min({width},iw)':-2",
            "-q:v", "5",
            "-f", "image2", "-update", "1",
            media_safety.output_path_arg(out_path),
        ])
    except FFmpegError as exc:
        logger.warning("No thumbnail: %s", str(exc)[-300:])
        return False
    return Path(out_path).exists() and Path(out_path).stat().st_size > 0
