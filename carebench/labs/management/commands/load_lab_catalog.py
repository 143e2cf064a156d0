"""`manage.py load_lab_catalog --org SLUG [FILE]`: load a lab test catalog CSV (all or nothing).

Without FILE it loads the catalog shipped with carebench (about 50 common tests with LOINC
codes, containers and minimum volumes). Tests are matched by code: existing ones are updated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from carebench.core.actor import Actor
from carebench.core.models import Organization
from carebench.labs import services

MAX_CATALOG_BYTES = 1_000_000  # as on the catalog page


class Command(BaseCommand):
    help = "Load a lab test catalog CSV into an organization (default: the shipped catalog)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="CSV file (default: the shipped catalog)")
        parser.add_argument("--org", required=True, help="the organization's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            org = Organization.objects.get(slug=options["org"])
        except Organization.DoesNotExist:
            raise CommandError(f"no organization with slug {options['org']!r}") from None
        path = Path(options["file"]) if options["file"] else services.CATALOG_FILE
        try:
            if path.stat().st_size > MAX_CATALOG_BYTES:
                raise CommandError(f"{path}: over 1 MB (the catalog page's limit too)")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            loaded = services.load_catalog_csv(actor=Actor.system(org), text=text)
        except ValidationError as exc:
            lines = [m for ms in exc.message_dict.values() for m in ms]
            raise CommandError("catalog not loaded:\n  " + "\n  ".join(lines)) from exc
        self.stdout.write(
            f"{org.name}: {loaded.created} tests added, {loaded.updated} updated from {path.name}."
        )
