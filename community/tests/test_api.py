"""The community API: publishing, the feed (filters, orderings, cursor), likes, comments, reports,
my gallery, and what another user, a hidden item and a signed link can and cannot reach."""

from __future__ import annotations

import uuid
from base64 import b64decode, b64encode
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from community.models import Comment, GalleryItem, Like, Post, Report
from community.tests.factories import CommentFactory, LikeFactory, PostFactory
from dubbing.models import DubbingJob, JobStatus
from dubbing.tests.factories import DUBBED_BYTES, DubbedJobFactory
from videos.tests.factories import THUMBNAIL_BYTES

pytestmark = pytest.mark.django_db


def _cursor(url: str) -> str:
    return parse_qs(urlparse(url).query)["cursor"][0]


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- Publishing --------------------------------------------------------------------------------------


def test_i_publish_my_succeeded_job_and_get_the_post(owner_client, owner, job):
    response = owner_client.post(
        "/api/v1/posts", {"job_id": str(job.id), "title": "  Hola mundo  ", "description": "My first dub."}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["title"] == "Hola mundo"
    assert body["author"] == {"id": str(owner.id), "name": "Alice"}
    assert body["target_language"] == "es"
    assert body["media_type"] == "video"
    assert body["like_count"] == 0 and body["comment_count"] == 0 and body["liked_by_me"] is False
    assert body["video_url"] and body["thumbnail_url"]
    assert Post.objects.get().job_id == job.id


def test_publishing_another_users_job_is_not_found(other_client, job):
    response = other_client.post("/api/v1/posts", {"job_id": str(job.id), "title": "Mine now"})

    assert response.status_code == 404
    assert response.json()["code"] == "job_not_found"
    assert not Post.objects.exists()


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED, JobStatus.CANCELLED])
def test_publishing_a_job_that_has_not_succeeded_is_a_conflict(owner_client, owner, media_root, status):
    job = DubbedJobFactory(owner=owner, status=status)

    response = owner_client.post("/api/v1/posts", {"job_id": str(job.id), "title": "Too early"})

    assert response.status_code == 409
    assert response.json() == {"detail": response.json()["detail"], "code": "job_not_succeeded"}
    assert not Post.objects.exists()


def test_publishing_the_same_job_twice_makes_one_post(owner_client, job):
    first = owner_client.post("/api/v1/posts", {"job_id": str(job.id), "title": "Once"})
    second = owner_client.post("/api/v1/posts", {"job_id": str(job.id), "title": "Twice"})

    assert first.status_code == 201
    assert second.status_code == 409 and second.json()["code"] == "already_published"
    assert Post.objects.count() == 1


@pytest.mark.parametrize(
    ("title", "code"), [("", "invalid"), ("   ", "invalid"), ("x" * 201, "invalid")]
)
def test_a_post_needs_a_title_of_at_most_200_characters(owner_client, job, title, code):
    response = owner_client.post("/api/v1/posts", {"job_id": str(job.id), "title": title})

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert "title" in response.json()["errors"]


# --- Reading posts and their media -----------------------------------------------------------------


def test_another_user_plays_the_dubbed_video_and_thumbnail_through_the_signed_links(other_client, post):
    body = other_client.get(f"/api/v1/posts/{post.id}").json()
    anonymous = Client()  # a player fetches the link without the session

    video = anonymous.get(body["video_url"])
    thumbnail = anonymous.get(body["thumbnail_url"])
    ranged = anonymous.get(body["video_url"], HTTP_RANGE="bytes=0-9")

    assert video.status_code == 200 and _content(video) == DUBBED_BYTES
    assert thumbnail.status_code == 200 and _content(thumbnail) == THUMBNAIL_BYTES
    assert ranged.status_code == 206 and _content(ranged) == DUBBED_BYTES[:10]


