"""Reads for the community. Hidden posts and comments exist only for staff: for everyone else
they are filtered out of every list and are "not found" by id.

A page of posts is ONE query: author, job and video are joined, and the like count, the comment
count, whether the viewer liked it and the dubbed file's storage name are correlated subqueries
(counts are never stored twice).
"""

from __future__ import annotations

import uuid

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from community.errors import CommentNotFound, PostNotFound
from community.models import Comment, GalleryItem, Like, Post
from dubbing.models import Artifact, ArtifactKind, DubbingJob, JobStatus
from dubbing.storage import artifact_url
from videos import storage as video_storage

ORDER_NEWEST = "-created_at"
ORDER_MOST_LIKED = "-like_count"
ORDERINGS = {
    ORDER_NEWEST: ("-created_at", "-id"),
    ORDER_MOST_LIKED: ("-like_count", "-created_at", "-id"),
}
# What a post plays: the dubbed video, or the dubbed audio of an audio-only upload.
MEDIA_KINDS = (ArtifactKind.DUBBED_VIDEO, ArtifactKind.DUBBED_AUDIO)


def as_uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _count_of(model, *, filter_: Q | None = None):
    rows = model.objects.filter(post=OuterRef("pk"))
    if filter_ is not None:
        rows = rows.filter(filter_)
    counted = rows.order_by().values("post").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _can_see_hidden(viewer) -> bool:
    return bool(viewer is not None and viewer.is_authenticated and viewer.is_staff)


def post_queryset(*, viewer) -> QuerySet[Post]:
    """Posts the viewer may see, with everything a card shows, in one query."""
    media = Artifact.objects.filter(job=OuterRef("job_id"), kind__in=MEDIA_KINDS).order_by("-kind")  # video first
    posts = (
        Post.objects.select_related("author", "job", "job__video")
        .annotate(
            like_count=_count_of(Like),
            comment_count=_count_of(Comment, filter_=None if _can_see_hidden(viewer) else Q(hidden=False)),
            media_kind=Subquery(media.values("kind")[:1]),
            media_name=Subquery(media.values("name")[:1]),
            media_content_type=Subquery(media.values("content_type")[:1]),
        )
    )
    if viewer is not None and viewer.is_authenticated:
        posts = posts.annotate(liked_by_me=Exists(Like.objects.filter(post=OuterRef("pk"), user_id=viewer.pk)))
    else:
        posts = posts.annotate(liked_by_me=Value(False))
    if not _can_see_hidden(viewer):
        posts = posts.filter(hidden=False)
    return posts


def post_feed(*, viewer, author=None, language: str | None = None) -> QuerySet[Post]:
    """The community feed, filtered as GET /posts allows; the paginator orders it.

    An author id that is not a UUID matches nothing (rather than everything)."""
    posts = post_queryset(viewer=viewer)
    if author:
        author_id = as_uuid(author)
        posts = posts.filter(author_id=author_id) if author_id else posts.none()
    if language:
        posts = posts.filter(job__target_language=language)
    return posts


def post_get(*, viewer, post_id) -> Post:
    post_uuid = as_uuid(post_id)
    post = post_queryset(viewer=viewer).filter(id=post_uuid).first() if post_uuid else None
    if post is None:
        raise PostNotFound()
    return post


def post_visible(*, viewer, post_id) -> Post:
    """The bare row of a post the viewer may see (for likes, comments and reports): one query."""
    post_uuid = as_uuid(post_id)
    posts = Post.objects.filter(id=post_uuid) if post_uuid else Post.objects.none()
    if not _can_see_hidden(viewer):
        posts = posts.filter(hidden=False)
    post = posts.first()
    if post is None:
        raise PostNotFound()
    return post


def post_get_for_author(*, author, post_id) -> Post:
    """A post its author may change or delete: anyone else's is not found (404, never 403)."""
    post = post_get(viewer=author, post_id=post_id)
    if post.author_id != author.pk:
        raise PostNotFound()
    return post


def post_like_state(*, post: Post, user) -> dict:
    """like_count and liked_by_me after a like or an unlike: one query."""
    row = Like.objects.filter(post=post).aggregate(
        like_count=Count("*"), liked_by_me=Count("pk", filter=Q(user_id=user.pk))
    )
    return {"like_count": row["like_count"], "liked_by_me": bool(row["liked_by_me"])}


def post_for_job(*, job) -> Post | None:
    return Post.objects.filter(job=job).first()


