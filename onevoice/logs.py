"""Structured logs with structlog and django-structlog: one JSON object per line (readable console
lines with debug on), every line of a request carrying its request id and user id, and every
line a worker writes for a message carrying the request id that sent it (and, for a dubbing job,
the job id, attempt and stage: dubbing/tasks.py binds those).

- The request id: `X-Request-ID` is taken from the request only behind a trusted proxy
  (NUM_PROXIES > 0, the same trust the throttles give X-Forwarded-For) and only when it is short
  and harmless; otherwise one is made. It is returned in the `X-Request-ID` header.
  django-structlog's RequestMiddleware binds it (with the user id and address) and logs
  request_started / request_finished, with the route pattern instead of the path (a password
  reset or verification link's token is in its path) and no query string.
- Dramatiq: `LogContextMiddleware` puts the request id into each message it sends
  (`options["log_context"]`) and binds it again in the worker while that message runs.
- Secrets: `redact_secrets` masks any field whose name says it holds one; nothing here logs a
  header, a body or a query string.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import structlog
from django.conf import settings
from django.urls import Resolver404, resolve
from dramatiq.middleware import Middleware

# A proxy may hand us its id; keep it only when it is short and harmless.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
CONTEXT_OPTION = "log_context"
# Context that travels with a message from the request that sent it to the worker that runs it.
CARRIED = ("request_id", "user_id")
_SECRET_NAMES = re.compile(r"pass(word)?|secret|token|api_?key|authorization|cookie|signature|credential",
                           re.IGNORECASE)


# --- Requests ------------------------------------------------------------------------------------

class RequestIDMiddleware:
    """Decides the request's id before django-structlog's middleware binds it; returns it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        trusted = settings.NUM_PROXIES > 0 and _SAFE_ID.match(incoming)
        request_id = incoming if trusted else uuid.uuid4().hex
        request.META["HTTP_X_REQUEST_ID"] = request_id  # what django-structlog reads
        request.request_id = request_id
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def route_of(request) -> str:
    """`GET /api/v1/jobs/<uuid:job_id>`: the route, never the values in the path or the query."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return f"{request.method} (no route)"
    route = match.route or match.view_name or "?"
    return f"{request.method} /{route.lstrip('^').rstrip('$')}"


def _request_started(sender, request, logger, log_kwargs, **kwargs):
    log_kwargs["request"] = route_of(request)


def _request_finished(sender, request, logger, response, log_kwargs, **kwargs):
    log_kwargs["request"] = route_of(request)


def connect_signals() -> None:
    from django_structlog import signals

    signals.bind_extra_request_metadata.connect(_request_started, dispatch_uid="onevoice-route-started")
    signals.bind_extra_request_finished_metadata.connect(_request_finished, dispatch_uid="onevoice-route-finished")


# --- Processors and the logging set-up --------------------------------------------------------------

def redact_secrets(logger, method_name, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if key != "event" and _SECRET_NAMES.search(key):
            event_dict[key] = "[redacted]"
    return event_dict


def _shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        redact_secrets,
    ]


def logging_config(*, level: str, json_lines: bool) -> dict:
    """settings.LOGGING: stdlib and structlog lines through one ProcessorFormatter."""
    renderer = (structlog.processors.JSONRenderer(ensure_ascii=False) if json_lines
                else structlog.dev.ConsoleRenderer(colors=False))
    formatter = {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            *([structlog.processors.EventRenamer("message")] if json_lines else []),
            renderer,
        ],
        "foreign_pre_chain": _shared_processors(),
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.db.backends": {"level": "INFO"},
            # Its "Not Found: <path>" lines would log a link's token; request_finished logs the
            # route and status of every answer instead. Server errors (with their traceback) stay.
            "django.request": {"level": "ERROR"},
        },
    }


def configure_structlog() -> None:
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# --- Dramatiq: the context travels with the message --------------------------------------------------

def context_to_carry() -> dict[str, str]:
    bound = structlog.contextvars.get_contextvars()
    return {key: str(bound[key]) for key in CARRIED if bound.get(key) is not None}


def stamp(options: dict) -> dict:
    """A message's options with the sender's log context, unless it carries one already (a retry,
    or a message sent on: the original request's id is kept)."""
    if CONTEXT_OPTION in options:
        return options
    carried = context_to_carry()
    return {**options, CONTEXT_OPTION: carried} if carried else options


class LogContextMiddleware(Middleware):
    def before_enqueue(self, broker, message, delay):
        # The built-in brokers encode the message after this hook: the options dict is the one sent.
        stamped = stamp(message.options)
        if stamped is not message.options:
            message.options[CONTEXT_OPTION] = stamped[CONTEXT_OPTION]

    def before_process_message(self, broker, message):
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            **dict(message.options.get(CONTEXT_OPTION) or {}),
            message_id=message.message_id, actor=message.actor_name,
        )

    def after_process_message(self, broker, message, *, result=None, exception=None):
        structlog.contextvars.clear_contextvars()

    after_skip_message = after_process_message


