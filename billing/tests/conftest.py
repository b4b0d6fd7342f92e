"""Billing fixtures: the ledger invariant, credit packs, and the loopback PortOne server."""

from __future__ import annotations

import re

import pytest

from billing.tests.factories import CreditPackFactory


@pytest.fixture(autouse=True)
def _balances_equal_ledger_sums(request):
    """After every billing test: each account's balance is the sum of its ledger entries."""
    yield
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    )
    if not uses_db:
        return
    from django.db.models import Sum

    from billing.models import CreditAccount

    for account in CreditAccount.objects.annotate(total=Sum("entries__amount")):
        assert account.balance == (account.total or 0), (
            f"{account.user_id}: balance {account.balance} != ledger sum {account.total}"
        )
        assert account.balance >= 0


@pytest.fixture
def pack(db):
    return CreditPackFactory(name="Test 100", sort_order=-1)


@pytest.fixture
def rendered_grant_key():
    """Reads, from a rendered page, the idempotency key the admin's credit-grant form carries
    (its hidden field): each submit posts back the key of the form it was rendered with."""

    def read(page) -> str:
        found = re.search(rb'name="idempotency_key" value="([^"]+)"', page.content)
        assert found, "the grant form carries no idempotency key"
        return found.group(1).decode()

    return read


@pytest.fixture
def portone(settings):
    """The loopback PortOne V2 server, with the PortOne settings pointing at it."""
    from testing.portone_server import FakePortOne, make_webhook_secret

    fake = FakePortOne(api_secret="test-api-secret", store_id="store-test-0001")
    settings.PORTONE_API_BASE_URL = fake.start()
    settings.PORTONE_STORE_ID = fake.store_id
    settings.PORTONE_CHANNEL_KEY = "channel-key-test"
    settings.PORTONE_API_SECRET = fake.api_secret
    settings.PORTONE_WEBHOOK_SECRET = make_webhook_secret()
    settings.PORTONE_ALLOW_TEST_CHANNEL = False
    fake.webhook_secret = settings.PORTONE_WEBHOOK_SECRET
    yield fake
    fake.stop()


@pytest.fixture
def send_webhook(api_client):
    """Deliver a signed PortOne webhook to our endpoint; returns the response."""
    from testing.portone_server import sign_webhook, webhook_body

    def send(portone, event_type: str, payment_id: str, *, headers: dict | None = None, **kwargs):
        body = webhook_body(event_type, payment_id=payment_id, store_id=portone.store_id, **kwargs)
        signed = headers if headers is not None else sign_webhook(portone.webhook_secret, body)
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.items()}
        return api_client.generic(
            "POST", "/api/v1/billing/webhooks/portone", body, "application/json", **extra
        )

    return send


@pytest.fixture
def prepare(owner_client, pack):
    def prepare_for(client=None, pack_id=None):
        response = (client or owner_client).post(
            "/api/v1/billing/payments", {"pack_id": str(pack_id or pack.id)}
        )
        assert response.status_code == 201, response.json()
        return response.json()

    return prepare_for


@pytest.fixture
def paid(owner, owner_client, prepare, portone):
    """A paid Starter pack (15,000 won) of the owner's, completed through the API."""
    from billing.models import Payment

    order = prepare()
    portone.set_paid(order["payment_id"], amount=15000)
    assert owner_client.post(f"/api/v1/billing/payments/{order['payment_id']}/complete").json()["status"] == "paid"
    return Payment.objects.get(payment_id=order["payment_id"])


@pytest.fixture
def plan(db):
    from billing.models import Plan

    return Plan.objects.create(name="Test plan", credits_per_period=100, price=10_000, rollover_max=20, sort_order=-2)


@pytest.fixture
def big_plan(db):
    from billing.models import Plan

    return Plan.objects.create(name="Test big plan", credits_per_period=300, price=25_000, rollover_max=0, sort_order=-1)


