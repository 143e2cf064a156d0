"""`manage.py load_icd10cm`: load ICD-10-CM from the simple-icd-10-cm package."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection
from rich.progress import Progress

from carebench.terminology.models import CodeSetVersion
from carebench.terminology.services import ICD10CM_CODE_SET, icd10cm_rows_from_package, load_icd10cm


class Command(BaseCommand):
    help = "Load ICD-10-CM codes into the terminology table (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--force", action="store_true", help="reload even if this version is loaded"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        version, rows = icd10cm_rows_from_package()
        current = CodeSetVersion.objects.filter(code_set=ICD10CM_CODE_SET).first()
        if current and current.version == version and not options["force"]:
            self.stdout.write(f"ICD-10-CM {version} already loaded ({current.row_count} codes)")
            return
        with Progress(transient=True) as bar:
            task = bar.add_task("Loading ICD-10-CM", total=len(rows))
            count = load_icd10cm(
                rows, version=version, progress=lambda n: bar.update(task, completed=n)
            )
        if connection.vendor == "postgresql":
            # Fresh statistics and visibility map, so the word search plans and index-only
            # scans are right at once instead of after autovacuum gets round to it.
            # (VACUUM cannot run inside a transaction: there, statistics only)
            verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            with connection.cursor() as cursor:
                for table in ("terminology_icd10cmcode", "terminology_icd10word"):
                    cursor.execute(f"{verb} {table}")
        self.stdout.write(f"Loaded {count} ICD-10-CM codes ({version})")
