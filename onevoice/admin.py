"""The back-office says OneVoice: the admin's header, page titles and index (the staff member's
language, like every page)."""

from __future__ import annotations

import re

from django.apps import apps
from django.contrib import admin
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("OneVoice back-office")
admin.site.site_title = _("OneVoice back-office")
admin.site.index_title = _("Refunds, credits, dubbing jobs and moderation")
# The lists get the whole width (at 1280 px the app sidebar left the jobs list 630 px); the index
# and the breadcrumbs lead everywhere it did.
admin.site.enable_nav_sidebar = False

# Django's own Korean for these admin sentences leaves particle placeholders ("상태 (으)로",
# "보기위한 1결제 를(을) 선택", "선택된 결제 을/를 삭제합니다."). Named here so makemessages keeps
# them in locale/ko, whose translations come before Django's (LOCALE_PATHS). "View %s" was "뷰 %s".
DJANGO_ADMIN_REWORDED = (
    gettext_noop(" By %(filter_title)s "),
    gettext_noop("Select %s to view"),
    gettext_noop("View %s"),
    gettext_noop("Delete selected %(verbose_name_plural)s"),
    gettext_noop("Successfully deleted %(count)d %(items)s."),
)

# Other packages' apps and models in the back-office's index, in the staff member's language:
# SimpleJWT's are marked for translation (its Korean is filed as ko_KR, which Django never
# looks up for "ko"), django_dramatiq's are not marked at all.
THIRD_PARTY_NAMES = (
    gettext_noop("Token Blacklist"), gettext_noop("Outstanding Token"), gettext_noop("Outstanding Tokens"),
    gettext_noop("Blacklisted Token"), gettext_noop("Blacklisted Tokens"),
)
# The app's name is the AppConfig's; its model's is renamed in the index only (a model's
# verbose_name is migration state, and that migration would be django_dramatiq's).
if apps.is_installed("django_dramatiq"):
    apps.get_app_config("django_dramatiq").verbose_name = _("Background tasks")
_app_list = admin.site.get_app_list


def _app_list_named(request, app_label=None):
    app_list = _app_list(request, app_label)
    for app in app_list:
        if app["app_label"] == "django_dramatiq":
            for model in app["models"]:
                if model["object_name"] == "Task":
                    model["name"] = capfirst(gettext("tasks"))
    return app_list


admin.site.get_app_list = _app_list_named


def breakable(text) -> SafeString:
    """An address for a back-office list: it may break after a dot and before its @, never
    inside a word ("walker-en@exampl|e.com" was how a narrow column broke it)."""
    return mark_safe("<wbr>".join(escape(part) for part in re.split(r"(?<=\.)|(?=@)", str(text)) if part))
