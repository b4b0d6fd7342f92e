"""The OpenAPI schema documents the errors each endpoint really answers; bad paging is a 400."""

from __future__ import annotations

from base64 import b64encode

import pytest
from django.urls import path as url_path
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.permissions import EmailVerifiedForPaidWork
from billing.errors import InsufficientCredits
from onevoice.errors import ProviderUnavailable
from onevoice.pagination import PageNumberPagination
from onevoice.schema import raises

pytestmark = pytest.mark.django_db

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def _statuses(schema: dict, path: str, method: str) -> set[int]:
    return {int(code) for code in schema["paths"][path][method]["responses"]}


def test_every_error_answer_is_the_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"detail", "code", "errors"}
    assert set(error["required"]) == {"detail", "code"}
    for name, operation in _operations(schema):
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (name, code)
                assert "`" in response["description"], (name, code)  # names its machine codes


def test_every_operation_documents_what_its_view_can_refuse(schema):
    for name, operation in _operations(schema):
        statuses = {int(code) for code in operation["responses"]}
        parameters = operation.get("parameters", [])
        if operation.get("security") and {} not in operation["security"]:
            assert {401, 403} <= statuses, name
        if any(p["in"] == "path" for p in parameters):
            assert 404 in statuses, name
        if any(p["in"] in ("query", "header") for p in parameters):
            assert 400 in statuses, name
        if "requestBody" in operation:
            assert {400, 413, 415} <= statuses, name


def test_the_statuses_of_the_services_are_declared_where_they_are_raised(schema):
    assert {401, 404, 429} <= _statuses(schema, "/api/v1/jobs/{job_id}", "get")
    # Credits, the video's state, the idempotency key (reused: 422, in use: 409), size and type.
    assert {400, 401, 402, 403, 404, 409, 413, 415, 422, 429} <= _statuses(schema, "/api/v1/jobs", "post")
    assert {402, 409} <= _statuses(schema, "/api/v1/jobs/{job_id}/render", "post")
    assert {402, 409} <= _statuses(schema, "/api/v1/jobs/{job_id}/retry", "post")
    assert {404, 409, 422, 502, 503} <= _statuses(schema, "/api/v1/billing/payments/{payment_id}/complete", "post")
    assert {400, 502, 503} <= _statuses(schema, "/api/v1/billing/webhooks/portone", "post")
    assert {413, 415, 422} <= _statuses(schema, "/api/v1/videos", "post")
    assert 409 in _statuses(schema, "/api/v1/webhooks/{endpoint_id}/test", "post")
    assert 409 in _statuses(schema, "/api/v1/auth/verify-email/resend", "post")
    assert 401 in _statuses(schema, "/api/v1/auth/token", "post")

    job_404 = schema["paths"]["/api/v1/jobs/{job_id}"]["get"]["responses"]["404"]["description"]
    assert "`job_not_found`" in job_404
    payment_402 = schema["paths"]["/api/v1/jobs"]["post"]["responses"]["402"]["description"]
    assert "`insufficient_credits`" in payment_402


def test_public_endpoints_document_no_authentication_errors(schema):
    assert _statuses(schema, "/api/v1/languages", "get").isdisjoint({401, 403})
    assert _statuses(schema, "/api/v1/billing/webhooks/portone", "post").isdisjoint({401, 403})
    assert 403 not in _statuses(schema, "/api/v1/auth/register", "post")


class _PaidWorkApi(APIView):
    permission_classes = [IsAuthenticated, EmailVerifiedForPaidWork]
    throttle_classes: list = []
    error_responses = (InsufficientCredits,)

    @extend_schema(request=None, responses={202: None})
    @raises(ProviderUnavailable)
    def post(self, request):
        return Response(status=202)


def test_a_views_permissions_and_declared_errors_become_its_error_answers():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(patterns=[url_path("api/v1/paid", _PaidWorkApi.as_view())]).get_schema(public=True)
    responses = schema["paths"]["/api/v1/paid"]["post"]["responses"]

    assert set(responses) == {"202", "401", "402", "403", "502"}  # no body, no id, no throttle
    assert "`email_unverified`" in responses["403"]["description"]
    assert "`insufficient_credits`" in responses["402"]["description"]


def test_lists_are_documented_as_the_pages_they_answer(schema):
    components = schema["components"]["schemas"]
    for path in ("/api/v1/jobs", "/api/v1/videos", "/api/v1/webhooks", "/api/v1/jobs/{job_id}/segments",
                 "/api/v1/gallery", "/api/v1/posts/{post_id}/comments"):
        operation = schema["paths"][path]["get"]
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert {"count", "next", "previous", "results"} <= set(components[ref.rsplit("/", 1)[-1]]["properties"]), path
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert parameters["page"]["schema"] == {"type": "integer", "minimum": 1}, path
        assert parameters["page_size"]["schema"] == {"type": "integer", "minimum": 1}, path
        assert 404 in _statuses(schema, path, "get")  # a page past the last
    feed = {p["name"]: p for p in schema["paths"]["/api/v1/posts"]["get"]["parameters"]}
    assert {"cursor", "page_size", "ordering"} <= set(feed)
    assert feed["page_size"]["schema"]["minimum"] == 1


def test_taking_a_like_back_is_documented_as_the_200_it_answers(schema):
    assert _statuses(schema, "/api/v1/posts/{post_id}/like", "delete") & {200, 204} == {200}


# --- Pagination -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page_size=0", "page_size"),
        ("page_size=-1", "page_size"),
        ("page_size=abc", "page_size"),
        ("page_size=", "page_size"),
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=-2", "page"),
        ("page=last", "page"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/videos", "/api/v1/billing/ledger", "/api/v1/gallery"])
def test_invalid_paging_is_a_400_naming_the_parameter(owner_client, path, query, field):
    response = owner_client.get(f"{path}?{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [field]
    assert body["detail"].startswith(f"{field}: ")


def test_a_page_past_the_last_is_still_not_found(owner_client):
    assert owner_client.get("/api/v1/jobs?page=1").status_code == 200  # the first page of nothing
    response = owner_client.get("/api/v1/jobs?page=2")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_page_size_above_the_maximum_is_served_as_the_maximum(owner_client):
    paginator = PageNumberPagination()

    assert paginator.get_page_size(Request(APIRequestFactory().get("/", {"page_size": "5000"}))) == 100
    assert paginator.get_page_size(Request(APIRequestFactory().get("/", {"page_size": "7"}))) == 7
    assert paginator.get_page_size(Request(APIRequestFactory().get("/"))) == 20
    assert owner_client.get("/api/v1/videos?page_size=5000").status_code == 200


@pytest.mark.parametrize("query", ["page_size=0", "page_size=x", f"cursor={b64encode(b't=yesterday').decode()}",
                                   "cursor=%%%not-base64"])
def test_the_feed_refuses_bad_paging_with_a_400(owner_client, query):
    response = owner_client.get(f"/api/v1/posts?{query}")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [query.split("=", 1)[0]]


def test_paging_errors_speak_korean(owner_client):
    response = owner_client.get("/api/v1/jobs?page=abc", HTTP_ACCEPT_LANGUAGE="ko")

    assert response.json()["errors"]["page"] == ["1 이상의 정수여야 합니다."]
