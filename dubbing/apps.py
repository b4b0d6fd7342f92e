from django.apps import AppConfig


class DubbingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dubbing"
