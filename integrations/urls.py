from __future__ import annotations

from django.urls import path

from integrations import api, views

# Paths under /api/v1/ (no trailing slashes, API.md).
api_urlpatterns: list = [
    path("webhooks", api.WebhookListCreateApi.as_view(), name="api-webhooks"),
    path("webhooks/<uuid:endpoint_id>", api.WebhookDetailApi.as_view(), name="api-webhook-detail"),
    path("webhooks/<uuid:endpoint_id>/deliveries", api.WebhookDeliveryListApi.as_view(), name="api-webhook-deliveries"),
    path("webhooks/<uuid:endpoint_id>/test", api.WebhookTestApi.as_view(), name="api-webhook-test"),
]

urlpatterns: list = [
    path("settings/webhooks", views.webhooks_page, name="webhooks"),
]
