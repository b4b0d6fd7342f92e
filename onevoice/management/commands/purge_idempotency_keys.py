"""Delete idempotency keys older than IDEMPOTENCY_KEY_HOURS (run it daily, e.g. from cron)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from onevoice.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete expired idempotency keys."

    def handle(self, *args, **options):
        deleted = idempotency_keys_purge()
        self.stdout.write(f"Deleted {deleted} expired idempotency key(s).")
