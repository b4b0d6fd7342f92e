"""Browsers find the site's icons: /favicon.ico and the touch icon at the root, the SVG icon linked
from every page (issue 21: /favicon.ico was a 404 on every page)."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_the_root_icons_are_served_and_every_page_links_its_icon(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    touch = client.get("/apple-touch-icon.png")
    assert touch.status_code == 200
    assert b"".join(touch.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    page = client.get("/")
    assert page.status_code == 200
    assert b'rel="icon"' in page.content and b"favicon.svg" in page.content
    assert b'rel="apple-touch-icon"' in page.content
