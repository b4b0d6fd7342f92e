"""A ledger entry's owner is stored once: its account's user. `LedgerEntry.user` repeated it.

Nothing is copied: dropping the column keeps every entry's owner as long as each entry's user is
its account's user, which the ledger function always wrote. That is checked first, and the
migration stops, changing nothing, if any entry disagrees. Going back fills the column again
from the account.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery


def owners_agree(apps, schema_editor):
    LedgerEntry = apps.get_model("billing", "LedgerEntry")
    disagreeing = LedgerEntry.objects.exclude(user_id=F("account__user_id"))
    count = disagreeing.count()
    if count:
        sample = ", ".join(str(pk) for pk in disagreeing.values_list("pk", flat=True)[:5])
        raise RuntimeError(
            f"{count} ledger entries name a user other than their account's (e.g. {sample}); "
            "LedgerEntry.user would lose that owner. Resolve them before migrating."
        )


def owners_restore(apps, schema_editor):
    CreditAccount = apps.get_model("billing", "CreditAccount")
    LedgerEntry = apps.get_model("billing", "LedgerEntry")
    LedgerEntry.objects.update(
        user_id=Subquery(CreditAccount.objects.filter(pk=OuterRef("account_id")).values("user_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_translated_labels"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="ledgerentry", name="billing_ledger_user_created"),
        # Nullable first, so that going back can add the column before refilling it.
        migrations.AlterField(
            model_name="ledgerentry",
            name="user",
            field=models.ForeignKey(
                null=True,
                on_delete=models.PROTECT,
                related_name="ledger_entries",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
        migrations.RunPython(owners_agree, owners_restore, elidable=False),
        migrations.RemoveField(model_name="ledgerentry", name="user"),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["account", "-created_at"], name="billing_ledger_account_created"),
        ),
    ]
