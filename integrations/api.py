"""Webhooks API (API.md "Webhooks")."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import selectors, services
from integrations.errors import WebhookInactive, WebhookNotFound, WebhookUrlNotAllowed
from integrations.serializers import (
    WebhookAttemptOutputSerializer,
    WebhookEndpointCreatedOutputSerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointOutputSerializer,
    WebhookEndpointUpdateInputSerializer,
)
from onevoice.pagination import PageNumberPagination
from onevoice.schema import raises

ENDPOINT_ID = OpenApiParameter("endpoint_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class WebhookListCreateApi(APIView):
    pagination_class = PageNumberPagination

    @extend_schema(responses=WebhookEndpointOutputSerializer(many=True))
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.webhook_endpoint_list(owner_id=request.user.pk), request, view=self)
        return paginator.get_paginated_response(WebhookEndpointOutputSerializer(page, many=True).data)

    @extend_schema(request=WebhookEndpointInputSerializer, responses={201: WebhookEndpointCreatedOutputSerializer},
                   description="The answer carries the endpoint's signing secret; it is never shown again.")
    @raises(WebhookUrlNotAllowed, services.InvalidEvents)
    def post(self, request):
        serializer = WebhookEndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(owner=request.user, **serializer.validated_data)
        return Response(WebhookEndpointCreatedOutputSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    error_responses = (WebhookNotFound,)

    @extend_schema(parameters=[ENDPOINT_ID], responses=WebhookEndpointOutputSerializer)
    def get(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(owner_id=request.user.pk, endpoint_id=endpoint_id)
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(parameters=[ENDPOINT_ID], request=WebhookEndpointUpdateInputSerializer,
                   responses=WebhookEndpointOutputSerializer)
    @raises(WebhookUrlNotAllowed, services.InvalidEvents)
    def patch(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(owner_id=request.user.pk, endpoint_id=endpoint_id)
        serializer = WebhookEndpointUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **serializer.validated_data)
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    @extend_schema(parameters=[ENDPOINT_ID], responses={204: None})
    def delete(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(owner_id=request.user.pk, endpoint_id=endpoint_id)
        services.webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListApi(APIView):
    pagination_class = PageNumberPagination
    error_responses = (WebhookNotFound,)

    @extend_schema(parameters=[ENDPOINT_ID], responses=WebhookAttemptOutputSerializer(many=True))
    def get(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(owner_id=request.user.pk, endpoint_id=endpoint_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.webhook_attempt_list(endpoint=endpoint), request, view=self)
        return paginator.get_paginated_response(WebhookAttemptOutputSerializer(page, many=True).data)


class WebhookTestApi(APIView):
    error_responses = (WebhookNotFound, WebhookInactive)

    @extend_schema(parameters=[ENDPOINT_ID], request=None,
                   responses={202: OpenApiResponse(description="A ping event is on its way.")})
    def post(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(owner_id=request.user.pk, endpoint_id=endpoint_id)
        message = services.webhook_ping(endpoint=endpoint)
        return Response({"detail": gettext("A ping is on its way."), "webhook_id": message.id}, status=status.HTTP_202_ACCEPTED)
