"""Stage 9: the dubbed audio joined to the original video stream, copied bit for bit.

The audio comes from the mix stage already encoded to AAC and exactly as long as the video
*stream* (the container's may be longer), so it is copied too: nothing is encoded here unless
subtitles are burned, which re-encodes the video, drawn in a CJK-capable font. Soft subtitles go
in as a track tagged with the target language."""

from __future__ import annotations

import shutil
from pathlib import Path

from dubbing.engines.languages import to_iso2b
from dubbing.pipeline.stage import Context, Stage
from dubbing.pipeline.subtitles import Cue, CueLabel, write_subtitle_pair
from dubbing.pipeline.workspace import digest, temp_path_for
from videos.media.ffmpeg import run_ffmpeg
from videos.media.safety import input_args

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
    # Copying streams runs at disk speed; burning subtitles re-encodes, about real time here.
    run_ffmpeg(args + [str(tmp.resolve())], cwd=str(work_dir), timeout=None)
    tmp.replace(out_path)


def subtitle_cues(ctx: Context) -> tuple[list[Cue], list[Cue], list[Cue]]:
    """Source cues at the source times; target cues where each line was placed, ending when it
    does (or at its own slot's end), never overlapping the next line; bilingual at source times."""
    fitted, timeline = ctx.fitted, ctx.timeline
    order = [s for s in ctx.segments if s.id in fitted]
    source_cues, target_cues, bilingual = [], [], []
    for i, seg in enumerate(order):
        line = fitted[seg.id]
        next_start = fitted[order[i + 1].id].start if i + 1 < len(order) else timeline
        end = min(max(line.start + line.length, seg.end), next_start)
        source_cues.append((seg.start, seg.end, seg.text))
        target_cues.append((line.start, end, line.text))
        bilingual.append((seg.start, seg.end, f"{line.text}\n{seg.text}"))
    return source_cues, target_cues, bilingual


def subtitle_labels(ctx: Context) -> list[CueLabel]:
    """Each cue's WebVTT identifier and voice, in the order of `subtitle_cues`: the line's segment
    id (stable across renders, so a speaker's new name can be written into the files later) and
    its speaker's label."""
    return [(seg.id, seg.speaker) for seg in ctx.segments if seg.id in ctx.fitted]


SUBTITLE_KINDS = ("source", "target", "bilingual")


class MuxStage(Stage):
    """Writes the subtitle files and, for video input, mux/dubbed.<mp4|mkv>. These stay in the
    local folder only: they are the job's outputs, published by the caller, and cheap to remake."""

    name = "mux"
    version = 4

    def key(self, ctx: Context) -> str:
        mix_key = ctx.ws.stage_key("mix")
        return digest(self.name, self.version, ctx.fingerprint, mix_key, ctx.options.subtitles,
                      subtitle_cues(ctx), subtitle_labels(ctx), ctx.source_language, ctx.options.target_language)

    def _outputs(self, ctx: Context) -> dict[str, Path]:
        root = ctx.ws.root
        ctx.video_suffix = output_suffix(ctx.input_path) if ctx.info.has_video else ".m4a"
        files = {"dubbed_audio": root / "mix" / "dubbed.m4a"}
        if ctx.info.has_video:
            files["dubbed_video"] = root / "mux" / f"dubbed{ctx.video_suffix}"
        for kind in SUBTITLE_KINDS:
            for ext in ("srt", "vtt"):
                files[f"subtitles_{kind}_{ext}"] = root / "subtitles" / f"{kind}.{ext}"
        return files

    def run(self, ctx: Context) -> dict:
        files = self._outputs(ctx)
        mux_dir, subs_dir = ctx.ws.root / "mux", ctx.ws.root / "subtitles"
        mux_dir.mkdir(exist_ok=True)
        subs_dir.mkdir(exist_ok=True)
        labels = subtitle_labels(ctx)
        for kind, cues in zip(SUBTITLE_KINDS, subtitle_cues(ctx)):
            write_subtitle_pair(cues, subs_dir / kind, labels)
        if ctx.info.has_video:
            ctx.check_cancel()
            mux_video(ctx.input_path, files["dubbed_audio"], files["dubbed_video"], demuxer=ctx.info.format,
                      subtitles_srt=subs_dir / "target.srt" if ctx.options.subtitles != "none" else None,
                      mode=ctx.options.subtitles, language=ctx.options.target_language, work_dir=mux_dir)
        ctx.files = files
        return {}

    def load(self, ctx: Context) -> bool:
        files = self._outputs(ctx)
        if not all(p.is_file() for p in files.values()):
            return False
        ctx.files = files
        return True
