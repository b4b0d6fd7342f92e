"""Stage 1: what the input is (streams and durations), and whether it can be dubbed.

Media is hostile until probed, so the pipeline asks the same hardened probe as uploads
(`videos.media.probe.probe_media`: signature sniffing, one allowed demuxer forced, local files
only, bounded time). The `MediaInfo` it returns names the demuxer (`info.format`) that every
later read of the input passes to `videos.media.safety.input_args`.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

from dubbing.pipeline.errors import ErrorCode, PipelineError, ProbeError
from dubbing.pipeline.stage import Context, Stage
from dubbing.pipeline.workspace import digest, input_fingerprint
from videos.media.probe import MediaError, MediaInfo, probe_media, require_dubbable


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


def info_to_dict(info: MediaInfo) -> dict:
    return asdict(info)


def info_from_dict(data: dict) -> MediaInfo:
    return MediaInfo(**data)


class ProbeStage(Stage):
    name = "probe"
    version = 3  # 3: keyed by the input's content fingerprint and the duration limit

    def key(self, ctx: Context) -> str:
        if not ctx.fingerprint:
            ctx.fingerprint = input_fingerprint(ctx.input_path) if ctx.input_path.is_file() else "missing"
        return digest(self.name, self.version, ctx.fingerprint, ctx.max_duration)

    def run(self, ctx: Context) -> dict:
        try:
            ctx.info = probe(ctx.input_path, max_duration_seconds=ctx.max_duration)
        except ProbeError as exc:
            raise PipelineError(self.name, None, str(exc), code=ErrorCode.BAD_MEDIA) from exc
        ctx.ws.write_json(ctx.ws.path("probe.json"), info_to_dict(ctx.info))
        return {"duration": ctx.info.duration, "has_video": ctx.info.has_video}

    def load(self, ctx: Context) -> bool:
        try:
            ctx.info = info_from_dict(ctx.ws.read_json(ctx.ws.path("probe.json")))
        except FileNotFoundError:
            return False
        return True
