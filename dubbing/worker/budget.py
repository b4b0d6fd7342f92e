"""The CPU threads the jobs of one worker process may use together."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django.conf import settings


class CpuBudget:
    """The CPU threads the jobs of this process may use together (DUBBING_WORKER_CPUS). A job
    takes up to DUBBING_JOB_THREADS of what is free, waiting while nothing is."""

    def __init__(self, total: int):
        self.total = max(1, total)
        self.free = self.total
        self._cond = threading.Condition()

    @contextmanager
    def take(self, wanted: int, *, should_stop=lambda: False):
        with self._cond:
            while self.free < 1 and not should_stop():
                self._cond.wait(timeout=0.5)
            granted = max(1, min(wanted, self.free)) if self.free >= 1 else 0
            self.free -= granted
        try:
            yield max(1, granted)
        finally:
            with self._cond:
                self.free += granted
                self._cond.notify_all()


_budget_lock = threading.Lock()
_budget: CpuBudget | None = None


def cpu_budget() -> CpuBudget:
    """The process's budget (made again when DUBBING_WORKER_CPUS changed, as tests do)."""
    global _budget
    with _budget_lock:
        if _budget is None or _budget.total != settings.DUBBING_WORKER_CPUS:
            _budget = CpuBudget(settings.DUBBING_WORKER_CPUS)
        return _budget
