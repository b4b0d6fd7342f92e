from __future__ import annotations

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # dubbing publishes its jobs' ends (onevoice.events); webhooks listen, dubbing never
        # imports integrations.
        from integrations import services
        from onevoice import events

        for event in services.JOB_EVENTS:
            events.subscribe(event, services.webhook_event_publish)
