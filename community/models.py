"""The community gallery: posts of finished dubs, likes, comments, reports, and each user's own
gallery state (folder, favourite) of their finished jobs.

Counts (likes, comments) are never stored: selectors annotate them, so there is no second copy
to drift. A post belongs to a dubbing job and goes with it (and with its video); deleting a post
leaves the job alone.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 5000
COMMENT_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 1000
FOLDER_MAX_LENGTH = 100


class Post(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts", verbose_name=_("author"))
    job = models.ForeignKey("dubbing.DubbingJob", on_delete=models.CASCADE, related_name="posts", verbose_name=_("job"))
    title = models.CharField(max_length=TITLE_MAX_LENGTH, verbose_name=_("title"))
    description = models.TextField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, verbose_name=_("description"))
    hidden = models.BooleanField(default=False, help_text=_("Hidden by staff: only staff still see it."), verbose_name=_("hidden"))
    hidden_at = models.DateTimeField(null=True, blank=True, verbose_name=_("hidden at"))
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("hidden by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["hidden", "-created_at"], name="community_post_feed"),
            models.Index(fields=["author", "-created_at"], name="community_post_author"),
        ]
        constraints = [
            # One post per dub: a double-submitted "Publish" cannot make two.
            models.UniqueConstraint(fields=["job"], name="community_post_one_per_job"),
        ]

    def __str__(self) -> str:
        return self.title


class Like(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes", verbose_name=_("post"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes", verbose_name=_("user"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("like")
        verbose_name_plural = _("likes")
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="community_like_once")]
        indexes = [models.Index(fields=["user", "post"], name="community_like_user")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.post_id}"


class Comment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments", verbose_name=_("post"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments", verbose_name=_("author"))
    body = models.TextField(max_length=COMMENT_MAX_LENGTH, verbose_name=_("body"))
    hidden = models.BooleanField(default=False, help_text=_("Hidden by staff: only staff still see it."), verbose_name=_("hidden"))
    hidden_at = models.DateTimeField(null=True, blank=True, verbose_name=_("hidden at"))
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("hidden by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["post", "hidden", "created_at"], name="community_comment_post")]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="community_comment_not_empty"),
        ]

    def __str__(self) -> str:
        return self.body[:60]


class GalleryItem(models.Model):
    """A user's own arrangement of one finished job: its folder and whether it is a favourite.

    A succeeded job without a row is in no folder and not a favourite; the row is made the first
    time the owner changes either."""

    job = models.OneToOneField(
        "dubbing.DubbingJob", on_delete=models.CASCADE, primary_key=True, related_name="gallery_item", verbose_name=_("job")
    )
    folder = models.CharField(max_length=FOLDER_MAX_LENGTH, blank=True, verbose_name=_("folder"))
    favorite = models.BooleanField(default=False, verbose_name=_("favorite"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("gallery item")
        verbose_name_plural = _("gallery items")

    def __str__(self) -> str:
        return f"{self.job_id} in {self.folder or '(no folder)'}"


class Report(models.Model):
    """A user's report of one post or one comment, once per user and item."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports", verbose_name=_("reporter"))
    post = models.ForeignKey(Post, on_delete=models.CASCADE, null=True, blank=True, related_name="reports", verbose_name=_("post"))
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="reports", verbose_name=_("comment"))
    reason = models.TextField(max_length=REASON_MAX_LENGTH, verbose_name=_("reason"))
    resolved = models.BooleanField(default=False, verbose_name=_("resolved"))
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("resolved by")
    )
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["resolved", "created_at"], name="community_report_queue")]
        constraints = [
            models.CheckConstraint(
                condition=Q(post__isnull=False, comment__isnull=True) | Q(post__isnull=True, comment__isnull=False),
                name="community_report_one_item",
            ),
            models.UniqueConstraint(
                fields=["reporter", "post"], condition=Q(post__isnull=False), name="community_report_post_once"
            ),
            models.UniqueConstraint(
                fields=["reporter", "comment"], condition=Q(comment__isnull=False), name="community_report_comment_once"
            ),
        ]

    def __str__(self) -> str:
        item = f"post {self.post_id}" if self.post_id else f"comment {self.comment_id}"
        return f"Report of {item} by {self.reporter_id}"

    @property
    def item(self) -> Post | Comment | None:
        return self.post if self.post_id else self.comment
