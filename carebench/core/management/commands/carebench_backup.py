"""`carebench backup FILE`: a consistent copy of the database, taken while carebench runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carebench.core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = "Write a consistent backup of the database to FILE (an archive with a manifest)."
    # An operations tool: it must work even when a page or URL module is broken.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="where to write the backup, e.g. backups/2026-11-22.cbk")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = create_backup(options["file"])
        except BackupError as exc:
            raise CommandError(f"backup failed: {exc}") from exc
        payload = result.manifest["payload"]
        self.stdout.write(
            f"backup written: {result.path} ({result.manifest['database']['vendor']}, "
            f"{payload['size']:,} bytes, sha256 {payload['sha256'][:16]}...)"
        )
