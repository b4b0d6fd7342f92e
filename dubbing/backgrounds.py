"""The backgrounds this server can put under a dub, and the default: `separate` (the music and
effects without the original voice) wherever the voice separator is installed, `duck` otherwise.
Read by the API's and the page's defaults, `manage.py dub` and the capabilities answer
(GET /api/v1/languages); a request for `separate` where it is missing is refused before anything
is charged (dubbing.services)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from dubbing.engines.separation import separation_unavailable
from dubbing.pipeline.options import BACKGROUNDS


def background_modes() -> list[str]:
    """The backgrounds offered here, the default first."""
    folder = Path(settings.DUBBING_SEPARATION_DIR) if settings.DUBBING_SEPARATION_DIR else None
    return [b for b in BACKGROUNDS if b != "separate" or separation_unavailable(folder) is None]


def default_background() -> str:
    return background_modes()[0]
