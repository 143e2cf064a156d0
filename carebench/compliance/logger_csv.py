"""Reading a temperature data logger's CSV export (pure; no Django).

The common layout: some preamble lines (the logger's name, serial number, alarm settings), then
a header row naming a timestamp column (or a date column and a time column) and a temperature
column in °C or °F, then one reading a row. The header row is found by its names; the unit comes
from the temperature column's name ("Temperature (°F)", "Temp °C", "Celsius") or, when the name
does not say, from the caller. Every problem names the line and the column; one bad row refuses
the whole file (nothing is half-imported).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_ROWS = 50_000
MAX_PROBLEMS = 10
HEADER_SEARCH_LINES = 40
PLAUSIBLE_C = (Decimal(-90), Decimal(60))
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M",
    "%m/%d/%y %I:%M:%S %p",
    "%m/%d/%y %I:%M %p",
    "%d-%b-%Y %H:%M:%S",
    "%d-%b-%Y %H:%M",
)
_TEMP_WORDS = ("temp", "celsius", "fahrenheit", "°", "deg")
_SKIP_TEMP_WORDS = ("min", "max", "alarm", "high", "low", "limit")
_F = re.compile(r"(°\s*f\b|\(f\)|\[f\]|\bdeg\s*f\b|\bdegf\b|fahrenheit|\bf$)")
_C = re.compile(r"(°\s*c\b|\(c\)|\[c\]|\bdeg\s*c\b|\bdegc\b|celsius|\bc$)")


class LoggerCsvError(ValueError):
    """The file cannot be read; `problems` name each line and column."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LoggerRow:
    line: int
    at: datetime  # as written: naive (the clinic's local time) or with its offset
    celsius: Decimal


@dataclass(frozen=True)
class LoggerFile:
    rows: list[LoggerRow]
    unit: str  # "C" or "F", as the file had it
    time_columns: tuple[str, ...]
    temperature_column: str


def to_celsius(value: Decimal, unit: str) -> Decimal:
    celsius = (value - 32) * 5 / 9 if unit == "F" else value
    return celsius.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def parse_time(text: str) -> datetime:
    value = " ".join(text.strip().split())
    if not value:
        raise ValueError("no date and time")
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a date and time we can read") from None


def parse_temperature(text: str) -> Decimal:
    value = text.strip()
    value = re.sub(r"\s*(°\s*[cCfF]|[cCfF])$", "", value).strip()
    if not value:
        raise ValueError("no temperature")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{text.strip()!r} is not a temperature") from None
    if not number.is_finite():
        raise ValueError(f"{text.strip()!r} is not a temperature")
    return number


def unit_of(header: str) -> str | None:
    name = header.strip().lower()
    if _F.search(name):
        return "F"
    if _C.search(name):
        return "C"
    return None


def _columns(cells: list[str]) -> tuple[tuple[int, ...], int] | None:
    """The timestamp column(s) and the temperature column of a header row, or None."""
    names = [c.strip().lower() for c in cells]
    stamp = [
        i
        for i, n in enumerate(names)
        if n in ("timestamp", "datetime", "date/time", "date time", "date & time", "time stamp")
        or ("date" in n and "time" in n)
    ]
    dates = [i for i, n in enumerate(names) if "date" in n and "time" not in n]
    times = [i for i, n in enumerate(names) if "time" in n and "date" not in n]
    temps = [
        i
        for i, n in enumerate(names)
        if any(w in n for w in _TEMP_WORDS) and not any(w in n for w in _SKIP_TEMP_WORDS)
    ]
    if not temps:
        return None
    if stamp:
        return (stamp[0],), temps[0]
    if dates and times:
        return (dates[0], times[0]), temps[0]
    if times:  # "Time" holding the whole timestamp
        return (times[0],), temps[0]
    return None


def parse_logger_csv(text: str, *, unit: str | None = None) -> LoggerFile:
    """Rows of (line, time as written, °C). `unit` ("C" or "F") is used when the temperature
    column's name does not say; a name that says the other unit is refused."""
    if unit not in (None, "", "C", "F"):
        raise LoggerCsvError([f"unit must be C or F, not {unit!r}"])
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise LoggerCsvError(
            [f"line {line} holds a NUL byte: a CSV is text (is the file UTF-16 or binary?)"]
        )
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        lines = list(reader)
    except csv.Error as exc:
        raise LoggerCsvError([f"line {reader.line_num}: not readable as CSV ({exc})"]) from None
    header_at = None
    found = None
    for index, cells in enumerate(lines[:HEADER_SEARCH_LINES]):
        found = _columns(cells)
        if found is not None:
            header_at = index
            break
    if header_at is None or found is None:
        raise LoggerCsvError(
            [
                "no header row found: the file needs a column for the date and time "
                "(Timestamp, or Date and Time) and one for the temperature (Temperature °C or °F)"
            ]
        )
    time_idx, temp_idx = found
    header = lines[header_at]
    temp_name = header[temp_idx].strip()
    said = unit_of(temp_name)
    if said and unit and said != unit:
        raise LoggerCsvError(
            [f"column {temp_name!r} is in °{said}, but °{unit} was chosen: check the file"]
        )
    chosen = said or unit
    if not chosen:
        raise LoggerCsvError(
            [f"column {temp_name!r} does not say °C or °F: choose the unit of the file"]
        )
    needed = max((*time_idx, temp_idx)) + 1
    problems: list[str] = []
    rows: list[LoggerRow] = []
    seen: dict[datetime, int] = {}
    time_names = " + ".join(repr(header[i].strip()) for i in time_idx)
    for offset, cells in enumerate(lines[header_at + 1 :], start=header_at + 2):
        if not any(c.strip() for c in cells):
            continue
        if len(problems) >= MAX_PROBLEMS:
            problems.append("… and more: fix these first")
            break
        if len(cells) < needed:
            problems.append(f"line {offset}: {len(cells)} column(s), expected at least {needed}")
            continue
        try:
            at = parse_time(" ".join(cells[i] for i in time_idx))
        except ValueError as exc:
            problems.append(f"line {offset}, column {time_names}: {exc}")
            continue
        try:
            value = parse_temperature(cells[temp_idx])
        except ValueError as exc:
            problems.append(f"line {offset}, column {temp_name!r}: {exc}")
            continue
        celsius = to_celsius(value, chosen)
        if not PLAUSIBLE_C[0] <= celsius <= PLAUSIBLE_C[1]:
            problems.append(
                f"line {offset}, column {temp_name!r}: {value} °{chosen} is not a plausible "
                "storage temperature"
            )
            continue
        if at in seen:
            problems.append(f"line {offset}: the same time as line {seen[at]}")
            continue
        seen[at] = offset
        rows.append(LoggerRow(line=offset, at=at, celsius=celsius))
        if len(rows) > MAX_ROWS:
            problems.append(f"more than {MAX_ROWS} readings: split the file")
            break
    if problems:
        raise LoggerCsvError(problems)
    if not rows:
        raise LoggerCsvError(["the file has a header but no readings"])
    return LoggerFile(
        rows=rows,
        unit=chosen,
        time_columns=tuple(header[i].strip() for i in time_idx),
        temperature_column=temp_name,
    )
