"""The reaper's loop: `reap_jobs --loop` and devserver's thread run it."""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections, connection

from dubbing import services

logger = logging.getLogger(__name__)


def reaper_loop(*, interval: float, stop: threading.Event, on_pass=None) -> None:
    """Reap every `interval` seconds until `stop` is set (`reap_jobs --loop`, devserver's
    thread). A failed pass is logged, not fatal."""
    while True:
        try:
            close_old_connections()
            counts = services.dubbing_jobs_reap()
            if on_pass is not None:
                on_pass(counts)
            elif any(counts.values()):
                logger.info("Reaper: %s", counts)
        except Exception:  # the loop outlives a database hiccup
            logger.exception("Reaper pass failed")
        if stop.wait(interval):
            connection.close()
            return
