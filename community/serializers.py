"""Serializers for the community API (API.md "Community").

Input serializers only shape the body; the rules (empty text, lengths) live in
community.services, once, so the pages and the API refuse the same things with the same codes.
Posts are read from `selectors.post_queryset` rows, which carry their counts as annotations.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from community import selectors
from community.models import (
    COMMENT_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    FOLDER_MAX_LENGTH,
    REASON_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Comment,
    Post,
)
from dubbing.models import ArtifactKind, DubbingJob
from onevoice.serializers import InputSerializer

ANONYMOUS_NAME = "OneVoice user"
# A post's dub, or a video's thumbnail, may be missing (an audio-only upload has no picture): null.
NULLABLE_URL = serializers.URLField(allow_null=True)


def display_name(user) -> str:
    """What others see of a user: their name, never their email."""
    return (user.name or "").strip() or ANONYMOUS_NAME


class AuthorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return display_name(user)


class PostOutputSerializer(serializers.ModelSerializer):
    author = AuthorSerializer()
    video_url = serializers.SerializerMethodField(
        help_text="Short-lived signed link to the dubbed video (or audio, for an audio-only upload)."
    )
    media_type = serializers.SerializerMethodField(help_text='"video" or "audio": what video_url plays.')
    thumbnail_url = serializers.SerializerMethodField(help_text="Short-lived signed link to the thumbnail.")
    target_language = serializers.CharField(source="job.target_language")
    like_count = serializers.IntegerField()
    comment_count = serializers.IntegerField()
    liked_by_me = serializers.BooleanField()
    media_expires_in = serializers.SerializerMethodField(help_text="Seconds the media links stay valid.")

    class Meta:
        model = Post
        fields = [
            "id", "author", "title", "description", "video_url", "media_type", "thumbnail_url",
            "media_expires_in", "target_language", "like_count", "comment_count", "liked_by_me", "hidden",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(NULLABLE_URL)
    def get_video_url(self, post: Post) -> str | None:
        return selectors.post_video_url(post, request=self.context.get("request"))

    def get_media_type(self, post: Post) -> str:
        return "audio" if post.media_kind == ArtifactKind.DUBBED_AUDIO else "video"

    @extend_schema_field(NULLABLE_URL)
    def get_thumbnail_url(self, post: Post) -> str | None:
        return selectors.post_thumbnail_url(post, request=self.context.get("request"))

    def get_media_expires_in(self, post: Post) -> int:
        from django.conf import settings

        return settings.MEDIA_LINK_MAX_AGE


class PostCreateInputSerializer(InputSerializer):
    job_id = serializers.UUIDField(help_text="One of my succeeded jobs.")
    title = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text=f"1-{TITLE_MAX_LENGTH} characters."
    )
    description = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text=f"Up to {DESCRIPTION_MAX_LENGTH:,} characters."
    )


class PostUpdateInputSerializer(InputSerializer):
    title = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class LikeOutputSerializer(serializers.Serializer):
    like_count = serializers.IntegerField()
    liked_by_me = serializers.BooleanField()


class CommentOutputSerializer(serializers.ModelSerializer):
    author = AuthorSerializer()
    post = serializers.UUIDField(source="post_id")

    class Meta:
        model = Comment
        fields = ["id", "post", "author", "body", "hidden", "created_at"]
        read_only_fields = fields


class CommentInputSerializer(InputSerializer):
    body = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text=f"1-{COMMENT_MAX_LENGTH:,} characters; shown as plain text."
    )


class ReportInputSerializer(InputSerializer):
    reason = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text=f"Why (1-{REASON_MAX_LENGTH:,} characters)."
    )


class ReportOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    post = serializers.UUIDField(source="post_id", allow_null=True)
    comment = serializers.UUIDField(source="comment_id", allow_null=True)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class GalleryJobSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="video.title")
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = DubbingJob
        fields = ["id", "title", "target_language", "thumbnail_url", "created_at", "finished_at"]
        read_only_fields = fields

    @extend_schema_field(NULLABLE_URL)
    def get_thumbnail_url(self, job: DubbingJob) -> str | None:
        return selectors.video_thumbnail_url(job.video, request=self.context.get("request"))


class GalleryItemOutputSerializer(serializers.Serializer):
    job = serializers.SerializerMethodField()
    folder = serializers.SerializerMethodField()
    favorite = serializers.SerializerMethodField()
    post_id = serializers.SerializerMethodField(help_text="The community post of this dub, if it is shared.")

    @extend_schema_field(GalleryJobSerializer)
    def get_job(self, job: DubbingJob) -> dict:
        return GalleryJobSerializer(job, context=self.context).data

    def get_folder(self, job: DubbingJob) -> str:
        return selectors.gallery_state(job)["folder"]

    def get_favorite(self, job: DubbingJob) -> bool:
        return selectors.gallery_state(job)["favorite"]

    @extend_schema_field(OpenApiTypes.UUID)
    def get_post_id(self, job: DubbingJob) -> str | None:
        post_id = getattr(job, "post_id", None)
        return str(post_id) if post_id else None


class GalleryItemUpdateInputSerializer(InputSerializer):
    folder = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False,
        help_text=f'A folder name (up to {FOLDER_MAX_LENGTH} characters); "" takes it out of its folder.',
    )
    favorite = serializers.BooleanField(required=False)


# --- Pages of lists (schema) ---------------------------------------------------------------------


class PostPageSerializer(serializers.Serializer):
    """The feed: cursor-paginated (no count, no page numbers)."""

    next = serializers.URLField(allow_null=True, help_text="The next (older or less liked) page, or null.")
    previous = serializers.URLField(allow_null=True)
    results = PostOutputSerializer(many=True)


class CommentPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CommentOutputSerializer(many=True)


class GalleryItemPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = GalleryItemOutputSerializer(many=True)
