"""A job's workspace: a local folder that caches what its stages wrote, and its manifest.

The manifest records, per stage, the key it ran with (see stage.py: a hash of the *content* of
its inputs), its status, seconds and detail. Per-segment files are named by a hash of what
produced them, so a resumed or re-rendered run reuses every clip whose inputs did not change.
Every file is written to a temporary name and moved into place with os.replace, so a crash never
leaves a half-written file under its final name.

With a store (store.py) every file a stage saves is also copied there, and a file missing from
the folder is fetched from it: a worker with an empty disk resumes where another one died.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

from dubbing.pipeline.store import ArtifactStore

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
    return path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp{path.suffix}")


def read_json(path: Path):
    return json.loads(Path(path).read_text())


# What the source side of a dub writes (probe, extract, transcribe, segment): with a source store
# these live there, shared by every job on the same video, language and recognizer, so dubbing
# one video into five languages transcribes it once (DESIGN.md "Durable job state").
SOURCE_STAGES = ("probe", "extract", "separate", "transcribe", "segment")
SOURCE_FILES = ("probe.json", "audio/", "regions.json", "transcript.json", "segments.json")
SOURCE_MANIFEST = "source-manifest.json"


class Workspace:
    def __init__(self, root: Path, store: ArtifactStore | None = None, source_store: ArtifactStore | None = None):
        self.root = Path(root).absolute()
        self.root.mkdir(parents=True, exist_ok=True)
        self.store = store
        self.source_store = source_store
        self.manifest_path = self.root / MANIFEST
        self.source_manifest_path = self.root / SOURCE_MANIFEST
        self._lock = threading.Lock()
        self.manifest = self._load(self.manifest_path, store, MANIFEST)
        # The source stages' entries come from the shared analysis when there is one.
        self.source_manifest = (self._load(self.source_manifest_path, source_store, MANIFEST, refresh=True)
                                if source_store is not None else self.manifest)

    @staticmethod
    def _load(path: Path, store: ArtifactStore | None, name: str, *, refresh: bool = False) -> dict:
        # The shared analysis may have been finished by another job since this folder saw it.
        if store is not None and (refresh or not path.exists()):
            store.fetch(name, path)
        data = read_json(path) if path.exists() else {"stages": {}}
        data.setdefault("stages", {})
        return data

    def refresh_source(self) -> None:
        """Read the shared analysis's manifest again (another job may have finished it)."""
        if self.source_store is not None:
            self.source_manifest = self._load(self.source_manifest_path, self.source_store, MANIFEST, refresh=True)

    def _store_for(self, rel: str) -> ArtifactStore | None:
        if self.source_store is not None and rel.startswith(SOURCE_FILES):
            return self.source_store
        return self.store

    def _manifest_for(self, stage: str) -> dict:
        return self.source_manifest if stage in SOURCE_STAGES else self.manifest

    # -- files --------------------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def rel(self, path: Path) -> str:
        return Path(path).absolute().relative_to(self.root).as_posix()

    def ensure(self, path: Path) -> bool:
        """True when the file is in the folder, fetched from the store if need be."""
        path = Path(path)
        if path.is_file():
            return True
        rel = self.rel(path)
        store = self._store_for(rel)
        return store.fetch(rel, path) if store is not None else False

    def save(self, path: Path) -> None:
        """Keep a finished file durably (no-op without a store)."""
        rel = self.rel(path)
        store = self._store_for(rel)
        if store is not None:
            store.save(rel, Path(path))

    def write_json(self, path: Path, data) -> None:
        atomic_write_json(path, data)
        self.save(path)

    def read_json(self, path: Path):
        if not self.ensure(path):
            raise FileNotFoundError(path)
        return read_json(path)

    # -- manifest -----------------------------------------------------------------------------
    def stage_done(self, stage: str, key: str) -> bool:
        entry = self._manifest_for(stage)["stages"].get(stage)
        return bool(entry and entry.get("key") == key and entry.get("status") == "done")

    def stage_key(self, stage: str) -> str | None:
        return self._manifest_for(stage)["stages"].get(stage, {}).get("key")

    def stage_detail(self, stage: str) -> dict:
        return self._manifest_for(stage)["stages"].get(stage, {}).get("detail", {})

    def record(self, stage: str, key: str, *, status: str, seconds: float, detail: dict | None = None) -> None:
        entry = {"key": key, "status": status, "seconds": round(seconds, 3), "detail": detail or {}}
        with self._lock:
            if stage in SOURCE_STAGES and self.source_store is not None:
                # Re-read first: another job's stages may have been recorded there meanwhile.
                shared = self._load(self.source_manifest_path, self.source_store, MANIFEST, refresh=True)
                shared["stages"][stage] = entry
                self.source_manifest = shared
                atomic_write_json(self.source_manifest_path, shared)
                self.source_store.save(MANIFEST, self.source_manifest_path)
            else:
                self.manifest["stages"][stage] = entry
                self.write_json(self.manifest_path, self.manifest)

    def set(self, name: str, value) -> None:
        with self._lock:
            self.manifest[name] = value
            self.write_json(self.manifest_path, self.manifest)
