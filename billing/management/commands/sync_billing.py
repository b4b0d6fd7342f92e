"""`manage.py sync_billing [--loop]`: enqueue the payment and refund re-checks for the workers.

Each pass sends `sync_pending_payments` (the work of `sync_payments`) and `sync_pending_refunds`
(the work of `sync_refunds`). Run it once from cron, or with --loop beside the workers
(compose.yaml's `billing-sync`; `manage.py devserver` runs the loop in a thread). More than one
scheduler is harmless: payments and refunds are settled under their row locks.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from billing.tasks import billing_sync_loop, sync_pending_payments, sync_pending_refunds


class Command(BaseCommand):
    help = "Enqueues the re-checks of pending payments and pending refunds (once, or every --interval seconds)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, one pass every --interval seconds.")
        parser.add_argument("--interval", type=float, default=settings.BILLING_SYNC_INTERVAL,
                            help="Seconds between passes with --loop (default %(default)s).")

    def handle(self, *args, **options):
        if not options["loop"]:
            sync_pending_payments.send()
            sync_pending_refunds.send()
            self.stdout.write("enqueued=sync_pending_payments,sync_pending_refunds")
            return
        stop = threading.Event()
        try:
            billing_sync_loop(interval=max(0.1, options["interval"]), stop=stop)
        except KeyboardInterrupt:
            stop.set()
