"""The community pages: the feed grid, a post with its comments, publishing from a finished dub,
my gallery; HTML in titles and comments shown as text; other users' items 404; no-JS forms."""

from __future__ import annotations

import re
import uuid

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from community.models import Comment, GalleryItem, Like, Post, Report
from community.tests.factories import CommentFactory, GalleryItemFactory, LikeFactory, PostFactory
from dubbing.tests.factories import DubbedJobFactory
from dubbing.models import JobStatus

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


def _html(response) -> str:
    return response.content.decode()


# --- The feed -----------------------------------------------------------------------------------------


def test_the_feed_is_a_grid_of_inline_players_with_like_buttons(other_browser, post):
    html = _html(other_browser.get("/community"))

    assert 'class="post-grid"' in html
    card = re.search(rf'<li class="post-card card" id="post-{post.id}">.*?</li>', html, re.DOTALL).group(0)
    assert "<video" in card and "controls" in card and "playsinline" in card and 'preload="none"' in card
    assert f"/media/jobs/{post.job_id}/dubbed_video?t=" in card
    assert f'poster="/media/videos/{post.job.video_id}/thumbnail?t=' in card
    assert f'data-api-url="/api/v1/posts/{post.id}/like"' in card
    assert 'aria-pressed="false"' in card
    assert f'href="/community/posts/{post.id}"' in card
    assert "js/community_likes.js" in html
    # Filters have labels.
    assert '<label for="feed-ordering">' in html and '<label for="feed-language">' in html


def test_the_feed_page_is_five_queries(other_browser, owner, other, media_root, django_assert_num_queries):
    for n in range(4):
        LikeFactory(post=PostFactory(author=owner, title=f"Post {n}"), user=other)

    # 1: the session, 2: the user, 3: the page of posts (everything joined or subqueried),
    # 4: the languages for the filter, 5: the balance in the header.
    with django_assert_num_queries(5):
        response = other_browser.get("/community")

    assert _html(response).count('class="post-card card"') == 4


def test_the_feed_page_filters_by_language_and_author_and_orders_by_likes(other_browser, owner, other, media_root):
    PostFactory(author=owner, title="Spanish one", job__target_language="es")
    loved = PostFactory(author=other, title="French one", job__target_language="fr")
    LikeFactory(post=loved, user=owner)

    spanish = _html(other_browser.get("/community?language=es"))
    bobs = _html(other_browser.get(f"/community?author={other.id}"))
    liked = _html(other_browser.get("/community?ordering=-like_count"))

    assert "Spanish one" in spanish and "French one" not in spanish
    assert "French one" in bobs and "Spanish one" not in bobs and "Posts by <strong>Bob</strong>" in bobs
    assert liked.index("French one") < liked.index("Spanish one")


def test_the_feed_page_links_to_more_posts_without_repeating_one(other_browser, owner, media_root):
    for n in range(22):
        PostFactory(author=owner, title=f"Post {n:02d}")

    first = _html(other_browser.get("/community"))
    more = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    PostFactory(author=owner, title="Arrived meanwhile")
    second = _html(other_browser.get(more))

    titles = re.findall(r'id="post-title-[^"]+"><a href="[^"]+">([^<]+)</a>', first + second)
    assert titles == [f"Post {n:02d}" for n in range(21, -1, -1)]


def test_a_title_with_html_is_shown_as_text_in_the_feed_and_on_the_post_page(other_browser, owner, media_root):
    post = PostFactory(author=owner, title=SCRIPT, description=f"Look {SCRIPT}")

    feed = _html(other_browser.get("/community"))
    page = _html(other_browser.get(f"/community/posts/{post.id}"))

    for html in (feed, page):
        assert SCRIPT not in html
        assert ESCAPED in html
    assert f"Look {ESCAPED}" in page


