"""Stage 9: the dubbed audio joined to the original video stream, copied bit for bit.

The audio comes from the mix stage already encoded to AAC and exactly as long as the video
*stream* (the container's may be longer), so it is copied too: nothing is encoded here unless
subtitles are burned, which re-encodes the video, drawn in a CJK-capable font. Soft subtitles go
in as a track tagged with the target language."""

from __future__ import annotations

import shutil
from pathlib import Path

from dubbing.engines.languages import to_iso2b
from dubbing.pipeline.ffmpeg import run_ffmpeg
from dubbing.pipeline.workspace import temp_path_for
from videos.media_safety import input_args

CJK_FONT = "Noto Sans CJK KR"
FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype/noto", "/usr/share/fonts")
MP4_FAMILY = {".mp4", ".m4v", ".mov"}


def output_suffix(input_path: Path) -> str:
    return ".mp4" if input_path.suffix.lower() in MP4_FAMILY else ".mkv"


def _font_dir() -> str:
    return next((d for d in FONT_DIRS if Path(d).is_dir()), "/usr/share/fonts")


def mux_video(
    input_path: Path,
    audio_m4a: Path,
    out_path: Path,
    *,
    demuxer: str,
    subtitles_srt: Path | None,
    mode: str,
    language: str,
    work_dir: Path,
) -> None:
    tmp = temp_path_for(out_path)
    lang = to_iso2b(language)
    # The original is untrusted: open it as the probed demuxer from a local file only. The other
    # inputs (our mix and subtitles) were written by the pipeline itself.
    args = [*input_args(input_path, demuxer), "-i", str(audio_m4a)]
    if mode == "burned" and subtitles_srt is not None:
        # The filter's argument syntax treats ':' and '\' specially; a plain relative name avoids
        # escaping whatever the workspace path contains.
        local = work_dir / "burn.srt"
        shutil.copyfile(subtitles_srt, local)
        args += ["-map", "0:v:0", "-map", "1:a:0",
                 "-vf", f"subtitles=burn.srt:fontsdir={_font_dir()}:force_style='FontName={CJK_FONT}'",
                 "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                 "-c:a", "copy"]
    elif mode == "soft" and subtitles_srt is not None:
        args += ["-i", str(subtitles_srt), "-map", "0:v:0", "-map", "1:a:0", "-map", "2:s:0",
                 "-c:v", "copy", "-c:a", "copy",
                 "-c:s", "mov_text" if out_path.suffix == ".mp4" else "subrip",
                 "-metadata:s:s:0", f"language={lang}"]
    else:
        args += ["-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "copy"]
    args += ["-metadata:s:a:0", f"language={lang}"]
    if out_path.suffix == ".mp4":
        args += ["-movflags", "+faststart"]
    run_ffmpeg(args + [str(tmp.resolve())], cwd=str(work_dir))
    tmp.replace(out_path)
