"""Request-size limits and short bodies, answered in the error shape (or the 400/413 page).

Django raises its limits (DATA_UPLOAD_MAX_MEMORY_SIZE, _NUMBER_FIELDS, _NUMBER_FILES) lazily,
wherever the body is first read: in a DRF view (answered by `api_exception_handler`), in a plain
view (`process_exception` below) or in the CSRF check of a page's form (`process_view` below, as
an exception raised there would skip `process_exception` and leave as a 400 with a traceback).

Uploads are not read here: POST /api/v1/videos is CSRF-exempt (DRF), so its size-limited upload
handler is still the first to see the body, and files never count against DATA_UPLOAD_MAX_MEMORY_SIZE.
"""

from __future__ import annotations

from io import IOBase

from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse, UnreadablePostError
from django.shortcuts import render
from django.utils.translation import gettext

from onevoice.errors import (
    BODY_INCOMPLETE_META,
    error_body,
    request_limit_error,
    request_refused_log,
)
from onevoice.parsers import NULL_CHARACTER_CODE, null_character_fields

_LIMIT_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, UnreadablePostError)


class CompleteBodyStream(IOBase):
    """A WSGI request body that refuses to end before its Content-Length.

    Django's LimitedStream answers the end of input with a short read, and the parsers took what
    came for the whole body: half an upload was stored (and failed as invalid media), half a JSON
    body answered as a parse error. This raises UnreadablePostError instead.
    """

    def __init__(self, stream: LimitedStream, meta: dict):
        self._stream = stream
        self._meta = meta
        self._length = stream.limit
        self._received = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        remaining = self._length - self._received
        wanted = remaining if size is None or size < 0 else min(size, remaining)
        chunks = []
        while wanted > 0:
            # A socket's buffered reader may answer short before the end; only b"" is the end.
            data = self._stream.read(wanted)
            if not data:
                self._incomplete()
            self._received += len(data)
            wanted -= len(data)
            chunks.append(data)
        return b"".join(chunks)

    def readline(self, size: int | None = -1, /) -> bytes:
        line = self._stream.readline(size)
        if not line and self._received < self._length and size != 0:
            self._incomplete()
        self._received += len(line)
        return line

    def _incomplete(self):
        detail = f"{self._received} of {self._length} bytes"
        self._meta[BODY_INCOMPLETE_META] = detail
        raise UnreadablePostError(f"The request body ended after {detail}.")


def _refusal_response(request, exc: BaseException):
    refusal = request_limit_error(request, exc)
    if refusal is None:
        return None
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body(str(refusal.detail), refusal.code, refusal.errors),
                                status=refusal.status_code)
    else:
        template = "413.html" if refusal.status_code == 413 else "400.html"
        response = render(request, template, status=refusal.status_code)
    request_refused_log(request, refusal, response)
    return response


class RequestLimitsMiddleware:
    """Sits just before CsrfViewMiddleware: nothing before it reads the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        stream = getattr(request, "_stream", None)
        # WSGI only: ASGI servers hand Django the whole body, or no request at all.
        if isinstance(stream, LimitedStream) and not request._read_started:
            request._stream = CompleteBodyStream(stream, request.META)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # The CSRF check reads a protected POST's form next; read it first, where its limits can
        # be answered. (Exempt views, DRF's among them, may still set their upload handlers.)
        if request.method != "POST" or getattr(view_func, "csrf_exempt", False):
            return None
        try:
            request.POST  # noqa: B018 (parsed for its errors)
        except _LIMIT_ERRORS as exc:
            return _refusal_response(request, exc)
        return None

    def process_exception(self, request, exception):
        return _refusal_response(request, exception)


class NullCharactersMiddleware:
    """A NUL character in a query parameter or a form field answers 400, before any view.

    Nothing the site takes has a use for one, PostgreSQL cannot store or compare one in text (a
    filter such as /jobs?status=%00 was a 500), and a view would otherwise have to remember it.
    Multipart bodies are left to the view (its upload handler must be the first to read them);
    the API's multipart parser checks their fields (onevoice/parsers.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        fields = null_character_fields(request.GET)
        if not fields and request.content_type == "application/x-www-form-urlencoded":
            try:
                fields = null_character_fields(request.POST)
            except _LIMIT_ERRORS:
                return None  # RequestLimitsMiddleware or the view answers those
        if not fields:
            return None
        names = [field.replace("\x00", "\\0") for field in fields]
        message = gettext("Null characters are not allowed.")
        if request.path.startswith("/api/"):
            return JsonResponse(error_body(f"{names[0]}: {message}", NULL_CHARACTER_CODE,
                                           {name: [message] for name in names}), status=400)
        return render(request, "400.html", status=400)
