"""Races that only real row locks and unique indexes settle: PostgreSQL, real threads, each with
its own connection."""

from __future__ import annotations

import threading

import pytest

from community.models import Like, Report
from community.services import post_like, report_create
from community.tests.conftest import make_post

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def _race(workers: list) -> list:
    """Run the callables at the same moment in threads; return their results or exceptions."""
    barrier = threading.Barrier(len(workers))
    results: list = [None] * len(workers)

    def run(index, work):
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
            results[index] = error
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_ten_likes_racing_from_one_user_leave_one_like_and_no_error(owner, other, media_root):
    post = make_post(owner)

    results = _race([lambda: post_like(post=post, user=other) for _ in range(10)])

    assert [r for r in results if isinstance(r, Exception)] == []
    assert Like.objects.filter(post=post, user=other).count() == 1


def test_likes_racing_from_many_users_are_all_counted(owner, other, staff, media_root):
    post = make_post(owner)
    users = [owner, other, staff]

    results = _race([lambda u=u: post_like(post=post, user=u) for u in users * 4])

    assert [r for r in results if isinstance(r, Exception)] == []
    assert Like.objects.filter(post=post).count() == 3


def test_reports_racing_from_one_user_make_one_report(owner, other, media_root):
    post = make_post(owner)

    results = _race([lambda: report_create(reporter=other, post=post, reason="Spam") for _ in range(8)])

    assert [r for r in results if isinstance(r, Exception)] == []
    assert sum(1 for _, created in results if created) == 1
    assert Report.objects.filter(post=post, reporter=other).count() == 1
