"""The monthly Medication Administration Record (MAR) of one resident, as surveyors read it.

Pure: plain data in, PDF bytes or text rows out (no Django). The caller (the eMAR services)
turns a resident's orders and documented doses for one month into `MarInput`.

Paper: US legal, landscape (14 x 8.5 in), by default. Thirty-one day columns next to an order
block wide enough for drug, dose, route, frequency, instructions and hold parameters leave day
cells of about 21 pt (7.5 mm) on legal paper: room for three initials, the late mark and a
footnote number at a 7.5 pt type. On letter paper (`paper="letter"`) the cells are about 16.7 pt
(5.9 mm) and the order block narrower; the cell text shrinks to fit (never below 5 pt), which
is legible but tight, so letter is offered for homes without legal paper, not as the default.

Every page repeats the header: the home, "Medication Administration Record — <Month YYYY>",
"Page n of N", and boxes with the resident's name, room, date of birth, allergies, prescribers
and pharmacy. The footer repeats a one-line code legend and when the MAR was printed.

The grid: one block per scheduled order (a left box with the order, then one row per scheduled
time with 31 day cells). Orders that do not fit flow onto the following pages. A cell shows:

- the initials of who gave the dose; `·L` after them when it was given late;
- R refused, H held, A away (leave or hospital), N not available;
- a circled M (text "(M)") when the dose was due and nothing was documented: a cell with no
  `MarCell` that was scheduled and whose time (plus `DUE_GRACE`) has passed at `generated_at`,
  or an explicit `MarCell("missed")`;
- a footnote number after the code when there is a note: always for H (reason and the vital),
  R and N (reason), a late dose, a dose given without initials and a dose documented on a day
  the order was not in effect; for other codes when the cell has a note;
- nothing where nothing was scheduled (before the start, after the stop, a day outside
  `scheduled_days`) or the dose is not due yet; days the month does not have are grey. The empty
  days after a stop date are struck through, with a bar at the start and stop days.

`MarOrder.stop` is the last day the order is in effect (doses on that day are due). It is
printed "DC <date>" once that day has come (at `generated_at`), "Stop <date>" before.

After the grid: the PRN (as needed) orders, each with its doses of the month (date and time,
dose, reason given, effectiveness result and when it was checked, initials; doses of other
months are left out); the notes (the numbered footnotes, then the discrepancies: missed doses,
documentation outside the order's times or dates, initials not on the staff list or shared by
two staff, PRN doses without an effectiveness check or checked outside 30-60 minutes); the
legend of codes (with how often each appears this month) and the staff initials legend (every
initial used, with the full name and role).

`allergies`: the text to print. "" means they were never recorded ("Allergies not recorded");
"NKA", "NKDA", "none" or "no known allergies" print as "No known allergies" (or "No known drug
allergies" for NKDA).

`generated_at` is the home's wall-clock time (an aware datetime is read in its own zone, so
convert it to the home's zone first).
"""

from __future__ import annotations

import calendar
import io
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import zip_longest

from reportlab.lib.pagesizes import LEGAL, LETTER, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

# The handouts' font finder (DejaVu Sans from matplotlib, else Vera, else Helvetica) and wrap.
from carebench.core import pdf_text

CODES = ("given", "R", "H", "A", "N", "missed")
MISSED_MARK = "(M)"  # in text; the PDF draws a circled M
LATE_MARK = "·L"
NO_INITIALS = "?"
DUE_GRACE = timedelta(minutes=60)  # a dose is missed once its time plus this has passed
PRN_CHECK_WINDOW = (timedelta(minutes=30), timedelta(minutes=60))
PAPERS = ("legal", "letter")
DEFAULT_PAPER = "legal"
OUT_OF_MONTH_GREY = 0.78  # fill of the days the month does not have
HEADING_GREY = 0.9  # fill of column headings
MAX_DAYS = 31
NOT_RECORDED_ALLERGIES = "Allergies not recorded"
NO_KNOWN_ALLERGIES = "No known allergies"
_NKA = {
    "nka": NO_KNOWN_ALLERGIES,
    "none": NO_KNOWN_ALLERGIES,
    "no known allergies": NO_KNOWN_ALLERGIES,
    "nkda": "No known drug allergies",
    "no known drug allergies": "No known drug allergies",
}
_HOLD_PREFIX = re.compile(r"^hold\b(\s+parameters?\b)?\s*:?\s*", re.IGNORECASE)
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_WHAT = {
    "given": "given",
    "R": "refused",
    "H": "held",
    "A": "away (leave or hospital)",
    "N": "not available",
    "missed": "missed",
}


@dataclass(frozen=True)
class MarCell:
    """What was documented for one scheduled dose."""

    code: str  # one of CODES: "given", "R", "H", "A", "N", "missed"
    initials: str = ""  # who gave it (given) or documented it (the other codes)
    late: bool = False  # given outside its window
    note: str = ""  # the reason (refused, held: with the vital, e.g. "pulse 52 < 60", ...)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"code must be one of {', '.join(CODES)}, not {self.code!r}")


