"""Where the shared fixture clips live: ../shared/media beside the checkout (as on developers'
machines and in CI), or wherever ONEVOICE_FIXTURE_MEDIA points."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_MEDIA = Path(os.environ.get("ONEVOICE_FIXTURE_MEDIA") or REPO_ROOT.parent / "shared" / "media")
