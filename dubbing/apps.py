from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DubbingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dubbing"
    verbose_name = _("Dubbing")

    def ready(self) -> None:
        # Imported here, once the apps are loaded: services import models.
        from dubbing.services.spoken_language import spoken_language_request
        from onevoice import events
        from videos.events import VideoEvent

        # An uploaded video's spoken language is detected in the background (videos never imports us).
        events.subscribe(VideoEvent.READY, spoken_language_request)
