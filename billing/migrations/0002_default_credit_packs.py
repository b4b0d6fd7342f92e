"""Default credit packs in KRW (one credit dubs one minute at the default CREDITS_PER_MINUTE).

Staff edit or deactivate them in the admin; this only adds them where no pack of that name exists.
"""

from django.db import migrations

DEFAULT_PACKS = [
    # name, credits, price (KRW), sort order
    ("Starter", 30, 5_000, 10),
    ("Standard", 100, 15_000, 20),
    ("Pro", 300, 39_000, 30),
    ("Studio", 1_000, 110_000, 40),
]


def add_default_packs(apps, schema_editor):
    CreditPack = apps.get_model("billing", "CreditPack")
    for name, credits, price, sort_order in DEFAULT_PACKS:
        if not CreditPack.objects.filter(name=name).exists():
            CreditPack.objects.create(
                name=name, credits=credits, price=price, currency="KRW", active=True, sort_order=sort_order
            )


def remove_default_packs(apps, schema_editor):
    CreditPack = apps.get_model("billing", "CreditPack")
    for name, credits, price, _ in DEFAULT_PACKS:
        # Packs somebody bought are protected by their payments; leave those in place.
        CreditPack.objects.filter(name=name, credits=credits, price=price, payments__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(add_default_packs, remove_default_packs)]