@dataclass(frozen=True)
class MarOrder:
    order_id: int
    drug: str
    strength: str
    form: str
    dose: str
    route: str
    frequency: str
    instructions: str
    hold_text: str
    start: date
    stop: date | None  # the last day in effect
    prn: bool
    times: tuple[time, ...]  # the scheduled times of a day (empty for a PRN order)
    cells: Mapping[tuple[int, time], MarCell]  # (day of month, time) -> what was documented
    # Days of the month the order is scheduled on (weekly, every other day); None: every day.
    scheduled_days: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if self.stop is not None and self.stop < self.start:
            raise ValueError(f"order {self.order_id}: stop {self.stop} is before start")
        if not self.prn and not self.times:
            raise ValueError(f"order {self.order_id}: a scheduled order needs its times")
        if len(set(self.times)) != len(self.times):
            raise ValueError(f"order {self.order_id}: times repeat")
        for day, _ in self.cells:
            if not 1 <= day <= MAX_DAYS:
                raise ValueError(f"order {self.order_id}: day {day} is not a day of a month")


@dataclass(frozen=True)
class PrnDose:
    order_id: int
    drug: str
    given_at: datetime
    dose: str
    reason: str
    effectiveness: str  # "" when not checked
    effectiveness_at: datetime | None
    initials: str


@dataclass(frozen=True)
class StaffInitials:
    initials: str
    name: str
    role: str  # e.g. "CMA / Med Tech", "LPN"


@dataclass(frozen=True)
class MarInput:
    home_name: str
    month: date  # any day of the month
    resident_name: str
    room: str
    birth_date: date
    allergies: str  # "" = not recorded; "NKA" = no known allergies
    prescribers: str
    pharmacy: str
    orders: Sequence[MarOrder]
    prn_doses: Sequence[PrnDose]
    staff: Sequence[StaffInitials]
    generated_at: datetime


# --- the MAR as data ---------------------------------------------------------------------------


