"""factory_boy factories for integrations' models: webhook endpoints, their messages and each try.

Endpoints made here skip the URL rules `webhook_endpoint_create` applies (tests of those rules
call the service); the secret is made as the service makes it."""

from __future__ import annotations

import secrets

import factory
from factory.django import DjangoModelFactory

from accounts.tests.factories import UserFactory
from integrations.services import webhook_secret_new


class WebhookEndpointFactory(DjangoModelFactory):
    """An active endpoint of its owner's at a loopback address, listening for succeeded jobs."""

    class Meta:
        model = "integrations.WebhookEndpoint"

    owner = factory.SubFactory(UserFactory)
    url = "http://127.0.0.1:9/hook"
    events = factory.LazyFunction(lambda: ["job.succeeded"])
    secret = factory.LazyFunction(webhook_secret_new)


class WebhookMessageFactory(DjangoModelFactory):
    """A pending ping, not tried yet."""

    class Meta:
        model = "integrations.WebhookMessage"

    id = factory.LazyFunction(lambda: "msg_" + secrets.token_hex(12))
    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event = "ping"
    body = '{"type":"ping"}'


class WebhookAttemptFactory(DjangoModelFactory):
    """The message's first try, answered 503."""

    class Meta:
        model = "integrations.WebhookAttempt"

    message = factory.SubFactory(WebhookMessageFactory)
    endpoint = factory.LazyAttribute(lambda attempt: attempt.message.endpoint)
    number = 1
    status_code = 503
    error = factory.LazyAttribute(lambda attempt: f"HTTP {attempt.status_code}" if attempt.status_code else "")
