"""The reaper's loop: `reap_jobs --loop` and devserver's thread run it."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from django.db import close_old_connections, connection

from dubbing import services

logger = logging.getLogger(__name__)


def reaper_loop(*, interval: float, stop: threading.Event, on_pass=None) -> None:
    """Reap every `interval` seconds until `stop` is set (`reap_jobs --loop`, devserver's
    thread), and every CLONED_VOICE_SWEEP_INTERVAL sweep the cloned voices runs left at the
    provider. A failed pass is logged, not fatal."""
    next_sweep = 0.0
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
        if time.monotonic() >= next_sweep:
            next_sweep = time.monotonic() + settings.CLONED_VOICE_SWEEP_INTERVAL
            try:
                swept = services.cloned_voices_sweep()
                if swept["deleted"] or swept["failed"]:
                    logger.info("Cloned voices swept: %s", swept)
            except Exception:
                logger.exception("Cloned voice sweep failed")
        if stop.wait(interval):
            connection.close()
            return
