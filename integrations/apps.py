from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: an AppConfig's module is loaded before the apps' models
        # are ready. dubbing publishes its jobs' ends (onevoice.events, dubbing.events names them);
        # webhooks listen, dubbing never imports integrations.
        # Declare the webhooks queue now (django_dramatiq has set the broker): a queue first
        # declared later makes every Worker that ever ran in this process, stopped or not, start
        # consumers for it (Dramatiq keeps their middleware), which take its messages and drop them.
        from integrations import services, tasks  # noqa: F401
        from onevoice import events

        for event in services.JOB_EVENTS:
            events.subscribe(event, services.webhook_event_publish)