def days_in_month(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_title(month: date) -> str:
    """ "March 2027"."""
    return f"{calendar.month_name[month.month]} {month.year}"


def superscript(number: int) -> str:
    return str(number).translate(_SUPERSCRIPT)


def allergy_text(allergies: str) -> str:
    text = " ".join(allergies.split())
    if not text:
        return NOT_RECORDED_ALLERGIES
    return _NKA.get(text.lower().rstrip("."), text)


def _mdy(value: date) -> str:
    return value.strftime("%m/%d/%Y")


def _md(value: date) -> str:
    return value.strftime("%m/%d")


def _hm(value: time | datetime) -> str:
    return value.strftime("%H:%M")


def _join(*parts: str) -> str:
    return " ".join(part.strip() for part in parts if part and part.strip())


def drug_label(order: MarOrder) -> str:
    """ "Metoprolol tartrate 25 mg"."""
    return _join(order.drug, order.strength)


def _printed_on(data: MarInput) -> date:
    return data.generated_at.date()


def order_lines(order: MarOrder, printed_on: date) -> list[str]:
    """The order's box, line by line (the first line is the drug, printed bold)."""
    lines = [_join(order.drug, order.strength, order.form)]
    fields = (("Dose", order.dose), ("Route", order.route), ("Frequency", order.frequency))
    dose = [f"{label}: {value.strip()}" for label, value in fields if value.strip()]
    if dose:
        lines.append("   ".join(dose))
    if order.instructions.strip():
        lines.append(f"Instructions: {' '.join(order.instructions.split())}")
    hold = _HOLD_PREFIX.sub("", " ".join(order.hold_text.split()))
    if hold:
        lines.append(f"HOLD: {hold}")
    dates = f"Start {_mdy(order.start)}"
    if order.stop is not None:
        word = "DC" if order.stop <= printed_on else "Stop"
        dates += f"   {word} {_mdy(order.stop)}"
    if order.prn:
        dates += "   PRN"
    lines.append(f"{dates}   Order {order.order_id}")
    return lines


@dataclass(frozen=True)
class _View:
    """One day cell as printed."""

    kind: str  # "out" (not in month), "off" (not scheduled), "pending", or a MarCell code
    initials: str = ""
    late: bool = False
    footnote: int | None = None
    after_stop: bool = False

    def main_text(self) -> str:
        if self.kind in ("out", "off", "pending"):
            return ""
        if self.kind == "missed":
            return MISSED_MARK
        if self.kind == "given":
            return (self.initials or NO_INITIALS) + (LATE_MARK if self.late else "")
        return self.kind

    def text(self) -> str:
        footnote = superscript(self.footnote) if self.footnote is not None else ""
        return self.main_text() + footnote


@dataclass(frozen=True)
class _PrnGroup:
    heading: str
    lines: list[str]  # the order's details after the heading
    doses: list[PrnDose]


@dataclass
class _Mar:
    first: date
    days: int
    scheduled: list[tuple[MarOrder, list[tuple[time, list[_View]]]]]
    footnotes: list[str] = field(default_factory=list)
    discrepancies: list[str] = field(default_factory=list)
    prn: list[_PrnGroup] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    initials: list[tuple[str, str]] = field(default_factory=list)  # (initials, legend text)


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def _off_schedule(order: MarOrder, day: date) -> str:
    """Why a day is outside the order's schedule ("" when it is on it)."""
    if day < order.start:
        return "documented before the order started"
    if order.stop is not None and day > order.stop:
        return "documented after the order stopped (DC)"
    if order.scheduled_days is not None and day.day not in order.scheduled_days:
        return "documented on a day the order is not scheduled"
    return ""


def _footnote_text(order: MarOrder, day: date, at: time, cell: MarCell, in_effect: bool) -> str:
    what = "given late" if cell.code == "given" and cell.late else _WHAT[cell.code]
    text = f"{_md(day)} {_hm(at)} {drug_label(order)} — {what}"
    if cell.note.strip():
        text += f": {' '.join(cell.note.split())}"
    elif cell.code in ("R", "H"):
        text += ": no reason recorded"
    if cell.code == "given" and not cell.initials.strip():
        text += "; initials not recorded"
    if not in_effect:
        text += f"; {_off_schedule(order, day)}"
    if cell.initials.strip():
        text += f" ({cell.initials.strip()})"
    return text


def _needs_footnote(cell: MarCell, in_effect: bool) -> bool:
    if cell.code in ("R", "H", "N") or cell.note.strip() or not in_effect:
        return True
    return cell.code == "given" and (cell.late or not cell.initials.strip())


def _build(data: MarInput) -> _Mar:
    first = data.month.replace(day=1)
    days = days_in_month(first)
    now = _naive(data.generated_at)
    mar = _Mar(first=first, days=days, scheduled=[])
    used: dict[str, None] = {}  # initials in order of first use

    for order in data.orders:
        if order.prn:
            continue
        times = sorted(order.times)
        rows: list[tuple[time, list[_View]]] = []
        notes: list[tuple[int, time, int, str]] = []  # day, time, row, text
        for at in times:
            row: list[_View] = []
            missed: list[str] = []
            for number in range(1, MAX_DAYS + 1):
                if number > days:
                    row.append(_View("out"))
                    continue
                day = first.replace(day=number)
                after_stop = order.stop is not None and day > order.stop
                in_effect = order.start <= day and not after_stop
                if order.scheduled_days is not None and number not in order.scheduled_days:
                    in_effect = False
                cell = order.cells.get((number, at))
                if cell is None:
                    if not in_effect:
                        kind = "off"
                    elif datetime.combine(day, at) + DUE_GRACE <= now:
                        kind = "missed"
                    else:
                        kind = "pending"
                    row.append(_View(kind, after_stop=after_stop))
                else:
                    initials = cell.initials.strip()
                    if initials:
                        used.setdefault(initials, None)
                    if _needs_footnote(cell, in_effect):
                        text = _footnote_text(order, day, at, cell, in_effect)
                        notes.append((number, at, len(rows), text))
                    late = cell.code == "given" and cell.late
                    row.append(_View(cell.code, initials, late, None, after_stop))
                kind = row[-1].kind
                mar.counts["late" if row[-1].late else kind] += 1
                if kind == "missed":
                    missed.append(_md(day))
            rows.append((at, row))
            if missed:
                mar.discrepancies.append(
                    f"{drug_label(order)} {_hm(at)} — due, not documented (missed) on "
                    + ", ".join(missed)
                )
        # The notes of an order are numbered by date and time, on from the previous order's.
        for number, _at, index, text in sorted(notes):
            mar.footnotes.append(text)
            cells = rows[index][1]
            cells[number - 1] = replace(cells[number - 1], footnote=len(mar.footnotes))
        for (number, at), cell in sorted(order.cells.items()):
            if number > days:
                where = f"day {number}, which {month_title(first)} does not have"
            elif at not in times:
                where = f"{_md(first.replace(day=number))} {_hm(at)}, not a scheduled time"
            else:
                continue
            mar.discrepancies.append(
                f"{drug_label(order)} — {_WHAT[cell.code]} documented for {where}"
                f"{f' ({cell.initials})' if cell.initials else ''}; not shown in the grid"
            )
        mar.scheduled.append((order, rows))

    _build_prn(data, mar, used)
    _build_initials(data, mar, used)
    return mar


def _build_prn(data: MarInput, mar: _Mar, used: dict[str, None]) -> None:
    last = mar.first.replace(day=mar.days)
    doses: dict[int, list[PrnDose]] = defaultdict(list)
    for dose in data.prn_doses:
        if mar.first <= dose.given_at.date() <= last:
            doses[dose.order_id].append(dose)
    printed_on = _printed_on(data)
    prn_orders = [order for order in data.orders if order.prn]
    known = {order.order_id for order in prn_orders}
    for order in prn_orders:
        lines = order_lines(order, printed_on)
        mar.prn.append(_PrnGroup(lines[0], lines[1:], doses.get(order.order_id, [])))
    for order_id, group in doses.items():
        if order_id not in known:
            heading = f"{group[0].drug} (order {order_id}, not among this MAR's PRN orders)"
            mar.prn.append(_PrnGroup(heading, [], group))
            mar.discrepancies.append(f"PRN doses of {heading}")
    for group_ in mar.prn:
        group_.doses.sort(key=lambda dose: dose.given_at)
        for dose in group_.doses:
            mar.counts["prn"] += 1
            when = f"{_md(dose.given_at)} {_hm(dose.given_at)} {dose.drug} (PRN)"
            if dose.initials.strip():
                used.setdefault(dose.initials.strip(), None)
            else:
                mar.discrepancies.append(f"{when} — initials not recorded")
            if not dose.effectiveness.strip():
                mar.discrepancies.append(f"{when} — effectiveness not documented")
            elif dose.effectiveness_at is None:
                mar.discrepancies.append(f"{when} — time of the effectiveness check not recorded")
            else:
                if dose.effectiveness_at.tzinfo and dose.given_at.tzinfo:
                    after = dose.effectiveness_at - dose.given_at
                else:
                    after = _naive(dose.effectiveness_at) - _naive(dose.given_at)
                low, high = PRN_CHECK_WINDOW
                if not low <= after <= high:
                    minutes = int(after.total_seconds() // 60)
                    mar.discrepancies.append(
                        f"{when} — effectiveness checked {minutes} min after the dose "
                        f"(expected {low.seconds // 60}-{high.seconds // 60} min)"
                    )


def _build_initials(data: MarInput, mar: _Mar, used: dict[str, None]) -> None:
    staff: dict[str, list[StaffInitials]] = defaultdict(list)
    for person in data.staff:
        staff[person.initials.strip().upper()].append(person)
    for initials in sorted(used, key=str.upper):
        people = staff.get(initials.upper(), [])
        if not people:
            mar.initials.append((initials, "NOT ON THE STAFF LIST"))
            mar.discrepancies.append(f"Initials {initials} are not on the staff list")
            continue
        names = "; ".join(_join(f"{p.name},", p.role).rstrip(",") for p in people)
        mar.initials.append((initials, names))
        if len(people) > 1:
            mar.discrepancies.append(f"Initials {initials} belong to more than one person: {names}")


def mar_rows(data: MarInput) -> list[list[str]]:
    """The grid as text: a heading row ("Medication", "Time", "1" ... "31", with "" for the days
    the month does not have), then one row per scheduled order and time: the order's box (its
    lines joined by newlines, repeated on each of its rows), the time ("08:00") and 31 cells
    ("JR", "JR·L", "R²", "H¹", "A", "N³", "(M)", or "" for nothing)."""
    mar = _build(data)
    heading = ["Medication", "Time"]
    heading += [str(day) if day <= mar.days else "" for day in range(1, MAX_DAYS + 1)]
    rows = [heading]
    printed_on = _printed_on(data)
    for order, order_rows in mar.scheduled:
        label = "\n".join(order_lines(order, printed_on))
        for at, cells in order_rows:
            rows.append([label, _hm(at), *(cell.text() for cell in cells)])
    return rows


def mar_notes(data: MarInput) -> list[str]:
    """The numbered footnotes ("¹ 03/12 08:00 Metoprolol tartrate 25 mg — held: pulse 52 < 60
    (JR)"), then the discrepancies, each prefixed "Discrepancy: "."""
    mar = _build(data)
    notes = [f"{superscript(n)} {text}" for n, text in enumerate(mar.footnotes, start=1)]
    return notes + [f"Discrepancy: {text}" for text in mar.discrepancies]


PRN_COLUMNS = ("Date / time", "Dose", "Reason given", "Effectiveness", "Checked at", "Initials")
PRN_WIDTHS = (0.1, 0.14, 0.27, 0.31, 0.1, 0.08)


def _prn_row(dose: PrnDose) -> list[str]:
    checked = (
        f"{_md(dose.effectiveness_at)} {_hm(dose.effectiveness_at)}"
        if dose.effectiveness_at
        else ""
    )
    return [
        f"{_md(dose.given_at)} {_hm(dose.given_at)}",
        dose.dose,
        dose.reason,
        dose.effectiveness.strip() or "NOT DOCUMENTED",
        checked,
        dose.initials.strip() or NO_INITIALS,
    ]


def prn_rows(data: MarInput) -> list[list[str]]:
    """The PRN doses of the month: a heading row ("Medication", *PRN_COLUMNS), then one row per
    dose, by order and time."""
    rows = [["Medication", *PRN_COLUMNS]]
    for group in _build(data).prn:
        rows += [[group.heading, *_prn_row(dose)] for dose in group.doses]
    return rows


LEGEND = (  # key, how it looks in text, what it means
    ("given", "", "Given: the initials of who gave it (see Staff initials)"),
    ("late", LATE_MARK, "Given late (outside the pass window): initials then ·L; see the note"),
    ("R", "R", "Refused by the resident; the reason is in the note"),
    ("H", "H", "Held (hold parameter or the nurse's direction); reason and vital in the note"),
    ("A", "A", "Resident away (leave of absence, hospital)"),
    ("N", "N", "Not available (not on hand); see the note"),
    ("missed", MISSED_MARK, "MISSED (circled M): the dose was due and nothing was documented"),
    ("note", "¹", "A number after a code: see that note under Notes"),
    ("off", "blank", "Not scheduled (before the start, after the stop) or not yet due"),
    ("stop", "struck through", "The order had stopped (DC); bars mark the start and stop days"),
    ("out", "grey", "The month has no such day"),
)
_COUNTED = frozenset({*CODES, "late"})


def _sample_initials(mar: _Mar) -> str:
    return mar.initials[0][0] if mar.initials else "AB"


def code_legend(data: MarInput) -> list[str]:
    """The legend of codes as text ("R = Refused by the resident; ... (2 this month)"), with how
    often each documented code appears this month."""
    mar = _build(data)
    initials = _sample_initials(mar)
    lines = []
    for key, sample, meaning in LEGEND:
        count = mar.counts.get(key, 0)
        often = f" ({count} this month)" if count and key in _COUNTED else ""
        if key in ("given", "late"):
            sample = initials + sample
        lines.append(f"{sample} = {meaning}{often}")
    return lines


def initials_legend(data: MarInput) -> list[str]:
    """ "JR = Jo Rivera, CMA / Med Tech" for every initial used on this MAR."""
    return [f"{initials} = {text}" for initials, text in _build(data).initials]


# --- PDF ---------------------------------------------------------------------------------------

MARGIN = 0.4 * 72
TITLE_SIZE = 12
BOX_LABEL_SIZE = 6.0
BOX_VALUE_SIZE = 8.5
BOX_LEADING = 10.0
ORDER_SIZE = 7.0
ORDER_LEADING = 8.2
CELL_SIZE = 7.5
MIN_CELL_SIZE = 5.0
ROW_HEIGHT = 13.0
COLUMN_HEADING_HEIGHT = 20.0
TEXT_SIZE = 8.0
TEXT_LEADING = 10.0
HEADING_SIZE = 10.0
FOOTER_SIZE = 6.5
_PAPER_SIZES = {
    "legal": (landscape(LEGAL), 250.0, 30.0),
    "letter": (landscape(LETTER), 190.0, 28.0),
}

_Op = Callable[[Canvas], None]


@dataclass(frozen=True)
class _Geo:
    width: float
    height: float
    order_w: float
    time_w: float

    @property
    def right(self) -> float:
        return self.width - MARGIN

    @property
    def inner(self) -> float:
        return self.width - 2 * MARGIN

    @property
    def grid_x(self) -> float:
        return MARGIN + self.order_w + self.time_w

    @property
    def cell_w(self) -> float:
        return (self.right - self.grid_x) / MAX_DAYS

    @property
    def bottom(self) -> float:
        return MARGIN + 14


def _width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))


