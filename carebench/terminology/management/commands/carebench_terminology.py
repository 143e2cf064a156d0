"""`carebench terminology load icd10cm [--force]`: load a code set into its table."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

CODE_SETS = {"icd10cm": "load_icd10cm"}


class Command(BaseCommand):
    help = "Load code sets: `carebench terminology load icd10cm`."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["load"])
        parser.add_argument("code_set", help=f"one of: {', '.join(CODE_SETS)}")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        command = CODE_SETS.get(options["code_set"])
        if command is None:
            raise CommandError(
                f"unknown code set {options['code_set']!r}; known: {', '.join(CODE_SETS)}"
            )
        call_command(command, force=options["force"], stdout=self.stdout)
