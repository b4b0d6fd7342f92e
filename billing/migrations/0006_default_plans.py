"""Three monthly plans in KRW (cheaper per credit than the packs); staff edit them in the admin.
Added only where no plan of that name exists."""

from django.db import migrations

DEFAULT_PLANS = [
    # name, credits per month, price (KRW), rollover at most, sort order
    ("Lite", 60, 7_900, 0, 10),
    ("Creator", 200, 24_000, 100, 20),
    ("Studio", 600, 59_000, 300, 30),
]


def add_default_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for name, credits, price, rollover_max, sort_order in DEFAULT_PLANS:
        if not Plan.objects.filter(name=name).exists():
            Plan.objects.create(name=name, credits_per_period=credits, price=price, currency="KRW",
                                rollover_max=rollover_max, active=True, sort_order=sort_order)


def remove_default_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for name, credits, price, _, _ in DEFAULT_PLANS:
        # Plans somebody subscribed to are protected by their subscriptions; leave those.
        Plan.objects.filter(name=name, credits_per_period=credits, price=price,
                            subscriptions__isnull=True, charges__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0005_plans_and_subscriptions")]

    operations = [migrations.RunPython(add_default_plans, remove_default_plans)]