def _string(
    font: str, size: float, x: float, y: float, text: str, align: str, canvas: Canvas
) -> None:
    canvas.setFillGray(0)
    canvas.setFont(font, size)
    if align == "center":
        canvas.drawCentredString(x, y, text)
    elif align == "right":
        canvas.drawRightString(x, y, text)
    else:
        canvas.drawString(x, y, text)


def _box(x: float, y: float, w: float, h: float, grey: float | None, canvas: Canvas) -> None:
    """A rectangle from its bottom-left corner, filled when grey is given."""
    canvas.setLineWidth(0.4)
    canvas.setStrokeGray(0.25)
    if grey is not None:
        canvas.setFillGray(grey)
    canvas.rect(x, y, w, h, stroke=1, fill=0 if grey is None else 1)
    canvas.setFillGray(0)


def _line(x1: float, y1: float, x2: float, y2: float, width: float, canvas: Canvas) -> None:
    canvas.setLineWidth(width)
    canvas.setStrokeGray(0)
    canvas.line(x1, y1, x2, y2)


def _draw_cell(
    view: _View, x: float, y: float, w: float, h: float, fonts: tuple[str, str], canvas: Canvas
) -> None:
    """One day cell (x, y: bottom-left), its border included."""
    regular, bold = fonts
    _box(x, y, w, h, OUT_OF_MONTH_GREY if view.kind == "out" else None, canvas)
    main = view.main_text()
    if not main:
        return
    if view.kind == "missed":
        radius = min(w, h) / 2 - 1.2
        canvas.setLineWidth(0.9)
        canvas.setStrokeGray(0)
        canvas.circle(x + w / 2, y + h / 2, radius, stroke=1, fill=0)
        main = "M"
    font = regular if view.kind == "given" else bold
    note = str(view.footnote) if view.footnote is not None else ""
    size = CELL_SIZE if view.kind != "missed" else min(CELL_SIZE, 2 * radius * 0.7)
    while size > MIN_CELL_SIZE:
        if _width(main, font, size) + _width(note, regular, size * 0.68) <= w - 2:
            break
        size -= 0.25
    total = _width(main, font, size) + _width(note, regular, size * 0.68)
    left = x + (w - total) / 2
    base = y + (h - size * 0.72) / 2
    canvas.setFillGray(0)
    canvas.setFont(font, size)
    canvas.drawString(left, base, main)
    if note:
        canvas.setFont(regular, size * 0.68)
        canvas.drawString(left + _width(main, font, size), base + size * 0.45, note)


