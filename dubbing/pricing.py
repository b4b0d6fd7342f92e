"""What dubbing costs: one formula for a job and for a re-render (DESIGN.md "Jobs and credits").

A started minute counts as a minute, and nothing costs less than one minute:
`max(1, ceil(seconds / 60)) * CREDITS_PER_MINUTE`. The services reserve it; the render quote (a
selector) shows it before the user commits.
"""

from __future__ import annotations

import math

from django.conf import settings


def dubbing_job_cost(*, duration_seconds: float) -> int:
    """What dubbing (or re-rendering) `duration_seconds` of media costs."""
    minutes = math.ceil(max(0.0, duration_seconds or 0.0) / 60)
    return max(1, minutes) * settings.CREDITS_PER_MINUTE
