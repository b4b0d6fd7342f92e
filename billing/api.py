"""Billing JSON API (API.md "Billing")."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import selectors, services
from billing.serializers import (
    CreditPackOutputSerializer,
    LedgerEntryOutputSerializer,
    PaymentOutputSerializer,
    PaymentPrepareInputSerializer,
    PaymentPrepareOutputSerializer,
)
from onevoice.pagination import PageNumberPagination


class _ListMixin:
    def paginated(self, request, queryset, serializer_class):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class CreditPackListApi(_ListMixin, APIView):
    @extend_schema(responses=CreditPackOutputSerializer(many=True))
    def get(self, request):
        return self.paginated(request, selectors.credit_pack_list(), CreditPackOutputSerializer)


class LedgerEntryListApi(_ListMixin, APIView):
    @extend_schema(responses=LedgerEntryOutputSerializer(many=True))
    def get(self, request):
        return self.paginated(
            request, selectors.ledger_entry_list(user=request.user), LedgerEntryOutputSerializer
        )


class PaymentListCreateApi(_ListMixin, APIView):
    @extend_schema(responses=PaymentOutputSerializer(many=True))
    def get(self, request):
        return self.paginated(request, selectors.payment_list(user=request.user), PaymentOutputSerializer)

    @extend_schema(request=PaymentPrepareInputSerializer, responses={201: PaymentPrepareOutputSerializer})
    def post(self, request):
        serializer = PaymentPrepareInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = services.payment_prepare(user=request.user, pack_id=serializer.validated_data["pack_id"])
        return Response(PaymentPrepareOutputSerializer(payment).data, status=status.HTTP_201_CREATED)


class PaymentCompleteApi(APIView):
    @extend_schema(request=None, responses=PaymentOutputSerializer)
    def post(self, request, payment_id: str):
        payment = services.payment_complete(user=request.user, payment_id=payment_id)
        return Response(PaymentOutputSerializer(payment).data)


class PortOneWebhookApi(APIView):
    # PortOne signs the body; there is no user, no session and no CSRF token. Not throttled:
    # PortOne delivers every store's events from a few addresses.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(request=None, responses={200: OpenApiResponse(description="Accepted")})
    def post(self, request):
        delivery = services.webhook_delivery_receive(body=request.body, headers=request.headers)
        return Response({"detail": "ok", "processed": delivery.processed})