class _Pages:
    """Ops placed on pages, top to bottom; a new page starts below the repeated header."""

    def __init__(self, geo: _Geo, body_top: float) -> None:
        self.geo = geo
        self.body_top = body_top
        self.pages: list[list[_Op]] = []
        self.y = body_top
        self.on_new_page: Callable[[], None] | None = None
        self.new_page()

    def new_page(self) -> None:
        self.pages.append([])
        self.y = self.body_top
        if self.on_new_page is not None:
            self.on_new_page()

    @property
    def fresh(self) -> bool:
        return self.y == self.body_top

    def need(self, height: float) -> None:
        if self.y - height < self.geo.bottom and not self.fresh:
            self.new_page()

    def add(self, op: _Op) -> None:
        self.pages[-1].append(op)


@dataclass(frozen=True)
class _HeaderBox:
    x: float
    w: float
    label: str
    lines: list[str]
    bold: bool


def _header_rows(data: MarInput, geo: _Geo, fonts: tuple[str, str]) -> list[list[_HeaderBox]]:
    regular, bold = fonts
    rows = [
        [
            ("RESIDENT", data.resident_name, 0.3, True),
            ("ROOM", data.room, 0.08, True),
            ("DATE OF BIRTH", _mdy(data.birth_date), 0.12, False),
            ("MONTH", month_title(data.month), 0.12, True),
            ("PRESCRIBER(S)", data.prescribers, 0.38, False),
        ],
        [
            ("ALLERGIES", allergy_text(data.allergies), 0.62, True),
            ("PHARMACY", data.pharmacy, 0.38, False),
        ],
    ]
    out = []
    for row in rows:
        x = MARGIN
        boxes = []
        for label, value, share, strong in row:
            w = geo.inner * share
            text = " ".join(value.split()) or "—"
            lines = pdf_text.wrap(text, bold if strong else regular, BOX_VALUE_SIZE, w - 6)
            boxes.append(_HeaderBox(x, w, label, lines, strong))
            x += w
        out.append(boxes)
    return out


