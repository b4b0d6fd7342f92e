"""Staff moderation in the admin (report queue, hide/unhide, resolve in bulk), and the whole
story a new user would try: publish, watch, like, comment, report, hide, gone."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from community.models import Comment, Post, Report
from community.tests.factories import CommentFactory, PostFactory, ReportFactory
from dubbing.tests.factories import DUBBED_BYTES, DubbedJobFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/community/report/"


def _action(client, url: str, action: str, ids) -> None:
    response = client.post(url, {"action": action, ACTION_CHECKBOX_NAME: [str(i) for i in ids]})
    assert response.status_code == 302, response.content.decode()[:500]


def test_the_report_queue_lists_open_reports_first_with_what_was_reported(staff_browser, owner, other, post):
    comment = CommentFactory(post=post, author=owner, body="<i>rude</i> words")
    open_report = ReportFactory(reporter=other, comment=comment, reason="Rude")
    done = ReportFactory(reporter=other, post=post, reason="Old", resolved=True)

    html = staff_browser.get(QUEUE).content.decode()

    assert "Rude" in html and "comment on" in html and f"#comment-{comment.id}" in html
    assert "&lt;i&gt;rude&lt;/i&gt;" in html and "<i>rude</i>" not in html
    assert str(done.pk) not in html and ">Old<" not in html
    every = staff_browser.get(QUEUE + "?state=all").content.decode()
    assert ">Old<" in every and open_report.pk


def test_staff_hide_reported_items_and_resolve_the_reports_in_bulk(staff_browser, staff, owner, other, post):
    comment = CommentFactory(post=post, author=owner, body="Rude")
    other_post = PostFactory(author=other, title="Spam")
    reports = [
        ReportFactory(reporter=other, comment=comment, reason="Rude"),
        ReportFactory(reporter=owner, post=other_post, reason="Spam"),
    ]

    _action(staff_browser, QUEUE, "hide_and_resolve", [r.pk for r in reports])

    comment.refresh_from_db()
    other_post.refresh_from_db()
    assert comment.hidden and comment.hidden_by == staff
    assert other_post.hidden and other_post.hidden_by == staff
    assert not Post.objects.get(pk=post.pk).hidden
    assert all(r.resolved and r.resolved_by == staff and r.resolved_at for r in Report.objects.all())


def test_staff_resolve_reports_without_hiding_and_show_items_again(staff_browser, owner, other, post):
    report = ReportFactory(reporter=other, post=post, reason="Not spam really")
    Post.objects.filter(pk=post.pk).update(hidden=True)

    _action(staff_browser, QUEUE, "unhide_items", [report.pk])
    _action(staff_browser, QUEUE, "resolve", [report.pk])

    assert not Post.objects.get(pk=post.pk).hidden
    assert Report.objects.get().resolved


def test_staff_hide_and_unhide_posts_and_comments_from_their_lists(staff_browser, owner, other, post):
    comment = CommentFactory(post=post, author=other, body="Hm")

    _action(staff_browser, "/admin/community/post/", "hide", [post.pk])
    _action(staff_browser, "/admin/community/comment/", "hide", [comment.pk])
    assert Post.objects.get().hidden and Comment.objects.get().hidden

    _action(staff_browser, "/admin/community/post/", "unhide", [post.pk])
    _action(staff_browser, "/admin/community/comment/", "unhide", [comment.pk])
    assert not Post.objects.get().hidden and not Comment.objects.get().hidden


def test_the_admin_lists_and_change_pages_open(staff_browser, owner, other, post):
    comment = CommentFactory(post=post, author=other, body="Hm")
    report = ReportFactory(reporter=other, comment=comment, reason="x")
    pages = [
        "/admin/community/post/", f"/admin/community/post/{post.pk}/change/",
        "/admin/community/comment/", f"/admin/community/comment/{comment.pk}/change/",
        f"/admin/community/report/{report.pk}/change/", "/admin/community/galleryitem/",
    ]
    for page in pages:
        assert staff_browser.get(page).status_code == 200, page


def test_a_user_who_is_not_staff_cannot_open_the_queue(other_browser, post):
    response = other_browser.get(QUEUE)

    assert response.status_code == 302 and "/admin/login" in response["Location"]


# --- The whole story ----------------------------------------------------------------------------------


def test_publish_watch_like_comment_report_hide_as_new_users_would(owner, other, staff_browser, media_root):
    alice, bob = APIClient(), Client()
    alice.force_authenticate(owner)
    bob.force_login(other)
    job = DubbedJobFactory(owner=owner)

    # Alice publishes her finished dub.
    published = alice.post("/api/v1/posts", {"job_id": str(job.id), "title": "Hola from Alice"})
    assert published.status_code == 201
    post_id = published.json()["id"]

    # Bob sees it in the feed, plays it (the player follows the link without a session), likes it
    # and comments.
    feed = bob.get("/community").content.decode()
    assert "Hola from Alice" in feed
    link = re.search(r'src="(/media/jobs/[^"]+/dubbed_video\?t=[^"]+)"', feed).group(1).replace("&amp;", "&")
    played = Client().get(link)
    assert b"".join(played.streaming_content) == DUBBED_BYTES
    bob.post(f"/community/posts/{post_id}/like", {"action": "like"})
    bob.post(f"/community/posts/{post_id}/comments", {"body": "Sounds great!"})

    # Alice sees the like and the comment.
    mine = alice.get(f"/api/v1/posts/{post_id}").json()
    assert (mine["like_count"], mine["comment_count"]) == (1, 1)
    assert alice.get(f"/api/v1/posts/{post_id}/comments").json()["results"][0]["body"] == "Sounds great!"

    # A third user spams the post; Bob reports that comment from the page.
    carol = APIClient()
    carol.force_authenticate(get_user_model().objects.create_user(email="carol@example.com", password="x" * 12))
    carol.post(f"/api/v1/posts/{post_id}/comments", {"body": "Buy cheap pills here"})
    spam = Comment.objects.get(body="Buy cheap pills here")
    assert "Buy cheap pills here" in bob.get(f"/community/posts/{post_id}").content.decode()
    bob.post(f"/community/comments/{spam.id}/report", {"reason": "Spam"})
    report = Report.objects.get()
    assert report.reporter == other

    # Staff hide it from the report queue; it disappears from the page.
    queue = staff_browser.get(QUEUE).content.decode()
    assert "Spam" in queue
    _action(staff_browser, QUEUE, "hide_and_resolve", [report.pk])
    page = bob.get(f"/community/posts/{post_id}").content.decode()
    assert "Sounds great!" in page and "Buy cheap pills here" not in page
    assert alice.get(f"/api/v1/posts/{post_id}").json()["comment_count"] == 1
