"""Our packs and plans as Paddle products and prices (`manage.py paddle_catalog`).

One Paddle product per pack or plan, one Paddle price per currency it is sold in; their ids are
stored (`PaddleCatalogPrice`) so checkout names Paddle's price for what the buyer chose. Every
product and price carries our id in its `custom_data`, so a run that died between Paddle's
answer and our commit adopts what it made instead of making it twice. A changed price gets a new
Paddle price and the old one is archived (Paddle keeps billing subscriptions already on it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import ngettext

from billing import paddle
from billing.models import CreditPack, PaddleCatalogPrice, Plan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogItem:
    """Something we sell, in one currency, as Paddle should price it."""

    kind: str  # "pack" or "plan"
    obj: CreditPack | Plan
    currency: str
    amount: int  # the lowest denomination (won)

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.obj.pk}"

    @property
    def monthly(self) -> bool:
        return self.kind == "plan"


@dataclass
class CatalogReport:
    created: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return " ".join(f"{name}={len(getattr(self, name))}" for name in ("created", "adopted", "replaced", "unchanged"))


def catalog_items() -> list[CatalogItem]:
    """Every active pack and plan in each currency it has a price in: its own, and each of its
    prices in other currencies (CreditPackPrice, PlanPrice)."""
    items = []
    for kind, model in (("pack", CreditPack), ("plan", Plan)):
        for obj in model.objects.filter(active=True).prefetch_related("prices"):
            items.append(CatalogItem(kind, obj, obj.currency.upper(), obj.price))
            items += [CatalogItem(kind, obj, p.currency.upper(), p.amount) for p in obj.prices.all()]
    return items


def _names(item: CatalogItem) -> tuple[str, str]:
    """The product's name and the price's description, in the site's language (Paddle's
    checkout and invoices show them)."""
    with translation.override(settings.LANGUAGE_CODE):
        if item.kind == "pack":
            credits = item.obj.credits
            return f"OneVoice {item.obj.name}", ngettext("%(credits)s credit", "%(credits)s credits", credits) % {
                "credits": credits}
        credits = item.obj.credits_per_period
        return f"OneVoice {item.obj.name}", ngettext(
            "%(credits)s credit a month", "%(credits)s credits a month", credits) % {"credits": credits}


def _rows_for(item: CatalogItem):
    return PaddleCatalogPrice.objects.filter(**{item.kind: item.obj})


def paddle_catalog_sync(*, dry_run: bool = False) -> CatalogReport:
    """Make every pack and plan purchasable through Paddle; safe to run any number of times."""
    report = CatalogReport()
    items = catalog_items()
    if not items:
        return report
    products = {p.custom_data.get("onevoice_ref"): p for p in paddle.products_list() if p.status == "active"}
    prices = [p for p in paddle.prices_list() if p.status == "active"]
    for item in items:
        current = _rows_for(item).filter(currency=item.currency, active=True).first()
        if current is not None and current.amount == item.amount:
            report.unchanged.append(item.ref)
            continue
        if dry_run:
            (report.replaced if current else report.created).append(item.ref)
            continue
        product_id = _product_for(item, products)
        match = next((p for p in prices if p.product_id == product_id and p.currency == item.currency
                      and p.amount == item.amount and p.monthly == item.monthly
                      and p.custom_data.get("onevoice_ref") == item.ref), None)
        if match is None:
            _, description = _names(item)
            match = paddle.price_create(product_id=product_id, description=description, amount=item.amount,
                                        currency=item.currency, monthly=item.monthly,
                                        custom_data={"onevoice_ref": item.ref})
            prices.append(match)
            adopted = False
        else:
            adopted = True
        _record(item, product_id=product_id, price_id=match.id, replaced=current)
        if current is not None:
            paddle.price_archive(price_id=current.paddle_price_id)
            report.replaced.append(item.ref)
        else:
            (report.adopted if adopted else report.created).append(item.ref)
    return report


def _product_for(item: CatalogItem, products: dict) -> str:
    row = _rows_for(item).exclude(paddle_product_id="").first()
    if row is not None:
        return row.paddle_product_id
    product = products.get(item.ref)
    if product is None:
        name, _ = _names(item)
        product = paddle.product_create(name=name, custom_data={"onevoice_ref": item.ref})
        products[item.ref] = product
    return product.id


@transaction.atomic
def _record(item: CatalogItem, *, product_id: str, price_id: str, replaced: PaddleCatalogPrice | None) -> None:
    if replaced is not None:
        PaddleCatalogPrice.objects.filter(pk=replaced.pk).update(active=False)
    PaddleCatalogPrice.objects.update_or_create(
        paddle_price_id=price_id,
        defaults={item.kind: item.obj, "currency": item.currency, "amount": item.amount,
                  "paddle_product_id": product_id, "active": True},
    )