def _header_height(rows: list[list[_HeaderBox]]) -> float:
    return 18 + sum(_box_row_height(row) for row in rows)


def _box_row_height(row: list[_HeaderBox]) -> float:
    return 2 + BOX_LABEL_SIZE + 2 + max(len(box.lines) for box in row) * BOX_LEADING


def _draw_header(
    data: MarInput,
    geo: _Geo,
    rows: list[list[_HeaderBox]],
    fonts: tuple[str, str],
    page: int,
    pages: int,
    canvas: Canvas,
) -> None:
    regular, bold = fonts
    top = geo.height - MARGIN
    title = f"Medication Administration Record — {month_title(data.month)}"
    room = geo.width / 2 - _width(title, bold, TITLE_SIZE) / 2 - MARGIN - 10
    size = 10.5
    while _width(data.home_name, bold, size) > room and size > 6:
        size -= 0.25
    _string(bold, size, MARGIN, top - 11, data.home_name, "left", canvas)
    _string(bold, TITLE_SIZE, geo.width / 2, top - 11, title, "center", canvas)
    _string(bold, 9, geo.right, top - 11, f"Page {page} of {pages}", "right", canvas)
    y = top - 18
    for row in rows:
        height = _box_row_height(row)
        for box in row:
            _box(box.x, y - height, box.w, height, None, canvas)
            canvas.setFillGray(0.3)
            canvas.setFont(regular, BOX_LABEL_SIZE)
            canvas.drawString(box.x + 3, y - 2 - BOX_LABEL_SIZE, box.label)
            font = bold if box.bold else regular
            for number, line in enumerate(box.lines, start=1):
                base = y - 2 - BOX_LABEL_SIZE - number * BOX_LEADING + 2
                _string(font, BOX_VALUE_SIZE, box.x + 3, base, line, "left", canvas)
        y -= height


def _draw_footer(data: MarInput, geo: _Geo, fonts: tuple[str, str], canvas: Canvas) -> None:
    regular, _ = fonts
    codes = (
        "Codes: initials = given · initials·L = given late · R = refused · H = held · "
        "A = away · N = not available · circled M = due, not documented (missed) · "
        "number = see Notes · grey = no such day · struck through = order stopped (DC)"
    )
    size = FOOTER_SIZE
    printed = f"Printed {data.generated_at.strftime('%m/%d/%Y %H:%M')}"
    room = geo.inner - _width(printed, regular, size) - 12
    while _width(codes, regular, size) > room and size > 4.5:
        size -= 0.25
    _string(regular, size, MARGIN, MARGIN + 2, codes, "left", canvas)
    _string(regular, FOOTER_SIZE, geo.right, MARGIN + 2, printed, "right", canvas)


def _day_heading(
    first: date, days: int, geo: _Geo, fonts: tuple[str, str]
) -> Callable[[float], list[_Op]]:
    regular, bold = fonts

    def ops(top: float) -> list[_Op]:
        y = top - COLUMN_HEADING_HEIGHT
        out: list[_Op] = [
            partial(_box, MARGIN, y, geo.order_w, COLUMN_HEADING_HEIGHT, HEADING_GREY),
            partial(_string, bold, 8, MARGIN + 3, y + 7, "Medication order", "left"),
            partial(_box, MARGIN + geo.order_w, y, geo.time_w, COLUMN_HEADING_HEIGHT, HEADING_GREY),
            partial(
                _string, bold, 7, MARGIN + geo.order_w + geo.time_w / 2, y + 7, "Time", "center"
            ),
        ]
        for number in range(1, MAX_DAYS + 1):
            x = geo.grid_x + (number - 1) * geo.cell_w
            grey = OUT_OF_MONTH_GREY if number > days else HEADING_GREY
            out.append(partial(_box, x, y, geo.cell_w, COLUMN_HEADING_HEIGHT, grey))
            if number > days:
                continue
            weekday = "MTWTFSS"[first.replace(day=number).weekday()]
            center = x + geo.cell_w / 2
            out.append(partial(_string, bold, 7.5, center, y + 10, str(number), "center"))
            out.append(partial(_string, regular, 5.5, center, y + 3, weekday, "center"))
        return out

    return ops


