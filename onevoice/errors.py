"""One error shape for the whole API: {"detail", "code"} plus "errors" per field.

Services raise `ServiceError` subclasses (each with an HTTP status and a machine code); DRF
views let them propagate and `api_exception_handler` turns them, and every DRF exception, into
that shape. `handler404`/`handler500` do the same for paths under /api/ that never reach DRF.
Request-size limits, which Django raises lazily wherever the body is first read, are answered
here for DRF views and by `onevoice.limits.RequestLimitsMiddleware` for the rest.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, JsonResponse, RawPostDataException, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.log import log_response
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from onevoice.locale import token_user_locale_activate
from onevoice.metrics import database_unavailable

logger = logging.getLogger(__name__)
SERVER_ERROR = gettext_noop("Something went wrong on our side. It has been logged.")


class ServiceError(Exception):
    """A failure a client can act on. Subclasses set `status_code` and `code`."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_detail = _("The request could not be completed.")

    def __init__(self, detail: str | None = None, *, errors: dict | None = None):
        self.detail = detail or self.default_detail
        self.errors = errors
        super().__init__(self.detail)


class RequestRefused(ServiceError):
    """A request refused before any work, for what it is rather than what it asks (a size limit,
    a webhook's signature). The log gets one warning line with `log_detail`, in place of Django's
    bare "Bad Request: <path>" (or, for the size limits, a traceback)."""

    def __init__(self, detail: str | None = None, *, log_detail: str = "", errors: dict | None = None):
        super().__init__(detail, errors=errors)
        self.log_detail = log_detail or str(self.detail)


class RequestTooLarge(RequestRefused):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "request_too_large"
    default_detail = _("The request is too large.")


class TooManyFields(RequestRefused):
    code = "too_many_fields"
    default_detail = _("The request has too many form fields.")


class TooManyFiles(RequestRefused):
    code = "too_many_files"
    default_detail = _("The request has too many files.")


class IncompleteBody(RequestRefused):
    code = "incomplete_body"
    default_detail = _("The request body ended before its announced length. Nothing was done with it.")


# Set in request.META by onevoice.limits.CompleteBodyStream when the body ended early: what came
# of what was announced. A later read fails differently (RawPostDataException after a CSRF check
# swallowed the first error) and is the same refusal.
BODY_INCOMPLETE_META = "onevoice.body_incomplete"


