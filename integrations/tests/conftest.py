from __future__ import annotations

import pytest


@pytest.fixture
def webhook_settings(settings):
    """Fast tries for tests: a short timeout and backoff, loopback receivers allowed."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_RETRY_BACKOFF = 0.05
    settings.WEBHOOK_RETRY_BACKOFF_MAX = 0.2
    settings.WEBHOOK_RETRY_HOURS = 24.0
    return settings


@pytest.fixture
def webhook_worker(broker):
    """A real Dramatiq worker on the webhooks and default (email) queues: dubbing jobs stay queued."""
    from dramatiq import Worker

    import integrations.tasks  # noqa: F401  (declares the queue)

    running = Worker(broker, queues={"webhooks", "default"}, worker_timeout=100, worker_threads=2)
    running.start()
    yield running
    running.stop()
