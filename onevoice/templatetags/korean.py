"""`{% load korean %}` and `{% filter particles %}...{% endfilter %}` around a translated sentence
with a name in it: the Korean particle markers agree with the name (onevoice/korean.py)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeData, mark_safe

from onevoice.korean import particles as _particles

register = template.Library()


@register.filter(is_safe=True)
def particles(value):
    fixed = _particles(str(value))
    # A marker is plain text: replacing it keeps escaped text escaped.
    return mark_safe(fixed) if isinstance(value, SafeData) else fixed
