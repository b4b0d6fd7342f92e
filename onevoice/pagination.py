from __future__ import annotations

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """API.md: ?page= and ?page_size= (at most 100)."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
