"""The feed counts comments as each language writes a count: "1 comment", "댓글 1개" (issue 21:
the Korean feed said "1 댓글")."""

from __future__ import annotations

import re

import pytest

from community.services import comment_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("locale", "one", "two"), [("en", "1 comment", "2 comments"), ("ko", "댓글 1개", "댓글 2개")])
def test_the_feed_says_how_many_comments_a_post_has_in_the_readers_words(other, other_browser, post, locale, one, two):
    other.locale = locale
    other.save(update_fields=["locale"])

    def count() -> str:
        html = other_browser.get("/community").content.decode()
        return re.search(r'class="post-card__comments"[^>]*>([^<]*)</a>', html).group(1).strip()

    comment_create(post=post, author=other, body="Nice")
    assert count() == one
    comment_create(post=post, author=other, body="Again")
    assert count() == two
