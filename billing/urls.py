from __future__ import annotations

from django.urls import path

from billing import api, views

# Paths under /api/v1/ (no trailing slashes, API.md). The ledger (API and page) is served by
# portal.urls: its rows name the videos the dubs were for, which billing cannot read.
api_urlpatterns: list = [
    path("billing/packs", api.CreditPackListApi.as_view(), name="api_billing_packs"),
    path("billing/payments", api.PaymentListCreateApi.as_view(), name="api_billing_payments"),
    path(
        "billing/payments/<str:payment_id>/complete",
        api.PaymentCompleteApi.as_view(),
        name="api_billing_payment_complete",
    ),
    path(
        "billing/payments/<str:payment_id>/close",
        api.PaymentCloseApi.as_view(),
        name="api_billing_payment_close",
    ),
    path("billing/plans", api.PlanListApi.as_view(), name="api_billing_plans"),
    path("billing/subscription", api.SubscriptionApi.as_view(), name="api_billing_subscription"),
    path("billing/subscription/complete", api.SubscriptionCompleteApi.as_view(),
         name="api_billing_subscription_complete"),
    path("billing/subscription/card", api.SubscriptionCardApi.as_view(), name="api_billing_subscription_card"),
    path("billing/subscription/portal", api.SubscriptionPortalApi.as_view(), name="api_billing_subscription_portal"),
    path("billing/webhooks/portone", api.PortOneWebhookApi.as_view(), name="api_billing_webhook_portone"),
    path("billing/webhooks/stripe", api.StripeWebhookApi.as_view(), name="api_billing_webhook_stripe"),
    path("billing/webhooks/paddle", api.PaddleWebhookApi.as_view(), name="api_billing_webhook_paddle"),
]

# Server-rendered pages.
urlpatterns: list = [
    path("credits", views.credits_page, name="credits"),
    path("plans", views.plans_page, name="plans"),
    path("credits/test-checkout/billing-key", views.test_checkout_billing_key, name="test_checkout_billing_key"),
    path("credits/test-checkout/renew", views.test_checkout_renew, name="test_checkout_renew"),
    path("credits/test-checkout/pay", views.test_checkout_pay, name="test_checkout_pay"),
    path("credits/test-checkout/stripe/<str:session_id>", views.test_checkout_stripe, name="test_checkout_stripe"),
    path("credits/test-checkout/paddle/pay", views.test_checkout_paddle_pay, name="test_checkout_paddle_pay"),
    path("credits/payments/return", views.payment_return_page, name="payment_return"),
    path("credits/payments/<str:payment_id>/receipt", views.payment_receipt, name="payment_receipt"),
    path("credits/payments/<str:payment_id>", views.payment_result_page, name="payment_result"),
]
