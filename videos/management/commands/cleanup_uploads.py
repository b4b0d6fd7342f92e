from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand

from videos import services


class Command(BaseCommand):
    help = "Abort direct (multipart) uploads to object storage abandoned for more than a day."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=24.0, help="Age after which an upload is abandoned.")

    def handle(self, *args, hours: float, **options):
        done = services.direct_uploads_cleanup(older_than=timedelta(hours=hours))
        self.stdout.write(f"Aborted {done['rows']} abandoned upload(s) and {done['stray']} stray multipart upload(s).")
