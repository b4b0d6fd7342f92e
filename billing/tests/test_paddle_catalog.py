"""`manage.py paddle_catalog`: Paddle products and prices for our packs and plans, ids stored."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing import paddle as paddle_api
from billing.models import CreditPack, PaddleCatalogPrice, Plan

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("paddle_catalog", *args, stdout=out)
    return out.getvalue()


def posts(fake, path: str) -> list[dict]:
    return [body for method, p, body in fake.requests if method == "POST" and p == path]


def test_every_active_pack_and_plan_gets_a_paddle_price_in_each_of_its_currencies(paddle):
    packs = list(CreditPack.objects.filter(active=True))
    plans = list(Plan.objects.filter(active=True))
    assert packs and plans  # the default catalog (migrations 0002, 0006), with USD and EUR prices
    CreditPack.objects.create(name="Retired", credits=5, price=900, active=False)
    wanted = [(kind, item, currency, item.price_in(currency))
              for kind, items in (("pack", packs), ("plan", plans)) for item in items
              for currency in [item.currency, *item.prices.values_list("currency", flat=True)]]
    assert {currency for *_, currency, _ in wanted} >= {"KRW", "USD", "EUR"}

    output = run()

    assert f"created={len(wanted)}" in output
    for kind, item, currency, amount in wanted:
        row = PaddleCatalogPrice.objects.get(**{kind: item}, currency=currency, active=True)
        price = paddle.prices[row.paddle_price_id]
        assert price["product_id"] == row.paddle_product_id in paddle.products
        assert price["unit_price"] == {"amount": str(amount), "currency_code": currency}
        assert price["custom_data"] == {"onevoice_ref": f"{kind}:{item.pk}"}
        # Plans renew monthly at Paddle; packs are one-off.
        assert price["billing_cycle"] == ({"interval": "month", "frequency": 1} if kind == "plan" else None)
    # One product per pack or plan, whatever the number of its currencies.
    assert len(paddle.products) == len(packs) + len(plans)
    assert not PaddleCatalogPrice.objects.filter(pack__name="Retired").exists()
    pack_row = PaddleCatalogPrice.objects.filter(pack=packs[0]).first()
    assert paddle.products[pack_row.paddle_product_id]["name"] == f"OneVoice {packs[0].name}"
    assert paddle.prices[pack_row.paddle_price_id]["description"] == f"{packs[0].credits} credits"


def test_a_second_run_makes_nothing(paddle):
    run()
    made = len(paddle.requests)
    output = run()
    assert "created=0 adopted=0 replaced=0" in output
    assert not [r for r in paddle.requests[made:] if r[0] != "GET"]


def test_a_changed_price_gets_a_new_paddle_price_and_the_old_one_is_archived(paddle):
    run()
    pack = CreditPack.objects.filter(active=True).first()
    old = PaddleCatalogPrice.objects.get(pack=pack, currency=pack.currency)
    pack.price += 1000
    pack.save()

    output = run()

    assert f"replaced: pack:{pack.pk}" in output
    new = PaddleCatalogPrice.objects.get(pack=pack, currency=pack.currency, active=True)
    assert new.paddle_price_id != old.paddle_price_id and new.amount == pack.price
    assert new.paddle_product_id == old.paddle_product_id  # the same product, a new price
    assert paddle.prices[old.paddle_price_id]["status"] == "archived"
    old.refresh_from_db()
    assert not old.active


def test_a_run_that_died_before_storing_adopts_what_paddle_made(paddle):
    run()
    made_products, made_prices = len(posts(paddle, "/products")), len(posts(paddle, "/prices"))
    PaddleCatalogPrice.objects.all().delete()  # Paddle answered; our commit never happened

    output = run()

    assert "created=0" in output and "adopted=" in output
    assert len(posts(paddle, "/products")) == made_products and len(posts(paddle, "/prices")) == made_prices
    assert PaddleCatalogPrice.objects.filter(active=True).count() == made_prices


def test_a_dry_run_says_what_it_would_make_and_makes_nothing(paddle):
    output = run("--dry-run")
    assert "would be created: pack:" in output
    assert not [r for r in paddle.requests if r[0] != "GET"]
    assert not PaddleCatalogPrice.objects.exists()


def test_without_paddle_keys_the_command_says_what_to_set(settings):
    settings.PADDLE_API_KEY = ""
    with pytest.raises(CommandError, match="PADDLE_API_KEY"):
        run()


def test_paddle_down_fails_the_command_with_nothing_stored(paddle):
    paddle.fail_with = 503
    with pytest.raises(CommandError, match="did not answer"):
        run()
    assert not PaddleCatalogPrice.objects.exists()


def test_a_refusal_names_paddles_code(paddle, settings):
    settings.PADDLE_API_KEY = "pdl_sdbx_apikey_wrong"
    with pytest.raises(CommandError, match="forbidden"):
        run()
    assert paddle_api.is_configured()