def test_a_hidden_post_is_not_in_the_feed_and_its_page_is_404_except_for_staff(
    owner_browser, other_browser, staff_browser, post
):
    post.hidden = True
    post.save()

    assert str(post.id) not in _html(other_browser.get("/community"))
    assert other_browser.get(f"/community/posts/{post.id}").status_code == 404
    assert owner_browser.get(f"/community/posts/{post.id}").status_code == 404
    staff_page = staff_browser.get(f"/community/posts/{post.id}")
    assert staff_page.status_code == 200 and "Hidden by staff" in _html(staff_page)


def test_the_community_pages_need_a_login(client, post):
    for path in ("/community", f"/community/posts/{post.id}", "/gallery"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response["Location"]


# --- A post and its comments ------------------------------------------------------------------------------


def test_the_post_page_plays_the_dub_and_lists_comments_as_text(other_browser, owner, other, post):
    CommentFactory(post=post, author=owner, body=f"Thanks {SCRIPT}\nsecond line")
    CommentFactory(post=post, author=other, body="<b>bold?</b>")

    html = _html(other_browser.get(f"/community/posts/{post.id}"))

    assert "<video" in html and f"/media/jobs/{post.job_id}/dubbed_video?t=" in html
    assert SCRIPT not in html and f"Thanks {ESCAPED}<br>second line" in html
    assert "<b>bold?</b>" not in html and "&lt;b&gt;bold?&lt;/b&gt;" in html
    assert '<label for="comment-body">Add a comment</label>' in html
    assert 'maxlength="2000"' in html
    assert "Comments <span class=\"muted\">(2)</span>" in html


def test_the_post_page_is_six_queries(other_browser, owner, other, post, django_assert_num_queries):
    for n in range(6):
        CommentFactory(post=post, author=other if n % 2 else owner, body=f"c{n}")

    # 1: the session, 2: the user, 3: the post (author, job, video joined; counts and media as
    # subqueries), 4: the count of its visible comments, 5: the page of comments with authors,
    # 6: the balance in the header.
    with django_assert_num_queries(6):
        response = other_browser.get(f"/community/posts/{post.id}")

    assert _html(response).count('class="comment"') == 6


def test_a_comment_from_the_page_form(other_browser, post):
    response = other_browser.post(f"/community/posts/{post.id}/comments", {"body": "Lovely voice"})

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/community/posts/{post.id}#comment-{comment.id}"
    assert comment.body == "Lovely voice"


@pytest.mark.parametrize(("body", "message"), [("  ", "may not be empty"), ("x" * 2001, "At most 2,000")])
def test_an_empty_or_too_long_comment_from_the_page_is_400_and_keeps_the_text(other_browser, post, body, message):
    response = other_browser.post(f"/community/posts/{post.id}/comments", {"body": body})

    assert response.status_code == 400
    html = _html(response)
    assert message in html and 'aria-invalid="true"' in html
    assert not Comment.objects.exists()


def test_commenting_too_fast_from_the_page_is_429(other_browser, post, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "comment": "2/min"},
    }
    other_browser.post(f"/community/posts/{post.id}/comments", {"body": "one"})
    other_browser.post(f"/community/posts/{post.id}/comments", {"body": "two"})

    response = other_browser.post(f"/community/posts/{post.id}/comments", {"body": "three"})

    assert response.status_code == 429 and "too fast" in _html(response)
    assert Comment.objects.count() == 2


def test_delete_buttons_show_for_my_comments_and_for_all_comments_on_my_post(owner_browser, other_browser, owner, other, post):
    mine = CommentFactory(post=post, author=other, body="by Bob")
    authors = CommentFactory(post=post, author=owner, body="by Alice")

    as_bob = _html(other_browser.get(f"/community/posts/{post.id}"))
    as_alice = _html(owner_browser.get(f"/community/posts/{post.id}"))

    assert f"/community/comments/{mine.id}/delete" in as_bob
    assert f"/community/comments/{authors.id}/delete" not in as_bob
    assert f"/community/comments/{mine.id}/delete" in as_alice and f"/community/comments/{authors.id}/delete" in as_alice
    assert f"/community/posts/{post.id}/edit" in as_alice and f"/community/posts/{post.id}/edit" not in as_bob


