"""Server-rendered pages: log in/out, email verification, password reset, the account page.

Signing up (with its bonus) and deleting the account (with its dubs and videos) cross apps:
portal.views serves them, with the helpers below, at the same paths under the same names."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from accounts import forms, services
from accounts.errors import InvalidToken
from accounts.throttles import page_throttled
from accounts.tokens import password_reset_token_user
from onevoice.errors import ServiceError
from onevoice.korean import particles

THROTTLED = _("Too many attempts from your address. Wait a little and try again.")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if page_throttled(request, "login"):
            # An unbound form: binding would run authenticate(), the very thing being throttled.
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
            context = self.get_context_data(form=form, page_error=THROTTLED)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    # Django's LogoutView only accepts POST, so a link in an email or an <img> cannot log anyone out.
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, gettext("You are logged out."))
        return response


@require_safe
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = services.user_verify_email(token=token)
    except InvalidToken as exc:
        return render(request, "accounts/verify_email.html", {"error": exc.detail}, status=400)
    return render(request, "accounts/verify_email.html", {"verified_user": user})


@require_POST
@login_required
def verify_email_resend(request: HttpRequest) -> HttpResponse:
    if page_throttled(request, "verify_resend"):
        messages.error(request, THROTTLED)
    else:
        try:
            services.user_verification_email_resend(user=request.user)
        except ServiceError as exc:
            messages.info(request, exc.detail)
        else:
            messages.success(
                request, particles(gettext("We sent a new confirmation link to %(email)s.") % {"email": request.user.email})
            )
    return redirect(next_url(request, "account"))


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = forms.EmailForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if page_throttled(request, "password_reset"):
            form.add_error(None, THROTTLED)
            status = 429
        else:
            services.user_password_reset_request(email=form.cleaned_data["email"])
            return redirect("password_reset_sent")
    return render(request, "accounts/password_reset.html", {"form": form}, status=status)


@require_safe
def signup_sent(request: HttpRequest) -> HttpResponse:
    """Where every sign-up lands, whether or not its address already had an account."""
    return render(request, "accounts/signup_sent.html", {"next": next_url(request, "")})


@require_safe
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_sent.html")


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        password_reset_token_user(token=token)
    except InvalidToken as exc:
        return render(request, "accounts/password_reset_confirm.html", {"error": exc.detail}, status=400)
    form = forms.SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_password_reset_confirm(token=token, password=form.cleaned_data["password"])
        except ServiceError as exc:
            forms.form_add_service_error(form, exc)
        else:
            return redirect("password_reset_done")
    return render(request, "accounts/password_reset_confirm.html", {"form": form})


@require_safe
def password_reset_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_done.html")


def account_page(request, *, profile=None, password=None, delete=None, status=200) -> HttpResponse:
    user = request.user
    context = {
        "profile_form": profile or forms.ProfileForm(initial={"name": user.name, "locale": user.locale}),
        "password_form": password or forms.PasswordChangeForm(),
        "delete_form": delete or forms.DeleteAccountForm(),
    }
    return render(request, "accounts/account.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return account_page(request)
    form = forms.ProfileForm(request.POST)
    if form.is_valid():
        try:
            services.user_update(user=request.user, **form.cleaned_data)
        except ServiceError as exc:
            forms.form_add_service_error(form, exc)
        else:
            with translation.override(request.user.locale):  # the language just chosen
                messages.success(request, gettext("Your profile is saved."))
            return redirect("account")
    return account_page(request, profile=form, status=400)


@login_required
@require_POST
def account_password(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            services.user_password_change(user=request.user, **form.cleaned_data)
        except ServiceError as exc:
            forms.form_add_service_error(form, exc)
        else:
            update_session_auth_hash(request, request.user)  # stay logged in on this device
            messages.success(request, gettext("Your password is changed. Other devices have been logged out."))
            return redirect("account")
    return account_page(request, password=form, status=400)


def next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def page_locale(request: HttpRequest) -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The footer's language switch: remembered in a cookie, and as the account's `locale`."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = "/"
    response = redirect(next_url)
    if language in dict(settings.LANGUAGES):
        if request.user.is_authenticated:
            services.user_update(user=request.user, locale=language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=request.is_secure(),
        )
    return response