def test_the_owners_other_files_stay_private_to_someone_with_the_posts_links(other, other_client, post):
    body = other_client.get(f"/api/v1/posts/{post.id}").json()
    token = parse_qs(urlparse(body["video_url"]).query)["t"][0]
    thumb_token = parse_qs(urlparse(body["thumbnail_url"]).query)["t"][0]
    browser = Client()
    browser.force_login(other)

    # The dubbed video's token does not open the job's subtitles, nor the thumbnail's the original.
    subtitles = browser.get(f"/media/jobs/{post.job_id}/subtitles_target_srt?t={token}")
    original = browser.get(f"/media/videos/{post.job.video_id}/source?t={thumb_token}")
    no_token = browser.get(f"/media/jobs/{post.job_id}/dubbed_video")

    assert subtitles.status_code == 403
    assert original.status_code in (403, 404)
    assert no_token.status_code == 404
    assert "video_url" in body and "source_url" not in body


def test_a_post_without_a_thumbnail_has_no_thumbnail_link(owner, other_client, media_root):
    job = DubbedJobFactory(owner=owner, video__thumbnail=False)
    post = PostFactory(author=owner, job=job, title="No picture")

    body = other_client.get(f"/api/v1/posts/{post.id}").json()

    assert body["thumbnail_url"] is None and body["video_url"]


def test_an_unknown_post_is_not_found(other_client, db):
    response = other_client.get(f"/api/v1/posts/{uuid.uuid4()}")

    assert response.status_code == 404 and response.json()["code"] == "post_not_found"


def test_the_feed_needs_a_signed_in_user(api_client, post):
    assert api_client.get("/api/v1/posts").status_code == 401


# --- The feed ----------------------------------------------------------------------------------------


def test_the_feed_lists_posts_newest_first_with_counts_from_annotations(owner, other, other_client, media_root):
    older = PostFactory(author=owner, title="Older")
    newer = PostFactory(author=other, title="Newer")
    LikeFactory(post=older, user=other)
    LikeFactory(post=older, user=owner)
    CommentFactory(post=older, author=other, body="Nice")
    CommentFactory(post=older, author=other, body="Hidden one", hidden=True)

    body = other_client.get("/api/v1/posts").json()

    assert set(body) == {"next", "previous", "results"}
    assert [p["title"] for p in body["results"]] == ["Newer", "Older"]
    first, second = body["results"]
    assert (first["like_count"], first["comment_count"], first["liked_by_me"]) == (0, 0, False)
    assert (second["like_count"], second["comment_count"], second["liked_by_me"]) == (2, 1, True)
    assert newer.id and body["next"] is None


def test_the_feed_ordered_by_most_liked(owner, other, staff, other_client, media_root):
    quiet = PostFactory(author=owner, title="Quiet")
    loved = PostFactory(author=owner, title="Loved")
    liked = PostFactory(author=owner, title="Liked once")
    for user in (owner, other, staff):
        LikeFactory(post=loved, user=user)
    LikeFactory(post=liked, user=other)

    body = other_client.get("/api/v1/posts?ordering=-like_count").json()

    assert [p["title"] for p in body["results"]] == ["Loved", "Liked once", "Quiet"]
    assert quiet.id


def test_an_unknown_ordering_is_refused(other_client, post):
    response = other_client.get("/api/v1/posts?ordering=title")

    assert response.status_code == 400 and "ordering" in response.json()["errors"]


def test_the_feed_filters_by_language_and_by_author(owner, other, other_client, media_root):
    PostFactory(author=owner, title="Alice es", job__target_language="es")
    PostFactory(author=owner, title="Alice fr", job__target_language="fr")
    PostFactory(author=other, title="Bob es", job__target_language="es")

    spanish = other_client.get("/api/v1/posts?language=es").json()["results"]
    alices = other_client.get(f"/api/v1/posts?author={owner.id}").json()["results"]
    both = other_client.get(f"/api/v1/posts?author={owner.id}&language=fr").json()["results"]
    not_an_id = other_client.get("/api/v1/posts?author=not-a-uuid")

    assert sorted(p["title"] for p in spanish) == ["Alice es", "Bob es"]
    assert sorted(p["title"] for p in alices) == ["Alice es", "Alice fr"]
    assert [p["title"] for p in both] == ["Alice fr"]
    assert not_an_id.status_code == 400 and set(not_an_id.json()["errors"]) == {"author"}


