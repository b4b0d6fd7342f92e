"""The back-office says OneVoice: the admin's header, page titles and index (the staff member's
language, like every page)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("OneVoice back-office")
admin.site.site_title = _("OneVoice back-office")
admin.site.index_title = _("Refunds, credits, dubbing jobs and moderation")
