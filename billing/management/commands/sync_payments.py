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
            "--abandon-after-hours",
            type=int,
            default=24,
            metavar="HOURS",
            help="Mark payments PortOne still does not know after this long as failed (default 24).",
        )

    def handle(self, *args, older_than: int, abandon_after_hours: int, **options):
        counts = payments_sync_pending(older_than_seconds=older_than, abandon_after_hours=abandon_after_hours)
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))
