"""Writes for the community: publishing, likes, comments, reports, moderation and the gallery.

The API, the pages and the admin call these. Input rules (lengths, empty text) live here, once,
so a page form and the API refuse the same things with the same codes.

Races are settled by the database: one like per user and post and one report per user and item
are unique constraints; a like is an INSERT ... ON CONFLICT DO NOTHING, so two at once leave one
row and neither fails.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from community.errors import (
    AlreadyPublished,
    CommunityErrorCode,
    InvalidInput,
    JobNotSucceeded,
)
from community.models import (
    COMMENT_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    FOLDER_MAX_LENGTH,
    REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Comment,
    GalleryItem,
    Like,
    Post,
    Report,
)
from dubbing import selectors as job_selectors
from dubbing.models import DubbingJob, JobStatus


def _text(value: str | None, *, field: str, max_length: int, required: bool, empty_code: str | None = None,
          long_code: str | None = None) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(gettext("This field may not be empty."), field=field, code=empty_code)
    if len(text) > max_length:
        raise InvalidInput(
            gettext("At most %(limit)s characters (this has %(count)s).")
            % {"limit": f"{max_length:,}", "count": f"{len(text):,}"},
            field=field, code=long_code,
        )
    return text


# --- Posts --------------------------------------------------------------------------------------


def post_publish(*, author, job_id, title: str, description: str = "") -> Post:
    """Share one of the author's succeeded jobs. Another user's job: not found; a job that has not
    succeeded: 409; a job already shared: 409 `already_published` (carrying that post)."""
    job = job_selectors.job_get(owner_id=author.pk, job_id=job_id)  # JobNotFound for anyone else's
    if job.status != JobStatus.SUCCEEDED:
        raise JobNotSucceeded()
    title = _text(title, field="title", max_length=TITLE_MAX_LENGTH, required=True)
    description = _text(description, field="description", max_length=DESCRIPTION_MAX_LENGTH, required=False)
    try:
        with transaction.atomic():
            return Post.objects.create(author=author, job=job, title=title, description=description)
    except IntegrityError:
        raise AlreadyPublished(post=Post.objects.filter(job=job).first()) from None


def post_update(*, post: Post, title: str | None = None, description: str | None = None) -> Post:
    fields = []
    if title is not None:
        post.title = _text(title, field="title", max_length=TITLE_MAX_LENGTH, required=True)
        fields.append("title")
    if description is not None:
        post.description = _text(description, field="description", max_length=DESCRIPTION_MAX_LENGTH, required=False)
        fields.append("description")
    if fields:
        post.save(update_fields=[*fields, "updated_at"])
    return post


def post_delete(*, post: Post) -> None:
    """The post, its likes, comments and reports go; the job and its files stay."""
    Post.objects.filter(pk=post.pk).delete()


def post_like(*, post: Post, user) -> None:
    """Idempotent: liking twice, or two likes racing, leaves one like."""
    Like.objects.bulk_create([Like(post=post, user=user)], ignore_conflicts=True)


def post_unlike(*, post: Post, user) -> None:
    """Idempotent: unliking what is not liked is not an error."""
    Like.objects.filter(post=post, user=user).delete()


# --- Comments -----------------------------------------------------------------------------------


def _comment_body(body: str) -> str:
    return _text(
        body, field="body", max_length=COMMENT_MAX_LENGTH, required=True,
        empty_code=CommunityErrorCode.COMMENT_EMPTY.value, long_code=CommunityErrorCode.COMMENT_TOO_LONG.value,
    )


def comment_create(*, post: Post, author, body: str) -> Comment:
    return Comment.objects.create(post=post, author=author, body=_comment_body(body))


def comment_update(*, comment: Comment, body: str) -> Comment:
    comment.body = _comment_body(body)
    comment.save(update_fields=["body"])
    return comment


def comment_delete(*, comment: Comment) -> None:
    Comment.objects.filter(pk=comment.pk).delete()


# --- Reports and moderation -----------------------------------------------------------------------


def report_create(*, reporter, reason: str, post: Post | None = None, comment: Comment | None = None
                  ) -> tuple[Report, bool]:
    """Report a post or a comment. Once per user and item: a second report returns the first
    (created False) and changes nothing, also when two arrive at once."""
    if (post is None) == (comment is None):
        # A programming error: each report endpoint passes the one item its URL names.
        raise TypeError("Report exactly one of a post or a comment.")
    reason = _text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=True)
    item = {"post": post} if post is not None else {"comment": comment}
    return Report.objects.get_or_create(reporter=reporter, **item, defaults={"reason": reason})


def _set_hidden(queryset: QuerySet, *, hidden: bool, staff) -> int:
    if hidden:
        return queryset.filter(hidden=False).update(hidden=True, hidden_at=timezone.now(), hidden_by=staff)
    return queryset.filter(hidden=True).update(hidden=False, hidden_at=None, hidden_by=None)


def posts_set_hidden(*, posts: QuerySet[Post], hidden: bool, staff) -> int:
    """Hide (or show again) posts. Returns how many changed."""
    return _set_hidden(posts, hidden=hidden, staff=staff)


def comments_set_hidden(*, comments: QuerySet[Comment], hidden: bool, staff) -> int:
    return _set_hidden(comments, hidden=hidden, staff=staff)


def reports_resolve(*, reports: QuerySet[Report], staff) -> int:
    """Mark reports resolved, by whom and when. Returns how many were still open."""
    return reports.filter(resolved=False).update(resolved=True, resolved_by=staff, resolved_at=timezone.now())


@transaction.atomic
def reports_hide_items(*, reports: QuerySet[Report], staff, resolve: bool = True) -> tuple[int, int]:
    """Hide what the reports point at and (by default) resolve them. Returns (posts, comments) hidden."""
    reports = Report.objects.filter(pk__in=reports.values("pk"))
    posts = posts_set_hidden(
        posts=Post.objects.filter(pk__in=reports.exclude(post=None).values("post")), hidden=True, staff=staff
    )
    comments = comments_set_hidden(
        comments=Comment.objects.filter(pk__in=reports.exclude(comment=None).values("comment")),
        hidden=True, staff=staff,
    )
    if resolve:
        reports_resolve(reports=reports, staff=staff)
    return posts, comments


# --- My gallery -----------------------------------------------------------------------------------


def gallery_item_update(*, owner, job_id, folder: str | None = None, favorite: bool | None = None) -> DubbingJob:
    """Put one of my succeeded jobs in a folder ("" for none) or mark it a favourite. Returns the
    job with its gallery item."""
    job = job_selectors.job_get(owner_id=owner.pk, job_id=job_id)
    if job.status != JobStatus.SUCCEEDED:
        raise JobNotSucceeded(gettext("Only finished dubs are in the gallery."))
    changes: dict = {}
    if folder is not None:
        changes["folder"] = _text(folder, field="folder", max_length=FOLDER_MAX_LENGTH, required=False)
    if favorite is not None:
        changes["favorite"] = bool(favorite)
    item, _ = GalleryItem.objects.update_or_create(job=job, defaults=changes)
    job.gallery_item = item
    return job
