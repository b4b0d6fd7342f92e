"""System checks for billing: the built-in test checkout never reaches a deployment."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from billing.billing_keys import cipher_check, using_development_key


@register(Tags.security, deploy=True)
def test_checkout_check(app_configs=None, **kwargs):
    """`check --deploy`: a PORTONE_TEST_CHECKOUT that asks for the test checkout is reported."""
    if not settings.PORTONE_TEST_CHECKOUT_REQUESTED:
        return []
    if not settings.DEBUG:
        return [
            Error(
                "PORTONE_TEST_CHECKOUT is on, but the test checkout cannot be switched on with "
                "DJANGO_DEBUG off: it stays off and payments need the PortOne keys.",
                hint="Remove PORTONE_TEST_CHECKOUT and set PORTONE_STORE_ID, PORTONE_CHANNEL_KEY, "
                "PORTONE_API_SECRET and PORTONE_WEBHOOK_SECRET.",
                id="billing.E001",
            )
        ]
    return [
        Warning(
            "The built-in test checkout is on: credits are bought without any money moving.",
            hint="Deployments run with DJANGO_DEBUG=0 and the PortOne keys set.",
            id="billing.W001",
        )
    ]


@register(Tags.security, deploy=True)
def paddle_test_checkout_check(app_configs=None, **kwargs):
    """`check --deploy`: a PADDLE_TEST_CHECKOUT that asks for Paddle's test checkout is reported."""
    if not settings.PADDLE_TEST_CHECKOUT_REQUESTED:
        return []
    if not settings.DEBUG:
        return [
            Error(
                "PADDLE_TEST_CHECKOUT is on, but the test checkout cannot be switched on with "
                "DJANGO_DEBUG off: it stays off and Paddle needs its keys.",
                hint="Remove PADDLE_TEST_CHECKOUT and set PADDLE_API_KEY, PADDLE_CLIENT_TOKEN and "
                "PADDLE_WEBHOOK_SECRET.",
                id="billing.E004",
            )
        ]
    return [
        Warning(
            "The built-in test checkout for Paddle is on: credits are bought without any money moving.",
            hint="Deployments run with DJANGO_DEBUG=0 and the Paddle keys set.",
            id="billing.W002",
        )
    ]


@register(Tags.security, deploy=True)
def stripe_test_checkout_check(app_configs=None, **kwargs):
    """`check --deploy`: a STRIPE_TEST_CHECKOUT that asks for Stripe's test checkout is reported."""
    if not settings.STRIPE_TEST_CHECKOUT_REQUESTED:
        return []
    if not settings.DEBUG:
        return [
            Error(
                "STRIPE_TEST_CHECKOUT is on, but the test checkout cannot be switched on with "
                "DJANGO_DEBUG off: it stays off and Stripe needs its keys.",
                hint="Remove STRIPE_TEST_CHECKOUT and set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.",
                id="billing.E005",
            )
        ]
    return [
        Warning(
            "The built-in test checkout for Stripe is on: credits are bought without any money moving.",
            hint="Deployments run with DJANGO_DEBUG=0 and the Stripe keys set.",
            id="billing.W003",
        )
    ]


@register(Tags.security, deploy=True)
def billing_key_encryption_check(app_configs=None, **kwargs):
    """`check --deploy`: billing keys are never encrypted with the published development key."""
    errors = []
    if using_development_key() and not settings.DEBUG:
        errors.append(
            Error(
                "BILLING_KEY_ENCRYPTION_KEYS holds the published development key: anyone could "
                "decrypt the stored PortOne billing keys.",
                hint='Set BILLING_KEY_ENCRYPTION_KEYS to a key of your own: python -c "from '
                'cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"',
                id="billing.E002",
            )
        )
    try:
        cipher_check()
    except ImproperlyConfigured as error:
        errors.append(Error(str(error), id="billing.E003"))
    return errors
