"""`carebench restore FILE`: put a backup made by `carebench backup` back in place.

Everything is checked before anything changes; a file that is not a carebench backup of this
database vendor is refused with exit status 1. Stop the server before restoring SQLite.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carebench.core.backup import BackupError, restore_backup

from .carebench_serve import unapplied_migrations


class Command(BaseCommand):
    help = "Restore the database from a carebench backup file (replaces all current data)."
    # An operations tool: it must work even when a page or URL module is broken.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a file written by `carebench backup`")
        parser.add_argument(
            "--yes", action="store_true", help="do not ask for confirmation at a terminal"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["yes"] and sys.stdin.isatty():
            answer = input(
                "Restoring replaces ALL current data with the backup. Type 'restore' to continue: "
            )
            if answer.strip().lower() != "restore":
                raise CommandError("restore cancelled; nothing was changed")
        try:
            manifest, kept = restore_backup(options["file"])
        except BackupError as exc:
            raise CommandError(f"restore refused: {exc}; nothing was changed") from exc
        self.stdout.write(
            f"restored {options['file']} (backup of {manifest['created_at']}, "
            f"{manifest['database']['vendor']})"
        )
        if kept is not None:
            self.stdout.write(f"the database as it was before is kept at {kept}")
        pending = unapplied_migrations()
        if pending:
            self.stdout.write(
                f"the backup predates {len(pending)} migration(s); run "
                "`carebench migrate` before serving"
            )