def test_scrolling_the_feed_while_new_posts_arrive_never_shows_a_post_twice(owner, other_client, media_root):
    for n in range(5):
        PostFactory(author=owner, title=f"Post {n}")

    first = other_client.get("/api/v1/posts?page_size=2").json()
    PostFactory(author=owner, title="Arrived meanwhile 1")
    second = other_client.get(first["next"]).json()
    PostFactory(author=owner, title="Arrived meanwhile 2")
    third = other_client.get(second["next"]).json()

    seen = [p["title"] for page in (first, second, third) for p in page["results"]]
    assert seen == ["Post 4", "Post 3", "Post 2", "Post 1", "Post 0"]
    assert third["next"] is None
    # A fresh request (pull to refresh) shows the new ones on top.
    fresh = other_client.get("/api/v1/posts?page_size=2").json()
    assert [p["title"] for p in fresh["results"]] == ["Arrived meanwhile 2", "Arrived meanwhile 1"]


def test_scrolling_the_most_liked_feed_while_new_posts_arrive_never_shows_a_post_twice(owner, other, other_client, media_root):
    posts = [PostFactory(author=owner, title=f"Post {n}") for n in range(4)]
    LikeFactory(post=posts[0], user=other)

    first = other_client.get("/api/v1/posts?ordering=-like_count&page_size=2").json()
    for n in range(3):
        PostFactory(author=owner, title=f"New {n}")  # no likes: they would sort into the tail being scrolled
    second = other_client.get(first["next"]).json()

    seen = [p["title"] for page in (first, second) for p in page["results"]]
    assert seen == ["Post 0", "Post 3", "Post 2", "Post 1"]
    assert second["next"] is None


def test_a_tampered_cursor_is_invalid_input_not_a_server_error(other_client, post):
    first = other_client.get("/api/v1/posts?page_size=1")
    bad_position = b64encode(b"p=not-a-date&t=2020-01-01T00:00:00%2B00:00").decode()
    bad_likes = b64encode(b"p=DROP&t=2020-01-01T00:00:00%2B00:00").decode()
    bad_moment = b64encode(b"t=yesterday").decode()

    for query in (f"cursor={bad_position}", f"ordering=-like_count&cursor={bad_likes}", f"cursor={bad_moment}"):
        response = other_client.get(f"/api/v1/posts?{query}")
        assert response.status_code == 400, query
        assert response.json()["code"] == "invalid"
        assert list(response.json()["errors"]) == ["cursor"]
    assert first.status_code == 200


def test_the_feed_is_one_query(other_client, owner, other, media_root, django_assert_num_queries):
    for n in range(5):
        post = PostFactory(author=owner, title=f"Post {n}")
        LikeFactory(post=post, user=other)
        CommentFactory(post=post, author=other, body="Hi")

    # 1: the page of posts, with author, job and video joined and the like count, comment count,
    #    liked_by_me and the dubbed file's name, kind and type as subqueries. No count query
    #    (cursor pagination), no user query (force_authenticate).
    with django_assert_num_queries(1):
        response = other_client.get("/api/v1/posts")

    assert len(response.json()["results"]) == 5
    cursor = _cursor(other_client.get("/api/v1/posts?page_size=2").json()["next"])
    assert "t=" in b64decode(cursor).decode()


def test_a_new_users_feed_is_empty(other_client, db):
    assert other_client.get("/api/v1/posts").json() == {"next": None, "previous": None, "results": []}


# --- Changing and deleting posts -------------------------------------------------------------------


def test_the_author_edits_the_post(owner_client, post):
    response = owner_client.patch(f"/api/v1/posts/{post.id}", {"title": "Better title"})

    assert response.status_code == 200 and response.json()["title"] == "Better title"
    assert response.json()["description"] == "First try."


def test_editing_or_deleting_someone_elses_post_is_not_found(other_client, post):
    patch = other_client.patch(f"/api/v1/posts/{post.id}", {"title": "Hacked"})
    delete = other_client.delete(f"/api/v1/posts/{post.id}")

    assert patch.status_code == 404 and delete.status_code == 404
    post.refresh_from_db()
    assert post.title == "Alice's Spanish dub"


