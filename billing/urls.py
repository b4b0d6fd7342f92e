from __future__ import annotations

from django.urls import path

from billing import api, views

# Paths under /api/v1/ (no trailing slashes, API.md).
api_urlpatterns: list = [
    path("billing/packs", api.CreditPackListApi.as_view(), name="api_billing_packs"),
    path("billing/ledger", api.LedgerEntryListApi.as_view(), name="api_billing_ledger"),
    path("billing/payments", api.PaymentListCreateApi.as_view(), name="api_billing_payments"),
    path(
        "billing/payments/<str:payment_id>/complete",
        api.PaymentCompleteApi.as_view(),
        name="api_billing_payment_complete",
    ),
    path("billing/webhooks/portone", api.PortOneWebhookApi.as_view(), name="api_billing_webhook_portone"),
]

# Server-rendered pages.
urlpatterns: list = [
    path("credits", views.credits_page, name="credits"),
    path("credits/history", views.credit_history_page, name="credit_history"),
    path("credits/test-checkout/pay", views.test_checkout_pay, name="test_checkout_pay"),
    path("credits/payments/return", views.payment_return_page, name="payment_return"),
    path("credits/payments/<str:payment_id>", views.payment_result_page, name="payment_result"),
]
