"""Plain-text CSV tracings -> Recording (pure).

The format, exactly:

* Lines starting with `#` are comments. A comment `# sampling_rate_hz=500` (spaces allowed
  around `=`) gives the sampling rate in Hz. Comments may come before or among the data.
* The first non-comment line is the header. Delimiter: comma, or semicolon or tab when the
  header line contains one of those and no comma.
* An optional first column named `time_s` or `t` holds the time of each row in seconds.
* Every other column is a lead: a name such as I, II, III, aVR, aVL, aVF, V1..V6 (any subset,
  any order, case-insensitive; vendor names such as MLII are mapped), optionally followed by a
  unit suffix: `_mV` (the default when there is none) or `_uV` / `_µV` (microvolts, divided
  by 1000). `II_uV` is lead II in microvolts.
* Each data row has exactly one cell per header column; cells are decimal numbers (`nan` marks
  a missing sample). Blank lines are ignored.
* Sampling rate: the `sampling_rate_hz` comment wins; otherwise it is 1 / the median step of the
  time column, which must be increasing and even (every step within 1% of the median). Neither
  present, or the two disagreeing by more than 1%, is an error.

Errors name the line number (1-based, counting comments) and the column.
"""

from __future__ import annotations

import csv as csv_lib
import io
import math
import re
from pathlib import Path

import numpy as np

from carebench.ekg.importers.common import add_lead, finish, read_bytes
from carebench.ekg.recording import Recording, RecordingError

TIME_COLUMNS = ("time_s", "t")
_RATE = re.compile(r"^#\s*sampling_rate_hz\s*=\s*([^\s#]+)", re.IGNORECASE)
_UNIT = re.compile(r"^(?P<lead>.+?)[_ ](?P<unit>mv|uv|µv|μv)$", re.IGNORECASE)


def _lead_and_scale(column: str) -> tuple[str, float]:
    match = _UNIT.match(column.strip())
    if not match:
        return column.strip(), 1.0
    scale = 1.0 if match["unit"].lower() == "mv" else 1e-3
    return match["lead"], scale


def load(path: str | Path) -> Recording:
    path = Path(path)
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path.name}: not UTF-8 text (byte {exc.start})") from exc
    declared_rate: float | None = None
    header: list[str] | None = None
    delimiter = ","
    rows: list[list[float]] = []
    for number, line in enumerate(io.StringIO(text), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = _RATE.match(stripped)
            if match:
                try:
                    declared_rate = float(match[1])
                except ValueError:
                    raise RecordingError(
                        f"{path.name}: line {number}: sampling_rate_hz {match[1]!r} is not a number"
                    ) from None
            continue
        if header is None:
            if "," not in stripped and (";" in stripped or "\t" in stripped):
                delimiter = ";" if ";" in stripped else "\t"
            header = [c.strip() for c in next(csv_lib.reader([stripped], delimiter=delimiter))]
            if any(not c for c in header):
                raise RecordingError(f"{path.name}: line {number}: header has an empty column name")
            continue
        cells = next(csv_lib.reader([stripped], delimiter=delimiter))
        if len(cells) != len(header):
            raise RecordingError(
                f"{path.name}: line {number}: {len(cells)} cells, the header has {len(header)} "
                f"columns (ragged row)"
            )
        values: list[float] = []
        for column, cell in zip(header, cells, strict=True):
            try:
                values.append(float(cell))
            except ValueError:
                raise RecordingError(
                    f"{path.name}: line {number}, column {column!r}: {cell.strip()!r} is not a number"
                ) from None
        rows.append(values)
    if header is None:
        raise RecordingError(f"{path.name}: no header row (only comments)")
    if not rows:
        raise RecordingError(f"{path.name}: header but no data rows (truncated file?)")
    table = np.asarray(rows, dtype=float)
    has_time = header[0].strip().lower() in TIME_COLUMNS
    rate = _sampling_rate(path, declared_rate, table[:, 0] if has_time else None)
    leads: dict[str, np.ndarray] = {}
    for index, column in enumerate(header):
        if has_time and index == 0:
            continue
        name, scale = _lead_and_scale(column)
        add_lead(leads, name, table[:, index] * scale)
    if not leads:
        raise RecordingError(f"{path.name}: header has no lead columns")
    return finish(Recording(sampling_rate_hz=rate, leads=leads, source_format="csv"))


def _sampling_rate(path: Path, declared: float | None, times: np.ndarray | None) -> float:
    from_time: float | None = None
    if times is not None and len(times) >= 2:
        steps = np.diff(times)
        step = float(np.median(steps))
        if not math.isfinite(step) or step <= 0:
            raise RecordingError(f"{path.name}: time column is not increasing")
        uneven = np.flatnonzero(np.abs(steps - step) > 0.01 * step)
        if len(uneven):
            first = int(uneven[0])
            raise RecordingError(
                f"{path.name}: time column is uneven at data row {first + 2} "
                f"(step {steps[first]:g} s, median {step:g} s)"
            )
        from_time = 1.0 / step
    if declared is not None:
        if not declared > 0:
            raise RecordingError(f"{path.name}: sampling_rate_hz must be positive")
        if from_time is not None and abs(from_time - declared) > 0.01 * declared:
            raise RecordingError(
                f"{path.name}: sampling_rate_hz={declared:g} disagrees with the time column "
                f"({from_time:g} Hz)"
            )
        return declared
    if from_time is None:
        raise RecordingError(
            f"{path.name}: sampling rate missing: add a '# sampling_rate_hz=500' line or a "
            f"time_s column"
        )
    return round(from_time, 6)
