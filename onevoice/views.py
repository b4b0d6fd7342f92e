"""Project-wide pages: the landing page (it shows the sample dub, so it sits above the apps)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from dubbing.sample import sample_context


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", sample_context())