def test_deleting_a_post_keeps_the_job(owner_client, post):
    response = owner_client.delete(f"/api/v1/posts/{post.id}")

    assert response.status_code == 204
    assert not Post.objects.exists()
    assert DubbingJob.objects.filter(pk=post.job_id).exists()


def test_deleting_the_job_or_its_video_removes_its_posts(owner, media_root):
    by_job = PostFactory(author=owner)
    by_video = PostFactory(author=owner)

    DubbingJob.objects.filter(pk=by_job.job_id).delete()
    by_video.job.video.delete()

    assert not Post.objects.exists()


# --- Likes --------------------------------------------------------------------------------------------


def test_liking_is_idempotent_and_unliking_what_is_not_liked_is_fine(other_client, post):
    first = other_client.post(f"/api/v1/posts/{post.id}/like")
    second = other_client.post(f"/api/v1/posts/{post.id}/like")

    assert first.json() == second.json() == {"like_count": 1, "liked_by_me": True}
    assert Like.objects.count() == 1
    assert other_client.delete(f"/api/v1/posts/{post.id}/like").json() == {"like_count": 0, "liked_by_me": False}
    assert other_client.delete(f"/api/v1/posts/{post.id}/like").json() == {"like_count": 0, "liked_by_me": False}


def test_the_author_sees_the_like(owner_client, other_client, post):
    other_client.post(f"/api/v1/posts/{post.id}/like")

    body = owner_client.get(f"/api/v1/posts/{post.id}").json()

    assert body["like_count"] == 1 and body["liked_by_me"] is False


def test_the_database_keeps_one_like_per_user_and_post(other, post):
    from django.db import IntegrityError, transaction

    LikeFactory(post=post, user=other)
    with pytest.raises(IntegrityError), transaction.atomic():
        LikeFactory(post=post, user=other)


# --- Comments ------------------------------------------------------------------------------------------


def test_another_user_comments_and_the_author_sees_it(owner_client, other_client, other, post):
    response = other_client.post(f"/api/v1/posts/{post.id}/comments", {"body": "  Great dub!  "})

    assert response.status_code == 201
    assert response.json()["body"] == "Great dub!"
    assert response.json()["author"] == {"id": str(other.id), "name": "Bob"}
    listing = owner_client.get(f"/api/v1/posts/{post.id}/comments").json()
    assert listing["count"] == 1 and listing["results"][0]["body"] == "Great dub!"


@pytest.mark.parametrize("body", ["", "   \n "])
def test_an_empty_comment_is_refused(other_client, post, body):
    response = other_client.post(f"/api/v1/posts/{post.id}/comments", {"body": body})

    assert response.status_code == 400
    assert response.json()["code"] == "comment_empty" and "body" in response.json()["errors"]
    assert not Comment.objects.exists()


def test_a_comment_longer_than_2000_characters_is_refused(other_client, post):
    exact = other_client.post(f"/api/v1/posts/{post.id}/comments", {"body": "x" * 2000})
    over = other_client.post(f"/api/v1/posts/{post.id}/comments", {"body": "x" * 2001})

    assert exact.status_code == 201
    assert over.status_code == 400 and over.json()["code"] == "comment_too_long"
    assert Comment.objects.count() == 1


def test_commenting_too_fast_is_throttled(other_client, post, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "comment": "3/min"},
    }
    for n in range(3):
        assert other_client.post(f"/api/v1/posts/{post.id}/comments", {"body": f"c{n}"}).status_code == 201

    response = other_client.post(f"/api/v1/posts/{post.id}/comments", {"body": "one more"})

    assert response.status_code == 429
    assert response.json()["code"] == "throttled" and int(response["Retry-After"]) > 0
    assert Comment.objects.count() == 3
    # Reading is not throttled by the comment scope.
    assert other_client.get(f"/api/v1/posts/{post.id}/comments").status_code == 200


def test_a_posts_comments_are_three_queries(other_client, owner, other, post, django_assert_num_queries):
    for n in range(5):
        CommentFactory(post=post, author=other if n % 2 else owner, body=f"c{n}")

    # 1: the post (visible to me?), 2: the count of its visible comments, 3: the page of comments
    #    with their authors joined.
    with django_assert_num_queries(3):
        response = other_client.get(f"/api/v1/posts/{post.id}/comments")

    assert [c["body"] for c in response.json()["results"]] == [f"c{n}" for n in range(5)]


