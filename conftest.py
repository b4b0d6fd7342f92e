"""Project-wide test fixtures: personas (owner, other, staff), API clients, a ready video and a
finished job of the owner's, and the broker. The factories live in each app's tests/factories.py."""

from __future__ import annotations

import dramatiq
import pytest
from dramatiq import Worker
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from dubbing.models import StepStatus
from dubbing.tests.factories import DubbingJobFactory
from videos.tests.factories import SpeechVideoFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default PBKDF2 hasher costs ~0.3 s per hash and the suite hashes hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()  # throttles are counted in the cache
    yield


@pytest.fixture
def media_root(settings, tmp_path):
    """A fresh local media folder per test (uploads, artifacts), so 'nothing was stored' can be
    checked. Modules that also need the worker's settings extend it under the same name."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return root


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def owner(db):
    return UserFactory(email="alice@example.com", name="Alice")


@pytest.fixture
def other(db):
    return UserFactory(email="bob@example.com", name="Bob")


@pytest.fixture
def staff(db):
    return UserFactory(email="charlie@example.com", name="Charlie", staff=True)


@pytest.fixture
def unverified_owner(owner):
    """The owner, with the email address not yet confirmed."""
    owner.email_verified_at = None
    owner.save(update_fields=["email_verified_at"])
    return owner


@pytest.fixture
def owner_browser(owner):
    """A page client (session cookie) signed in as the owner; `owner_client` is the API's."""
    return _browser(owner)


@pytest.fixture
def other_browser(other):
    return _browser(other)


@pytest.fixture
def staff_browser(staff):
    return _browser(staff)


@pytest.fixture
def chromium_browser():
    """Headless Chromium (testing/browser.py: CSP violations fail the test), closed after."""
    from testing.browser import chromium

    with chromium() as running:
        yield running


def _browser(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def video(owner, media_root):
    """The owner's ready video of speech_en.mp4, its source really in storage."""
    return SpeechVideoFactory(owner=owner)


@pytest.fixture
def finished_job(owner, video):
    """The owner's succeeded Spanish dub of `video`: two steps done, two lines."""
    return DubbingJobFactory(
        owner=owner, video=video, succeeded=True, stage="publish",
        steps=[("probe", StepStatus.DONE), ("extract", StepStatus.DONE)],
        segments=[("Hello there.", "Hola."), ("How are you?", "¿Cómo estás?")],
    )


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def owner_client(owner) -> APIClient:
    client = APIClient()
    client.force_authenticate(owner)
    return client


@pytest.fixture
def other_client(other) -> APIClient:
    client = APIClient()
    client.force_authenticate(other)
    return client


@pytest.fixture
def broker():
    """The configured broker (StubBroker, or Redis when REDIS_URL is set), emptied.

    Every app's actors are declared first: Dramatiq keeps a stopped Worker's middleware on the
    broker, so a queue first declared after a test's worker stopped would get consumers of that
    dead worker, which take its messages and never run them."""
    import importlib
    import importlib.util

    from django.apps import apps

    for app in apps.get_app_configs():
        if importlib.util.find_spec(f"{app.name}.tasks") is not None:
            importlib.import_module(f"{app.name}.tasks")
    current = dramatiq.get_broker()
    current.flush_all()
    yield current
    current.flush_all()


@pytest.fixture
def worker(broker):
    """A real Dramatiq worker consuming from the broker for the duration of a test."""
    running = Worker(broker, worker_timeout=100, worker_threads=2)
    running.start()
    yield running
    running.stop()


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need real row locks: skip them, before any fixture runs, elsewhere."""
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (real row locks); runs in .ci/run's second pass")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
