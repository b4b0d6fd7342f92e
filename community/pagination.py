"""The feed's cursor pagination: {"next", "previous", "results"}, never a post twice.

API.md's lists are page-numbered; the feed is not, because a phone scrolling it while new posts
arrive would see the last post of one page again at the top of the next. A cursor remembers
where the page ended, and also when the scroll began (`t`): every later page of the same scroll
is cut at that moment, so posts published meanwhile never shift the ranking under the reader,
whichever ordering (newest, most liked) is asked. Pulling to refresh is simply a request
without a cursor.
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from datetime import datetime
from urllib import parse

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.utils.urls import replace_query_param

from community.errors import InvalidInput
from community.selectors import ORDER_NEWEST, ORDERINGS
from onevoice.pagination import InvalidPageParameter, PageSizeParameter


_CURSOR_TOKENS = {"t", "o", "r", "p"}


def _invalid_cursor() -> InvalidPageParameter:
    # A cursor is only ever copied from `next`/`previous`: a bad one is bad input (400), not a
    # missing page.
    return InvalidPageParameter(gettext("This cursor is not valid; start again from the first page."), field="cursor")


class FeedCursorPagination(PageSizeParameter, CursorPagination):
    ordering = ORDERINGS[ORDER_NEWEST]

    def __init__(self, *, ordering: str | None = None):
        # The pages settle the ordering themselves; the API reads ?ordering=.
        self.ordering_key = ordering

    def get_ordering(self, request, queryset, view):
        asked = self.ordering_key or request.query_params.get("ordering") or ORDER_NEWEST
        if asked not in ORDERINGS:
            raise InvalidInput(gettext("One of: %(choices)s.") % {"choices": ", ".join(ORDERINGS)}, field="ordering")
        return ORDERINGS[asked]

    def paginate_queryset(self, queryset, request, view=None):
        self.snapshot = self._snapshot(request)
        return super().paginate_queryset(queryset.filter(created_at__lte=self.snapshot), request, view)

    def _tokens(self, request) -> dict[str, list[str]]:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return {}
        try:
            tokens = parse.parse_qs(b64decode(encoded.encode("ascii")).decode("ascii"), keep_blank_values=True)
        except (TypeError, ValueError):
            raise _invalid_cursor() from None
        # Every cursor this class makes carries its scroll's moment and nothing but its tokens: a
        # well-formed base64 of anything else ("Zm9vYmFy", "foobar") is not a cursor.
        if "t" not in tokens or not set(tokens) <= _CURSOR_TOKENS:
            raise _invalid_cursor()
        return tokens

    def _snapshot(self, request) -> datetime:
        raw = self._tokens(request).get("t", [None])[0]
        if raw is None:
            return timezone.now()
        moment = parse_datetime(raw)
        if moment is None:
            raise _invalid_cursor()
        return moment

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise _invalid_cursor() from None
        if cursor is not None and cursor.position is not None:
            # A tampered position would reach the database as a bad value: refuse it here.
            field = self.ordering[0].lstrip("-")
            valid = cursor.position.isdigit() if field == "like_count" else parse_datetime(cursor.position)
            if not valid:
                raise _invalid_cursor()
        return cursor

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "From `next` or `previous` of the page before. Not one of those: 400.",
                "schema": {"type": "string"},
            },
            self.page_size_schema_parameter(),
        ]

    def encode_cursor(self, cursor: Cursor) -> str:
        tokens = {"t": self.snapshot.isoformat()}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        encoded = b64encode(parse.urlencode(tokens).encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)
