"""The command line's way through the stage runner: `run_pipeline` runs `runner.run_dub` and
publishes the outputs into a folder (`manage.py dub`), with a report.json naming them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dubbing.pipeline import publish as publish_stage
from dubbing.pipeline.errors import PipelineCancelled, PipelineError
from dubbing.pipeline.options import DubOptions
from dubbing.pipeline.runner import (
    DEFAULT_DUCK_DB,
    STAGES,
    Event,
    check_engines,
    run_dub,
)
from dubbing.pipeline.workspace import atomic_write_json

__all__ = ["STAGES", "PipelineCancelled", "PipelineError", "check_engines", "run_pipeline"]

Progress = Callable[[str, float, str], None]

# Artifact kinds (the jobs' names) -> the report's output names and the file name's middle part.
_OUTPUT_NAMES = {
    "dubbed_video": "video", "dubbed_audio": "audio",
    **{f"subtitles_{kind}_{ext}": f"{kind}_{ext}" for kind in ("source", "target", "bilingual")
       for ext in ("srt", "vtt")},
}


def run_pipeline(
    input_path: Path,
    options: DubOptions,
    *,
    workspace: Path,
    out_dir: Path,
    engines=None,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    duck_db: float | None = None,
    keep_stems: bool = False,
    threads: int | None = None,
) -> dict:
    import os

    progress = progress or (lambda stage, fraction, message: None)

    def on_event(event: Event) -> None:
        if event.kind == "started":
            progress(event.stage, 0.0, "")
        elif event.kind == "progress":
            progress(event.stage, event.fraction, event.message)
        elif event.kind == "done":
            progress(event.stage, 1.0, "done earlier" if event.cached else "")

    result = run_dub(input_path, options, workspace=workspace, engines=engines, on_event=on_event,
                     should_cancel=should_cancel, duck_db=DEFAULT_DUCK_DB if duck_db is None else duck_db,
                     keep_stems=keep_stems, threads=threads or os.cpu_count() or 1)
    stem = Path(input_path).stem
    lang, src = options.target_language, result.source_language
    middle = {"source": src, "target": lang, "bilingual": f"{src}-{lang}"}
    files, names = {}, {}
    for kind, path in result.files.items():
        if kind == "report":
            continue
        name = _OUTPUT_NAMES[kind]
        files[name] = path
        if kind == "dubbed_video":
            names[name] = f"{stem}.{lang}{result.video_suffix}"
        elif kind == "dubbed_audio":
            names[name] = f"{stem}.{lang}.m4a"
        else:
            part, ext = name.rsplit("_", 1)
            names[name] = f"{stem}.{middle[part]}.{ext}"
    report = dict(result.report)
    report["outputs"] = publish_stage.publish_files(files, Path(out_dir), names)
    report_path = Path(out_dir) / "report.json"
    atomic_write_json(report_path, report)
    report["outputs"]["report"] = str(report_path)
    return report
