from __future__ import annotations

# Paths under /api/v1/ (no trailing slashes, API.md).
api_urlpatterns: list = []

# Server-rendered pages.
urlpatterns: list = []
