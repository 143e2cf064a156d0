"""Check an 837P before it goes (pure; no Django): the payer rules pyx12 does not check, and a
wrapper that runs pyx12's own 005010X222A1 validation in-process.

pyx12 checks the implementation guide: loops, segment order and repeats, required elements,
lengths and code lists. It does not check the content a payer rejects a claim for, which
`check_837p` does, claim by claim:

    NPI check digits (Luhn over 80840 + the first nine digits) on every NM1 with an XX id
        (billing 85, rendering 82, referring DN, ordering DK, supervising DQ, facility 77...)
    ICD-10-CM codes well formed (letter, digit, letter or digit, then up to four letters or
        digits; written without the dot; ABK first, ABF after; no ICD-9 BK/BF; no repeats),
        and billable when the caller passes `is_billable` (the database lookup)
    at most 12 diagnoses per claim
    CLM02 (the claim total) equals the sum of the lines' SV102 charges
    every SV107 diagnosis pointer points to one of the claim's HI codes; 1 to 4 pointers
    required segments: every subscriber/patient level has a CLM, every CLM an HI and at least
        one LX with its SV1, every line a service date (DTP*472, or one on the claim)
    timely filing: a service date more than `filing_limit_days` before `today` (by default the
        file's creation date, GS04), or after it

Each `Problem` names the claim (CLM01; "" for the batch header, which every claim below it
shares), the segment and its 1-based position in the file, the field, what is wrong and the fix.
A file that cannot be read at all raises `parse.X12Error`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from carebench.core.npi import validate_npi

from .parse import Segment, gc_paused, read_interchange

IMPLEMENTATION = "005010X222A1"
MAX_DIAGNOSES = 12
MAX_POINTERS = 4
DEFAULT_FILING_LIMIT_DAYS = 365
ICD10CM = re.compile(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}")
DIAGNOSIS_QUALIFIERS = {"ABK", "ABF", "BK", "BF"}
NPI_ROLES = {
    "85": "billing provider",
    "87": "pay-to provider",
    "82": "rendering provider",
    "DN": "referring provider",
    "P3": "primary care provider",
    "DK": "ordering provider",
    "DQ": "supervising provider",
    "77": "service facility",
    "QB": "purchased service provider",
    "PE": "payee",
    "PR": "payer",
}


@dataclass(frozen=True)
class Problem:
    """One reason a claim should not go, and what to do about it."""

    claim_id: str  # CLM01; "" when it is in the batch header (every claim shares it)
    segment: str
    position: int  # 1-based segment number in the file
    field: str  # e.g. CLM02, SV107, NM109
    message: str
    fix: str

    def __str__(self) -> str:
        claim = f"claim {self.claim_id}" if self.claim_id else "batch"
        return (
            f"{claim}: segment {self.position} ({self.segment}) {self.field}: "
            f"{self.message}. Fix: {self.fix}"
        )


@dataclass
class _Line:
    lx: Segment
    sv1: Segment | None = None
    charge: Decimal = Decimal(0)
    dated: bool = False


@dataclass
class _Claim:
    clm: Segment
    claim_id: str
    diagnoses: list[str] = field(default_factory=list)
    hi: Segment | None = None
    principal: bool = False
    lines: list[_Line] = field(default_factory=list)
    dated: bool = False


class _Checker:
    def __init__(
        self,
        is_billable: Callable[[str], bool] | None,
        today: date | None,
        filing_limit_days: int,
    ) -> None:
        self.is_billable = is_billable
        self.today = today
        self.limit = filing_limit_days
        self.problems: list[Problem] = []
        self._npis: dict[str, str] = {}
        self._billable: dict[str, bool] = {}
        self._dates: dict[str, date | None] = {}
        self.claim: _Claim | None = None
        self.hl: Segment | None = None
        self.hl_has_claim = True

    def add(self, seg: Segment, element: str, message: str, fix: str) -> None:
        claim_id = self.claim.claim_id if self.claim is not None else ""
        self.problems.append(Problem(claim_id, seg.id, seg.position, element, message, fix))

    # --- values ---

    def npi(self, seg: Segment) -> None:
        value = seg.elements[8] if len(seg.elements) > 8 else ""
        if value not in self._npis:
            try:
                validate_npi(value)
                self._npis[value] = ""
            except ValueError as exc:
                self._npis[value] = str(exc)
        reason = self._npis[value]
        if reason:
            role = NPI_ROLES.get(seg.element(1), f"NM1*{seg.element(1)}")
            self.add(
                seg,
                "NM109",
                f"the {role}'s NPI {value!r} is not valid: {reason}",
                f"correct the {role}'s NPI (10 digits from NPPES; the last is a check digit)",
            )

    def date_of(self, seg: Segment) -> tuple[date | None, date | None]:
        """DTP02/03 as (from, through); (None, None) and a problem when not a date."""
        els = seg.elements
        form, value = (els[1], els[2]) if len(els) > 2 else (seg.element(2), seg.element(3))
        if form == "D8":
            day = self._date(value)
            if day is not None:
                return day, day
        elif form == "RD8" and "-" in value:
            first, _, last = value.partition("-")
            start, end = self._date(first), self._date(last)
            if start is not None and end is not None and start <= end:
                return start, end
        self.add(
            seg,
            "DTP03",
            f"service date {value!r} ({form or 'no format'}) is not a date",
            "write the date of service as CCYYMMDD (D8) or a range CCYYMMDD-CCYYMMDD (RD8)",
        )
        return None, None

    def _date(self, value: str) -> date | None:
        if value in self._dates:
            return self._dates[value]
        day: date | None = None
        if len(value) == 8 and value.isdigit():
            try:
                day = date(int(value[:4]), int(value[4:6]), int(value[6:]))
            except ValueError:
                day = None
        self._dates[value] = day
        return day

    def filing(self, seg: Segment, start: date, end: date) -> None:
        if self.today is None:
            return
        age = (self.today - end).days
        if age > self.limit:
            self.add(
                seg,
                "DTP03",
                f"service on {end.isoformat()} is {age} days old: past the "
                f"{self.limit}-day filing limit",
                "check the payer's timely filing limit; if it has passed, send proof of timely "
                "filing or write the charge off",
            )
        elif start > self.today:
            self.add(
                seg,
                "DTP03",
                f"service date {start.isoformat()} is after the file's date "
                f"{self.today.isoformat()}",
                "bill a service only after it was given; correct the date of service",
            )

    def money(self, seg: Segment, n: int, what: str) -> Decimal | None:
        value = seg.element(n)
        try:
            number: Decimal | None = Decimal(value)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.add(
                seg,
                f"{seg.id}{n:02d}",
                f"the {what} {value!r} is not a number",
                f"write the {what} as a number, e.g. 125.50",
            )
            return None
        return number

    # --- segments ---

    def hi(self, seg: Segment, claim: _Claim) -> None:
        claim.hi = claim.hi or seg
        for n in range(1, len(seg.elements) + 1):
            parts = seg.components(n)
            if not parts:
                continue
            qualifier = parts[0]
            if qualifier not in DIAGNOSIS_QUALIFIERS:
                continue  # anesthesia (BP/BO) or condition (BG) codes: not diagnoses
            code = parts[1] if len(parts) > 1 else ""
            where = f"HI{n:02d}-2"
            first = not claim.diagnoses
            had_principal = claim.principal
            claim.diagnoses.append(code)
            claim.principal = had_principal or qualifier == "ABK"
            if qualifier in ("BK", "BF"):
                self.add(
                    seg,
                    f"HI{n:02d}-1",
                    f"{code!r} is sent as an ICD-9 code ({qualifier})",
                    "code the diagnosis in ICD-10-CM (qualifier ABK for the principal, ABF "
                    "for the others)",
                )
            elif first and qualifier != "ABK":
                self.add(
                    seg,
                    f"HI{n:02d}-1",
                    f"the first diagnosis has qualifier {qualifier}, not ABK (principal)",
                    "send the principal diagnosis first with ABK",
                )
            elif not first and qualifier == "ABK" and had_principal:
                self.add(
                    seg,
                    f"HI{n:02d}-1",
                    "a second principal diagnosis (ABK)",
                    "send one principal diagnosis (ABK); the others are ABF",
                )
            self.icd(seg, where, code, claim)
        if len(claim.diagnoses) > MAX_DIAGNOSES:
            self.add(
                seg,
                "HI",
                f"{len(claim.diagnoses)} diagnoses: an 837P claim carries at most {MAX_DIAGNOSES}",
                "keep the 12 that the lines point to (split the claim if more are needed)",
            )

    def icd(self, seg: Segment, where: str, code: str, claim: _Claim) -> None:
        if "." in code:
            self.add(
                seg,
                where,
                f"ICD-10-CM code {code!r} is written with a dot",
                f"write it without the dot: {code.replace('.', '')}",
            )
            return
        if not ICD10CM.fullmatch(code):
            self.add(
                seg,
                where,
                f"{code!r} is not an ICD-10-CM code (a letter, a digit, a letter or digit, "
                "then up to four letters or digits)",
                "pick the diagnosis again from the ICD-10-CM list",
            )
            return
        if claim.diagnoses.count(code) > 1:
            self.add(
                seg,
                where,
                f"diagnosis {code} is listed twice",
                "list each diagnosis once and point the lines to it",
            )
        if self.is_billable is not None:
            billable = self._billable.get(code)
            if billable is None:
                billable = self._billable[code] = bool(self.is_billable(code))
            if not billable:
                self.add(
                    seg,
                    where,
                    f"ICD-10-CM {code} is not billable (a category, or not in the code set)",
                    "choose the more specific code (all its characters) under it",
                )

    def finish_claim(self) -> None:
        claim = self.claim
        if claim is None:
            return
        clm = claim.clm
        if claim.hi is None:
            self.add(
                clm,
                "HI",
                "the claim has no diagnosis (HI segment)",
                "add the visit's diagnoses (ICD-10-CM) and link each line to them",
            )
        if not claim.lines:
            self.add(
                clm,
                "LX",
                "the claim has no service line (LX/SV1)",
                "add the services performed, or delete the claim",
            )
        total = Decimal(0)
        count = len(claim.diagnoses)
        for line in claim.lines:
            sv1 = line.sv1
            if sv1 is None:
                self.add(
                    line.lx,
                    "SV1",
                    f"line {line.lx.element(1)} has no SV1 (the procedure and charge)",
                    "add the procedure code and charge to the line, or remove the line",
                )
                continue
            total += line.charge
            if not line.dated and not claim.dated:
                self.add(
                    sv1,
                    "DTP*472",
                    f"line {line.lx.element(1)} has no date of service (DTP*472)",
                    "add the date the service was given",
                )
            pointers = sv1.components(7)
            if claim.hi is None:
                continue  # no diagnoses to point to: reported once, above
            if not pointers:
                self.add(
                    sv1,
                    "SV107",
                    f"line {line.lx.element(1)} ({_code(sv1)}) points to no diagnosis",
                    "link the line to 1-4 of the claim's diagnoses",
                )
                continue
            if len(pointers) > MAX_POINTERS:
                self.add(
                    sv1,
                    "SV107",
                    f"line {line.lx.element(1)} ({_code(sv1)}) has {len(pointers)} diagnosis "
                    f"pointers: at most {MAX_POINTERS}",
                    "keep the 4 diagnoses that best support the service",
                )
            for pointer in pointers:
                if not (pointer.isdigit() and 1 <= int(pointer) <= count):
                    self.add(
                        sv1,
                        "SV107",
                        f"line {line.lx.element(1)} ({_code(sv1)}) points to diagnosis "
                        f"{pointer!r}, but the claim has {count}",
                        f"point the line to diagnoses 1 to {count}",
                    )
        stated = self.money(clm, 2, "claim total")
        if stated is not None and claim.lines and stated != total:
            self.add(
                clm,
                "CLM02",
                f"the claim total {_r(stated)} is not the sum of its lines {_r(total)}",
                f"set the claim total to {_r(total)} (or correct the line charges)",
            )
        self.claim = None

    def finish_hl(self) -> None:
        hl = self.hl
        if hl is not None and not self.hl_has_claim:
            level = "patient" if hl.element(3) == "23" else "subscriber"
            self.add(
                hl,
                "CLM",
                f"the {level} level HL {hl.element(1)} has no claim (CLM)",
                f"add the claim for this {level}, or remove the {level}",
            )
        self.hl = None
        self.hl_has_claim = True

    def transaction(self, segments: tuple[Segment, ...]) -> None:
        st = segments[0]
        if st.element(3) and st.element(3) != IMPLEMENTATION:
            self.add(
                st,
                "ST03",
                f"implementation {st.element(3)!r} is not {IMPLEMENTATION} (837P)",
                "send professional claims as 005010X222A1",
            )
        line: _Line | None = None
        watched = _WATCHED
        for seg in segments[1:]:
            sid = seg.id
            if sid not in watched:
                continue
            els = seg.elements
            claim = self.claim
            if sid == "DTP":
                if els and els[0] == "472":
                    if line is not None:
                        line.dated = True
                    elif claim is not None:
                        claim.dated = True
                    start, end = self.date_of(seg)  # a date that is not one is reported here
                    if start is not None and end is not None:
                        self.filing(seg, start, end)
            elif sid == "SV1":
                if line is not None and claim is not None:
                    line.sv1 = seg
                    charge = self.money(seg, 2, "line charge")
                    line.charge = charge if charge is not None else _ZERO
            elif sid == "LX":
                if claim is not None:
                    line = _Line(seg)
                    claim.lines.append(line)
            elif sid == "NM1":
                if len(els) > 7 and els[7] == "XX":
                    self.npi(seg)
                elif els and els[0] == "85":
                    self.add(
                        seg,
                        "NM108",
                        "the billing provider is not identified by NPI (NM108 XX)",
                        "send the billing provider's NPI with qualifier XX",
                    )
            elif sid == "CLM":
                self.finish_claim()
                line = None
                self.hl_has_claim = True
                self.claim = _Claim(seg, els[0] if els else "")
            elif sid == "HI":
                if claim is not None:
                    self.hi(seg, claim)
            elif sid == "HL":
                self.finish_claim()
                self.finish_hl()
                line = None
                level, children = seg.element(3), seg.element(4)
                if level == "23" or (level == "22" and children == "0"):
                    self.hl = seg
                    self.hl_has_claim = False
            else:  # SE
                self.finish_claim()
                self.finish_hl()
                line = None


_WATCHED = frozenset({"DTP", "SV1", "LX", "NM1", "CLM", "HI", "HL", "SE"})
_ZERO = Decimal(0)


def _code(sv1: Segment) -> str:
    parts = sv1.components(1)
    return parts[1] if len(parts) > 1 else sv1.element(1)


def _r(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _file_date(gs: Segment) -> date | None:
    value = gs.element(4)
    if len(value) == 8 and value.isdigit():
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            return None
    return None


def check_837p(
    text: str | bytes,
    *,
    is_billable: Callable[[str], bool] | None = None,
    today: date | None = None,
    filing_limit_days: int = DEFAULT_FILING_LIMIT_DAYS,
) -> list[Problem]:
    """Every problem in an 837P's claims, in file order (see the module's docstring).

    `is_billable(code)` (optional) says whether an ICD-10-CM code (no dot) is billable; it is
    called once per distinct code. `today` is the date timely filing counts to (default: the
    date in each group's GS04). Raises `parse.X12Error` when the file cannot be read.
    """
    interchange = read_interchange(text)
    checker = _Checker(is_billable, today, filing_limit_days)
    found = False
    with gc_paused():
        for group in interchange.groups:
            if today is None:
                checker.today = _file_date(group.gs)
            for transaction in group.transactions:
                if transaction.type != "837":
                    continue
                found = True
                checker.transaction(transaction.segments)
    if isinstance(text, bytes) or not text.isascii():
        checker.problems += _outside_character_set(interchange)
    if not found:
        st = interchange.isa
        checker.add(
            st,
            "ST01",
            "the file has no 837 transaction set",
            "send an 837P claim file (ST01 837)",
        )
    checker.problems.sort(key=lambda p: p.position)
    return checker.problems


def _outside_character_set(interchange: Any) -> list[Problem]:
    """Elements with characters outside ASCII (an accented name): payers and pyx12 refuse them.
    The claim is the one the segment belongs to ("" before the first CLM of a subscriber)."""
    problems = []
    for group in interchange.groups:
        for transaction in group.transactions:
            claim_id = ""
            for seg in transaction.segments:
                if seg.id == "HL":
                    claim_id = ""
                elif seg.id == "CLM":
                    claim_id = seg.element(1)
                for n, value in enumerate(seg.elements, start=1):
                    if not value.isascii():
                        bad = next(c for c in value if not c.isascii())
                        problems.append(
                            Problem(
                                claim_id,
                                seg.id,
                                seg.position,
                                f"{seg.id}{n:02d}",
                                f"{value!r} has {bad!r}, outside X12's character set",
                                "write it without accents or special letters (José -> JOSE)",
                            )
                        )
    return problems


# --- pyx12 --------------------------------------------------------------------------------------


def validate_with_pyx12(text: str | bytes) -> list[str]:
    """pyx12's validation of the file against its 5010 maps (837P: 005010X222A1), run
    in-process: its errors as strings ("segment 12 (N402): ..."), [] when it finds none.

    pyx12 reads the text from memory and writes its error tree as JSON (its `fd_json`
    output), which we flatten; it is not asked for a 999. Its log records are kept out of the
    application's log while it runs, and any error it only logs (a file it cannot read) is
    returned too.
    """
    from .pyx12_check import validate_x12_with_pyx12

    return validate_x12_with_pyx12(text)
