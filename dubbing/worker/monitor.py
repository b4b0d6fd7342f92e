"""The heartbeat and cancel monitor of a claimed job."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection

from dubbing import selectors, services
from dubbing.models import DubbingJob

logger = logging.getLogger(__name__)


class JobMonitor:
    """A thread that renews the job's claim every DUBBING_HEARTBEAT_SECONDS and reads its cancel
    flag then and every DUBBING_CANCEL_CHECK_SECONDS between (so a cancel takes effect within
    about a second at any stage), so `should_cancel()` is a memory read for the pipeline. A lost
    claim (the reaper gave the job to another worker) cancels the run and marks it `lost`: what
    it saw is no longer the job's state. On every tick it also calls `on_tick` (the recorder's throttled progress write)."""

    def __init__(self, job: DubbingJob):
        self.job_id = job.id
        self.claim_token = job.claim_token
        self.cancel = threading.Event()
        self.lost = False
        self._on_tick: Callable[[], None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def should_cancel(self) -> bool:
        return self.cancel.is_set()

    def claim_lost(self) -> None:
        self.lost = True
        self.cancel.set()

    def start(self, *, on_tick: Callable[[], None] | None = None) -> None:
        self._on_tick = on_tick
        self._thread = threading.Thread(target=self._watch, name=f"dub-monitor-{self.job_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _beat(self) -> None:
        held, cancel = services.dubbing_job_heartbeat(job_id=self.job_id, claim_token=self.claim_token)
        if not held:
            logger.warning("Lost the claim on dubbing job %s; stopping.", self.job_id)
            self.lost = True
        if cancel or not held:
            self.cancel.set()

    def _watch(self) -> None:
        last_beat = last_check = time.monotonic()
        tick = max(0.05, min(settings.DUBBING_PROGRESS_INTERVAL, settings.DUBBING_HEARTBEAT_SECONDS,
                             settings.DUBBING_CANCEL_CHECK_SECONDS))
        try:
            while not self._stop.wait(tick):
                try:
                    now = time.monotonic()
                    if now - last_beat >= settings.DUBBING_HEARTBEAT_SECONDS:
                        last_beat = last_check = now
                        self._beat()
                    elif now - last_check >= settings.DUBBING_CANCEL_CHECK_SECONDS:
                        last_check = now
                        if selectors.job_cancel_requested(job_id=self.job_id):
                            self.cancel.set()
                    if self._on_tick is not None:
                        self._on_tick()
                except Exception:  # a database hiccup must not kill the heartbeat
                    logger.exception("Heartbeat of dubbing job %s failed", self.job_id)
                    close_old_connections()
        finally:
            connection.close()
