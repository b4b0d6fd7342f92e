"""Pages whose work crosses apps: the landing page with the sample dub, sign-up with its bonus,
deleting the account with its dubs and videos, a video's page with dubbing's panel in it, and the
credit history naming the videos the dubs were for.

Each is served at the same path under the same name as before (portal.urls); the forms,
templates and helpers stay with the app whose page it is (accounts.views, videos.views).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import forms
from accounts.throttles import page_throttled
from accounts.views import THROTTLED, account_page, next_url, page_locale
from billing.views import credit_history_context
from dubbing.languages import language_support
from dubbing.selectors import job_videos
from onevoice.errors import ServiceError
from onevoice.korean import particles
from portal import deletion
from portal.account import account_register
from portal.sample import sample_context
from videos.views import video_page_context


# The hero's greeting in each language, each in its own language whatever the page's: shown for
# the languages this server can dub into (and English, the sample's source).
GREETINGS = {
    "en": "Welcome back to the channel",
    "es": "Bienvenidos de nuevo al canal",
    "ko": "채널에 다시 오신 것을 환영합니다",
    "ja": "チャンネルへおかえりなさい",
    "fr": "Bon retour sur la chaîne",
    "pt": "Bem-vindos de volta ao canal",
    "it": "Bentornati sul canale",
    "ca": "Benvinguts de nou al canal",
    "de": "Willkommen zurück auf dem Kanal",
    "zh": "欢迎回到频道",
}


def home_greetings(targets: list[str]) -> list[tuple[str, str]]:
    """(code, greeting) for English and at most three languages the server dubs into."""
    dubbed = [code for code in GREETINGS if code != "en" and code in targets][:3]
    return [(code, GREETINGS[code]) for code in ("en", *dubbed)]


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    context = sample_context()
    # The languages a visitor's video can be dubbed into as it is (translated here, no subtitles).
    context["greetings"] = home_greetings(language_support().translated_targets)
    return render(request, "home.html", context)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("account")
    form = forms.SignupForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if page_throttled(request, "register"):
            form.add_error(None, THROTTLED)
            status = 429
        else:
            try:
                # The account speaks the language the sign-up page was shown in.
                registration = account_register(**form.cleaned_data, locale=page_locale(request))
            except ServiceError as exc:
                forms.form_add_service_error(form, exc)
            else:
                # Whether the address already had an account is not told: the same redirect and
                # words either way, and nobody is logged in (the new account confirms its address
                # by the emailed link, then logs in; the owner of a taken address was emailed).
                messages.success(request, particles(gettext("We sent an email to %(email)s.") % {
                    "email": registration.user.email}))
                target = next_url(request, "")
                return redirect(reverse("signup_sent") + (f"?{urlencode({'next': target})}" if target else ""))
    return render(request, "accounts/signup.html", {"form": form}, status=status)



@login_required
@require_POST
def account_delete(request: HttpRequest) -> HttpResponse:
    form = forms.DeleteAccountForm(request.POST)
    if form.is_valid():
        try:
            deletion.account_delete(user=request.user, password=form.cleaned_data["password"])
        except ServiceError as exc:
            forms.form_add_service_error(form, exc)
        else:
            logout(request)
            messages.success(request, gettext("Your account is deleted. Thank you for trying OneVoice."))
            return redirect("home")
    return account_page(request, delete=form, status=400)


@require_safe
@login_required
def credit_history_page(request: HttpRequest) -> HttpResponse:
    """billing's credit history, its rows naming the videos the dubs were for."""
    def video_titles(job_ids: set[str]) -> dict[str, str]:
        return {job_id: video.title for job_id, video in job_videos(owner_id=request.user.pk, job_ids=job_ids).items()}

    return render(request, "billing/history.html", credit_history_context(request, video_titles=video_titles))


@login_required
def video_detail_page(request: HttpRequest, video_id: uuid.UUID) -> HttpResponse:
    return render(request, "portal/video_detail.html", video_page_context(request, video_id))
