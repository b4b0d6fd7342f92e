"""What a finished dub (a report and its folders, as the pipeline fixtures hold it) left on disk."""

from __future__ import annotations

from pathlib import Path


def outputs(dub) -> dict[str, Path]:
    """The dub's output files by kind (video, audio, source_srt, ...), as its report lists them
    (relative to the output folder since report.json names no server path)."""
    return {kind: Path(dub["out"]) / path for kind, path in dub["report"]["outputs"].items()}
