"""The API's body parsers (settings REST_FRAMEWORK DEFAULT_PARSER_CLASSES), with limits.

- JSON: malformed or nested deeper than MAX_JSON_DEPTH answers 400 `invalid_json`. Nothing the
  API takes nests beyond four levels; a 2 KB body of 1,000 nested lists made Python's decoder
  raise RecursionError (an unauthenticated 500), and a few hundred levels reached code that
  walks the data recursively.
- Forms and multipart: a field holding a NUL character answers 400 `null_characters_not_allowed`
  naming it (PostgreSQL cannot store NUL in text, and no field has a use for one). Query
  parameters and page forms are checked by `onevoice.limits.NullCharactersMiddleware`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers

MAX_JSON_DEPTH = 20
NULL_CHARACTER_CODE = "null_characters_not_allowed"


class InvalidJSON(exceptions.ParseError):
    default_detail = _("The body is not valid JSON.")
    default_code = "invalid_json"


def json_depth_exceeds(value, limit: int) -> bool:
    """True when lists and objects nest more than `limit` levels (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise InvalidJSON(_("The JSON body nests too deeply (at most %(depth)d levels).")
                              % {"depth": MAX_JSON_DEPTH}) from None
        except exceptions.ParseError as exc:
            raise InvalidJSON(str(exc.detail)) from None  # a str: an ErrorDetail would keep its code
        if isinstance(data, (dict, list)) and json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise InvalidJSON(_("The JSON body nests too deeply (at most %(depth)d levels).")
                              % {"depth": MAX_JSON_DEPTH})
        return data


def null_character_fields(data) -> list[str]:
    """The names of the form fields (or the names themselves) holding a NUL character."""
    return sorted({key for key, values in data.lists() if "\x00" in key or any("\x00" in v for v in values
                                                                                  if isinstance(v, str))})


class NullCharactersInForm(exceptions.ValidationError):
    default_code = NULL_CHARACTER_CODE


def _refuse_null_characters(data) -> None:
    fields = null_character_fields(data)
    if fields:
        message = str(_("Null characters are not allowed."))
        raise NullCharactersInForm({field.replace("\x00", "\\0"): [message] for field in fields},
                                   code=NULL_CHARACTER_CODE)


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _refuse_null_characters(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _refuse_null_characters(result.data)
        return result
