"""`manage.py renew_subscriptions [--loop] [--inline] [--now ISO]`: renew the due subscriptions.

Each pass sends one `renew_subscription` message per subscription due (the workers charge them;
each claims its subscription with a conditional update, so more than one scheduler or a
duplicate message charges nothing twice). Run it once from cron, or with --loop beside the
workers (compose.yaml's `renewals`; `manage.py devserver` runs the loop in a thread).

--inline renews in this process instead of enqueueing (no workers needed). --now renews as if
the clock read that time (with DJANGO_DEBUG=1 only: the embedded set-up's way to see a renewal
without waiting a month; implies --inline).
"""

from __future__ import annotations

import threading
from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing.services import subscription_renew, subscriptions_due
from billing.tasks import renewal_loop, subscriptions_renew_enqueue


class Command(BaseCommand):
    help = "Renews the subscriptions whose period ended (or whose retry is due): once, or every --interval seconds."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, one pass every --interval seconds.")
        parser.add_argument("--interval", type=float, default=settings.SUBSCRIPTION_RENEW_INTERVAL,
                            help="Seconds between passes with --loop (default %(default)s).")
        parser.add_argument("--inline", action="store_true", help="Renew in this process instead of enqueueing.")
        parser.add_argument("--now", help="Renew as if it were this time (ISO 8601; DJANGO_DEBUG=1 only).")

    def handle(self, *args, **options):
        now = None
        if options["now"]:
            if not settings.DEBUG:
                raise CommandError("--now moves the clock and is refused with DJANGO_DEBUG off.")
            now = parse_datetime(options["now"])
            if now is None:
                raise CommandError("--now takes an ISO 8601 time, e.g. 2027-01-31T09:00:00+09:00.")
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        if options["loop"]:
            if now is not None or options["inline"]:
                raise CommandError("--loop enqueues for the workers; it takes neither --now nor --inline.")
            stop = threading.Event()
            try:
                renewal_loop(interval=max(0.1, options["interval"]), stop=stop)
            except KeyboardInterrupt:
                stop.set()
            return
        if now is None and not options["inline"]:
            self.stdout.write(f"enqueued={subscriptions_renew_enqueue()}")
            return
        outcomes = Counter(subscription_renew(subscription_id=pk, now=now) for pk in list(subscriptions_due(now=now)))
        self.stdout.write(" ".join(f"{key}={outcomes[key]}" for key in
                                   ("renewed", "failed", "cancelled", "unknown", "skipped")))
