from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from onevoice.deletion import video_delete_everything
from videos.models import Video


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "status", "duration", "size", "content_type", "created_at"]
    list_filter = ["status", "has_video", "content_type"]
    search_fields = ["title", "original_filename", "owner__email", "id"]
    list_select_related = ["owner"]
    readonly_fields = [f.name for f in Video._meta.fields if f.name != "title"]
    actions = ["delete_with_files"]

    def has_add_permission(self, request):
        return False  # videos only come in through the upload paths, which probe them

    def delete_model(self, request, obj):
        video_delete_everything(video=obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # the bulk delete would leave the stored files behind
        return actions

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