def request_limit_error(request, exc: BaseException) -> RequestRefused | None:
    """The refusal for a request-size limit Django (or a short body) raised, or None."""
    incomplete = request.META.get(BODY_INCOMPLETE_META)
    if incomplete and isinstance(exc, (OSError, RawPostDataException, MultiPartParserError, exceptions.ParseError)):
        return IncompleteBody(log_detail=f"incomplete body ({incomplete})")
    if isinstance(exc, UnreadablePostError):  # the client went away mid-body
        return IncompleteBody(log_detail=f"unreadable body ({exc})")
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(log_detail=f"body over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
    if isinstance(exc, TooManyFieldsSent):
        return TooManyFields(log_detail=f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields")
    if isinstance(exc, TooManyFilesSent):
        return TooManyFiles(log_detail=f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files")
    return None


def request_refused_log(request, refusal: RequestRefused, response) -> None:
    """One warning line (path and why); Django then logs nothing more for this response."""
    log_response("Refused %s: %s", request.path, refusal.log_detail, response=response,
                 request=getattr(request, "_request", request), logger=logger, level="warning")


class NotFound(ServiceError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = _("Not found.")


class Conflict(ServiceError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_detail = _("The object is not in a state that allows this.")


class ProviderUnavailable(ServiceError):
    status_code = status.HTTP_502_BAD_GATEWAY
    code = "provider_unavailable"
    default_detail = _("An upstream provider did not answer. It is safe to retry.")


class ServiceUnavailable(ServiceError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_detail = _("The service is briefly unavailable. Nothing was done; try again in a few seconds.")


# What a database that does not answer raises: refused or dropped connections, a server shutting
# down, a lock that timed out (OperationalError), or a connection that died in use (InterfaceError).
DATABASE_UNAVAILABLE_ERRORS = (DatabaseOperationalError, DatabaseInterfaceError)
RETRY_AFTER_SECONDS = 5


def database_unavailable_refusal(request, exc: BaseException) -> ServiceUnavailable:
    """Counted in /metrics and logged once per request (no traceback: the cause is not ours)."""
    database_unavailable.inc()
    logger.warning("database unavailable on %s: %s: %s", getattr(request, "path", "?"),
                   exc.__class__.__name__, str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    return ServiceUnavailable()


def error_body(detail: str, code: str, errors: dict | None = None) -> dict:
    body = {"detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    return body


def _flatten(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _flatten(v)]
    if isinstance(value, (list, tuple)):
        return [m for item in value for m in _flatten(item)]
    return [str(value)]


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(field): _flatten(messages) for field, messages in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def _first_code(codes) -> str:
    if isinstance(codes, dict):
        for value in codes.values():
            return _first_code(value)
    if isinstance(codes, (list, tuple)) and codes:
        return _first_code(codes[0])
    return str(codes) if codes else "invalid"


def api_exception_handler(exc, context):
    request = context.get("request")
    if request is not None:
        # A polling view's token user is only an id: its language is read now that words are
        # about to be written (`vars`: never start an authentication from here).
        token_user_locale_activate(request, vars(request).get("_user"))
    exc = (request_limit_error(request, exc) if request is not None else None) or exc
    if isinstance(exc, ServiceError):
        response = Response(error_body(exc.detail, exc.code, exc.errors), status=exc.status_code)
        if isinstance(exc, RequestRefused):
            request_refused_log(request, exc, response)
        return response
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        refusal = database_unavailable_refusal(request, exc)
        return Response(error_body(str(refusal.detail), refusal.code), status=refusal.status_code,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in API view", exc_info=exc)
        return Response(
            error_body(gettext(SERVER_ERROR), "server_error"),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        code = _first_code(exc.get_codes())
        if code in ("invalid", "required", "blank", "null") or not code:
            code = "invalid"
        first = next(iter(errors.values()), [gettext("Invalid input.")])
        field = next(iter(errors), "")
        human = first[0] if field == "non_field_errors" else f"{field}: {first[0]}"
        response.data = error_body(human, code, errors)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = _first_code(exc.get_codes()) if isinstance(exc, exceptions.APIException) else "error"
        if isinstance(detail, dict) and "detail" in detail:
            # simplejwt nests its own {"detail", "code", "messages"}: keep its words and code.
            code = str(detail.get("code") or code)
            detail = detail["detail"]
        elif isinstance(detail, (list, dict)):
            detail = " ".join(_flatten(detail))
        if isinstance(exc, exceptions.Throttled):
            code = "throttled"
        response.data = error_body(str(detail), code)
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler404(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body(gettext("Not found."), "not_found"), status=404)
    return render(request, "404.html", status=404)


def handler500(request):
    # Django calls this inside its `except`, so the exception is still at hand.
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        refusal = database_unavailable_refusal(request, exc)
        if _is_api(request):
            response = JsonResponse(error_body(str(refusal.detail), refusal.code), status=503)
        else:
            response = render(request, "503.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if _is_api(request):
        return JsonResponse(error_body(gettext(SERVER_ERROR), "server_error"), status=500)
    return render(request, "500.html", status=500)


def handler403(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body(gettext("You are not allowed to do this."), "permission_denied"), status=403)
    return render(request, "403.html", status=403)


def handler400(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body(gettext("Bad request."), "bad_request"), status=400)
    return render(request, "400.html", status=400)


# What the middleware below says for a status, when the view said nothing in the error shape.
_STATUS_DETAILS = {
    400: _("Bad request."),
    401: _("Authentication credentials were missing or not valid."),
    403: _("You are not allowed to do this."),
    404: _("Not found."),
    405: _("This method is not allowed here."),
    413: _("The request is too large."),
    415: _("This media type is not supported."),
    429: _("Too many requests. Wait a little and try again."),
}
_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media",
    429: "throttled",
}


class APIErrorShapeMiddleware:
    """Every error under /api/ leaves in the error shape, whatever produced it.

    DRF views already answer that way. This catches the rest: Django's HTML debug pages (with
    DEBUG on, unknown paths and non-DRF exceptions never reach handler404/handler500) and
    plain Django views under /api/ (e.g. a 405 from require_GET).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not _is_api(request)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status_code = response.status_code
        if status_code >= 500:
            body = error_body(gettext(SERVER_ERROR), "server_error")
        else:
            detail = _STATUS_DETAILS.get(status_code) or response.reason_phrase or "Error."
            body = error_body(str(detail), _STATUS_CODES.get(status_code, "error"))
        shaped = JsonResponse(body, status=status_code)
        for header, value in response.items():
            # Keep what a client acts on (Allow, Retry-After, Content-Range, WWW-Authenticate...).
            if header.lower() not in ("content-type", "content-length"):
                shaped[header] = value
        return shaped
