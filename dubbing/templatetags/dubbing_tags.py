"""Template tags other apps' pages use to show dubbing parts they do not own.

The video page's dubbing panel is `{% dub_this_video video %}`, filled into videos' page by the
layer above (portal/templates/portal/video_detail.html): videos' templates never load these tags
(dependencies point dubbing -> videos), and the form's choices, cost and balance are built here,
in one place, for the video page and the dub page alike.
"""

from __future__ import annotations

from django import template

from dubbing.forms import dub_form_context
from dubbing.languages import language_name as _language_name

register = template.Library()


@register.inclusion_tag("dubbing/_dub_form.html", takes_context=True)
def dub_this_video(context, video):
    request = context["request"]
    return {
        **dub_form_context(user=request.user, video=video),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def language_name(code: str) -> str:
    """ "es" -> "Spanish" (the code itself when unknown)."""
    return _language_name(code or "")
