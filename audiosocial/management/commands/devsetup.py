"""Development bootstrap for `make run`: a superuser and a signup link, printed once."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, call_command
from django.core.management.base import CommandError


class Command(BaseCommand):
    help = "Create the development superuser (once) and print how to sign in and invite."

    def handle(self, *args, **options):
        User = get_user_model()  # noqa: N806
        user = User.objects.filter(username="admin").first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser("admin", "admin@localhost", password)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Development superuser created: username 'admin', password '{password}'"
                )
            )
            self.stdout.write("(It is shown once; reset it with: manage.py changepassword admin)")
        else:
            self.stdout.write(
                "Sign in as 'admin' (created earlier; reset with manage.py changepassword admin)."
            )
        try:
            call_command("invite", inviter="admin", stdout=self.stdout)
        except (CommandError, LookupError) as exc:
            self.stdout.write(f"(No invitation link: {exc})")
