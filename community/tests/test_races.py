"""Races that only real row locks and unique indexes settle: PostgreSQL, real threads, each with
its own connection."""

from __future__ import annotations

import pytest

from community.models import Like, Report
from community.services import post_like, report_create
from community.tests.factories import PostFactory
from testing.races import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_ten_likes_racing_from_one_user_leave_one_like_and_no_error(owner, other, media_root):
    post = PostFactory(author=owner)

    results = race([lambda: post_like(post=post, user=other) for _ in range(10)])

    assert [r for r in results if isinstance(r, Exception)] == []
    assert Like.objects.filter(post=post, user=other).count() == 1


def test_likes_racing_from_many_users_are_all_counted(owner, other, staff, media_root):
    post = PostFactory(author=owner)
    users = [owner, other, staff]

    results = race([lambda u=u: post_like(post=post, user=u) for u in users * 4])

    assert [r for r in results if isinstance(r, Exception)] == []
    assert Like.objects.filter(post=post).count() == 3


def test_reports_racing_from_one_user_make_one_report(owner, other, media_root):
    post = PostFactory(author=owner)

    results = race([lambda: report_create(reporter=other, post=post, reason="Spam") for _ in range(8)])

    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(1 for _, created in results if created) == 1
    assert Report.objects.filter(post=post, reporter=other).count() == 1
