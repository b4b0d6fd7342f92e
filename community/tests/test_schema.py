"""The community endpoints are in the OpenAPI schema, without generator warnings."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_schema_documents_the_community_endpoints_without_warnings(client):
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    messages = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    assert [m for m in messages if "community" in m or "/posts" in m or "/comments" in m or "/gallery" in m] == []
    paths = response.json()["paths"]
    expected = {
        "/api/v1/posts": {"get", "post"},
        "/api/v1/posts/{post_id}": {"get", "patch", "delete"},
        "/api/v1/posts/{post_id}/like": {"post", "delete"},
        "/api/v1/posts/{post_id}/comments": {"get", "post"},
        "/api/v1/posts/{post_id}/report": {"post"},
        "/api/v1/comments/{comment_id}": {"patch", "delete"},
        "/api/v1/comments/{comment_id}/report": {"post"},
        "/api/v1/gallery": {"get"},
        "/api/v1/gallery/{job_id}": {"patch"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) >= methods, path
    feed = paths["/api/v1/posts"]["get"]
    assert {p["name"] for p in feed["parameters"]} >= {"author", "language", "ordering", "cursor"}
    schemas = response.json()["components"]["schemas"]

    def page_fields(path: str) -> set[str]:
        ref = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        return set(schemas[ref.rsplit("/", 1)[-1]]["properties"])

    assert page_fields("/api/v1/posts") == {"next", "previous", "results"}  # cursor-paginated
    assert page_fields("/api/v1/posts/{post_id}/comments") == {"count", "next", "previous", "results"}
    assert page_fields("/api/v1/gallery") == {"count", "next", "previous", "results"}
