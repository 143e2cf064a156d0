"""Readers for CDC's published vaccine code files (pure: no Django).

CDC publishes the CVX and MVX code sets as pipe-delimited text
(https://www2a.cdc.gov/vaccines/iis/iisstandards/vaccines.asp?rpt=cvx and ...?rpt=mvx):

    cvx_code|short_description|full_vaccine_name|notes|vaccine_status|nonvaccine|last_updated_date
    mvx_code|manufacturer_name|notes|status|last_updated_date

The files carebench ships (carebench/terminology/data/) use the same format with `#` comment
lines on top; a `# List-Date: YYYY-MM-DD` comment says which release they were taken from. A
header row (the column names), blank lines and comments are skipped, fields are trimmed, and a
file saved by Excel (BOM, Windows-1252, CRLF) reads the same. The small sidecar files that CDC
does not publish in this form (vaccine groups, CPT map) are simple CSV.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Generic, TypeVar

DATA_DIR = Path(__file__).resolve().parent / "data"
CVX_FILE = DATA_DIR / "cvx.txt"
MVX_FILE = DATA_DIR / "mvx.txt"
CVX_GROUPS_FILE = DATA_DIR / "cvx_groups.csv"
CVX_CPT_FILE = DATA_DIR / "cvx_cpt.csv"

CVX_STATUSES = ("Active", "Inactive", "Non-US", "Never Active", "Pending")
_LIST_DATE = re.compile(r"^#\s*List-Date:\s*(\d{4}-\d{2}-\d{2})", re.IGNORECASE)
_DATE_FORMATS = ("%Y/%m/%d", "%m/%d/%Y", "%Y-%m-%d", "%m/%d/%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S")


class CdcFileError(ValueError):
    """A line that is not in CDC's format; the message names the line."""


@dataclass(frozen=True)
class CvxRow:
    cvx: str
    short_name: str
    full_name: str
    notes: str
    status: str
    nonvaccine: bool
    updated: date | None


@dataclass(frozen=True)
class MvxRow:
    mvx: str
    name: str
    notes: str
    status: str
    updated: date | None


RowT = TypeVar("RowT", CvxRow, MvxRow)


@dataclass(frozen=True)
class CdcFile(Generic[RowT]):
    rows: list[RowT]
    list_date: date | None  # from the `# List-Date:` comment, if any

    @property
    def newest_update(self) -> date | None:
        dates = [d for d in (getattr(r, "updated", None) for r in self.rows) if d]
        return max(dates) if dates else None

    def version(self, code_set: str) -> str:
        """'CDC CVX 2025-01-13': the list date, else the newest last-updated date in the file."""
        stamp = self.list_date or self.newest_update
        return f"CDC {code_set} {stamp.isoformat() if stamp else 'undated'}"


def decode(data: bytes) -> str:
    """CDC's downloads are UTF-8 (sometimes with a BOM) or Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def parse_date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r}")


def _records(
    lines: Iterable[str], columns: int, first_column: str
) -> Iterator[tuple[int, list[str]]]:
    for number, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("|")]
        if fields[0].lower().replace(" ", "_") == first_column:
            continue  # a header row
        if len(fields) < columns:
            # CDC's files sometimes drop empty trailing fields.
            fields += [""] * (columns - len(fields))
        if len(fields) > columns:
            raise CdcFileError(f"line {number}: {len(fields)} fields, expected {columns}")
        yield number, fields


def _list_date(lines: list[str]) -> date | None:
    for line in lines:
        match = _LIST_DATE.match(line.strip().lstrip("\ufeff"))
        if match:
            return date.fromisoformat(match.group(1))
    return None


def _bool(text: str) -> bool:
    return text.strip().lower() in {"true", "t", "1", "yes", "y"}


def parse_cvx(text: str) -> CdcFile[CvxRow]:
    lines = text.splitlines()
    rows: list[CvxRow] = []
    seen: set[str] = set()
    for number, f in _records(lines, 7, "cvx_code"):
        cvx, short, full, notes, status, nonvaccine, updated = f
        if not cvx.isdigit() or len(cvx) > 4:
            raise CdcFileError(f"line {number}: CVX code {cvx!r} is not 1-4 digits")
        if cvx in seen:
            raise CdcFileError(f"line {number}: CVX {cvx} appears twice")
        seen.add(cvx)
        if not short and not full:
            raise CdcFileError(f"line {number}: CVX {cvx} has no description")
        try:
            when = parse_date(updated)
        except ValueError as exc:
            raise CdcFileError(f"line {number}: {exc}") from exc
        rows.append(
            CvxRow(
                cvx=cvx,
                short_name=short or full,
                full_name=full or short,
                notes=notes,
                status=status or "Active",
                nonvaccine=_bool(nonvaccine),
                updated=when,
            )
        )
    return CdcFile(rows=rows, list_date=_list_date(lines))


def parse_mvx(text: str) -> CdcFile[MvxRow]:
    lines = text.splitlines()
    rows: list[MvxRow] = []
    seen: set[str] = set()
    for number, f in _records(lines, 5, "mvx_code"):
        mvx, name, notes, status, updated = f
        mvx = mvx.upper()
        if not mvx.isalnum() or len(mvx) > 4:
            raise CdcFileError(f"line {number}: MVX code {mvx!r} is not 1-4 letters")
        if mvx in seen:
            raise CdcFileError(f"line {number}: MVX {mvx} appears twice")
        seen.add(mvx)
        if not name:
            raise CdcFileError(f"line {number}: MVX {mvx} has no name")
        try:
            when = parse_date(updated)
        except ValueError as exc:
            raise CdcFileError(f"line {number}: {exc}") from exc
        rows.append(
            MvxRow(mvx=mvx, name=name, notes=notes, status=status or "Active", updated=when)
        )
    return CdcFile(rows=rows, list_date=_list_date(lines))


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        body = [line for line in fh if not line.startswith("#")]
    yield from csv.DictReader(body)


def read_cvx_groups(path: Path = CVX_GROUPS_FILE) -> dict[str, tuple[str, ...]]:
    """CVX -> the vaccine groups it counts for (a combination vaccine has several)."""
    return {row["cvx"].strip(): tuple(row["groups"].split()) for row in _csv_rows(path)}


def read_cvx_cpt(path: Path = CVX_CPT_FILE) -> dict[str, tuple[str, ...]]:
    """CVX -> CPT product codes that bill it (sorted)."""
    found: dict[str, set[str]] = {}
    for row in _csv_rows(path):
        found.setdefault(row["cvx"].strip(), set()).add(row["cpt"].strip())
    return {cvx: tuple(sorted(cpts)) for cvx, cpts in found.items()}


def normalize_cvx(code: str) -> str:
    """'3' -> '03': CDC writes one-digit codes with a leading zero; longer codes as they are."""
    code = code.strip()
    return code.zfill(2) if code.isdigit() else code