def test_i_edit_my_comment_but_not_someone_elses(owner_client, other_client, other, post):
    comment = CommentFactory(post=post, author=other, body="Typo")

    mine = other_client.patch(f"/api/v1/comments/{comment.id}", {"body": "Fixed"})
    theirs = owner_client.patch(f"/api/v1/comments/{comment.id}", {"body": "Changed by the post's author"})

    assert mine.status_code == 200 and mine.json()["body"] == "Fixed"
    assert theirs.status_code == 404
    assert other_client.patch(f"/api/v1/comments/{comment.id}", {"body": ""}).status_code == 400


def test_deleting_someone_elses_comment_is_not_found(other_client, owner, staff, post):
    comment = CommentFactory(post=post, author=owner, body="Mine")
    on_other_post = PostFactory(author=staff)
    theirs = CommentFactory(post=on_other_post, author=staff, body="Staff's")

    assert other_client.delete(f"/api/v1/comments/{comment.id}").status_code == 404
    assert other_client.delete(f"/api/v1/comments/{theirs.id}").status_code == 404
    assert Comment.objects.count() == 2


def test_the_comment_author_and_the_post_author_may_delete_a_comment(owner_client, other_client, other, post):
    first = CommentFactory(post=post, author=other, body="one")
    second = CommentFactory(post=post, author=other, body="two")

    assert other_client.delete(f"/api/v1/comments/{first.id}").status_code == 204
    assert owner_client.delete(f"/api/v1/comments/{second.id}").status_code == 204
    assert not Comment.objects.exists()


# --- Hidden content -----------------------------------------------------------------------------------


def test_a_hidden_post_disappears_for_everyone_but_staff(owner_client, other_client, staff, post):
    post.hidden = True
    post.save()
    staff_client = _client_for(staff)

    assert other_client.get("/api/v1/posts").json()["results"] == []
    assert owner_client.get("/api/v1/posts").json()["results"] == []
    for client in (owner_client, other_client):
        assert client.get(f"/api/v1/posts/{post.id}").status_code == 404
        assert client.post(f"/api/v1/posts/{post.id}/like").status_code == 404
        assert client.get(f"/api/v1/posts/{post.id}/comments").status_code == 404
        assert client.post(f"/api/v1/posts/{post.id}/comments", {"body": "hi"}).status_code == 404
        assert client.post(f"/api/v1/posts/{post.id}/report", {"reason": "x"}).status_code == 404
    staff_view = staff_client.get(f"/api/v1/posts/{post.id}")
    assert staff_view.status_code == 200 and staff_view.json()["hidden"] is True
    assert [p["id"] for p in staff_client.get("/api/v1/posts").json()["results"]] == [str(post.id)]


def test_a_hidden_comment_disappears_for_everyone_but_staff(owner_client, other_client, other, staff, post):
    visible = CommentFactory(post=post, author=other, body="Fine")
    hidden = CommentFactory(post=post, author=other, body="Rude", hidden=True)

    for client in (owner_client, other_client):
        assert [c["body"] for c in client.get(f"/api/v1/posts/{post.id}/comments").json()["results"]] == ["Fine"]
        assert client.get(f"/api/v1/posts/{post.id}").json()["comment_count"] == 1
        assert client.delete(f"/api/v1/comments/{hidden.id}").status_code == 404
        assert client.post(f"/api/v1/comments/{hidden.id}/report", {"reason": "x"}).status_code == 404
    staff_bodies = [c["body"] for c in _client_for(staff).get(f"/api/v1/posts/{post.id}/comments").json()["results"]]
    assert staff_bodies == ["Fine", "Rude"]
    assert visible.id


def _client_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


# --- Reports --------------------------------------------------------------------------------------------


def test_reporting_a_post_twice_makes_one_report(other_client, other, post):
    first = other_client.post(f"/api/v1/posts/{post.id}/report", {"reason": "Spam"})
    second = other_client.post(f"/api/v1/posts/{post.id}/report", {"reason": "Spam again"})

    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    report = Report.objects.get()
    assert (report.reporter, report.post, report.reason) == (other, post, "Spam")


