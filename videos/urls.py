from __future__ import annotations

from django.urls import path

from videos import api, views

# Paths under /api/v1/ (no trailing slashes, API.md).
api_urlpatterns: list = [
    path("videos", api.VideoListCreateApi.as_view(), name="api-videos"),
    path("videos/<uuid:video_id>", api.VideoDetailApi.as_view(), name="api-video-detail"),
    path("uploads", api.UploadStartApi.as_view(), name="api-uploads"),
    path("uploads/<uuid:upload_id>/complete", api.UploadCompleteApi.as_view(), name="api-upload-complete"),
    path("uploads/<uuid:upload_id>", api.UploadDetailApi.as_view(), name="api-upload-detail"),
]

# Server-rendered pages.
urlpatterns: list = [
    path("videos", views.video_list_page, name="videos"),
    path("videos/upload", views.video_upload_page, name="video_upload"),
    path("videos/<uuid:video_id>", views.video_detail_page, name="video_detail"),
    path("media/videos/<uuid:video_id>/<str:kind>", views.video_media, name="video_media"),
]
