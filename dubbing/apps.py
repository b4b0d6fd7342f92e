from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DubbingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dubbing"
    verbose_name = _("Dubbing")
