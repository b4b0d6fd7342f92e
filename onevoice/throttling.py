"""DRF's throttles, counting in the cache, or in this process's memory while the cache is down.

A rate limit protects the service; it is not worth refusing every request for. DRF's throttles
read and write their history in the default cache (Redis in production), and a Redis outage
made each `allow_request` raise `redis.ConnectionError`: every API endpoint answered 500. Here
the same throttles count in a per-process memory cache while the shared one does not answer
(limits then hold per process instead of per cluster), each such fall-back is counted in
/metrics (`onevoice_throttle_cache_unavailable_total`) and logged (at most once a minute per
process, so an outage does not flood the log), and the shared cache is tried again on the next
request.

Every throttle of the project comes from here: settings' DEFAULT_THROTTLE_CLASSES, the scoped
ones of the views and the pages' (accounts.throttles, community.throttles).
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from rest_framework import throttling

from onevoice.metrics import throttle_cache_unavailable

logger = logging.getLogger(__name__)

# What a cache that does not answer raises: redis-py's errors (refused, timed out, reset), and
# the socket's own for other backends.
CACHE_ERRORS = (redis.exceptions.RedisError, OSError)
_LOG_EVERY_SECONDS = 60.0


class FailSoftThrottleCache:
    """The two calls DRF's SimpleRateThrottle makes (`get`, `set`), on the default cache, or on
    this process's memory when the default cache raises."""

    def __init__(self) -> None:
        self.memory = LocMemCache("onevoice-throttle-fallback", {"MAX_ENTRIES": 10_000})
        self._lock = threading.Lock()
        self._logged_at = 0.0

    def get(self, key, default=None):
        try:
            return cache.get(key, default)
        except CACHE_ERRORS as exc:
            self._unavailable(exc)
            return self.memory.get(key, default)

    def set(self, key, value, timeout=None):
        try:
            cache.set(key, value, timeout)
        except CACHE_ERRORS as exc:
            self._unavailable(exc)
            self.memory.set(key, value, timeout)

    def _unavailable(self, exc: BaseException) -> None:
        throttle_cache_unavailable.inc()
        now = time.monotonic()
        with self._lock:
            if now - self._logged_at < _LOG_EVERY_SECONDS and self._logged_at:
                return
            self._logged_at = now
        logger.warning("throttle cache unreachable (%s: %s); counting in this process's memory",
                       exc.__class__.__name__, exc)


throttle_cache = FailSoftThrottleCache()


class AnonRateThrottle(throttling.AnonRateThrottle):
    cache = throttle_cache


class UserRateThrottle(throttling.UserRateThrottle):
    cache = throttle_cache


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    cache = throttle_cache


class SimpleRateThrottle(throttling.SimpleRateThrottle):
    cache = throttle_cache
