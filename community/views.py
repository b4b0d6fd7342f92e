"""Server-rendered community pages: the feed, a post with its comments, my gallery, publishing.

The pages post plain forms to the same services as the API, so everything works without
JavaScript; the scripts add liking and favouriting without reloading (the API with the session).
Every user-written text (titles, descriptions, comments, names) goes through the template's
autoescaping and is shown as text.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.request import Request

from community import selectors, services
from community.errors import (
    AlreadyPublished,
    CommentNotFound,
    InvalidInput,
    JobNotSucceeded,
    PostNotFound,
)
from community.models import COMMENT_MAX_LENGTH
from community.pagination import FeedCursorPagination
from community.selectors import ORDER_MOST_LIKED, ORDER_NEWEST
from community.throttles import comment_throttle_wait
from dubbing.errors import JobNotFound
from dubbing.selectors import job_get_with_video
from onevoice.pagination import InvalidPageParameter

COMMENTS_PER_PAGE = 50
ORDERING_CHOICES = [(ORDER_NEWEST, _("Newest")), (ORDER_MOST_LIKED, _("Most liked"))]
FOLDER_ALL, FOLDER_FAVORITES = "", "★"


def _visible_post(request, post_id):
    try:
        return selectors.post_visible(viewer=request.user, post_id=post_id)
    except PostNotFound:
        raise Http404("Post not found.") from None


def _back(request, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = fallback
    return HttpResponseRedirect(target or fallback)


def _post_url(post_id, anchor: str = "") -> str:
    return reverse("community_post", kwargs={"post_id": post_id}) + (f"#{anchor}" if anchor else "")


def _cards(posts) -> list[dict]:
    return [
        {
            "post": post,
            "video_url": selectors.post_video_url(post),
            "thumbnail_url": selectors.post_thumbnail_url(post),
        }
        for post in posts
    ]


# --- The feed ------------------------------------------------------------------------------------


@require_GET
@login_required
def feed_page(request):
    ordering = request.GET.get("ordering") or ORDER_NEWEST
    if ordering not in dict(ORDERING_CHOICES):
        ordering = ORDER_NEWEST
    language = request.GET.get("language", "")
    author_id = request.GET.get("author", "")
    posts = selectors.post_feed(viewer=request.user, author=author_id or None, language=language or None)
    paginator = FeedCursorPagination(ordering=ordering)
    try:
        page = paginator.paginate_queryset(posts, Request(request))
    except (DRFNotFound, InvalidPageParameter):
        # A page has no field to point at: a bad cursor or page size is a page that does not exist.
        raise Http404("This page of the feed does not exist.") from None
    author = page[0].author if author_id and page else None
    return render(
        request,
        "community/feed.html",
        {
            "cards": _cards(page),
            "next_url": paginator.get_next_link(),
            "previous_url": paginator.get_previous_link(),
            "ordering": ordering,
            "ordering_choices": ORDERING_CHOICES,
            "language": language,
            "languages": selectors.post_languages(viewer=request.user),
            "author_id": author_id,
            "author": author,
        },
    )


# --- One post ------------------------------------------------------------------------------------


def _post_context(request, post_id, **extra) -> dict:
    try:
        post = selectors.post_get(viewer=request.user, post_id=post_id)
    except PostNotFound:
        raise Http404("Post not found.") from None
    comments = Paginator(selectors.comment_list(viewer=request.user, post=post), COMMENTS_PER_PAGE)
    page = comments.get_page(request.GET.get("comments"))
    return {
        "post": post,
        "video_url": selectors.post_video_url(post),
        "thumbnail_url": selectors.post_thumbnail_url(post),
        "comments": page,
        "is_author": post.author_id == request.user.pk,
        "comment_max_length": COMMENT_MAX_LENGTH,
        **extra,
    }


@require_GET
@login_required
def post_page(request, post_id: uuid.UUID):
    return render(request, "community/post.html", _post_context(request, post_id))


@require_POST
@login_required
def post_edit(request, post_id: uuid.UUID):
    try:
        post = selectors.post_get_for_author(author=request.user, post_id=post_id)
    except PostNotFound:
        raise Http404("Post not found.") from None
    try:
        services.post_update(post=post, title=request.POST.get("title", ""), description=request.POST.get("description", ""))
    except InvalidInput as exc:
        messages.error(request, gettext("The post was not changed: %(reason)s") % {"reason": exc.detail})
    else:
        messages.success(request, gettext("The post is updated."))
    return HttpResponseRedirect(_post_url(post.id))


@require_POST
@login_required
def post_delete(request, post_id: uuid.UUID):
    try:
        post = selectors.post_get_for_author(author=request.user, post_id=post_id)
    except PostNotFound:
        raise Http404("Post not found.") from None
    services.post_delete(post=post)
    messages.success(request, gettext("The post is deleted. Your dub is still in your gallery."))
    return HttpResponseRedirect(reverse("community"))


@require_POST
@login_required
def post_like(request, post_id: uuid.UUID):
    post = _visible_post(request, post_id)
    if request.POST.get("action") == "unlike":
        services.post_unlike(post=post, user=request.user)
    else:
        services.post_like(post=post, user=request.user)
    return _back(request, _post_url(post.id))


@require_POST
@login_required
def comment_create(request, post_id: uuid.UUID):
    post = _visible_post(request, post_id)
    body = request.POST.get("body", "")
    wait = comment_throttle_wait(request)
    if wait is not None:
        seconds = int(wait) + 1
        error = ngettext(
            "You are commenting too fast. Wait %(seconds)d second and try again.",
            "You are commenting too fast. Wait %(seconds)d seconds and try again.",
            seconds,
        ) % {"seconds": seconds}
        status = 429
    else:
        try:
            comment = services.comment_create(post=post, author=request.user, body=body)
        except InvalidInput as exc:
            error, status = exc.message, 400
        else:
            return HttpResponseRedirect(_post_url(post.id, f"comment-{comment.id}"))
    context = _post_context(request, post.id, comment_error=error, comment_body=body)
    return render(request, "community/post.html", context, status=status)


@require_POST
@login_required
def comment_delete(request, comment_id: uuid.UUID):
    try:
        comment = selectors.comment_get_deletable(user=request.user, comment_id=comment_id)
    except CommentNotFound:
        raise Http404("Comment not found.") from None
    services.comment_delete(comment=comment)
    messages.success(request, gettext("The comment is deleted."))
    return HttpResponseRedirect(_post_url(comment.post_id, "comments"))


def _report(request, *, post=None, comment=None, back: str):
    try:
        _, created = services.report_create(
            reporter=request.user, reason=request.POST.get("reason", ""), post=post, comment=comment
        )
    except InvalidInput:
        messages.error(request, gettext("Say in a few words what is wrong, then send the report."))
    else:
        messages.success(
            request,
            gettext("Thank you. Our team will look at it.")
            if created
            else gettext("You already reported this; our team will look at it."),
        )
    return HttpResponseRedirect(back)


@require_POST
@login_required
def post_report(request, post_id: uuid.UUID):
    post = _visible_post(request, post_id)
    return _report(request, post=post, back=_post_url(post.id))


@require_POST
@login_required
def comment_report(request, comment_id: uuid.UUID):
    try:
        comment = selectors.comment_get(viewer=request.user, comment_id=comment_id)
    except CommentNotFound:
        raise Http404("Comment not found.") from None
    return _report(request, comment=comment, back=_post_url(comment.post_id, f"comment-{comment.id}"))


# --- Publishing ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def publish_page(request, job_id: uuid.UUID):
    """The "Publish" form of one of my finished dubs (the job page includes the same partial)."""
    try:
        job = job_get_with_video(owner_id=request.user.pk, job_id=job_id)
    except JobNotFound:
        raise Http404("Job not found.") from None
    existing = selectors.post_for_job(job=job)
    if existing is not None and not existing.hidden:
        messages.info(request, gettext("This dub is already shared."))
        return HttpResponseRedirect(_post_url(existing.id))
    context = {"job": job, "publish_title": job.video.title, "publish_description": ""}
    status = 200
    if request.method == "POST":
        title, description = request.POST.get("title", ""), request.POST.get("description", "")
        try:
            post = services.post_publish(author=request.user, job_id=job.id, title=title, description=description)
        except AlreadyPublished as exc:
            messages.info(request, gettext("This dub is already shared."))
            if exc.post is not None and not exc.post.hidden:
                return HttpResponseRedirect(_post_url(exc.post.id))
            return HttpResponseRedirect(reverse("gallery"))
        except JobNotSucceeded as exc:
            messages.error(request, exc.detail)
            return HttpResponseRedirect(reverse("job_detail", kwargs={"job_id": job.id}))
        except InvalidInput as exc:
            context.update(publish_title=title, publish_description=description,
                           publish_errors={exc.field: exc.message})
            status = 400
        else:
            messages.success(request, gettext("Your dub is shared in the community."))
            return HttpResponseRedirect(_post_url(post.id))
    return render(request, "community/publish.html", context, status=status)


# --- My gallery ------------------------------------------------------------------------------------


@require_GET
@login_required
def gallery_page(request):
    folder = request.GET.get("folder", "")
    favorites = folder == FOLDER_FAVORITES
    jobs = selectors.gallery_list(
        owner=request.user, folder=None if favorites else (folder or None), favorite=True if favorites else None
    )
    page = Paginator(jobs, 24).get_page(request.GET.get("page"))
    items = [
        {"job": job, "thumbnail_url": selectors.video_thumbnail_url(job.video), **selectors.gallery_state(job)}
        for job in page
    ]
    return render(
        request,
        "community/gallery.html",
        {
            "items": items,
            "page": page,
            "folder": folder,
            "folders": selectors.gallery_folders(owner=request.user),
            "favorites_key": FOLDER_FAVORITES,
        },
    )


@require_POST
@login_required
def gallery_item_update(request, job_id: uuid.UUID):
    fields: dict = {}
    if "folder" in request.POST:
        fields["folder"] = request.POST["folder"]
    if "favorite" in request.POST:
        fields["favorite"] = request.POST["favorite"] in ("1", "true", "on")
    try:
        services.gallery_item_update(owner=request.user, job_id=job_id, **fields)
    except JobNotFound:
        raise Http404("Job not found.") from None
    except (InvalidInput, JobNotSucceeded) as exc:
        messages.error(request, exc.detail)
    return _back(request, reverse("gallery"))
