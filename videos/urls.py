from __future__ import annotations

from django.urls import path

from videos import api, views

# Paths under /api/v1/ (no trailing slashes, API.md). A video's detail (API and page) is served
# by portal.urls: deleting it and the page's dubbing panel reach above videos.
api_urlpatterns: list = [
    path("videos", api.VideoListCreateApi.as_view(), name="api-videos"),
    path("uploads", api.UploadStartApi.as_view(), name="api-uploads"),
    path("uploads/<uuid:upload_id>/complete", api.UploadCompleteApi.as_view(), name="api-upload-complete"),
    path("uploads/<uuid:upload_id>", api.UploadDetailApi.as_view(), name="api-upload-detail"),
]

# Server-rendered pages.
urlpatterns: list = [
    path("videos", views.video_list_page, name="videos"),
    path("videos/upload", views.video_upload_page, name="video_upload"),
    path("media/videos/<uuid:video_id>/<str:kind>", views.video_media, name="video_media"),
]
