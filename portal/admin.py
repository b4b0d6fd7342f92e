"""Admin pages whose actions cross apps: deleting a video takes its dubs and stored files with it."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.deletion import video_delete_everything
from videos.admin import VideoAdmin as VideoAdminBase
from videos.models import Video


@admin.register(Video)
class VideoAdmin(VideoAdminBase):
    actions = ["delete_with_files"]

    def delete_model(self, request, obj):
        video_delete_everything(video=obj)

    @admin.action(description=_("Delete selected videos, their dubs and their stored files"))
    def delete_with_files(self, request, queryset):
        count = 0
        for video in queryset:
            video_delete_everything(video=video)
            count += 1
        self.message_user(
            request,
            ngettext("Deleted %(count)d video and its files.", "Deleted %(count)d videos and their files.", count)
            % {"count": count},
            messages.SUCCESS,
        )
