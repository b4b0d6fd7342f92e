"""The back-office says OneVoice: the admin's header, page titles and index (the staff member's
language, like every page)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

admin.site.site_header = _("OneVoice back-office")
admin.site.site_title = _("OneVoice back-office")
admin.site.index_title = _("Refunds, credits, dubbing jobs and moderation")
# The lists get the whole width (at 1280 px the app sidebar left the jobs list 630 px); the index
# and the breadcrumbs lead everywhere it did.
admin.site.enable_nav_sidebar = False

# Django's own Korean for these admin sentences leaves particle placeholders ("상태 (으)로",
# "보기위한 1결제 를(을) 선택", "선택된 결제 을/를 삭제합니다."). Named here so makemessages keeps
# them in locale/ko, whose translations come before Django's (LOCALE_PATHS).
DJANGO_ADMIN_REWORDED = (
    gettext_noop(" By %(filter_title)s "),
    gettext_noop("Select %s to view"),
    gettext_noop("Delete selected %(verbose_name_plural)s"),
    gettext_noop("Successfully deleted %(count)d %(items)s."),
)