def test_reporting_a_comment_twice_makes_one_report(owner_client, other, post):
    comment = CommentFactory(post=post, author=other, body="Rude words")

    first = owner_client.post(f"/api/v1/comments/{comment.id}/report", {"reason": "Rude"})
    second = owner_client.post(f"/api/v1/comments/{comment.id}/report", {"reason": "Rude"})

    assert first.status_code == 201 and second.status_code == 200
    assert Report.objects.filter(comment=comment).count() == 1


def test_a_report_needs_a_reason(other_client, post):
    response = other_client.post(f"/api/v1/posts/{post.id}/report", {"reason": "  "})

    assert response.status_code == 400 and "reason" in response.json()["errors"]
    assert not Report.objects.exists()


def test_two_users_reporting_the_same_post_make_two_reports(other_client, staff, post):
    other_client.post(f"/api/v1/posts/{post.id}/report", {"reason": "Spam"})
    _client_for(staff).post(f"/api/v1/posts/{post.id}/report", {"reason": "Spam"})

    assert Report.objects.count() == 2


# --- My gallery --------------------------------------------------------------------------------------------


def test_my_gallery_lists_my_succeeded_jobs_only(owner_client, owner, other, media_root):
    mine = DubbedJobFactory(owner=owner)
    DubbedJobFactory(owner=owner, status=JobStatus.FAILED)
    DubbedJobFactory(owner=other)

    body = owner_client.get("/api/v1/gallery").json()

    assert body["count"] == 1
    item = body["results"][0]
    assert item["job"]["id"] == str(mine.id)
    assert (item["folder"], item["favorite"], item["post_id"]) == ("", False, None)
    assert item["job"]["title"] == "My talk" and item["job"]["thumbnail_url"]


def test_i_put_a_dub_in_a_folder_and_mark_it_a_favourite(owner_client, owner, media_root):
    job = DubbedJobFactory(owner=owner)
    DubbedJobFactory(owner=owner)

    response = owner_client.patch(f"/api/v1/gallery/{job.id}", {"folder": " Travel ", "favorite": True})

    assert response.status_code == 200
    assert (response.json()["folder"], response.json()["favorite"]) == ("Travel", True)
    assert [i["job"]["id"] for i in owner_client.get("/api/v1/gallery?folder=Travel").json()["results"]] == [str(job.id)]
    assert [i["job"]["id"] for i in owner_client.get("/api/v1/gallery?favorite=true").json()["results"]] == [str(job.id)]
    assert owner_client.get("/api/v1/gallery?favorite=false").json()["count"] == 1
    # Changing one field keeps the other.
    owner_client.patch(f"/api/v1/gallery/{job.id}", {"favorite": False})
    assert GalleryItem.objects.get(job=job).folder == "Travel"


def test_the_gallery_shows_which_dubs_are_shared(owner_client, post):
    item = owner_client.get("/api/v1/gallery").json()["results"][0]

    assert item["post_id"] == str(post.id)


def test_changing_another_users_gallery_item_is_not_found(other_client, job):
    response = other_client.patch(f"/api/v1/gallery/{job.id}", {"favorite": True})

    assert response.status_code == 404
    assert not GalleryItem.objects.exists()


def test_a_job_that_has_not_succeeded_is_not_in_the_gallery(owner_client, owner, media_root):
    job = DubbedJobFactory(owner=owner, status=JobStatus.RUNNING)

    response = owner_client.patch(f"/api/v1/gallery/{job.id}", {"favorite": True})

    assert response.status_code == 409 and response.json()["code"] == "job_not_succeeded"


def test_my_gallery_is_two_queries(owner_client, owner, media_root, django_assert_num_queries):
    for _ in range(4):
        DubbedJobFactory(owner=owner)
    owner_client.patch(f"/api/v1/gallery/{DubbedJobFactory(owner=owner).id}", {"folder": "A"})

    # 1: the count of my succeeded jobs, 2: the page, with video and gallery item joined and
    #    the post id as a subquery.
    with django_assert_num_queries(2):
        response = owner_client.get("/api/v1/gallery")

    assert response.json()["count"] == 5
