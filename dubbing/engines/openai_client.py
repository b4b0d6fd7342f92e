"""The HTTP client the OpenAI engines share (transcription, chat, speech).

One client per (base URL, key, concurrency) in a process, so `OPENAI_CONCURRENCY` bounds the
requests in flight across all three engines and every thread of a worker. Rate limits and server
errors are normal for a paid API under load: 408/409/429/5xx answers and network errors are
retried with exponential backoff and jitter, honouring `Retry-After` (seconds or an HTTP date,
capped), a bounded number of times; then an `EngineError` names the request that failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx

from dubbing.engines.base import EngineError, EngineUnavailable, ErrorCode
from onevoice.retry import retry_delay

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        concurrency: int = 8,
        max_attempts: int = 12,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        retry_after_cap: float = 60.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise EngineUnavailable("The OpenAI engines need an API key: set OPENAI_API_KEY.")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.sleep = sleep  # injected: tests wait for nothing
        # The semaphore, not the pool, is what bounds requests in flight; the pool only has to
        # be at least as large so that no request waits for a connection while holding a slot.
        self._slots = threading.BoundedSemaphore(concurrency)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    # -- requests -----------------------------------------------------------------------------

    def post_json(self, path: str, payload: dict, *, what: str) -> dict:
        response = self._post(path, what=what, json=payload)
        return self._json(response, what)

    def post_multipart(self, path: str, *, data: dict, files: dict, what: str) -> dict:
        response = self._post(path, what=what, data=data, files=files)
        return self._json(response, what)

    def post_for_bytes(self, path: str, payload: dict, *, what: str) -> bytes:
        return self._post(path, what=what, json=payload).content

    def _post(self, path: str, *, what: str, **kwargs) -> httpx.Response:
        last_problem, last_code = "", ErrorCode.ENGINE_SERVER_ERROR
        for attempt in range(1, self.max_attempts + 1):
            headers = None  # the answer's, for Retry-After
            with self._slots:
                try:
                    response = self._http.post(path, **kwargs)
                except httpx.TransportError as exc:
                    last_problem = f"network error: {type(exc).__name__}: {exc}"
                    last_code = ErrorCode.ENGINE_TIMEOUT
                else:
                    if response.status_code < 400:
                        return response
                    last_problem = f"HTTP {response.status_code}: {_error_message(response)}"
                    last_code = (ErrorCode.ENGINE_RATE_LIMITED if response.status_code == 429
                                 else ErrorCode.ENGINE_SERVER_ERROR)
                    if response.status_code not in RETRYABLE_STATUSES:
                        if response.status_code == 401:
                            raise EngineUnavailable(
                                f"{what} was refused: OPENAI_API_KEY is not valid ({last_problem})."
                            )
                        raise EngineError(f"{what} failed: {last_problem}.")
                    headers = response.headers
            if attempt == self.max_attempts:
                break
            # The slot is given back while waiting so a backing-off request never blocks others.
            delay = self.delay(attempt, headers)
            logger.warning("%s: %s; retry %d/%d in %.2fs", what, last_problem, attempt,
                           self.max_attempts - 1, delay)
            self.sleep(delay)
        # Still a provider-side problem after our own retries: a later job attempt may succeed.
        raise EngineError(f"{what} failed after {self.max_attempts} attempts: {last_problem}.",
                          code=last_code, retryable=True)

    def delay(self, attempt: int, headers=None) -> float:
        """Seconds to wait after failed try `attempt`: the server's Retry-After (capped, with a
        little jitter so that requests told the same thing do not all come back in the same
        instant), else the exponential backoff with "equal jitter"."""
        return retry_delay(attempt, headers=headers, base=self.backoff_base, cap=self.backoff_cap,
                           retry_after_cap=self.retry_after_cap, jitter=True)

    @staticmethod
    def _json(response: httpx.Response, what: str) -> dict:
        try:
            data = response.json()
        except ValueError as exc:
            raise EngineError(f"{what} returned something that is not JSON.") from exc
        if not isinstance(data, dict):
            raise EngineError(f"{what} returned JSON that is not an object.")
        return data

    def close(self) -> None:
        self._http.close()


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        message = None
    return (message or response.text or response.reason_phrase or "")[:300]


_shared: dict[tuple[str, str, int], OpenAIClient] = {}
_shared_lock = threading.Lock()


def shared_client(*, base_url: str, api_key: str | None, concurrency: int) -> OpenAIClient:
    """The process's client for this server and key, so all engines share one concurrency
    limit and one connection pool."""
    if not api_key:
        raise EngineUnavailable("The OpenAI engines need an API key: set OPENAI_API_KEY.")
    key = (base_url.rstrip("/"), api_key, concurrency)
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            client = _shared[key] = OpenAIClient(
                base_url=base_url, api_key=api_key, concurrency=concurrency
            )
        return client
