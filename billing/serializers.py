from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from billing.models import CreditPack, LedgerEntry, Payment
from billing.services import payment_redirect_url


class CreditPackOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditPack
        fields = ["id", "name", "credits", "price", "currency"]


class LedgerEntryOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "balance_after", "created_at", "ref"]


class PaymentOutputSerializer(serializers.ModelSerializer):
    pack_id = serializers.UUIDField(read_only=True)
    error_code = serializers.CharField(source="failure_code", read_only=True)
    error = serializers.CharField(source="failure_shown", read_only=True)
    order_name = serializers.CharField(read_only=True, help_text="The order's name as PortOne was sent it (orderName).")
    title = serializers.CharField(read_only=True, help_text="What the order buys, in the reader's language.")

    class Meta:
        model = Payment
        fields = [
            "payment_id",
            "pack_id",
            "order_name",
            "title",
            "credits",
            "amount",
            "currency",
            "status",
            "cancelled_amount",
            "error_code",
            "error",
            "paid_at",
            "created_at",
        ]


class PaymentPrepareInputSerializer(serializers.Serializer):
    pack_id = serializers.UUIDField()


class PaymentPrepareOutputSerializer(PaymentOutputSerializer):
    """Everything `PortOne.requestPayment` needs; the amount comes from our order, never the client."""

    store_id = serializers.SerializerMethodField()
    channel_key = serializers.SerializerMethodField()
    pay_method = serializers.SerializerMethodField()
    redirect_url = serializers.SerializerMethodField()
    customer = serializers.SerializerMethodField()

    class Meta(PaymentOutputSerializer.Meta):
        fields = [
            *PaymentOutputSerializer.Meta.fields,
            "store_id",
            "channel_key",
            "pay_method",
            "redirect_url",
            "customer",
        ]

    def get_store_id(self, payment) -> str:
        return settings.PORTONE_STORE_ID

    def get_channel_key(self, payment) -> str:
        return settings.PORTONE_CHANNEL_KEY

    def get_pay_method(self, payment) -> str:
        return settings.PORTONE_PAY_METHOD

    def get_redirect_url(self, payment) -> str:
        return payment_redirect_url(payment=payment)

    def get_customer(self, payment) -> dict:
        user = payment.user
        return {"customer_id": str(user.pk), "email": user.email, "full_name": user.name or user.email}
