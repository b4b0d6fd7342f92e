"""JSON API for the community (API.md "Community").

Views parse input, call a selector or a service, and shape the answer. Another user's post or
comment (to change or delete) and a hidden one (for everyone but staff) are "not found".

The feed is cursor-paginated ({"next", "previous", "results"}, community.pagination) so a
scrolling client never sees a post twice; the other lists are page-numbered like the rest of
the API.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from community import selectors, services
from community.errors import (
    AlreadyPublished,
    CommentNotFound,
    CommunityErrorCode,
    InvalidInput,
    JobNotSucceeded,
    PostNotFound,
)
from community.pagination import FeedCursorPagination
from community.selectors import ORDERINGS
from community.serializers import (
    CommentInputSerializer,
    CommentOutputSerializer,
    CommentPageSerializer,
    GalleryItemOutputSerializer,
    GalleryItemPageSerializer,
    GalleryItemUpdateInputSerializer,
    LikeOutputSerializer,
    PostCreateInputSerializer,
    PostOutputSerializer,
    PostPageSerializer,
    PostUpdateInputSerializer,
    ReportInputSerializer,
    ReportOutputSerializer,
)
from community.throttles import CommentRateThrottle
from dubbing.errors import JobNotFound
from onevoice.filters import query_bool, query_language, query_uuid
from onevoice.pagination import PageNumberPagination
from onevoice.schema import raises
from onevoice.throttling import UserRateThrottle

COMMENT_BODY_ERRORS = (
    (400, CommunityErrorCode.COMMENT_EMPTY.value), (400, CommunityErrorCode.COMMENT_TOO_LONG.value),
)
POST_ID = OpenApiParameter("post_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
COMMENT_ID = OpenApiParameter("comment_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
JOB_ID = OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


def _post_answer(request, post_id, *, status_code: int = status.HTTP_200_OK) -> Response:
    post = selectors.post_get(viewer=request.user, post_id=post_id)
    return Response(PostOutputSerializer(post, context={"request": request}).data, status=status_code)


class PostListCreateApi(APIView):
    pagination_class = FeedCursorPagination  # its parameters (cursor, page_size) are in the schema

    @extend_schema(
        parameters=[
            OpenApiParameter("author", OpenApiTypes.UUID, description="Only this user's posts."),
            OpenApiParameter("language", str, description="Only dubs into this language (a code, e.g. es)."),
            OpenApiParameter("ordering", str, enum=list(ORDERINGS), description="Newest first (default) or most liked."),
        ],
        responses=PostPageSerializer,
        operation_id="posts_list",
        description=(
            'The community feed. Cursor-paginated, unlike the other lists: {"next", "previous", "results"}, '
            "so that posts published while a client scrolls never make it see one twice."
        ),
    )
    @raises(InvalidInput)  # ?ordering= not one of ORDERINGS
    def get(self, request):
        posts = selectors.post_feed(
            viewer=request.user,
            author=query_uuid(request, "author"),
            language=query_language(request, "language"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(posts, request, view=self)
        return paginator.get_paginated_response(PostOutputSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(request=PostCreateInputSerializer, responses={201: PostOutputSerializer})
    @raises(JobNotFound, JobNotSucceeded, AlreadyPublished, InvalidInput)
    def post(self, request):
        serializer = PostCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = services.post_publish(author=request.user, **serializer.validated_data)
        return _post_answer(request, post.id, status_code=status.HTTP_201_CREATED)


class PostDetailApi(APIView):
    error_responses = (PostNotFound,)

    @extend_schema(parameters=[POST_ID], responses=PostOutputSerializer)
    def get(self, request, post_id):
        return _post_answer(request, post_id)

    @extend_schema(parameters=[POST_ID], request=PostUpdateInputSerializer, responses=PostOutputSerializer)
    @raises(InvalidInput)
    def patch(self, request, post_id):
        post = selectors.post_get_for_author(author=request.user, post_id=post_id)
        serializer = PostUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.post_update(post=post, **serializer.validated_data)
        return _post_answer(request, post_id)

    @extend_schema(parameters=[POST_ID], responses={204: None})
    def delete(self, request, post_id):
        post = selectors.post_get_for_author(author=request.user, post_id=post_id)
        services.post_delete(post=post)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostLikeApi(APIView):
    error_responses = (PostNotFound,)

    @extend_schema(parameters=[POST_ID], request=None, responses=LikeOutputSerializer,
                   description="Like the post. Liking twice leaves one like.")
    def post(self, request, post_id):
        post = selectors.post_visible(viewer=request.user, post_id=post_id)
        services.post_like(post=post, user=request.user)
        return Response(selectors.post_like_state(post=post, user=request.user))

    @extend_schema(parameters=[POST_ID], request=None, responses={200: LikeOutputSerializer},
                   description="Take the like back; not an error when there was none.")
    def delete(self, request, post_id):
        post = selectors.post_visible(viewer=request.user, post_id=post_id)
        services.post_unlike(post=post, user=request.user)
        return Response(selectors.post_like_state(post=post, user=request.user))


class PostCommentsApi(APIView):
    pagination_class = PageNumberPagination
    error_responses = (PostNotFound,)

    def get_throttles(self):
        if self.request.method == "POST":
            return [UserRateThrottle(), CommentRateThrottle()]
        return super().get_throttles()

    @extend_schema(parameters=[POST_ID], responses=CommentPageSerializer, operation_id="posts_comments_list")
    def get(self, request, post_id):
        post = selectors.post_visible(viewer=request.user, post_id=post_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.comment_list(viewer=request.user, post=post), request, view=self)
        return paginator.get_paginated_response(CommentOutputSerializer(page, many=True).data)

    @extend_schema(parameters=[POST_ID], request=CommentInputSerializer, responses={201: CommentOutputSerializer},
                   description="400 `comment_empty` or `comment_too_long`; 429 when commenting too fast.")
    @raises(*COMMENT_BODY_ERRORS)
    def post(self, request, post_id):
        post = selectors.post_visible(viewer=request.user, post_id=post_id)
        serializer = CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_create(post=post, author=request.user, body=serializer.validated_data["body"])
        return Response(CommentOutputSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentDetailApi(APIView):
    error_responses = (CommentNotFound,)

    @extend_schema(parameters=[COMMENT_ID], request=CommentInputSerializer, responses=CommentOutputSerializer,
                   description="Edit my comment (its author only).")
    @raises(*COMMENT_BODY_ERRORS)
    def patch(self, request, comment_id):
        comment = selectors.comment_get_editable(user=request.user, comment_id=comment_id)
        serializer = CommentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_update(comment=comment, body=serializer.validated_data["body"])
        return Response(CommentOutputSerializer(comment).data)

    @extend_schema(parameters=[COMMENT_ID], responses={204: None},
                   description="The comment's author, or the author of the post it is on.")
    def delete(self, request, comment_id):
        comment = selectors.comment_get_deletable(user=request.user, comment_id=comment_id)
        services.comment_delete(comment=comment)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _report_answer(report, created: bool) -> Response:
    return Response(
        ReportOutputSerializer(report).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
    )


class PostReportApi(APIView):
    error_responses = (PostNotFound, InvalidInput)

    @extend_schema(parameters=[POST_ID], request=ReportInputSerializer,
                   responses={201: ReportOutputSerializer, 200: ReportOutputSerializer},
                   description="201 the first time; 200 with that same report when I report it again.")
    def post(self, request, post_id):
        post = selectors.post_visible(viewer=request.user, post_id=post_id)
        serializer = ReportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _report_answer(*services.report_create(reporter=request.user, post=post, **serializer.validated_data))


class CommentReportApi(APIView):
    error_responses = (CommentNotFound, InvalidInput)

    @extend_schema(parameters=[COMMENT_ID], request=ReportInputSerializer,
                   responses={201: ReportOutputSerializer, 200: ReportOutputSerializer},
                   description="201 the first time; 200 with that same report when I report it again.")
    def post(self, request, comment_id):
        comment = selectors.comment_get(viewer=request.user, comment_id=comment_id)
        serializer = ReportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _report_answer(
            *services.report_create(reporter=request.user, comment=comment, **serializer.validated_data)
        )


class GalleryListApi(APIView):
    pagination_class = PageNumberPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("folder", str, description="Only the dubs in this folder."),
            OpenApiParameter("favorite", bool, description="Only favourites (true) or only the others (false)."),
        ],
        responses=GalleryItemPageSerializer,
        operation_id="gallery_list",
    )
    def get(self, request):
        jobs = selectors.gallery_list(
            owner=request.user,
            folder=request.query_params.get("folder") or None,
            favorite=query_bool(request, "favorite"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(
            GalleryItemOutputSerializer(page, many=True, context={"request": request}).data
        )


class GalleryItemApi(APIView):
    error_responses = (JobNotFound, JobNotSucceeded, InvalidInput)

    @extend_schema(parameters=[JOB_ID], request=GalleryItemUpdateInputSerializer, responses=GalleryItemOutputSerializer)
    def patch(self, request, job_id):
        serializer = GalleryItemUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.gallery_item_update(owner=request.user, job_id=job_id, **serializer.validated_data)
        job = selectors.gallery_list(owner=request.user).get(pk=job.pk)
        return Response(GalleryItemOutputSerializer(job, context={"request": request}).data)
