"""`carebench terminology load icd10cm|cvx|mvx [--file PATH] [--force]`: load a code set.

icd10cm comes from the simple-icd-10-cm package; cvx and mvx from the lists shipped in
carebench/terminology/data/, or with --file from CDC's own pipe-delimited download.
"""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

CODE_SETS = {"icd10cm": "load_icd10cm", "cvx": "load_cvx", "mvx": "load_mvx"}
FROM_FILE = {"cvx", "mvx"}


class Command(BaseCommand):
    help = "Load code sets: `carebench terminology load icd10cm|cvx|mvx [--file PATH]`."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["load"])
        parser.add_argument("code_set", help=f"one of: {', '.join(CODE_SETS)}")
        parser.add_argument("--file", help="cvx or mvx: a file in CDC's pipe-delimited format")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        code_set = options["code_set"]
        command = CODE_SETS.get(code_set)
        if command is None:
            raise CommandError(f"unknown code set {code_set!r}; known: {', '.join(CODE_SETS)}")
        extra: dict[str, Any] = {}
        if options.get("file"):
            if code_set not in FROM_FILE:
                raise CommandError(f"--file works for {', '.join(sorted(FROM_FILE))} only")
            extra["file"] = options["file"]
        call_command(command, force=options["force"], stdout=self.stdout, **extra)
