"""Billing JSON API (API.md "Billing")."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
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
from onevoice.idempotency import IDEMPOTENCY_KEY, idempotent


class CreditPackListApi(generics.ListAPIView):
    serializer_class = CreditPackOutputSerializer

    def get_queryset(self):
        return selectors.credit_pack_list()


class LedgerEntryListApi(generics.ListAPIView):
    serializer_class = LedgerEntryOutputSerializer

    def get_queryset(self):
        return selectors.ledger_entry_list(user=self.request.user)


class PaymentListCreateApi(generics.ListAPIView):
    """GET: my payments. POST: prepare a payment for a pack (the server sets id and price)."""

    serializer_class = PaymentOutputSerializer

    def get_queryset(self):
        return selectors.payment_list(user=self.request.user)

    @extend_schema(parameters=[IDEMPOTENCY_KEY], request=PaymentPrepareInputSerializer,
                   responses={201: PaymentPrepareOutputSerializer})
    @idempotent
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
