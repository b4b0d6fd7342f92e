"""Stage 10 (command line): the artifacts copied into the output folder, atomically.

The jobs' publish step uploads the same files to storage; this one writes a folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dubbing.pipeline.subtitles import write_srt, write_vtt

Cue = tuple[float, float, str]


def write_subtitle_pair(cues: list[Cue], base: Path) -> dict[str, Path]:
    srt, vtt = base.with_suffix(".srt"), base.with_suffix(".vtt")
    write_srt(cues, srt)
    write_vtt(cues, vtt)
    return {"srt": srt, "vtt": vtt}


def publish_files(files: dict[str, Path], out_dir: Path, names: dict[str, str]) -> dict[str, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    published = {}
    for kind, src in files.items():
        dest = out_dir / names[kind]
        tmp = out_dir / f".{dest.name}.tmp"
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        published[kind] = str(dest)
    return published
