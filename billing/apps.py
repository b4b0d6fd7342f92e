from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # Registers the system checks. In ready(), Django's place for it: billing.checks reads
        # settings and must not run while the app registry is still loading.
        from billing import checks  # noqa: F401
