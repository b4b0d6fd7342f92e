"""The Video admin's shape. It is registered by portal.admin, which adds deleting a video with its
dubs and stored files (portal.deletion): a flow above videos."""

from __future__ import annotations

from django.contrib import admin

from videos.models import Video


class VideoAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "status", "duration", "size", "content_type", "created_at"]
    list_filter = ["status", "has_video", "content_type"]
    search_fields = ["title", "original_filename", "owner__email", "id"]
    list_select_related = ["owner"]
    readonly_fields = [f.name for f in Video._meta.fields if f.name != "title"]

    def has_add_permission(self, request):
        return False  # videos only come in through the upload paths, which probe them

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # the bulk delete would leave the stored files behind
        return actions
