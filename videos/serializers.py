from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from onevoice.serializers import InputSerializer
from videos import storage
from videos.models import Video


class VideoOutputSerializer(serializers.ModelSerializer):
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id", "title", "status", "original_filename", "size", "content_type", "duration",
            "width", "height", "fps", "has_audio", "has_video", "audio_codec", "video_codec",
            "thumbnail_url", "invalid_reason", "spoken_language", "spoken_language_confidence",
            "spoken_language_status", "created_at",
        ]

    def get_thumbnail_url(self, video: Video) -> str | None:
        if not video.thumbnail:
            return None
        return storage.media_url(
            name=video.thumbnail, video_id=video.id, kind=storage.THUMBNAIL,
            content_type="image/jpeg", request=self.context.get("request"),
        )


class VideoDetailOutputSerializer(VideoOutputSerializer):
    source_url = serializers.SerializerMethodField(help_text="Time-limited link to the file itself.")
    source_url_expires_in = serializers.SerializerMethodField()

    class Meta(VideoOutputSerializer.Meta):
        fields = [*VideoOutputSerializer.Meta.fields, "source_url", "source_url_expires_in"]

    def get_source_url(self, video: Video) -> str | None:
        if video.status != "ready":
            return None
        return storage.media_url(
            name=video.storage_key, video_id=video.id, kind=storage.SOURCE,
            content_type=video.content_type, request=self.context.get("request"),
        )

    def get_source_url_expires_in(self, video: Video) -> int:
        from django.conf import settings

        return settings.MEDIA_LINK_MAX_AGE


class VideoUploadInputSerializer(InputSerializer):
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)


class VideoUpdateInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=200, required=False)
    spoken_language = serializers.CharField(
        max_length=16, required=False, allow_blank=True,
        help_text='The language spoken in the video (e.g. "ko"), for its dubs\' "auto"; "" forgets it.')


class UploadStartInputSerializer(InputSerializer):
    filename = serializers.CharField(max_length=1000)
    size = serializers.IntegerField(min_value=0)
    content_type = serializers.CharField(max_length=200, required=False, allow_blank=True)


class UploadPartSerializer(serializers.Serializer):
    part_number = serializers.IntegerField()
    url = serializers.URLField()


class UploadStartOutputSerializer(serializers.Serializer):
    upload_id = serializers.UUIDField(source="video.id")
    part_size = serializers.IntegerField()
    parts = UploadPartSerializer(many=True)
    expires_in = serializers.IntegerField()


class UploadCompletePartSerializer(InputSerializer):
    part_number = serializers.IntegerField(min_value=1, max_value=10000)
    etag = serializers.CharField(max_length=200)


class UploadCompleteInputSerializer(InputSerializer):
    parts = UploadCompletePartSerializer(many=True, allow_empty=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_parts(self, parts):
        numbers = [p["part_number"] for p in parts]
        if len(set(numbers)) != len(numbers):
            raise serializers.ValidationError(_("Each part number may appear once."))
        return parts
