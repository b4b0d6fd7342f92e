"""The outside probe's bad inputs (issue 25, "Parsers with limits"), each with the same input:
every one answers 400 in the error shape, nothing is created or charged, and nothing is a 500.
"""

from __future__ import annotations

import socket

import pytest
from rest_framework.test import APIClient

from billing.selectors import credits_balance
from billing.tests.factories import give_credits
from dubbing.models import DubbingJob
from integrations.models import WebhookEndpoint
from onevoice.parsers import MAX_JSON_DEPTH
from videos.tests.factories import VideoFactory

pytestmark = pytest.mark.django_db


def _nested(depth: int, leaf="x@example.com"):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def _deep_body(depth: int) -> str:
    # Written out, not json.dumps'd: the encoder itself would refuse 1,000 levels.
    return '{"email": ' + "[" * depth + '"x@example.com"' + "]" * depth + ', "password": "pw"}'


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["code"] == code, body
    assert body["detail"]
    return body


# --- JSON nesting ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/auth/register"), ("post", "/api/v1/auth/token"), ("post", "/api/v1/jobs"),
    ("post", "/api/v1/webhooks"), ("post", "/api/v1/posts"), ("patch", "/api/v1/me"),
])
def test_json_nested_a_thousand_deep_is_400_invalid_json_on_every_endpoint(method, path, owner):
    client = APIClient()
    client.force_authenticate(owner)
    body = _deep_body(1000)
    assert len(body) < 2200  # the probe's 2 KB body
    response = getattr(client, method)(path, body, content_type="application/json")
    _error(response, 400, "invalid_json")
    assert not DubbingJob.objects.exists() and not WebhookEndpoint.objects.exists()


def test_json_just_past_the_depth_limit_is_refused_and_within_it_is_read(api_client):
    past = api_client.post("/api/v1/auth/register", _deep_body(MAX_JSON_DEPTH), content_type="application/json")
    assert "levels" in _error(past, 400, "invalid_json")["detail"]
    within = api_client.post("/api/v1/auth/register", _deep_body(MAX_JSON_DEPTH - 2), content_type="application/json")
    # Read, then refused by the serializer for what it says (an email is not a list).
    body = _error(within, 400, "invalid")
    assert "email" in body["errors"]


# --- NUL characters -------------------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "/api/v1/jobs?status=%00", "/api/v1/jobs?target_language=%00", "/api/v1/gallery?folder=%00",
    "/api/v1/posts?language=%00", "/api/v1/jobs?status=a%00b", "/api/v1/posts?lang%00uage=es",
])
def test_a_nul_in_a_query_parameter_is_400_naming_it(owner_client, query):
    body = _error(owner_client.get(query), 400, "null_characters_not_allowed")
    assert len(body["errors"]) == 1


@pytest.mark.parametrize("page", ["/gallery?folder=%00", "/community?language=%00", "/jobs?status=%00"])
def test_a_nul_in_a_page_filter_is_the_400_page(owner_browser, page):
    response = owner_browser.get(page)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_nul_in_a_form_field_is_400(api_client):
    response = api_client.post("/api/v1/auth/register", "email=a%40example.com&password=x&name=a%00b",
                               content_type="application/x-www-form-urlencoded")
    assert set(_error(response, 400, "null_characters_not_allowed")["errors"]) == {"name"}


def test_a_nul_in_a_multipart_field_is_400_and_nothing_is_stored(owner_client, media_root):
    response = owner_client.post("/api/v1/videos", {"title": "a\x00b", "file": ("x.mp4", b"not a video")},
                                 format="multipart")
    assert set(_error(response, 400, "null_characters_not_allowed")["errors"]) == {"title"}
    assert not any(p.is_file() for p in media_root.rglob("*"))


# --- Webhook host names ---------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["https://a..b/h", "https://a\u200bb.example.com/h", "https://\u200b/h",
                                 "https://" + "a" * 64 + ".example.com/h"])
