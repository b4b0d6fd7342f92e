from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DubbingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dubbing"
    verbose_name = _("Dubbing")

    def ready(self) -> None:
        # Imported here, once the apps are loaded: services import models. The actors' module
        # declares the dubbing queue and its actors before any worker or sender runs: devserver's
        # in-process worker took the first upload's detect_spoken_language message before anything
        # had imported them (ActorNotFound), and the sample dub's send found no `dubbing` queue on
        # the StubBroker (QueueNotFound), so `make run`'s landing page never got its sample.
        from dubbing import tasks  # noqa: F401
        from dubbing.services.spoken_language import spoken_language_request
        from onevoice import events
        from videos.events import VideoEvent

        # An uploaded video's spoken language is detected in the background (videos never imports us).
        events.subscribe(VideoEvent.READY, spoken_language_request)
