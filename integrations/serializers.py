from __future__ import annotations

from rest_framework import serializers

from dubbing.events import JobEvent
from integrations.models import WebhookAttempt, WebhookEndpoint
from onevoice.serializers import InputSerializer


class WebhookEndpointOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "active", "disabled_reason", "created_at"]
        read_only_fields = fields


class WebhookEndpointCreatedOutputSerializer(WebhookEndpointOutputSerializer):
    class Meta(WebhookEndpointOutputSerializer.Meta):
        fields = [*WebhookEndpointOutputSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(InputSerializer):
    # A CharField: the services check the URL (scheme, resolved addresses) and name what is wrong.
    url = serializers.CharField(max_length=2000)
    events = serializers.ListField(child=serializers.ChoiceField(choices=JobEvent.choices), min_length=1)


class WebhookEndpointUpdateInputSerializer(InputSerializer):
    url = serializers.CharField(max_length=2000, required=False)
    events = serializers.ListField(child=serializers.ChoiceField(choices=JobEvent.choices), min_length=1,
                                   required=False)
    active = serializers.BooleanField(required=False)


class WebhookAttemptOutputSerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="message.event")
    webhook_id = serializers.CharField(source="message_id", help_text="The webhook-id header of the message.")

    class Meta:
        model = WebhookAttempt
        fields = ["id", "event", "webhook_id", "number", "status_code", "error", "seconds", "attempted_at",
                  "next_retry_at"]
        read_only_fields = fields
