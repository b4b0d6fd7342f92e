"""The command line's dub (`manage.py dub`): `run_pipeline` runs the stage runner
(`runner.run_dub`) and publishes the outputs into a folder, atomically, with a report.json
naming them. The jobs' publish step uploads the same files to storage instead."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from dubbing.engines.registry import Engines
from dubbing.pipeline.options import DubOptions
from dubbing.pipeline.runner import DubResult, Event, run_dub
from dubbing.pipeline.workspace import atomic_write_json

Progress = Callable[[str, float, str], None]

# Artifact kinds (the jobs' names) -> the report's output names and the file name's middle part.
_OUTPUT_NAMES = {
    "dubbed_video": "video", "dubbed_audio": "audio",
    **{f"subtitles_{kind}_{ext}": f"{kind}_{ext}" for kind in ("source", "target", "bilingual")
       for ext in ("srt", "vtt")},
}


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


def output_names(result: DubResult, input_path: Path, target: str) -> tuple[dict[str, Path], dict[str, str]]:
    """(output name -> file, output name -> the file's name in the folder): "<input>.<lang>.mp4",
    "<input>.<source>-<target>.srt"..."""
    stem, src = Path(input_path).stem, result.source_language
    middle = {"source": src, "target": target, "bilingual": f"{src}-{target}"}
    files, names = {}, {}
    for kind, path in result.files.items():
        if kind == "report":
            continue
        name = _OUTPUT_NAMES[kind]
        files[name] = path
        if kind == "dubbed_video":
            names[name] = f"{stem}.{target}{result.video_suffix}"
        elif kind == "dubbed_audio":
            names[name] = f"{stem}.{target}.m4a"
        else:
            part, ext = name.rsplit("_", 1)
            names[name] = f"{stem}.{middle[part]}.{ext}"
    return files, names


def run_pipeline(
    input_path: Path,
    options: DubOptions,
    *,
    workspace: Path,
    out_dir: Path,
    engines: Engines,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    duck_db: float | None = None,
    separate_duck_db: float | None = None,
    keep_stems: bool = False,
    threads: int | None = None,
) -> dict:
    """The dub's report (as written to `out_dir`/report.json), with the outputs' full paths."""
    progress = progress or (lambda stage, fraction, message: None)

    def on_event(event: Event) -> None:
        if event.kind == "started":
            progress(event.stage, 0.0, "")
        elif event.kind == "progress":
            progress(event.stage, event.fraction, event.message)
        elif event.kind == "done":
            progress(event.stage, 1.0, "done earlier" if event.cached else "")

    result = run_dub(input_path, options, workspace=workspace, engines=engines, on_event=on_event,
                     should_cancel=should_cancel, duck_db=duck_db, separate_duck_db=separate_duck_db,
                     keep_stems=keep_stems, threads=threads or os.cpu_count() or 1)
    files, names = output_names(result, input_path, options.target_language)
    published = publish_files(files, Path(out_dir), names)
    # The file names the outputs relative to its own folder (it travels with them); the caller
    # gets their full paths.
    report = {**result.report, "outputs": {kind: Path(path).name for kind, path in published.items()}}
    report_path = Path(out_dir) / "report.json"
    atomic_write_json(report_path, report)
    return {**report, "outputs": {**published, "report": str(report_path)}}
