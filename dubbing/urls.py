from __future__ import annotations

from django.urls import path

from dubbing import api, speaker_pages, views

# Paths under /api/v1/ (no trailing slashes, API.md).
api_urlpatterns: list = [
    path("languages", api.LanguagesApi.as_view(), name="api-languages"),
    path("jobs", api.JobListCreateApi.as_view(), name="api-jobs"),
    path("jobs/<uuid:job_id>", api.JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<uuid:job_id>/cancel", api.JobCancelApi.as_view(), name="api-job-cancel"),
    path("jobs/<uuid:job_id>/retry", api.JobRetryApi.as_view(), name="api-job-retry"),
    path("jobs/<uuid:job_id>/segments", api.SegmentListApi.as_view(), name="api-job-segments"),
    path("jobs/<uuid:job_id>/segments/<int:index>", api.SegmentDetailApi.as_view(), name="api-job-segment"),
    path("jobs/<uuid:job_id>/segments/<int:index>/audio", api.SegmentAudioApi.as_view(), name="api-job-segment-audio"),
    path("jobs/<uuid:job_id>/speakers", api.SpeakerListApi.as_view(), name="api-job-speakers"),
    path("jobs/<uuid:job_id>/speakers/<str:speaker>", api.SpeakerDetailApi.as_view(), name="api-job-speaker"),
    path("voices/<str:language>/<str:voice>/preview", api.VoicePreviewApi.as_view(), name="api-voice-preview"),
    path("jobs/<uuid:job_id>/render", api.JobRenderApi.as_view(), name="api-job-render"),
]

# Server-rendered pages.
urlpatterns: list = [
    path("jobs", views.job_list_page, name="jobs"),
    path("jobs/<uuid:job_id>", views.job_detail_page, name="job_detail"),
    path("jobs/<uuid:job_id>/lines", views.job_lines_page, name="job_lines"),
    path("jobs/<uuid:job_id>/speakers/<str:speaker>", speaker_pages.job_speaker, name="job_speaker"),
    path("jobs/<uuid:job_id>/cancel", views.job_cancel, name="job_cancel"),
    path("jobs/<uuid:job_id>/retry", views.job_retry, name="job_retry"),
    path("jobs/<uuid:job_id>/render", views.job_render, name="job_render"),
    path("videos/<uuid:video_id>/dub", views.video_dub_page, name="video_dub"),
    path("media/jobs/<uuid:job_id>/<str:kind>", views.job_artifact, name="job_artifact"),
]
