"""Send again the webhook messages whose delivery was lost (a broker restart, a worker that died
during a try). Run it every minute or so, e.g. `manage.py resend_webhooks --loop 60`."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from integrations.services import webhook_messages_resend_lost


class Command(BaseCommand):
    help = "Re-send webhook messages whose delivery was lost."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, default=0, help="repeat every this many seconds")

    def handle(self, *args, loop: float = 0, **options):
        while True:
            close_old_connections()
            sent = webhook_messages_resend_lost()
            if sent or not loop:
                self.stdout.write(f"Re-sent {sent} webhook message(s).")
            if not loop:
                return
            time.sleep(loop)