def test_deleting_or_editing_someone_elses_things_from_the_pages_is_404(owner_browser, other_browser, owner, staff, post):
    alices = CommentFactory(post=post, author=owner, body="Alice's")

    assert other_browser.post(f"/community/comments/{alices.id}/delete").status_code == 404
    assert other_browser.post(f"/community/posts/{post.id}/edit", {"title": "Hacked"}).status_code == 404
    assert other_browser.post(f"/community/posts/{post.id}/delete").status_code == 404
    assert Comment.objects.filter(pk=alices.pk).exists() and Post.objects.get().title != "Hacked"


def test_the_post_author_deletes_a_comment_and_the_post_from_the_pages(owner_browser, other, post):
    comment = CommentFactory(post=post, author=other, body="Bob's")

    assert owner_browser.post(f"/community/comments/{comment.id}/delete").status_code == 302
    assert owner_browser.post(f"/community/posts/{post.id}/delete").status_code == 302
    assert not Comment.objects.exists() and not Post.objects.exists()


def test_liking_from_the_page_without_javascript(other_browser, other, post):
    response = other_browser.post(
        f"/community/posts/{post.id}/like", {"action": "like", "next": "/community?ordering=-like_count"}
    )
    again = other_browser.post(f"/community/posts/{post.id}/like", {"action": "like", "next": "https://evil.example/"})

    assert response.status_code == 302 and response["Location"] == "/community?ordering=-like_count"
    assert again["Location"] == f"/community/posts/{post.id}"
    assert Like.objects.filter(post=post, user=other).count() == 1
    html = _html(other_browser.get(f"/community/posts/{post.id}"))
    assert 'aria-pressed="true"' in html and 'name="action" value="unlike"' in html
    other_browser.post(f"/community/posts/{post.id}/like", {"action": "unlike"})
    assert not Like.objects.exists()


def test_reporting_from_the_page_twice_makes_one_report(other_browser, owner, post):
    comment = CommentFactory(post=post, author=owner, body="Rude")

    other_browser.post(f"/community/posts/{post.id}/report", {"reason": "Spam"})
    other_browser.post(f"/community/posts/{post.id}/report", {"reason": "Spam"})
    other_browser.post(f"/community/comments/{comment.id}/report", {"reason": "Rude"})
    response = other_browser.post(f"/community/comments/{comment.id}/report", {"reason": "Rude"}, follow=True)

    assert Report.objects.count() == 2
    assert "You already reported this" in _html(response)


# --- Publishing ---------------------------------------------------------------------------------------------


def test_the_publish_partial_renders_a_labelled_form_for_a_succeeded_job(owner, job):
    request = RequestFactory().get("/")
    request.user = owner

    html = render_to_string("community/_publish.html", {"job": job}, request=request)

    assert f'action="/community/publish/{job.id}"' in html
    assert f'<label for="publish-title-{job.id}">Title</label>' in html
    assert f'<label for="publish-description-{job.id}">' in html
    assert 'value="My talk"' in html and 'name="csrfmiddlewaretoken"' in html
    assert ">Publish</button>" in html


def test_the_publish_partial_renders_nothing_for_a_job_that_has_not_succeeded(owner, media_root):
    job = DubbedJobFactory(owner=owner, status=JobStatus.RUNNING)

    assert render_to_string("community/_publish.html", {"job": job}).strip() == ""


def test_publishing_from_the_page(owner_browser, job):
    response = owner_browser.post(f"/community/publish/{job.id}", {"title": SCRIPT, "description": "Hi"})

    post = Post.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/community/posts/{post.id}"
    assert post.title == SCRIPT  # stored as typed, shown escaped
    page = _html(owner_browser.get(response["Location"]))
    assert SCRIPT not in page and ESCAPED in page


