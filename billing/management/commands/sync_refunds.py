"""Settle refunds left pending (the process that asked PortOne died before recording its answer)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from billing.services import refunds_sync_pending


class Command(BaseCommand):
    help = (
        "Ask PortOne what became of every refund still pending after REFUND_SYNC_AFTER_SECONDS: "
        "complete the ones it cancelled, put the credits back for the others (once)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="SECONDS",
            help="Only refunds asked for at least this long ago (default REFUND_SYNC_AFTER_SECONDS).",
        )

    def handle(self, *args, older_than: int | None, **options):
        counts = refunds_sync_pending(older_than_seconds=older_than)
        self.stdout.write(" ".join(f"{key}={value}" for key, value in counts.items()))
