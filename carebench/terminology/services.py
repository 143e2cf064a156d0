"""Loading code sets into their tables (idempotent, version-stamped)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import transaction

from .models import CodeSetVersion, Icd10CmCode

ICD10CM_CODE_SET = "icd10cm"


def load_icd10cm(
    rows: Iterable[tuple[str, str, bool]],
    *,
    version: str,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 5000,
) -> int:
    """Replace the ICD-10-CM table with `rows` of (code, description, billable)."""
    if not version or len(version) > 40:
        raise ValueError("version: a code-set version is 1 to 40 characters")
    count = 0
    with transaction.atomic():
        Icd10CmCode.objects.all().delete()
        batch: list[Icd10CmCode] = []
        for code, description, billable in rows:
            batch.append(
                Icd10CmCode(
                    code=code,
                    description=description[:300],
                    search_text=f"{code.lower()} {description.lower()}"[:320],
                    billable=billable,
                    version=version,
                )
            )
            if len(batch) >= batch_size:
                Icd10CmCode.objects.bulk_create(batch)
                count += len(batch)
                batch.clear()
                if progress:
                    progress(count)
        if batch:
            Icd10CmCode.objects.bulk_create(batch)
            count += len(batch)
            if progress:
                progress(count)
        CodeSetVersion.objects.update_or_create(
            code_set=ICD10CM_CODE_SET, defaults={"version": version, "row_count": count}
        )
    return count


def icd10cm_rows_from_package() -> tuple[str, list[tuple[str, str, bool]]]:
    """Every chapter-free code from the simple-icd-10-cm package (categories and below)."""
    import importlib.metadata

    import simple_icd_10_cm as icd

    version = "simple-icd-10-cm " + importlib.metadata.version("simple-icd-10-cm")
    rows = []
    for code in icd.get_all_codes(True):
        if icd.is_chapter_or_block(code):
            continue
        rows.append((code, icd.get_description(code), icd.is_leaf(code)))
    return version, rows
