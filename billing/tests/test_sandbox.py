"""The built-in test checkout: the stand-in PG and the same complete/webhook code as production."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.core.checks import run_checks
from django.test import Client

from billing import sandbox
from billing.models import Payment, WebhookDelivery
from billing.selectors import credits_balance
from testing.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture
def test_checkout(settings):
    settings.DEBUG = True  # pytest-django runs tests with debug off; the sandbox needs it on
    fake = sandbox.start()
    yield fake
    sandbox.stop()


@pytest.fixture
def owner_browser(owner):
    client = Client()
    client.force_login(owner)
    return client


def _prepare(client, pack) -> dict:
    response = client.post(
        "/api/v1/billing/payments", {"pack_id": str(pack.id)}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _pay(client, order: dict, **changes):
    body = {
        "paymentId": order["payment_id"],
        "totalAmount": order["amount"],
        "currency": order["currency"],
        "orderName": order["order_name"],
        "storeId": order["store_id"],
        "channelKey": order["channel_key"],
        **changes,
    }
    return client.post("/credits/test-checkout/pay", body, content_type="application/json")


def _balance(user) -> int:
    return credits_balance(user=user)


def test_the_credits_page_offers_the_test_checkout_marked_no_money_moves(test_checkout, owner_browser, pack):
    page = owner_browser.get("/credits").content.decode()

    assert "Test payment: no money moves." in page
    assert 'src="/static/billing/test-checkout-sdk.js"' in page
    assert 'data-pay-url="/credits/test-checkout/pay"' in page
    assert f'data-buy-pack="{pack.id}"' in page


def test_a_test_payment_is_credited_by_the_same_complete_as_production(test_checkout, owner_browser, owner, pack):
    before = _balance(owner)
    order = _prepare(owner_browser, pack)
    assert order["store_id"] == sandbox.STORE_ID and order["channel_key"] == sandbox.CHANNEL_KEY

    paid = _pay(owner_browser, order)
    assert paid.status_code == 200
    assert paid.json()["paymentId"] == order["payment_id"]
    completed = owner_browser.post(f"/api/v1/billing/payments/{order['payment_id']}/complete")
    again = owner_browser.post(f"/api/v1/billing/payments/{order['payment_id']}/complete")

    assert completed.status_code == 200 and completed.json()["status"] == "paid"
    assert again.status_code == 200
    assert _balance(owner) == before + pack.credits
    payment = Payment.objects.get(payment_id=order["payment_id"])
    assert payment.provider_channel_type == "TEST"
    # The server asked the loopback PortOne for the payment, with our API secret.
    assert ("GET", f"/payments/{order['payment_id']}", None) in test_checkout.requests


def test_a_test_payment_for_less_than_the_order_adds_no_credits(test_checkout, owner_browser, owner, pack):
    before = _balance(owner)
    order = _prepare(owner_browser, pack)

    _pay(owner_browser, order, totalAmount=order["amount"] - 1000)
    completed = owner_browser.post(f"/api/v1/billing/payments/{order['payment_id']}/complete")

    assert completed.status_code == 422
    assert completed.json()["code"] == "payment_mismatch"
    assert _balance(owner) == before


def test_the_stand_in_pg_pays_only_the_payers_own_orders(test_checkout, owner_browser, other, pack):
    order = _prepare(owner_browser, pack)
    intruder = Client()
    intruder.force_login(other)

    assert _pay(intruder, order).status_code == 404
    assert _pay(owner_browser, {**order, "payment_id": "ov-unknown"}).status_code == 404


def test_without_the_test_checkout_the_pay_endpoint_does_not_exist(owner_browser):
    response = owner_browser.post(
        "/credits/test-checkout/pay", {"paymentId": "x", "totalAmount": 1}, content_type="application/json"
    )
    assert response.status_code == 404


def test_with_debug_off_the_test_checkout_cannot_be_started(settings):
    settings.DEBUG = False
    with pytest.raises(sandbox.SandboxRefused):
        sandbox.start()
    assert sandbox.server() is None


def test_check_deploy_reports_a_test_checkout_asked_for_with_debug_off(settings):
    settings.DEBUG = False
    settings.PORTONE_TEST_CHECKOUT_REQUESTED = True
    settings.PORTONE_TEST_CHECKOUT = False

    errors = [m for m in run_checks(include_deployment_checks=True) if m.id == "billing.E001"]

    assert len(errors) == 1 and "PORTONE_TEST_CHECKOUT" in errors[0].msg


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        check=False,
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


_PRODUCTION_ENV = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 60, "PORTONE_TEST_CHECKOUT": "1"}
for _name in ("PORTONE_STORE_ID", "PORTONE_CHANNEL_KEY", "PORTONE_API_SECRET"):
    _PRODUCTION_ENV[_name] = ""


@pytest.mark.slow
def test_manage_py_check_deploy_fails_when_the_test_checkout_is_asked_for_in_production():
    result = _manage("check", "--deploy", "--fail-level", "ERROR", env=_PRODUCTION_ENV)

    assert result.returncode != 0
    assert "billing.E001" in result.stderr + result.stdout


@pytest.mark.slow
def test_in_production_settings_the_test_checkout_stays_off():
    result = _manage(
        "shell", "-c", "from django.conf import settings; print(settings.PORTONE_TEST_CHECKOUT)",
        env=_PRODUCTION_ENV,
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_devserver_starts_the_test_checkout_with_debug_on_and_no_keys(tmp_path):
    port = _free_port()
    env = {**os.environ, "DJANGO_DEBUG": "1", "ONEVOICE_DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    for name in ("PORTONE_STORE_ID", "PORTONE_CHANNEL_KEY", "PORTONE_API_SECRET", "PORTONE_TEST_CHECKOUT"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "devserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Test checkout:" in line:
                break
        banner = next((line for line in lines if "Test checkout:" in line), "")
        assert "no money moves" in banner, "".join(lines)
        loopback = banner.split("loopback PortOne V2 at ", 1)[1].split(",", 1)[0]
        # The loopback PortOne answers the server SDK's wire protocol (and wants its secret).
        assert httpx.get(f"{loopback}/payments/nothing").status_code == 401

        def static_sdk() -> httpx.Response | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/static/billing/test-checkout-sdk.js")
            except httpx.ConnectError:
                return None  # still starting

        sdk = wait_until(static_sdk, timeout=60, interval=0.2, what="the devserver to answer")
        assert sdk.status_code == 200 and "no money moves" in sdk.text
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.django_db(transaction=True)
def test_the_stand_in_pg_delivers_portones_signed_webhook(test_checkout, live_server, owner, pack, settings):
    settings.PORTONE_WEBHOOK_SECRET = test_checkout.webhook_secret
    client = Client()
    client.force_login(owner)
    order = _prepare(client, pack)
    before = _balance(owner)

    # The page's stand-in SDK calls the live site; the webhook goes to the same host.
    session = httpx.Client(base_url=live_server.url, cookies={"sessionid": client.cookies["sessionid"].value})
    page = session.get("/credits")
    token = page.cookies.get("csrftoken") or session.cookies.get("csrftoken")
    response = session.post(
        "/credits/test-checkout/pay",
        json={"paymentId": order["payment_id"], "totalAmount": order["amount"], "currency": "KRW",
              "orderName": order["order_name"]},
        headers={"X-CSRFToken": token, "Referer": live_server.url + "/credits"},
    )
    assert response.status_code == 200, response.text

    wait_until(lambda: WebhookDelivery.objects.filter(processed=True).exists(), timeout=10, interval=0.1,
               what="PortOne's webhook, processed")
    delivery = WebhookDelivery.objects.get()
    assert delivery.verified and delivery.processed and delivery.error == ""
    assert delivery.event_type == "Transaction.Paid" and delivery.payment_id == order["payment_id"]
    # The webhook alone credited the pack: nobody called complete.
    assert _balance(owner) == before + pack.credits
