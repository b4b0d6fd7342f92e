"""The language of an answer: a signed-in user's `locale`, else the language cookie (the footer's
switch) or Accept-Language, as Django's LocaleMiddleware chose before any of this runs.

Pages know their user in the middleware (the session). The API knows it only once DRF has
authenticated the request inside the view, so a Bearer token's user is switched to there
(`onevoice.auth.LocaleJWTAuthentication`), and for the polling views that trust the token
without loading the user, when an error is about to be written: a 404, or a job that failed
or was cancelled (`token_user_locale_activate`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation
from rest_framework_simplejwt.models import TokenUser

SUPPORTED = {code for code, _ in settings.LANGUAGES}


def locale_activate(request, locale: str | None) -> bool:
    """Answer `request` in `locale` if it is one of the site's languages; True when it is."""
    if not locale or locale not in SUPPORTED:
        return False
    if locale != translation.get_language():
        translation.activate(locale)
    django_request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    django_request.LANGUAGE_CODE = locale
    return True


def token_user_locale_activate(request, user) -> None:
    """For a user known only by a token's id (simplejwt's TokenUser): read its `locale`.

    One query, spent only on answers that carry words (errors, a stopped job's error), never
    on the poll of a running job."""
    if not isinstance(user, TokenUser):
        return
    locale = get_user_model().objects.filter(pk=user.pk).values_list("locale", flat=True).first()
    locale_activate(request, locale)


class UserLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            locale_activate(request, getattr(user, "locale", ""))
        response = self.get_response(request)
        # Read after the view: an API view may have switched to its token user's language.
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
