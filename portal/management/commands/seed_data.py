"""`manage.py seed_data`: the demo accounts, videos from the fixture clips, finished dubs made by
the real pipeline, and a published post with likes and comments (portal/seed.py). Idempotent:
a second run adds nothing. The accounts' password is printed (DEMO_PASSWORD, default
"onevoice-demo", as `ensure_demo_user`)."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand

from portal.management.commands.ensure_demo_user import DEFAULT_DEMO_PASSWORD
from portal.seed import seed_data_ensure


class Command(BaseCommand):
    help = "Seed a living demo: accounts, videos, dubs made by the pipeline, a post with likes and comments."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD", "").strip() or DEFAULT_DEMO_PASSWORD
        result = seed_data_ensure(password=password)
        for line in result.made:
            self.stdout.write(f"made {line}")
        if not result.made:
            self.stdout.write("Nothing to add: the seed data is all there.")
        failed = [job for job in result.jobs if job.status != "succeeded"]
        for job in failed:
            self.stderr.write(f"dub {job.video.title!r} -> {job.target_language} is {job.status}: {job.error_message}")
        for email, user in result.users.items():
            self.stdout.write(f"{'staff ' if user.is_staff else ''}{email} / {password}")
