"""The OpenAPI schema's error answers, derived from what each view really does.

drf-spectacular documents the success answers a view declares; this AutoSchema adds every error
status the view can give, each as the shared `Error` component ({"detail", "code", "errors"?}):

- 401 with any authentication class (a bad or expired token is refused even where anonymous
  requests are allowed), 403 with a permission that can refuse (with the permission's own
  `code` where it has one, e.g. EmailVerifiedForPaidWork's `email_unverified`; a CSRF failure
  for session users);
- 404 for a path with an id, and for a paginated list (a page past the last);
- 400 for query or header parameters (a NUL character: `null_characters_not_allowed`); 400
  (`invalid_json`, `unknown_field`: request bodies take no property they do not list), 413
  `request_too_large` and 415 for a request body;
- 429 with throttles;
- whatever the view's services raise, declared next to the view: a class attribute
  `error_responses = (InsufficientCredits, ...)` for all its methods, or `@raises(...)` on one.
  Each entry is a ServiceError (status_code, code), a DRF APIException (status_code,
  default_code) or, for an exception raised with a code of its own, a (status, code) pair.

The descriptions name the machine codes a client can branch on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import pagination, serializers
from rest_framework.permissions import AllowAny

from onevoice.parsers import NULL_CHARACTER_CODE
from onevoice.serializers import UNKNOWN_FIELD_CODE, RejectUnknownFieldsMixin

ERROR_RESPONSES_ATTR = "error_responses"

_TEXT = {
    400: "Invalid input: `code` says what, `errors` names the fields at fault",
    401: "No credentials, or they are not valid",
    402: "Not enough credits",
    403: "Not allowed",
    404: "Not found, or not yours",
    409: "The object is not in a state that allows this",
    413: "Too large",
    415: "Unsupported media type",
    422: "Understood, but refused",
    429: "Too many requests; wait for Retry-After seconds",
    502: "A provider did not answer; safe to retry",
    503: "Not available on this server",
}


class ErrorSerializer(serializers.Serializer):
    """The error shape every 4xx and 5xx uses (onevoice/errors.py)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


def raises(*errors) -> Callable:
    """Declare on a view method the ServiceErrors (or DRF exceptions) its services raise."""

    def mark(handler: Callable) -> Callable:
        setattr(handler, ERROR_RESPONSES_ATTR, (*getattr(handler, ERROR_RESPONSES_ATTR, ()), *errors))
        return handler

    return mark


def _status_and_code(error) -> tuple[int, str]:
    if isinstance(error, tuple):
        return int(error[0]), str(error[1])
    code = getattr(error, "code", None)
    if not isinstance(code, str):  # a DRF APIException: `code` is not a class attribute there
        code = error.default_code
    return int(error.status_code), str(code)


class ErrorResponsesAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for status_code, codes in self.error_statuses(operation).items():
            responses.setdefault(str(status_code), self._error_response(status_code, codes))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        # A request body a RejectUnknownFieldsMixin validates takes no other property (400
        # unknown_field), and the schema says so.
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, RejectUnknownFieldsMixin):
            schema["additionalProperties"] = False
        return schema

    def _get_pagination_parameters(self):
        # A page serializer (the feed, comments, gallery) is not "a list" to drf-spectacular,
        # but its parameters are the paginator's all the same.
        paginator = self._get_paginator()
        if paginator is None or self.method != "GET":
            return []
        return paginator.get_schema_operation_parameters(self.view)

    def declared_errors(self) -> list:
        handler = getattr(self.view, self.method.lower(), None)
        return [*getattr(type(self.view), ERROR_RESPONSES_ATTR, ()), *getattr(handler, ERROR_RESPONSES_ATTR, ())]

    def error_statuses(self, operation: dict) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}

        def add(status_code: int, codes: Iterable[str]) -> None:
            listed = found.setdefault(status_code, [])
            listed.extend(c for c in codes if c not in listed)

        view = self.view
        parameters = operation.get("parameters", [])
        if view.authentication_classes:
            add(401, ["not_authenticated", "authentication_failed", "token_not_valid"])
        permissions = [p for p in view.permission_classes if p is not AllowAny]
        if permissions:
            # A permission with its own code (EmailVerifiedForPaidWork: `email_unverified`) says it.
            add(403, ["permission_denied", *(p.code for p in permissions if isinstance(getattr(p, "code", None), str))])
        if any(p["in"] == "path" for p in parameters):
            add(404, ["not_found"])
        if self.method == "GET" and isinstance(self._get_paginator(), pagination.PageNumberPagination):
            add(404, ["not_found"])  # a page past the last
        if any(p["in"] in ("query", "header") for p in parameters):
            add(400, ["invalid", NULL_CHARACTER_CODE])
        if "requestBody" in operation:
            add(400, ["invalid", "invalid_json", UNKNOWN_FIELD_CODE, NULL_CHARACTER_CODE])
            add(413, ["request_too_large"])
            add(415, ["unsupported_media_type"])
        if view.get_throttles():
            add(429, ["throttled"])
        for error in self.declared_errors():
            status_code, code = _status_and_code(error)
            add(status_code, [code])
        return found

    def _error_response(self, status_code: int, codes: list[str]) -> dict:
        text = _TEXT.get(status_code, "Error")
        description = f"{text}. Codes: " + ", ".join(f"`{code}`" for code in codes) if codes else text
        return self._get_response_for_code(OpenApiResponse(ErrorSerializer, description=description), str(status_code))