def _layout_grid(mar: _Mar, data: MarInput, pages: _Pages, fonts: tuple[str, str]) -> None:
    geo = pages.geo
    regular, bold = fonts
    heading = _day_heading(mar.first, mar.days, geo, fonts)
    printed_on = _printed_on(data)

    def column_heading() -> None:
        for op in heading(pages.y):
            pages.add(op)
        pages.y -= COLUMN_HEADING_HEIGHT

    _section_heading(pages, "Scheduled medications", bold)
    if not mar.scheduled:
        _paragraph(pages, "No scheduled medications this month.", regular)
        return
    column_heading()
    for order, rows in mar.scheduled:
        lines: list[tuple[str, str]] = []
        for number, text in enumerate(order_lines(order, printed_on)):
            font = bold if number == 0 or text.startswith("HOLD:") else regular
            lines += [
                (font, line) for line in pdf_text.wrap(text, font, ORDER_SIZE, geo.order_w - 6)
            ]
        row_h = max(ROW_HEIGHT, (len(lines) * ORDER_LEADING + 5) / len(rows))
        block = row_h * len(rows)
        if pages.y - block < geo.bottom:
            pages.new_page()
            column_heading()
        top = pages.y
        pages.add(partial(_box, MARGIN, top - block, geo.order_w, block, None))
        for number, (font, line) in enumerate(lines, start=1):
            base = top - 1.5 - number * ORDER_LEADING + 1.5
            pages.add(partial(_string, font, ORDER_SIZE, MARGIN + 3, base, line, "left"))
        for index, (at, cells) in enumerate(rows):
            y = top - (index + 1) * row_h
            time_x = MARGIN + geo.order_w
            pages.add(partial(_box, time_x, y, geo.time_w, row_h, None))
            label_y = y + (row_h - ORDER_SIZE * 0.72) / 2
            pages.add(
                partial(_string, bold, 7, time_x + geo.time_w / 2, label_y, _hm(at), "center")
            )
            for number, view in enumerate(cells):
                x = geo.grid_x + number * geo.cell_w
                pages.add(partial(_draw_cell, view, x, y, geo.cell_w, row_h, fonts))
            # Strike through the empty days after the stop (not a dose documented there).
            for n, view in enumerate(cells):
                if view.after_stop and view.kind == "off":
                    x1 = geo.grid_x + n * geo.cell_w
                    mid = y + row_h / 2
                    pages.add(partial(_line, x1, mid, x1 + geo.cell_w, mid, 0.6))
        bottom = top - block
        if mar.first <= order.start <= mar.first.replace(day=mar.days) and order.start.day > 1:
            x = geo.grid_x + (order.start.day - 1) * geo.cell_w
            pages.add(partial(_line, x, bottom, x, top, 1.6))
        if order.stop is not None and mar.first <= order.stop < mar.first.replace(day=mar.days):
            x = geo.grid_x + order.stop.day * geo.cell_w
            pages.add(partial(_line, x, bottom, x, top, 1.6))
        pages.y = bottom


def _section_heading(pages: _Pages, text: str, bold: str) -> None:
    pages.need(HEADING_SIZE + 8 + 3 * TEXT_LEADING)
    if not pages.fresh:
        pages.y -= 8
    pages.y -= HEADING_SIZE + 3
    pages.add(partial(_string, bold, HEADING_SIZE, MARGIN, pages.y, text, "left"))
    pages.y -= 4


def _paragraph(
    pages: _Pages, text: str, font: str, x: float = MARGIN, width: float | None = None
) -> None:
    width = width if width is not None else pages.geo.right - x
    for line in pdf_text.wrap(text, font, TEXT_SIZE, width):
        pages.need(TEXT_LEADING)
        pages.y -= TEXT_LEADING
        pages.add(partial(_string, font, TEXT_SIZE, x, pages.y + 2, line, "left"))


def _table_row(
    pages: _Pages,
    cells: Sequence[str],
    widths: Sequence[float],
    font: str,
    grey: float | None,
    repeat: Callable[[], None] | None = None,
) -> None:
    geo = pages.geo
    wrapped = [
        pdf_text.wrap(" ".join(text.split()), font, TEXT_SIZE - 0.5, w * geo.inner - 6)
        for text, w in zip(cells, widths, strict=True)
    ]
    height = max(len(lines) for lines in wrapped) * (TEXT_LEADING - 0.5) + 4
    if pages.y - height < geo.bottom and not pages.fresh:
        pages.new_page()
        if repeat is not None:
            repeat()
    x = MARGIN
    for lines, w in zip(wrapped, widths, strict=True):
        pages.add(partial(_box, x, pages.y - height, w * geo.inner, height, grey))
        for number, line in enumerate(lines, start=1):
            base = pages.y - number * (TEXT_LEADING - 0.5)
            pages.add(partial(_string, font, TEXT_SIZE - 0.5, x + 3, base, line, "left"))
        x += w * geo.inner
    pages.y -= height


def _layout_prn(mar: _Mar, pages: _Pages, fonts: tuple[str, str]) -> None:
    regular, bold = fonts
    _section_heading(pages, "PRN (as needed) medications", bold)
    if not mar.prn:
        _paragraph(pages, "No PRN orders this month.", regular)
        return
    for group in mar.prn:
        pages.need(3 * TEXT_LEADING + 16)
        pages.y -= 4
        _paragraph(pages, group.heading, bold)
        if group.lines:
            _paragraph(pages, "   ".join(group.lines), regular)
        pages.y -= 2
        if not group.doses:
            _paragraph(pages, "No doses given this month.", regular)
            continue

        def heading() -> None:
            _table_row(pages, PRN_COLUMNS, PRN_WIDTHS, bold, HEADING_GREY)

        heading()
        for dose in group.doses:
            _table_row(pages, _prn_row(dose), PRN_WIDTHS, regular, None, heading)


def _layout_notes(mar: _Mar, pages: _Pages, fonts: tuple[str, str]) -> None:
    regular, bold = fonts
    _section_heading(pages, "Notes", bold)
    if not mar.footnotes:
        _paragraph(pages, "No notes this month.", regular)
    for number, text in enumerate(mar.footnotes, start=1):
        pages.need(TEXT_LEADING)
        pages.add(
            partial(
                _string,
                bold,
                TEXT_SIZE,
                MARGIN + 14,
                pages.y - TEXT_LEADING + 2,
                str(number),
                "right",
            )
        )
        _paragraph(pages, text, regular, MARGIN + 20)
    _section_heading(pages, "Discrepancies", bold)
    if not mar.discrepancies:
        _paragraph(pages, "None found.", regular)
    for text in mar.discrepancies:
        pages.need(TEXT_LEADING)
        pages.add(
            partial(_string, bold, TEXT_SIZE, MARGIN + 8, pages.y - TEXT_LEADING + 2, "•", "left")
        )
        _paragraph(pages, text, regular, MARGIN + 20)


