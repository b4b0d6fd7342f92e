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


def test_the_korean_post_page_names_its_buttons_and_players_in_korean_word_order(owner, other, other_browser, post):
    other.locale = "ko"
    other.save(update_fields=["locale"])
    comment_create(post=post, author=other, body="좋아요")  # theirs: they may delete it
    comment_create(post=post, author=owner, body="고마워요")  # the owner's: they may report it
    page = other_browser.get(f"/community/posts/{post.id}").content.decode()
    assert '<span class="visually-hidden">이 댓글 삭제</span>' in page
    assert '<span class="visually-hidden">이 댓글 신고</span>' in page
    feed = other_browser.get("/community").content.decode()
    assert f'aria-label="“{post.title}” 더빙 재생"' in feed.replace("&#x27;", "'")
    assert "Play the dub" not in feed
