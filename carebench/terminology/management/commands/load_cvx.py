"""`manage.py load_cvx [--file PATH]`: load CVX vaccine codes (shipped list or CDC's file)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from carebench.terminology.cdc import CdcFileError
from carebench.terminology.models import CodeSetVersion
from carebench.terminology.services import CVX_CODE_SET, load_cvx, read_cvx_file


class CdcListCommand(BaseCommand):
    """Load one of CDC's code lists (idempotent): the shipped file, or CDC's own with --file."""

    name = ""  # CVX or MVX
    code_set = ""
    read: Callable[[Path | None], tuple[str, Any]]
    load: Callable[..., Any]

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--file", help=f"a {self.name} file in CDC's pipe-delimited format")
        parser.add_argument("--label", help="version label (default: from the file's dates)")
        parser.add_argument(
            "--force", action="store_true", help="reload even if this version is loaded"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"]) if options.get("file") else None
        if path is not None and not path.is_file():
            raise CommandError(f"--file: no such file {path}")
        shipped = f"{self.name.lower()}.txt"
        try:
            version, rows = type(self).read(path)
        except CdcFileError as exc:
            raise CommandError(f"{path or shipped}: {exc}") from exc
        version = options.get("label") or version
        current = CodeSetVersion.objects.filter(code_set=self.code_set).first()
        if current and current.version == version and not options["force"]:
            self.stdout.write(f"{self.name} {version} already loaded ({current.row_count} codes)")
            return
        try:
            result = type(self).load(rows, version=version)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Loaded {self.name} {version}: {len(result.created)} new, "
            f"{len(result.updated)} changed, {result.unchanged} unchanged"
        )


class Command(CdcListCommand):
    help = (
        "Load CDC CVX vaccine codes (idempotent). Without --file, the list shipped in "
        "carebench/terminology/data/cvx.txt; with --file, CDC's pipe-delimited download."
    )
    name = "CVX"
    code_set = CVX_CODE_SET
    read = staticmethod(read_cvx_file)
    load = staticmethod(load_cvx)
