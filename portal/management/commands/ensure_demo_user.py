"""`manage.py ensure_demo_user`: a verified demo account whose password is printed.

Idempotent: run it again and the account is still there, with the password reset to the
printed one (DEMO_PASSWORD, default "onevoice-demo"). A new demo account gets billing's sign-up
bonus (portal.account), so the command lives in portal.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand

from portal.account import demo_account_ensure

DEMO_EMAIL = "demo@onevoice.local"
DEFAULT_DEMO_PASSWORD = "onevoice-demo"


class Command(BaseCommand):
    help = "Make sure the demo account exists (verified) and print its email and password."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD", "").strip() or DEFAULT_DEMO_PASSWORD
        user, created = demo_account_ensure(email=DEMO_EMAIL, password=password)
        self.stdout.write(f"{'Created' if created else 'Updated'} the demo account.")
        self.stdout.write(f"email: {user.email}")
        self.stdout.write(f"password: {password}")
