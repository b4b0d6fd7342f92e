"""Where a job's workspace is kept durably (DESIGN.md "Durable job state").

The local workspace folder is a cache. A store is the durable copy: every stage output that a
later stage or a re-render needs is saved to it as soon as it exists, and a workspace on a
machine that never saw the job restores from it instead of calling an engine again. The command
line has no store (its workspace folder is the durable copy); jobs use the Django storage one
(`dubbing.storage.JobWorkStore`). Names are relative POSIX paths inside the workspace.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class ArtifactStore(Protocol):
    def fetch(self, name: str, dest: Path) -> bool:
        """Copy the stored `name` to `dest`; False when nothing is stored under it."""
        ...

    def save(self, name: str, src: Path) -> None:
        """Store the local file `src` under `name`, replacing what was there. Thread-safe."""
        ...


class FolderStore:
    """A store in a plain folder (tests and single-machine set-ups)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def fetch(self, name: str, dest: Path) -> bool:
        src = self.root / name
        if not src.is_file():
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.fetch")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
        return True

    def save(self, name: str, src: Path) -> None:
        dest = self.root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{id(src)}.save")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