@pytest.fixture
def subscribe(owner, owner_client, plan, portone):
    """Choose a plan through the API, let the card company issue a billing key for that request
    (as the browser SDK would), and complete: returns (complete response, billing key)."""

    def subscribe_with(client=None, user=None, plan_id=None, channel_type="LIVE", before_complete=None):
        client, user = client or owner_client, user or owner
        started = client.post("/api/v1/billing/subscription", {"plan_id": str(plan_id or plan.id)}, format="json")
        assert started.status_code == 201, started.json()
        order = started.json()
        key = portone.issue_billing_key(customer_id=order["customer"]["customer_id"], issue_id=order["issue_id"],
                                        issue_name=order["issue_name"], channel_type=channel_type)
        if before_complete is not None:
            before_complete(key)
        return client.post("/api/v1/billing/subscription/complete", {"billing_key_id": key}, format="json"), key

    return subscribe_with


@pytest.fixture
def subscribed(subscribe):
    """The owner on the test plan, its first period paid: (subscription, billing key)."""
    from billing.models import Subscription

    response, key = subscribe()
    assert response.status_code == 200, response.json()
    return Subscription.objects.get(pk=response.json()["id"]), key


@pytest.fixture
def outgoing_emails(broker):
    """The emails enqueued for accounts' email_send actor (any broker), as dicts with subject,
    body and recipient. Queued after commit: wrap the action in django_capture_on_commit_callbacks."""
    import dramatiq

    class Recorder(dramatiq.Middleware):
        def __init__(self):
            self.emails = []

        def before_enqueue(self, broker, message, delay):
            if message.actor_name == "email_send":
                self.emails.append(message.kwargs)

    recorder = Recorder()
    broker.middleware.append(recorder)
    yield recorder.emails
    broker.middleware.remove(recorder)


@pytest.fixture
def started_on():
    """Move a subscription's first period to start at `anchor` (a fixed clock for renewals)."""

    def move(subscription, anchor):
        from billing.services.plans import period_bounds

        start, end = period_bounds(anchor=anchor, number=subscription.period_number or 1)
        type(subscription).objects.filter(pk=subscription.pk).update(
            anchor_at=anchor, current_period_start=start, current_period_end=end, next_attempt_at=end)
        subscription.refresh_from_db()
        return subscription

    return move


@pytest.fixture
def paddle(settings):
    """The loopback Paddle Billing API, with the Paddle settings pointing at it."""
    from testing.paddle_server import FakePaddle

    fake = FakePaddle()
    settings.PADDLE_API_BASE = fake.start()
    settings.PADDLE_API_KEY = fake.api_key
    settings.PADDLE_CLIENT_TOKEN = "test_0123456789abcdef0123456789a"
    settings.PADDLE_WEBHOOK_SECRET = [fake.webhook_secret]
    settings.PADDLE_TIMEOUT_SECONDS = 5.0
    yield fake
    fake.stop()


@pytest.fixture
def stripe_api(settings):
    """The loopback Stripe API, with the Stripe settings pointing at it (PortOne stays off)."""
    from testing.stripe_server import FakeStripe

    fake = FakeStripe(api_key="sk_test_onevoice_tests")
    settings.STRIPE_API_BASE = fake.start()
    settings.STRIPE_SECRET_KEY = fake.api_key
    settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 5.0
    settings.PAYMENTS_INTERNATIONAL_PROVIDERS = ["stripe"]
    yield fake
    fake.stop()


@pytest.fixture
def usd_pack(db):
    return CreditPackFactory(name="Standard USD", credits=100, price=999, currency="USD", sort_order=-1)


@pytest.fixture
def send_stripe(api_client):
    """Deliver a webhook body to our Stripe endpoint, signed as Stripe signs it (or with `signature`)."""
    from testing.stripe_server import sign

    def send(stripe_api, body: str, *, signature: str | None = None, timestamp: int | None = None):
        header = signature if signature is not None else sign(stripe_api.webhook_secret, body, timestamp=timestamp)
        extra = {"HTTP_STRIPE_SIGNATURE": header} if header else {}
        return api_client.generic("POST", "/api/v1/billing/webhooks/stripe", body, "application/json", **extra)

    return send
