"""JSON API for videos (API.md "Videos").

Deleting a video removes its dubs first, a flow above videos: portal.api.VideoDetailApi adds
DELETE to the detail view below and is what /api/v1/videos/<id> serves."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from onevoice.pagination import PageNumberPagination
from onevoice.parsers import FormParser, JSONParser, MultiPartParser
from onevoice.schema import raises
from videos import errors, selectors, services
from videos.serializers import (
    UploadCompleteInputSerializer,
    UploadStartInputSerializer,
    UploadStartOutputSerializer,
    VideoDetailOutputSerializer,
    VideoOutputSerializer,
    VideoUpdateInputSerializer,
    VideoUploadInputSerializer,
)
from videos.upload_handlers import SizeLimitedUploadHandler

# What reading an uploaded file can refuse (videos.services: the size checks and the probe).
MEDIA_ERRORS = (errors.EmptyFile, errors.FileTooLarge, errors.QuotaExceeded, errors.UnsupportedMedia,
                errors.InvalidMedia)


class VideoListCreateApi(APIView):
    parser_classes = [MultiPartParser, JSONParser]
    pagination_class = PageNumberPagination

    def dispatch(self, request, *args, **kwargs):
        # Before DRF wraps the request: authentication's CSRF check may read request.POST, and
        # the handlers must be in place before the body is parsed by anyone.
        if request.method == "POST":
            request.upload_handlers = [SizeLimitedUploadHandler(request, max_bytes=services.max_upload_bytes())]
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(responses=VideoOutputSerializer(many=True))
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.video_list(owner=request.user), request, view=self)
        data = VideoOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(request={"multipart/form-data": VideoUploadInputSerializer}, responses={201: VideoOutputSerializer})
    @raises(*MEDIA_ERRORS)
    def post(self, request):
        data, files = request.data, request.FILES  # parses the body through the upload handler
        handler = request._request.upload_handlers[0]
        if getattr(handler, "too_large", False):
            raise errors.FileTooLarge(errors.file_too_large_detail())
        serializer = VideoUploadInputSerializer(data={"file": files.get("file"), "title": data.get("title", "")})
        serializer.is_valid(raise_exception=True)
        video = services.video_create_from_upload(
            owner=request.user, file=serializer.validated_data["file"], title=serializer.validated_data.get("title", "")
        )
        return Response(VideoOutputSerializer(video, context={"request": request}).data, status=status.HTTP_201_CREATED)


class VideoDetailApi(APIView):
    @extend_schema(responses=VideoDetailOutputSerializer)
    def get(self, request, video_id):
        video = selectors.video_get(owner=request.user, video_id=video_id)
        return Response(VideoDetailOutputSerializer(video, context={"request": request}).data)

    @extend_schema(request=VideoUpdateInputSerializer, responses=VideoDetailOutputSerializer)
    def patch(self, request, video_id):
        video = selectors.video_get(owner=request.user, video_id=video_id)
        serializer = VideoUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        video = services.video_update(video=video, **serializer.validated_data)
        return Response(VideoDetailOutputSerializer(video, context={"request": request}).data)


class UploadStartApi(APIView):
    parser_classes = [JSONParser, FormParser]
    error_responses = (errors.DirectUploadUnavailable, errors.EmptyFile, errors.FileTooLarge, errors.QuotaExceeded)

    @extend_schema(request=UploadStartInputSerializer, responses={201: UploadStartOutputSerializer})
    def post(self, request):
        serializer = UploadStartInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = services.direct_upload_start(owner=request.user, **serializer.validated_data)
        return Response(UploadStartOutputSerializer(upload).data, status=status.HTTP_201_CREATED)


class UploadCompleteApi(APIView):
    error_responses = (errors.DirectUploadUnavailable, errors.UploadNotInProgress, errors.InvalidParts, *MEDIA_ERRORS)

    @extend_schema(request=UploadCompleteInputSerializer, responses={201: VideoOutputSerializer})
    def post(self, request, upload_id):
        video = selectors.upload_get(owner=request.user, upload_id=upload_id)
        serializer = UploadCompleteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        video = services.direct_upload_complete(video=video, **serializer.validated_data)
        return Response(VideoOutputSerializer(video, context={"request": request}).data, status=status.HTTP_201_CREATED)


class UploadDetailApi(APIView):
    error_responses = (errors.DirectUploadUnavailable, errors.UploadNotInProgress)

    @extend_schema(responses={204: None})
    def delete(self, request, upload_id):
        video = selectors.upload_get(owner=request.user, upload_id=upload_id)
        services.direct_upload_abort(video=video)
        return Response(status=status.HTTP_204_NO_CONTENT)
