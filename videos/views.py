"""Server-rendered pages for videos, and the permission-checked media view."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_safe

from videos import selectors, services, storage
from videos.errors import VideoNotFound
from videos.models import Video, VideoStatus
from videos.streaming import ranged_file_response


@login_required
def video_list_page(request):
    page = Paginator(selectors.video_list(owner=request.user), 24).get_page(request.GET.get("page"))
    items = [
        {
            "video": video,
            "thumbnail_url": storage.media_url(
                name=video.thumbnail, video_id=video.id, kind=storage.THUMBNAIL, content_type="image/jpeg"
            ) if video.thumbnail else "",
        }
        for video in page
    ]
    return render(request, "videos/video_list.html", {"page": page, "items": items})


@login_required
def video_upload_page(request):
    return render(
        request,
        "videos/video_upload.html",
        {
            "max_upload_bytes": services.max_upload_bytes(),
            "max_upload_mb": settings.MAX_UPLOAD_MB,
            "max_minutes": settings.MAX_VIDEO_MINUTES,
            "direct_upload": storage.is_s3(),
        },
    )


def video_page_context(request, video_id: uuid.UUID) -> dict:
    """What videos/video_detail.html shows of one of the user's videos; 404 for anyone else's.

    The page itself is portal.views.video_detail_page: it adds dubbing's panel to this one."""
    try:
        video = selectors.video_get(owner=request.user, video_id=video_id)
    except VideoNotFound:
        raise Http404("Video not found.") from None
    ready = video.status == VideoStatus.READY
    return {
        "video": video,
        "source_url": storage.media_url(
            name=video.storage_key, video_id=video.id, kind=storage.SOURCE, content_type=video.content_type
        ) if ready else "",
        "thumbnail_url": storage.media_url(
            name=video.thumbnail, video_id=video.id, kind=storage.THUMBNAIL, content_type="image/jpeg"
        ) if video.thumbnail else "",
    }


@require_safe  # players probe with HEAD before they GET ranges
def video_media(request, video_id: uuid.UUID, kind: str):
    """The bytes of a video or its thumbnail: for the owner's session, or a valid signed link.

    Anyone else gets 404, exactly like a video that does not exist.
    """
    if kind not in storage.MEDIA_KINDS:
        raise Http404()
    token = request.GET.get("t", "")
    allowed = Video.objects.filter(id=video_id, status=VideoStatus.READY)
    if not (token and storage.media_token_valid(token, video_id=video_id, kind=kind)):
        if not request.user.is_authenticated:
            raise Http404()
        allowed = allowed.filter(owner=request.user)
    video = allowed.first()
    if video is None:
        raise Http404()
    name = video.storage_key if kind == storage.SOURCE else video.thumbnail
    if not name:
        raise Http404()
    content_type = video.content_type if kind == storage.SOURCE else "image/jpeg"
    media = storage.media_storage()
    if storage.is_s3(media):
        return HttpResponseRedirect(
            storage.media_url(name=name, video_id=video.id, kind=kind, content_type=content_type)
        )
    return ranged_file_response(
        request,
        storage=media,
        name=name,
        content_type=content_type,
        private_max_age=300 if kind == storage.THUMBNAIL else 0,
    )
