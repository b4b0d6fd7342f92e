"""`manage.py reap_jobs [--loop]`: put back on the queue the dubbing jobs whose worker is gone.

A running job whose heartbeat is older than DUBBING_HEARTBEAT_STALE_SECONDS is queued again (or
cancelled, or failed when it has used its tries); a job queued for DUBBING_QUEUED_RESEND_SECONDS
without being claimed has its message sent again. Run it once from cron, or with --loop beside
the workers (`manage.py devserver` runs the loop in a thread).
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from dubbing.services import dubbing_jobs_reap
from dubbing.worker.reaper import reaper_loop


class Command(BaseCommand):
    help = "Re-queues dubbing jobs whose heartbeat is stale and re-sends queued jobs whose message was lost."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, one pass every --interval seconds.")
        parser.add_argument("--interval", type=float, default=settings.DUBBING_REAPER_INTERVAL,
                            help="Seconds between passes with --loop (default %(default)s).")

    def handle(self, *args, **options):
        def report(counts):
            self.stdout.write(" ".join(f"{name}={count}" for name, count in counts.items()))

        if not options["loop"]:
            report(dubbing_jobs_reap())
            return
        stop = threading.Event()
        try:
            reaper_loop(interval=max(0.1, options["interval"]), stop=stop,
                        on_pass=lambda counts: any(counts.values()) and report(counts))
        except KeyboardInterrupt:
            stop.set()
