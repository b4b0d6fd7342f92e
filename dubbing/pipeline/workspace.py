"""The job's workspace folder and its manifest.

Each stage records a key: a hash of the previous stage's key and the options it depends on, so
changing an option invalidates exactly the stages from the first one that reads it (the target
language from translate on, max_speed from fit on, background from mix on). Per-segment files are
named by a hash of what produced them, so a resumed or re-rendered run reuses every clip whose
inputs did not change. Every file is written to a temporary name and moved into place with
os.replace, so a crash never leaves a half-written file under its final name.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

MANIFEST = "manifest.json"
_SAMPLE = 1 << 20  # bytes hashed at each sampled position of the input


def digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def input_fingerprint(path: Path) -> str:
    """Size plus 1 MiB samples at 17 positions: stable for the same content, fast on hour-long
    files (a full hash of a 2 GB upload would take longer than probing it)."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        for i in range(17):
            f.seek(max(0, (size - _SAMPLE) * i // 16))
            h.update(f.read(_SAMPLE))
    return h.hexdigest()[:16]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data) -> None:
    atomic_write_bytes(path, json.dumps(data, ensure_ascii=False, indent=1, default=str).encode())


def temp_path_for(path: Path) -> Path:
    """A sibling temporary name with the same suffix (ffmpeg and soundfile pick formats by it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


def read_json(path: Path):
    return json.loads(path.read_text())


class Workspace:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest_path = self.root / MANIFEST
        self.manifest = read_json(self.manifest_path) if self.manifest_path.exists() else {"stages": {}}

    def path(self, *parts: str) -> Path:
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def stage_done(self, stage: str, key: str) -> bool:
        entry = self.manifest["stages"].get(stage)
        return bool(entry and entry.get("key") == key and entry.get("status") == "done")

    def stage_detail(self, stage: str) -> dict:
        return self.manifest["stages"].get(stage, {}).get("detail", {})

    def record(self, stage: str, key: str, *, status: str, seconds: float, detail: dict | None = None) -> None:
        self.manifest["stages"][stage] = {"key": key, "status": status, "seconds": round(seconds, 3),
                                          "detail": detail or {}}
        atomic_write_json(self.manifest_path, self.manifest)

    def set(self, name: str, value) -> None:
        self.manifest[name] = value
        atomic_write_json(self.manifest_path, self.manifest)
