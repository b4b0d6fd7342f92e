"""`manage.py sweep_cloned_voices [--loop]`: delete at the provider the cloned voices that no
running job uses any more (a crashed worker's, or ones whose delete failed; each failed delete is
tried again later, backing off to hourly). The reaper's loop runs the same sweep every
CLONED_VOICE_SWEEP_INTERVAL; run this from cron where no reaper runs."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from dubbing.services import cloned_voices_sweep


class Command(BaseCommand):
    help = "Deletes cloned voices that jobs left at the provider (ElevenLabs): once, or every --interval seconds."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, one pass every --interval seconds.")
        parser.add_argument("--interval", type=float, default=settings.CLONED_VOICE_SWEEP_INTERVAL,
                            help="Seconds between passes with --loop (default %(default)s).")

    def handle(self, *args, **options):
        def report(counts):
            self.stdout.write(" ".join(f"{name}={count}" for name, count in counts.items()))

        report(cloned_voices_sweep())
        if not options["loop"]:
            return
        stop = threading.Event()
        try:
            while not stop.wait(max(1.0, options["interval"])):
                report(cloned_voices_sweep())
        except KeyboardInterrupt:
            stop.set()
