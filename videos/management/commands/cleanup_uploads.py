from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand

from videos import services


class Command(BaseCommand):
    help = ("Abort direct (multipart) uploads to object storage abandoned for more than a day, and remove "
            "partial uploads left in FILE_UPLOAD_TEMP_DIR by a web worker that died (untouched for an hour).")

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=24.0, help="Age after which an upload is abandoned.")
        parser.add_argument("--temp-hours", type=float, default=1.0,
                            help="Age (since the last write) after which a partial upload file is stale.")

    def handle(self, *args, hours: float, temp_hours: float, **options):
        temp = services.upload_temp_files_cleanup(older_than=timedelta(hours=temp_hours))
        done = services.direct_uploads_cleanup(older_than=timedelta(hours=hours))
        self.stdout.write(f"Aborted {done['rows']} abandoned upload(s) and {done['stray']} stray multipart upload(s); "
                          f"removed {temp} stale partial upload file(s).")