def test_publishing_from_the_page_with_no_title_says_so(owner_browser, job):
    response = owner_browser.post(f"/community/publish/{job.id}", {"title": " ", "description": "Kept"})

    assert response.status_code == 400
    html = _html(response)
    assert "may not be empty" in html and ">Kept</textarea>" in html
    assert not Post.objects.exists()


def test_publishing_someone_elses_job_from_the_page_is_404(other_browser, job):
    assert other_browser.post(f"/community/publish/{job.id}", {"title": "Mine"}).status_code == 404
    assert other_browser.get(f"/community/publish/{job.id}").status_code == 404
    assert not Post.objects.exists()


def test_publishing_an_unfinished_job_from_the_page_goes_back_to_the_job(owner_browser, owner, media_root):
    job = DubbedJobFactory(owner=owner, status=JobStatus.RUNNING)

    response = owner_browser.post(f"/community/publish/{job.id}", {"title": "Early"})

    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.id}"
    assert not Post.objects.exists()


def test_publishing_a_shared_dub_again_goes_to_its_post(owner_browser, post):
    response = owner_browser.post(f"/community/publish/{post.job_id}", {"title": "Again"})

    assert response.status_code == 302 and response["Location"] == f"/community/posts/{post.id}"
    assert Post.objects.count() == 1


# --- My gallery ------------------------------------------------------------------------------------------------


def test_my_gallery_shows_my_finished_dubs_with_folders_favourites_and_publish(owner_browser, owner, other, media_root):
    job = DubbedJobFactory(owner=owner)
    shared = PostFactory(author=owner, title="Shared one")
    DubbedJobFactory(owner=owner, status=JobStatus.FAILED)
    DubbedJobFactory(owner=other)
    GalleryItemFactory(job=job, folder="Travel <b>", favorite=True)

    html = _html(owner_browser.get("/gallery"))

    assert html.count('class="card gallery-item"') == 2
    assert f'action="/community/publish/{job.id}"' in html
    assert f'href="/community/posts/{shared.id}"' in html and f'action="/community/publish/{shared.job_id}"' not in html
    assert "Travel &lt;b&gt;" in html and "Travel <b>" not in html
    assert f'<label for="folder-{job.id}" class="visually-hidden">' in html
    assert 'aria-pressed="true"' in html and f'data-api-url="/api/v1/gallery/{job.id}"' in html


def test_my_gallery_by_folder_and_favourites(owner_browser, owner, media_root):
    travel = DubbedJobFactory(owner=owner)
    work = DubbedJobFactory(owner=owner)
    GalleryItemFactory(job=travel, folder="Travel")
    GalleryItemFactory(job=work, folder="Work", favorite=True)

    in_travel = _html(owner_browser.get("/gallery?folder=Travel"))
    favourites = _html(owner_browser.get("/gallery?folder=%E2%98%85"))

    assert f'id="gallery-{travel.id}"' in in_travel and f'id="gallery-{work.id}"' not in in_travel
    assert f'id="gallery-{work.id}"' in favourites and f'id="gallery-{travel.id}"' not in favourites


def test_moving_a_dub_to_a_folder_and_starring_it_from_the_page(owner_browser, job):
    owner_browser.post(f"/gallery/{job.id}", {"folder": "Holidays", "next": "/gallery"})
    owner_browser.post(f"/gallery/{job.id}", {"favorite": "1"})

    item = GalleryItem.objects.get(job=job)
    assert (item.folder, item.favorite) == ("Holidays", True)


def test_changing_someone_elses_gallery_item_from_the_page_is_404(other_browser, job):
    assert other_browser.post(f"/gallery/{job.id}", {"favorite": "1"}).status_code == 404
    assert other_browser.post(f"/gallery/{uuid.uuid4()}", {"favorite": "1"}).status_code == 404
    assert not GalleryItem.objects.exists()
