"""The admin lists endpoints, messages with their attempts, and attempts."""

from __future__ import annotations

import pytest

from integrations import services
from integrations.tests.factories import WebhookAttemptFactory, WebhookMessageFactory

pytestmark = pytest.mark.django_db


def test_staff_see_endpoints_messages_and_every_attempt(owner, staff, client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint = services.webhook_endpoint_create(owner=owner, url="http://127.0.0.1:9/hook", events=["job.succeeded"])
    message = WebhookMessageFactory(id="msg_admin", endpoint=endpoint, event="ping", body="{}")
    WebhookAttemptFactory(message=message, number=1, status_code=503, error="HTTP 503")
    client.force_login(staff)
    for path in ("/admin/integrations/webhookendpoint/", f"/admin/integrations/webhookendpoint/{endpoint.id}/change/",
                 "/admin/integrations/webhookmessage/", "/admin/integrations/webhookattempt/",
                 "/admin/dubbing/sourceanalysis/"):
        assert client.get(path).status_code == 200, path
    page = client.get(f"/admin/integrations/webhookmessage/{message.id}/change/").content.decode()
    assert "HTTP 503" in page
