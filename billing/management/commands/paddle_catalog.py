"""Create (or adopt) Paddle products and prices for our packs and plans and store their ids."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from billing import paddle
from billing.errors import PaymentProviderUnavailable
from billing.services.paddle_catalog import paddle_catalog_sync


class Command(BaseCommand):
    help = (
        "Make every active credit pack and plan purchasable through Paddle: a Paddle product per "
        "item and a Paddle price per currency (monthly for plans), ids stored. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Say what would be made; change nothing.")

    def handle(self, *args, dry_run: bool, **options):
        if not paddle.is_configured():
            raise CommandError("Paddle is not configured: set PADDLE_API_KEY and PADDLE_CLIENT_TOKEN.")
        try:
            report = paddle_catalog_sync(dry_run=dry_run)
        except paddle.PaddleRefused as refusal:
            raise CommandError(f"Paddle refused: {refusal}") from refusal
        except PaymentProviderUnavailable as error:
            raise CommandError(f"Paddle did not answer ({error.detail}); nothing half-made stays unknown: run again.") from error
        for name in ("created", "adopted", "replaced"):
            for ref in getattr(report, name):
                self.stdout.write(f"{'would be ' if dry_run else ''}{name}: {ref}")
        self.stdout.write(report.summary())
