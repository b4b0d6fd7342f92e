"""Query-string filters of the list endpoints, checked: a value of the wrong kind is a 400 naming
the parameter, never a filter that silently matches nothing or everything.

(`?video=not-a-uuid` answered an empty list, `?favorite=null` the whole gallery: a client with a
bug could not tell.) The views read their filters through these; an absent or empty parameter
is no filter.
"""

from __future__ import annotations

import re
import uuid

from django.utils.translation import gettext

from onevoice.errors import ServiceError

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
# A BCP 47-ish language code as the engines name them: "es", "ko", "pt-BR", "zh-Hans".
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")


class InvalidFilter(ServiceError):
    code = "invalid"

    def __init__(self, message: str, *, parameter: str):
        super().__init__(f"{parameter}: {message}", errors={parameter: [message]})


def _raw(request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


def query_uuid(request, name: str) -> uuid.UUID | None:
    raw = _raw(request, name)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidFilter(gettext("Must be an id (a UUID)."), parameter=name) from None


def query_bool(request, name: str) -> bool | None:
    raw = _raw(request, name)
    if raw is None:
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise InvalidFilter(gettext("Must be true or false."), parameter=name)


def query_language(request, name: str) -> str | None:
    raw = _raw(request, name)
    if raw is None:
        return None
    if not _LANGUAGE.fullmatch(raw):
        raise InvalidFilter(gettext("Must be a language code, such as es or ko."), parameter=name)
    return raw