def post_video_url(post: Post, *, request=None) -> str | None:
    """A short-lived signed link to the post's dubbed file (only that file of the job)."""
    if not post.media_name:
        return None
    return artifact_url(
        job_id=post.job_id, kind=post.media_kind, name=post.media_name,
        content_type=post.media_content_type or "", request=request,
    )


def post_thumbnail_url(post: Post, *, request=None) -> str | None:
    """A short-lived signed link to the video's thumbnail (never to the original upload)."""
    return video_thumbnail_url(post.job.video, request=request)


def video_thumbnail_url(video, *, request=None) -> str | None:
    if not video.thumbnail:
        return None
    return video_storage.media_url(
        name=video.thumbnail, video_id=video.id, kind=video_storage.THUMBNAIL, content_type="image/jpeg",
        request=request,
    )


def post_languages(*, viewer) -> list[str]:
    """The languages of the posts the viewer can see (the feed's language filter)."""
    posts = Post.objects.all() if _can_see_hidden(viewer) else Post.objects.filter(hidden=False)
    return sorted(posts.order_by().values_list("job__target_language", flat=True).distinct())


# --- Comments -------------------------------------------------------------------------------------


def comment_list(*, viewer, post: Post) -> QuerySet[Comment]:
    """A post's comments the viewer may see, oldest first, with their authors joined."""
    comments = Comment.objects.filter(post=post).select_related("author")
    if not _can_see_hidden(viewer):
        comments = comments.filter(hidden=False)
    return comments.order_by("created_at", "id")


def comment_get(*, viewer, comment_id) -> Comment:
    """A comment the viewer can see, on a post the viewer can see."""
    comment_uuid = as_uuid(comment_id)
    comments = Comment.objects.select_related("post", "author").filter(id=comment_uuid) if comment_uuid else None
    if comments is not None and not _can_see_hidden(viewer):
        comments = comments.filter(hidden=False, post__hidden=False)
    comment = comments.first() if comments is not None else None
    if comment is None:
        raise CommentNotFound()
    return comment


def comment_get_editable(*, user, comment_id) -> Comment:
    """A comment `user` may edit: only their own. Else not found."""
    comment = comment_get(viewer=user, comment_id=comment_id)
    if comment.author_id != user.pk:
        raise CommentNotFound()
    return comment


def comment_get_deletable(*, user, comment_id) -> Comment:
    """A comment `user` may delete: their own, or any on their own post. Else not found."""
    comment = comment_get(viewer=user, comment_id=comment_id)
    if user.pk not in (comment.author_id, comment.post.author_id):
        raise CommentNotFound()
    return comment


# --- My gallery -------------------------------------------------------------------------------------


def _as_bool(value) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    return None


def gallery_list(*, owner, folder: str | None = None, favorite=None) -> QuerySet[DubbingJob]:
    """My succeeded jobs, newest first, each with its video and its gallery state joined.

    `folder` matches a folder name exactly; `favorite` is true or false (anything else: ignored)."""
    jobs = (
        DubbingJob.objects.filter(owner_id=owner.pk, status=JobStatus.SUCCEEDED)
        .select_related("video", "gallery_item")
        .annotate(post_id=Subquery(Post.objects.filter(job=OuterRef("pk")).values("id")[:1]))
        .order_by("-finished_at", "-created_at", "-id")
    )
    if folder:
        jobs = jobs.filter(gallery_item__folder=folder)
    wanted = _as_bool(favorite) if favorite not in (None, "") else None
    if wanted is True:
        jobs = jobs.filter(gallery_item__favorite=True)
    elif wanted is False:
        jobs = jobs.filter(Q(gallery_item__isnull=True) | Q(gallery_item__favorite=False))
    return jobs


def gallery_state(job: DubbingJob) -> dict:
    """folder and favorite of a job from `gallery_list` (no row yet: no folder, not a favourite)."""
    try:
        item = job.gallery_item
    except GalleryItem.DoesNotExist:
        return {"folder": "", "favorite": False}
    return {"folder": item.folder, "favorite": item.favorite}


def gallery_folders(*, owner) -> list[str]:
    names = (
        GalleryItem.objects.filter(job__owner_id=owner.pk, job__status=JobStatus.SUCCEEDED)
        .exclude(folder="")
        .order_by()
        .values_list("folder", flat=True)
        .distinct()
    )
    return sorted(set(names), key=str.casefold)
