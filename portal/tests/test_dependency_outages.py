"""When Redis or PostgreSQL stops answering, the API degrades instead of answering 500 (issue 25).

The Redis here is the test's own (a redis-server on a free loopback port), never the machine's,
so the outage is real and harms nobody; it runs the same on SQLite and in CI's PostgreSQL+Redis
pass. The database outage runs the project in a child process whose DATABASE_URL points at a
loopback port nothing listens on: every connection is really refused by the kernel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from dubbing.services import job_snapshot_refresh
from onevoice.throttling import throttle_cache
from dubbing.tests.factories import DubbingJobFactory
from testing.processes import free_port, private_redis

ROOT = Path(__file__).resolve().parents[2]
LOGIN_RATE = int(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])


def _metric(name: str) -> float:
    response = Client().get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    return 0.0


@pytest.fixture
def own_redis_cache(settings, tmp_path):
    """The cache (and so the throttles' counts) on a Redis of this test's own; the throttles'
    in-memory fall-back starts empty."""
    throttle_cache.memory.clear()
    with private_redis(tmp_path) as redis:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis.url,
                "KEY_PREFIX": "outage-test",
                "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
            }
        }
        yield redis
    throttle_cache.memory.clear()


@pytest.mark.django_db
def test_the_api_answers_while_the_throttle_cache_redis_is_down(own_redis_cache, owner, password):
    job = DubbingJobFactory(owner=owner)
    job_snapshot_refresh(job)
    api = APIClient()
    login = api.post("/api/v1/auth/token", {"email": owner.email, "password": password})
    assert login.status_code == 200, login.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    assert api.get("/api/v1/me").status_code == 200
    before = _metric("onevoice_throttle_cache_unavailable_total")

    own_redis_cache.stop()

    # The probe's list: /languages, /me, /jobs, polling, /auth/token.
    assert api.get("/api/v1/languages").status_code == 200
    me = api.get("/api/v1/me")
    assert me.status_code == 200, me.content
    assert me.json()["email"] == owner.email
    listed = api.get("/api/v1/jobs")
    assert listed.status_code == 200, listed.content
    assert [item["id"] for item in listed.json()["results"]] == [str(job.id)]
    polled = api.get(f"/api/v1/jobs/{job.id}")
    assert polled.status_code == 200, polled.content
    assert polled.json()["status"] == "queued"
    again = APIClient().post("/api/v1/auth/token", {"email": owner.email, "password": password})
    assert again.status_code == 200, again.content
    # Each throttle check that fell back was counted.
    assert _metric("onevoice_throttle_cache_unavailable_total") >= before + 5


@pytest.mark.django_db
def test_while_redis_is_down_login_attempts_are_still_limited_in_memory(own_redis_cache, owner):
    own_redis_cache.stop()
    api = APIClient()
    for _ in range(LOGIN_RATE):
        wrong = api.post("/api/v1/auth/token", {"email": owner.email, "password": "wrong guess"})
        assert wrong.status_code == 401
    refused = api.post("/api/v1/auth/token", {"email": owner.email, "password": "wrong guess"})
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"


_DATABASE_DOWN_SCRIPT = r"""
import json, uuid
import django
django.setup()
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

token = AccessToken()
token["user_id"] = str(uuid.uuid4())
bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
client = Client(raise_request_exception=False)
answers = {}
def keep(name, response):
    answers[name] = {"status": response.status_code, "type": response.get("Content-Type", ""),
                     "retry_after": response.get("Retry-After"),
                     "body": response.content.decode(errors="replace")[:2000]}
keep("me", client.get("/api/v1/me", **bearer))
keep("jobs", client.get("/api/v1/jobs", **bearer))
keep("poll", client.get(f"/api/v1/jobs/{uuid.uuid4()}", **bearer))
keep("token", client.post("/api/v1/auth/token", {"email": "a@example.com", "password": "pw"},
                          content_type="application/json"))
keep("login_page", client.post("/login", {"username": "a@example.com", "password": "pw"}))
scrape = client.get("/metrics").content.decode()
answers["database_unavailable_total"] = [line for line in scrape.splitlines()
                                         if line.startswith("onevoice_database_unavailable_total")]
print("ANSWERS" + json.dumps(answers))
"""


@pytest.mark.slow
def test_a_database_that_refuses_connections_gives_503_in_the_error_shape(tmp_path):
    closed = free_port()  # bound and released: nothing listens there
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/onevoice_outage",
        "ONEVOICE_DATA_DIR": str(tmp_path),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "outage-test-" + uuid.uuid4().hex,
        "SECURE_SSL_REDIRECT": "0",
        "DJANGO_SETTINGS_MODULE": "onevoice.settings",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-c", _DATABASE_DOWN_SCRIPT], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.split("ANSWERS", 1)[1])
    for name in ("me", "jobs", "poll", "token"):
        answer = answers[name]
        assert answer["status"] == 503, (name, answer)
        assert answer["type"].startswith("application/json"), (name, answer)
        body = json.loads(answer["body"])
        assert body["code"] == "service_unavailable", (name, body)
        assert body["detail"], (name, body)
        assert answer["retry_after"] == "5", (name, answer)
    assert answers["login_page"]["status"] == 503, answers["login_page"]
    assert answers["login_page"]["type"].startswith("text/html")
    # Logged, and counted for /metrics (the five answers above).
    assert "database unavailable" in result.stderr
    assert answers["database_unavailable_total"] == ["onevoice_database_unavailable_total 5.0"]