LEGEND_SHARES = (0.36, 0.34, 0.30)  # codes, more codes, staff initials
LEGEND_SAMPLE_W = 22.0
LEGEND_SIZE = 7.5
LEGEND_LEADING = 9.0


def _layout_legends(mar: _Mar, data: MarInput, pages: _Pages, fonts: tuple[str, str]) -> None:
    """The legend of codes in two columns and the staff initials in a third, kept on one page
    when they fit on one."""
    regular, bold = fonts
    geo = pages.geo
    widths = [geo.inner * share for share in LEGEND_SHARES]
    xs = [MARGIN, MARGIN + widths[0], MARGIN + widths[0] + widths[1]]
    initials = _sample_initials(mar)
    samples = {
        "given": _View("given", initials),
        "late": _View("given", initials, late=True),
        "R": _View("R"),
        "H": _View("H", footnote=1),
        "A": _View("A"),
        "N": _View("N"),
        "missed": _View("missed"),
        "note": _View("R", footnote=2),
        "off": _View("off"),
        "stop": _View("off", after_stop=True),
        "out": _View("out"),
    }
    # Each item: (sample cell or None, bold prefix, wrapped lines of text)
    Item = tuple[_View | None, str, list[str]]
    codes: list[Item] = []
    for (key, _, _), text in zip(LEGEND, code_legend(data), strict=True):
        meaning = text.split(" = ", 1)[1]
        width = widths[0] - LEGEND_SAMPLE_W - 12
        codes.append((samples[key], key, pdf_text.wrap(meaning, regular, LEGEND_SIZE, width)))
    people: list[Item] = [
        (None, code, pdf_text.wrap(f"= {text}", regular, LEGEND_SIZE, widths[2] - 34))
        for code, text in mar.initials
    ] or [(None, "", ["No doses documented."])]
    half = (len(codes) + 1) // 2
    rows = list(zip_longest(codes[:half], codes[half:], people))

    def height(row: tuple[Item | None, ...]) -> float:
        lines = max(len(item[2]) for item in row if item is not None)
        return max(ROW_HEIGHT, lines * LEGEND_LEADING + 4) + 2

    total = HEADING_SIZE + 15 + sum(height(row) for row in rows)
    if total <= pages.body_top - geo.bottom:
        pages.need(total)
    else:
        pages.need(HEADING_SIZE + 15 + 3 * ROW_HEIGHT)
    if not pages.fresh:
        pages.y -= 8
    title_y = pages.y - HEADING_SIZE - 3
    pages.add(partial(_string, bold, HEADING_SIZE, xs[0], title_y, "Legend of codes", "left"))
    pages.add(partial(_string, bold, HEADING_SIZE, xs[2], title_y, "Staff initials", "left"))
    pages.y = title_y - 4
    for row in rows:
        row_h = height(row)
        pages.need(row_h)
        y = pages.y - row_h + 2
        for x, item in zip(xs, row, strict=True):
            if item is None:
                continue
            view, key, lines = item
            text_top = pages.y - LEGEND_SIZE - 2.5
            if view is not None:
                cell_y = pages.y - ROW_HEIGHT
                pages.add(partial(_draw_cell, view, x, cell_y, LEGEND_SAMPLE_W, ROW_HEIGHT, fonts))
                if key == "stop":
                    mid = cell_y + ROW_HEIGHT / 2
                    pages.add(partial(_line, x, mid, x + LEGEND_SAMPLE_W, mid, 0.6))
                text_x = x + LEGEND_SAMPLE_W + 6
            else:
                pages.add(partial(_string, bold, LEGEND_SIZE + 1, x, text_top, key, "left"))
                text_x = x + 28
            for number, line in enumerate(lines):
                base = text_top - number * LEGEND_LEADING
                pages.add(partial(_string, regular, LEGEND_SIZE, text_x, base, line, "left"))
        pages.y = y - 2


def render_mar(data: MarInput, *, paper: str = DEFAULT_PAPER) -> bytes:
    """The MAR as a landscape PDF: legal paper by default, or "letter"."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    (width, height), order_w, time_w = _PAPER_SIZES[paper]
    geo = _Geo(width, height, order_w, time_w)
    fonts = pdf_text.fonts()
    mar = _build(data)
    header = _header_rows(data, geo, fonts)
    pages = _Pages(geo, geo.height - MARGIN - _header_height(header) - 6)
    _layout_grid(mar, data, pages, fonts)
    _layout_prn(mar, pages, fonts)
    _layout_notes(mar, pages, fonts)
    _layout_legends(mar, data, pages, fonts)

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), invariant=True)
    canvas.setTitle(f"MAR {data.resident_name} {month_title(data.month)}")
    canvas.setAuthor(data.home_name)
    canvas.setSubject("Medication Administration Record")
    total = len(pages.pages)
    for number, ops in enumerate(pages.pages, start=1):
        _draw_header(data, geo, header, fonts, number, total, canvas)
        for op in ops:
            op(canvas)
        _draw_footer(data, geo, fonts, canvas)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


__all__ = [
    "CODES",
    "LATE_MARK",
    "MISSED_MARK",
    "MarCell",
    "MarInput",
    "MarOrder",
    "PrnDose",
    "StaffInitials",
    "allergy_text",
    "code_legend",
    "days_in_month",
    "drug_label",
    "initials_legend",
    "mar_notes",
    "mar_rows",
    "month_title",
    "order_lines",
    "prn_rows",
    "render_mar",
    "superscript",
]
