from __future__ import annotations

from django.urls import path

from accounts import api, views

# Paths under /api/v1/ (no trailing slashes, API.md). Registering, verifying an email, /me and
# deleting the account are served by portal.urls: their answers or work reach above accounts.
api_urlpatterns = [
    path("auth/verify-email/resend", api.VerifyEmailResendApi.as_view(), name="api-verify-email-resend"),
    path("auth/token", api.TokenObtainApi.as_view(), name="api-token"),
    path("auth/token/refresh", api.TokenRefreshApi.as_view(), name="api-token-refresh"),
    path("auth/logout", api.LogoutApi.as_view(), name="api-logout"),
    path("auth/password-reset", api.PasswordResetApi.as_view(), name="api-password-reset"),
    path("auth/password-reset/confirm", api.PasswordResetConfirmApi.as_view(), name="api-password-reset-confirm"),
    path("me/password", api.MePasswordApi.as_view(), name="api-me-password"),
]

# Server-rendered pages.
urlpatterns = [
    path("language", views.language_set, name="language_set"),
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("signup/sent", views.signup_sent, name="signup_sent"),
    path("verify-email/resend", views.verify_email_resend, name="verify_email_resend"),
    path("verify-email/<str:token>", views.verify_email, name="verify_email"),
    path("password-reset", views.password_reset, name="password_reset"),
    path("password-reset/sent", views.password_reset_sent, name="password_reset_sent"),
    path("password-reset/done", views.password_reset_done, name="password_reset_done"),
    path("password-reset/<str:token>", views.password_reset_confirm, name="password_reset_confirm"),
    path("account", views.account, name="account"),
    path("account/password", views.account_password, name="account_password"),
]
