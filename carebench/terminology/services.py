"""Loading code sets into their tables (idempotent, version-stamped)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from django.db import transaction

from . import cdc
from .models import CodeSetVersion, Icd10CmCode, Icd10Word, Manufacturer, VaccineCode
from .words import description_words

ICD10CM_CODE_SET = "icd10cm"
CVX_CODE_SET = "cvx"
MVX_CODE_SET = "mvx"


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
        Icd10Word.objects.all().delete()
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
                save_icd10_codes(batch)
                count += len(batch)
                batch.clear()
                if progress:
                    progress(count)
        if batch:
            save_icd10_codes(batch)
            count += len(batch)
            if progress:
                progress(count)
        CodeSetVersion.objects.update_or_create(
            code_set=ICD10CM_CODE_SET, defaults={"version": version, "row_count": count}
        )
    return count


def save_icd10_codes(codes: list[Icd10CmCode], *, ignore_conflicts: bool = False) -> None:
    """Insert ICD-10-CM codes with the words of their descriptions (the search index)."""
    Icd10CmCode.objects.bulk_create(codes, ignore_conflicts=ignore_conflicts)
    words = [
        Icd10Word(word=word, code_id=code.code, billable=code.billable)
        for code in codes
        for word in description_words(code.description)
    ]
    if ignore_conflicts:
        Icd10Word.objects.filter(code_id__in=[c.code for c in codes]).delete()
    Icd10Word.objects.bulk_create(words, batch_size=5000)


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


@dataclass
class LoadResult:
    """What a code-set load changed: codes created, codes whose fields changed, the rest."""

    version: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def total(self) -> int:
        return len(self.created) + len(self.updated) + self.unchanged


def _check_version(version: str) -> None:
    if not version or len(version) > 40:
        raise ValueError("version: a code-set version is 1 to 40 characters")


ModelT = TypeVar("ModelT", VaccineCode, Manufacturer)


def _upsert(model: type[ModelT], key: str, wanted: dict[str, dict], result: LoadResult) -> None:
    """Insert new codes and update changed ones; never delete (records point at old codes)."""
    existing = {getattr(obj, key): obj for obj in model.objects.filter(**{f"{key}__in": wanted})}
    new: list[ModelT] = []
    changed: list[ModelT] = []
    fields: set[str] = set()
    for code, values in wanted.items():
        obj = existing.get(code)
        if obj is None:
            new.append(model(**{key: code}, **values))
            result.created.append(code)
            continue
        diff = [name for name, value in values.items() if getattr(obj, name) != value]
        # A new version stamp alone is not a change worth reporting.
        if [name for name in diff if name != "version"]:
            result.updated.append(code)
        else:
            result.unchanged += 1
        if diff:
            for name in diff:
                setattr(obj, name, values[name])
            fields.update(diff)
            changed.append(obj)
    model.objects.bulk_create(new, batch_size=500)
    if changed:
        model.objects.bulk_update(changed, sorted(fields), batch_size=500)


def load_cvx(
    rows: Iterable[cdc.CvxRow],
    *,
    version: str,
    groups: Mapping[str, tuple[str, ...]] | None = None,
    cpt: Mapping[str, tuple[str, ...]] | None = None,
) -> LoadResult:
    """Insert or update CVX codes (from CDC's file or ours) with their groups and CPT codes.

    `groups` and `cpt` default to the shipped sidecar files, so loading CDC's own download keeps
    carebench's groups and billing map. Codes missing from `rows` are kept as they are."""
    _check_version(version)
    groups = cdc.read_cvx_groups() if groups is None else groups
    cpt = cdc.read_cvx_cpt() if cpt is None else cpt
    wanted: dict[str, dict] = {}
    for row in rows:
        code = cdc.normalize_cvx(row.cvx)
        code_groups = groups.get(code, ())
        code_cpt = cpt.get(code, ())
        words = [code, row.short_name, row.full_name, *code_groups, *code_cpt]
        wanted[code] = {
            "short_name": row.short_name[:200],
            "full_name": row.full_name[:500],
            "notes": row.notes,
            "status": row.status[:20],
            "nonvaccine": row.nonvaccine,
            "group": code_groups[0] if code_groups else "",
            "groups": f"|{'|'.join(code_groups)}|" if code_groups else "",
            "cpt_codes": " ".join(code_cpt),
            "search_text": " ".join(words).lower()[:900],
            "updated": row.updated,
            "version": version,
        }
    result = LoadResult(version=version)
    with transaction.atomic():
        _upsert(VaccineCode, "cvx", wanted, result)
        CodeSetVersion.objects.update_or_create(
            code_set=CVX_CODE_SET,
            defaults={"version": version, "row_count": VaccineCode.objects.count()},
        )
    return result


def load_mvx(rows: Iterable[cdc.MvxRow], *, version: str) -> LoadResult:
    """Insert or update MVX manufacturer codes; codes missing from `rows` are kept."""
    _check_version(version)
    wanted = {
        row.mvx: {
            "name": row.name[:200],
            "notes": row.notes,
            "status": row.status[:20],
            "updated": row.updated,
            "version": version,
        }
        for row in rows
    }
    result = LoadResult(version=version)
    with transaction.atomic():
        _upsert(Manufacturer, "mvx", wanted, result)
        CodeSetVersion.objects.update_or_create(
            code_set=MVX_CODE_SET,
            defaults={"version": version, "row_count": Manufacturer.objects.count()},
        )
    return result


def read_cvx_file(path: Path | None = None) -> tuple[str, list[cdc.CvxRow]]:
    """(version, rows) from a CVX file in CDC's format; the shipped one by default."""
    parsed = cdc.parse_cvx(cdc.decode((path or cdc.CVX_FILE).read_bytes()))
    return parsed.version("CVX"), parsed.rows


def read_mvx_file(path: Path | None = None) -> tuple[str, list[cdc.MvxRow]]:
    """(version, rows) from an MVX file in CDC's format; the shipped one by default."""
    parsed = cdc.parse_mvx(cdc.decode((path or cdc.MVX_FILE).read_bytes()))
    return parsed.version("MVX"), parsed.rows