def test_a_webhook_host_that_is_not_a_valid_name_is_400_without_a_dns_lookup(owner_client, settings, monkeypatch,
                                                                              url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    looked_up = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: looked_up.append(args) or [])
    response = owner_client.post("/api/v1/webhooks", {"url": url, "events": ["job.succeeded"]}, format="json")
    body = _error(response, 400, "webhook_url_not_allowed")
    assert "url" in body["errors"]
    assert looked_up == []
    assert not WebhookEndpoint.objects.exists()


# --- Filters --------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, parameter", [
    ("/api/v1/jobs?video=not-a-uuid", "video"),
    ("/api/v1/jobs?target_language=es%27%3B--", "target_language"),
    ("/api/v1/posts?author=not-a-uuid", "author"),
    ("/api/v1/posts?language=..%2F..", "language"),
    ("/api/v1/gallery?favorite=null", "favorite"),
    ("/api/v1/gallery?favorite=maybe", "favorite"),
])
def test_a_filter_of_the_wrong_kind_is_400_naming_the_parameter(owner_client, query, parameter):
    body = _error(owner_client.get(query), 400, "invalid")
    assert set(body["errors"]) == {parameter}
    assert body["detail"].startswith(f"{parameter}: ")


def test_good_filters_still_filter(owner_client, owner):
    assert owner_client.get(f"/api/v1/posts?author={owner.id}&language=es").status_code == 200
    assert owner_client.get("/api/v1/gallery?favorite=true").status_code == 200
    assert owner_client.get("/api/v1/gallery?favorite=false").status_code == 200
    assert owner_client.get("/api/v1/jobs?target_language=pt-BR").status_code == 200


def test_a_well_formed_but_meaningless_feed_cursor_is_400(owner_client):
    body = _error(owner_client.get("/api/v1/posts?cursor=Zm9vYmFy"), 400, "invalid")  # base64 of "foobar"
    assert set(body["errors"]) == {"cursor"}


# --- Unknown body fields --------------------------------------------------------------------------

def test_a_misspelt_job_option_is_400_unknown_field_and_nothing_is_charged(owner, owner_client, media_root):
    give_credits(owner, 20)
    video = VideoFactory(owner=owner, duration=12.0)
    before = credits_balance(user=owner)
    response = owner_client.post("/api/v1/jobs", {"video_id": str(video.id), "target_language": "es",
                                                  "num_speaker": 2}, format="json")
    body = _error(response, 400, "unknown_field")
    assert set(body["errors"]) == {"num_speaker"}
    assert body["detail"].startswith("num_speaker: ")
    assert "max_speed" in body["errors"]["num_speaker"][0]  # the known names, to spot a typo
    assert not DubbingJob.objects.exists()
    assert credits_balance(user=owner) == before


@pytest.mark.parametrize("method, path, body, unknown", [
    ("patch", "/api/v1/me", {"nmae": "Alice"}, {"nmae"}),
    ("post", "/api/v1/auth/token", {"email": "a@example.com", "password": "x", "remember": True}, {"remember"}),
    ("post", "/api/v1/auth/register", {"email": "n@example.com", "password": "pw", "plan": "pro", "x": 1},
     {"plan", "x"}),
])
def test_unknown_body_fields_are_named(owner, method, path, body, unknown):
    client = APIClient()
    client.force_authenticate(owner)
    answer = getattr(client, method)(path, body, format="json")
    assert set(_error(answer, 400, "unknown_field")["errors"]) == unknown


def test_the_schema_says_request_bodies_take_no_other_field(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    bodies = {name: component for name, component in schema["components"]["schemas"].items()
              if name.endswith("Request")}
    assert "JobCreateInputRequest" in bodies
    assert {name for name, c in bodies.items() if c.get("additionalProperties") is not False} == set()
    described = schema["paths"]["/api/v1/jobs"]["post"]["responses"]["400"]["description"]
    assert "`unknown_field`" in described and "`invalid_json`" in described
