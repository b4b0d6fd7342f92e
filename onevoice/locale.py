"""The page language: a signed-in user's `locale`, else the language cookie (the footer's
switch) or Accept-Language, as Django's LocaleMiddleware chose before this runs."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

SUPPORTED = {code for code, _ in settings.LANGUAGES}


class UserLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        locale = getattr(user, "locale", "") if user is not None and user.is_authenticated else ""
        if locale in SUPPORTED and locale != getattr(request, "LANGUAGE_CODE", None):
            translation.activate(locale)
            request.LANGUAGE_CODE = locale
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
