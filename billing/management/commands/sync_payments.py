"""Re-check payments left pending (a closed browser, a late bank transfer, a lost webhook)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from billing.services import payments_sync_pending


class Command(BaseCommand):
    help = "Ask PortOne about every pending payment and credit the ones that are paid (once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Only payments created at least this long ago (default 0: all).",
        )
        parser.add_argument(
            "--expire-after-minutes",
            type=int,
            default=None,
            metavar="MINUTES",
            help="Expire checkouts still unpaid after this long, PortOne asked first "
                 "(default: CHECKOUT_EXPIRE_MINUTES).",
        )

    def handle(self, *args, older_than: int, expire_after_minutes: int | None, **options):
        counts = payments_sync_pending(older_than_seconds=older_than, expire_after_minutes=expire_after_minutes)
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))
