"""`manage.py follow_counts_recount`: repair members' follower and following counts."""

from __future__ import annotations

from django.core.management import BaseCommand

from follows.services import follow_counts_recount


class Command(BaseCommand):
    help = (
        "Recount every member's followers and following from the follows table. The database "
        "keeps these counts itself; they drift only if follows were loaded with its trigger "
        "disabled or the columns were edited by hand."
    )

    def handle(self, *args, **options) -> None:
        fixed = follow_counts_recount()
        self.stdout.write(f"Counts corrected for {fixed} member{'s' if fixed != 1 else ''}.")
