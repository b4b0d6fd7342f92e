"""Loaded with `-p` (pytest.ini) so it runs before pytest-django reads the settings.

Tests never touch the developer's ./var: every run gets its own data folder (SQLite file, media,
workspaces, the generated secret key), removed at the end. A root conftest would be too late for
this: pytest-django configures Django before conftest files are imported.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_created: str | None = None
if "ONEVOICE_DATA_DIR" not in os.environ:
    _created = tempfile.mkdtemp(prefix="onevoice-test-")
    os.environ["ONEVOICE_DATA_DIR"] = _created
os.environ.setdefault("DJANGO_DEBUG", "1")


def pytest_unconfigure(config) -> None:
    if _created:
        shutil.rmtree(_created, ignore_errors=True)
