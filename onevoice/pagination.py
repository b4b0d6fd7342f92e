"""API.md's paging parameters, checked: a bad `page` or `page_size` is a 400, never ignored.

`page_size` above the maximum is served as the maximum (API.md: "max 100"), so a client asking
for "everything" still gets full pages; below 1, or not a whole number, it is refused, as a
`page` that is not a whole number of 1 or more is. A page past the last is 404 (DRF's answer).
"""

from __future__ import annotations

from django.utils.translation import gettext
from rest_framework import pagination

from onevoice.errors import ServiceError

MAX_PAGE_SIZE = 100


class InvalidPageParameter(ServiceError):
    code = "invalid"

    def __init__(self, message: str, *, field: str):
        super().__init__(f"{field}: {message}", errors={field: [message]})
        self.field = field


def _whole_number(raw: str) -> int | None:
    # isascii: int() would also read "٣" or " 3 ", which no client means as a page.
    if raw.isascii() and raw.isdigit() and int(raw) >= 1:
        return int(raw)
    return None


class PageSizeParameter:
    """`page_size` for both paginators: 1 or more, capped at `max_page_size`."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = _whole_number(raw)
        if size is None:
            raise InvalidPageParameter(
                gettext("Must be a whole number, 1 or more (a page holds at most %(maximum)s).")
                % {"maximum": self.max_page_size},
                field=self.page_size_query_param,
            )
        return min(size, self.max_page_size)

    def page_size_schema_parameter(self) -> dict:
        return {
            "name": self.page_size_query_param,
            "required": False,
            "in": "query",
            "description": f"Results per page, default {self.page_size}; above {self.max_page_size} "
                           f"a page holds {self.max_page_size}. Not a whole number of 1 or more: 400.",
            "schema": {"type": "integer", "minimum": 1},
        }


class PageNumberPagination(PageSizeParameter, pagination.PageNumberPagination):
    """API.md: ?page= and ?page_size= (at most 100)."""

    last_page_strings = ()  # `page` is a number, as the schema says

    def get_page_number(self, request, paginator) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        number = _whole_number(raw)
        if number is None:
            raise InvalidPageParameter(gettext("Must be a whole number, 1 or more."), field=self.page_query_param)
        return number

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1. Not a whole number of 1 or more: 400; past the last page: 404.",
                "schema": {"type": "integer", "minimum": 1},
            },
            self.page_size_schema_parameter(),
        ]
