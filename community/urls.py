from __future__ import annotations

from django.urls import path

from community import api, views

# Paths under /api/v1/ (no trailing slashes, API.md).
api_urlpatterns: list = [
    path("posts", api.PostListCreateApi.as_view(), name="api-posts"),
    path("posts/<uuid:post_id>", api.PostDetailApi.as_view(), name="api-post-detail"),
    path("posts/<uuid:post_id>/like", api.PostLikeApi.as_view(), name="api-post-like"),
    path("posts/<uuid:post_id>/comments", api.PostCommentsApi.as_view(), name="api-post-comments"),
    path("posts/<uuid:post_id>/report", api.PostReportApi.as_view(), name="api-post-report"),
    path("comments/<uuid:comment_id>", api.CommentDetailApi.as_view(), name="api-comment-detail"),
    path("comments/<uuid:comment_id>/report", api.CommentReportApi.as_view(), name="api-comment-report"),
    path("gallery", api.GalleryListApi.as_view(), name="api-gallery"),
    path("gallery/<uuid:job_id>", api.GalleryItemApi.as_view(), name="api-gallery-item"),
]

# Server-rendered pages.
urlpatterns: list = [
    path("community", views.feed_page, name="community"),
    path("community/posts/<uuid:post_id>", views.post_page, name="community_post"),
    path("community/posts/<uuid:post_id>/edit", views.post_edit, name="community_post_edit"),
    path("community/posts/<uuid:post_id>/delete", views.post_delete, name="community_post_delete"),
    path("community/posts/<uuid:post_id>/like", views.post_like, name="community_post_like"),
    path("community/posts/<uuid:post_id>/comments", views.comment_create, name="community_comment_create"),
    path("community/posts/<uuid:post_id>/report", views.post_report, name="community_post_report"),
    path("community/comments/<uuid:comment_id>/delete", views.comment_delete, name="community_comment_delete"),
    path("community/comments/<uuid:comment_id>/report", views.comment_report, name="community_comment_report"),
    path("community/publish/<uuid:job_id>", views.publish_page, name="community_publish"),
    path("gallery", views.gallery_page, name="gallery"),
    path("gallery/<uuid:job_id>", views.gallery_item_update, name="gallery_item_update"),
]
