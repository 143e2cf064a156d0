"""The CMS-1500 (02/12) health insurance claim form as a PDF, for one claim.

Pure: plain data in (`Cms1500Claim`), PDF bytes (`render_cms1500`) or the printed texts by box
(`field_values`, for tests and an HTML preview) out. No Django. The caller (the claim services)
turns a claim into `Cms1500Claim`; the checks a claim must pass before it may go (NPI check
digits, billable ICD-10-CM codes, timely filing, required fields) are theirs. This module
refuses only what it cannot print: more than 12 diagnoses, a diagnosis pointer to no diagnosis,
a value too wide for its box (each `ValueError` names the box, e.g. "box 24E (line 2): ...").

Layout. The data are printed on the NUCC print grid of the 1500 form: 10 characters per inch,
6 lines per inch, in Courier (10 pt, spaced to exactly 10 pitch), upper case, each box at its
line and column of the grid (line 8 holds box 1 and 1a, line 10 boxes 2-4, ..., lines 43-54
the six service lines, line 56 boxes 25-29, line 61 boxes 32a and 33a). The grid is placed on
the letter page where OpenEMR's CMS-1500 printing places it by default (column 1 at
`ORIGIN_X`, line n's baseline `ORIGIN_Y` + n/6 inch from the top); `render_cms1500(...,
offset_pt=(right, down))` moves everything for a printer that feeds off true. **The positions
follow the NUCC grid from our best knowledge of it and have not been checked against a physical
form: test-print on a red OCR form (hold the print over the form against a light) before
production use, and adjust `offset_pt` per printer.**

`draw_form=False` (the default) prints the data only, for pre-printed red forms (payers scan
the red OCR form; Medicare and most payers refuse black-and-white copies). `draw_form=True`
also draws a plain black outline of the boxes with their labels, for plain paper: a readable
copy for the chart, a payer that takes black-and-white, or checking the alignment.

What is printed where (NUCC rules applied):

- names "LAST, FIRST, M" (box 2, 4, 9), no periods; addresses without punctuation other than
  the hyphen ("123 N MAIN ST 101"); a 9-digit ZIP keeps its hyphen; telephone numbers as area
  code and number in their separate places, no hyphen;
- dates: birth dates (3, 11a) and box 14 as MM DD YYYY, service dates (24A) and the box 31
  date as MM DD YY, each part in its own columns;
- box 1, 3, 6, 10a-c, 11a, 11d, 25, 27 are check boxes: an X in the box;
- box 12 and 13 "SIGNATURE ON FILE" (the practice keeps the signed authorization);
- box 21: ICD indicator 0 (ICD-10-CM), then the codes A-L left to right, without the decimal
  point (the form implies it); box 24E the pointer letters (at most 4 per line);
- money (24F, 28, 29): dollars right-aligned, the cents in their own two columns, no "$" and
  no point ("125 00"); box 29 is left blank when nothing was paid;
- the shaded part above a service line: "N4", the 11-digit NDC (5-4-2, no hyphens), three
  spaces, the unit qualifier (F2, GR, ME, ML, UN) and the quantity ("N400006487402   UN1");
- a form holds 6 service lines. Lines 7-12 continue on a second form page (13-18 on a third,
  ...), each page repeating the claim's other boxes; box 28 and 29 are printed on the last page
  only and the pages before it say "CONTINUED" in box 28.

`field_values(claim)` maps box ids to the printed text: "1a", "2", "21A".."21L", "28"; the
service line boxes are numbered by claim line ("24D-1", "24F-7"); parts of a box have a suffix
("3-sex", "5-city", "5-phone", "14-qual", "25-type", "31-date", "33-phone"). A check box maps
to the caption of the box that is checked ("1": "GROUP HEALTH PLAN", "6": "SELF", "10a": "NO",
"25-type": "EIN"); multi-line boxes (carrier, 32, 33) are joined with newlines. "24A-n" is both
dates as printed ("03 04 25 03 04 25"), "24D-n" the code and its modifiers ("99213 25"),
"24NDC-n" the shaded NDC line.

Payer-specific conventions (Medicare's "NONE" in box 11, leaving box 4 and 7 blank when the
patient is the insured, box 19 wording) are the caller's: the boxes print what they are given.
The fields after `billing_phone` are optional: the carrier block, the other insured (9, 9a,
9d), the auto accident state (10b), the box 14 and 17 qualifiers, resubmission (22).
"""

from __future__ import annotations

import io
import re
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from carebench.meds.scan import ndc11, valid_ndc

__all__ = [
    "LINES_PER_FORM",
    "Address",
    "Cms1500Claim",
    "Cms1500Line",
    "Provider1500",
    "field_values",
    "render_cms1500",
]

LINES_PER_FORM = 6  # service lines on one form page
MAX_DIAGNOSES = 12
MAX_POINTERS = 4
MAX_MODIFIERS = 4
MONEY_LIMIT = Decimal("100000")  # 24F, 28, 29 have five dollar columns

PAGE_WIDTH, PAGE_HEIGHT = LETTER
PITCH = 7.2  # points per column: 10 characters per inch
LEADING = 12.0  # points per line: 6 lines per inch
ORIGIN_X = 24.0  # left edge of column 1, points from the left edge of the paper
ORIGIN_Y = 20.0  # the baseline of line n is ORIGIN_Y + n * LEADING points from the top
DATA_FONT = "Courier"
DATA_SIZE = 10.0
DATA_CHAR_SPACE = PITCH - 0.6 * DATA_SIZE  # Courier glyphs are 0.6 em wide
LABEL_FONT = "Helvetica"
LABEL_BOLD = "Helvetica-Bold"
LABEL_SIZE = 4.8
LABEL_LEADING = 5.4
SHADE_GREY = 0.88

INSURANCE_TYPES = {  # box 1: the check box column and its caption
    "medicare": (1, "MEDICARE"),
    "medicaid": (8, "MEDICAID"),
    "tricare": (15, "TRICARE"),
    "champva": (24, "CHAMPVA"),
    "group": (31, "GROUP HEALTH PLAN"),
    "feca": (39, "FECA BLK LUNG"),
    "other": (45, "OTHER"),
}
RELATIONSHIPS = {
    "self": (33, "SELF"),
    "spouse": (38, "SPOUSE"),
    "child": (42, "CHILD"),
    "other": (47, "OTHER"),
}
PATIENT_SEX_COLUMNS = {"M": 42, "F": 47}
INSURED_SEX_COLUMNS = {"M": 68, "F": 75}
YES_NO_10 = (35, 41)  # box 10a-c: YES, NO
YES_NO_11D = (52, 57)
YES_NO_27 = (38, 43)
TAX_ID_COLUMNS = {"SSN": 17, "EIN": 19}
NDC_UNITS = ("F2", "GR", "ME", "ML", "UN")
SIGNATURE_ON_FILE = "SIGNATURE ON FILE"


@dataclass(frozen=True)
class Address:
    line1: str
    line2: str
    city: str
    state: str
    zip: str
    phone: str = ""


@dataclass(frozen=True)
class Provider1500:
    name: str
    line1: str
    line2: str
    city: str
    state: str
    zip: str
    npi: str


@dataclass(frozen=True)
class Cms1500Line:
    date_from: date
    date_to: date
    place_of_service: str
    emergency: bool
    code: str
    modifiers: Sequence[str]
    pointers: str  # diagnosis letters, e.g. "AB"
    charge: Decimal
    units: Decimal
    rendering_npi: str
    ndc: str = ""  # dashed (any of the 10-digit layouts) or the 11 digits
    ndc_quantity: str = ""  # unit qualifier and quantity ("UN1", "ML0.5"); a bare number is units


@dataclass(frozen=True)
class Cms1500Claim:
    insurance_type: str  # medicare, medicaid, tricare, champva, group, feca, other
    insured_id: str
    patient_last: str
    patient_first: str
    patient_middle: str
    patient_birth_date: date
    patient_sex: str  # M or F
    insured_last: str
    insured_first: str
    patient_address: Address
    relationship: str  # self, spouse, child, other
    insured_address: Address
    insured_group: str
    insured_birth_date: date | None
    insured_sex: str  # M, F or ""
    plan_name: str
    other_plan: bool
    condition_employment: bool
    condition_auto: bool
    condition_other: bool
    illness_date: date | None
    referring_name: str
    referring_npi: str
    additional_info: str
    diagnoses: Sequence[str]  # ICD-10-CM, up to 12, with dots as written ("E11.9")
    prior_auth: str
    lines: Sequence[Cms1500Line]
    federal_tax_id: str
    tax_id_is_ein: bool
    patient_account: str
    accept_assignment: bool
    amount_paid: Decimal
    physician_signature: str
    signature_date: date
    facility: Provider1500
    billing: Provider1500
    billing_phone: str
    # Optional boxes (defaults leave them blank).
    payer_name: str = ""  # the carrier block, top right
    payer_address: Address | None = None
    insured_middle: str = ""
    other_insured_last: str = ""  # box 9, 9a, 9d (when 11d is YES)
    other_insured_first: str = ""
    other_insured_middle: str = ""
    other_insured_policy: str = ""
    other_plan_name: str = ""
    auto_accident_state: str = ""  # box 10b PLACE
    illness_qualifier: str = "431"  # box 14: 431 onset of symptoms, 484 last menstrual period
    referring_qualifier: str = "DN"  # box 17: DN referring, DK ordering, DQ supervising
    resubmission_code: str = ""  # box 22: 7 replacement, 8 void
    original_ref: str = ""


# --- the printed items -------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    key: str | None  # the box id in field_values; None for a continuation of a box
    line: int
    col: int
    text: str
    value: str  # what field_values shows


class _Items:
    def __init__(self) -> None:
        self.items: list[_Item] = []

    def put(
        self, key: str | None, line: int, col: int, width: int, text: str, value: str | None = None
    ) -> None:
        shown = text[:width].rstrip()
        if not shown.strip():
            return
        self.items.append(_Item(key, line, col, shown, shown.strip() if value is None else value))

    def check(self, key: str, line: int, col: int, caption: str) -> None:
        self.items.append(_Item(key, line, col, "X", caption))


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", plain.encode("ascii", "ignore").decode().upper()).strip()


def _text(text: str) -> str:
    return _ascii(text)


def _name_part(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^A-Z0-9 \-]", "", _ascii(text))).strip()


def _address_text(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^A-Z0-9 \-/&]", " ", _ascii(text))).strip()


def _person(last: str, first: str, middle: str) -> str:
    parts = [_name_part(last), _name_part(first)]
    initial = _name_part(middle)[:1]
    if initial:
        parts.append(initial)
    while parts and not parts[-1]:
        parts.pop()
    return ", ".join(parts)


def _street(address: Address | Provider1500) -> str:
    return _address_text(f"{address.line1} {address.line2}")


def _city_line(city: str, state: str, zip_code: str) -> str:
    return " ".join(
        part for part in (_address_text(city), _address_text(state), _zip(zip_code)) if part
    )


def _zip(text: str) -> str:
    digits = re.sub(r"\D", "", text or "")
    if len(digits) == 9:
        return f"{digits[:5]}-{digits[5:]}"
    return digits


def _phone(text: str) -> str:
    """Area code, a space, the seven digits ("555 5551234"): the form prints the parentheses."""
    digits = re.sub(r"\D", "", text or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        return f"{digits[:3]} {digits[3:]}"
    return digits


def _mdy8(day: date) -> str:
    return day.strftime("%m %d %Y")


def _mdy6(day: date) -> str:
    return day.strftime("%m %d %y")


def _money(amount: Decimal, box: str) -> str:
    """Eight columns: dollars right-aligned in five, a blank where the point would be, cents."""
    cents = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if cents < 0:
        raise ValueError(f"box {box}: the amount {cents} is negative")
    if cents >= MONEY_LIMIT:
        raise ValueError(f"box {box}: the amount {cents} does not fit the form (at most 99999.99)")
    dollars, _, hundredths = f"{cents:.2f}".partition(".")
    return f"{dollars:>5} {hundredths}"


def _units(units: Decimal, box: str) -> str:
    value = Decimal(units)
    if value <= 0:
        raise ValueError(f"box {box}: units must be more than 0, not {units}")
    text = str(int(value)) if value == value.to_integral_value() else format(value.normalize(), "f")
    if len(text) > 3 and text.startswith("0."):
        text = text[1:]  # ".25"
    if len(text) > 3:
        raise ValueError(f"box {box}: {units} units do not fit the 3 columns of the box")
    return text


def _pointers(text: str) -> str:
    """The diagnosis letters of box 24E without separators ("A, B" is "AB")."""
    return re.sub(r"[\s,;/]", "", _ascii(text))


def _diagnosis(code: str) -> str:
    return re.sub(r"[\s.]", "", code or "").upper()


def _ndc(line: Cms1500Line, box: str) -> str:
    raw = (line.ndc or "").strip()
    if not raw:
        return ""
    digits = re.sub(r"\D", "", raw)
    if "-" in raw:
        digits = ndc11(raw)
        if not valid_ndc(raw):
            raise ValueError(
                f"box {box}: NDC {raw!r} is not in a 4-4-2, 5-3-2, 5-4-1 or 5-4-2 layout"
            )
    elif len(digits) != 11:
        raise ValueError(f"box {box}: NDC {raw!r} needs its dashes or all 11 digits (5-4-2)")
    quantity = re.sub(r"\s", "", line.ndc_quantity or "").upper()
    if quantity and re.fullmatch(r"[0-9.]+", quantity):
        quantity = "UN" + quantity
    if quantity and not (
        quantity[:2] in NDC_UNITS and re.fullmatch(r"[0-9]*\.?[0-9]+", quantity[2:])
    ):
        raise ValueError(
            f"box {box}: NDC quantity {line.ndc_quantity!r} is not a unit qualifier ({', '.join(NDC_UNITS)}) and a number"
        )
    return f"N4{digits}" + (f"   {quantity}" if quantity else "")


def _validate(claim: Cms1500Claim) -> None:
    if claim.insurance_type not in INSURANCE_TYPES:
        raise ValueError(
            f"box 1: insurance type {claim.insurance_type!r} is not one of {', '.join(INSURANCE_TYPES)}"
        )
    if claim.patient_sex not in PATIENT_SEX_COLUMNS:
        raise ValueError(f"box 3: patient sex {claim.patient_sex!r} is not M or F")
    if claim.relationship not in RELATIONSHIPS:
        raise ValueError(
            f"box 6: relationship {claim.relationship!r} is not one of {', '.join(RELATIONSHIPS)}"
        )
    if claim.insured_sex and claim.insured_sex not in INSURED_SEX_COLUMNS:
        raise ValueError(f"box 11a: insured sex {claim.insured_sex!r} is not M, F or blank")
    if len(claim.diagnoses) > MAX_DIAGNOSES:
        raise ValueError(
            f"box 21: {len(claim.diagnoses)} diagnoses; the form holds {MAX_DIAGNOSES} (A-L)"
        )
    for index, code in enumerate(claim.diagnoses):
        if not re.fullmatch(r"[A-Z][0-9][0-9A-Z]{1,5}", _diagnosis(code)):
            raise ValueError(f"box 21{'ABCDEFGHIJKL'[index]}: {code!r} is not an ICD-10-CM code")
    if not claim.lines:
        raise ValueError("box 24: the claim has no service lines")
    letters = "ABCDEFGHIJKL"[: len(claim.diagnoses)]
    for number, line in enumerate(claim.lines, start=1):
        where = f"(line {number})"
        if line.date_to < line.date_from:
            raise ValueError(
                f"box 24A {where}: the service ends ({line.date_to}) before it starts ({line.date_from})"
            )
        if not re.fullmatch(r"\d{2}", line.place_of_service or ""):
            raise ValueError(
                f"box 24B {where}: place of service {line.place_of_service!r} is not a 2-digit code"
            )
        if not re.fullmatch(r"[A-Z0-9]{5}", _text(line.code)):
            raise ValueError(f"box 24D {where}: {line.code!r} is not a 5-character CPT/HCPCS code")
        if len(line.modifiers) > MAX_MODIFIERS:
            raise ValueError(
                f"box 24D {where}: {len(line.modifiers)} modifiers; the form holds {MAX_MODIFIERS}"
            )
        for modifier in line.modifiers:
            if not re.fullmatch(r"[A-Z0-9]{2}", _text(modifier)):
                raise ValueError(f"box 24D {where}: modifier {modifier!r} is not 2 characters")
        pointers = _pointers(line.pointers)
        if len(pointers) > MAX_POINTERS:
            raise ValueError(
                f"box 24E {where}: {len(pointers)} diagnosis pointers; at most {MAX_POINTERS}"
            )
        for letter in pointers:
            if letter not in letters:
                known = f"A-{letters[-1]}" if letters else "none"
                raise ValueError(
                    f"box 24E {where}: pointer {letter!r} names no diagnosis in box 21 (diagnoses: {known})"
                )
        if len(set(pointers)) != len(pointers):
            raise ValueError(f"box 24E {where}: pointer letters {pointers!r} repeat")
        _money(line.charge, f"24F {where}")
        _units(line.units, f"24G {where}")
        _ndc(line, f"24A shaded {where}")
    _money(sum((Decimal(line.charge) for line in claim.lines), Decimal(0)), "28")
    _money(claim.amount_paid, "29")


def _header_items(claim: Cms1500Claim) -> list[_Item]:
    out = _Items()
    put = out.put

    # Carrier block (top right).
    carrier = [_text(claim.payer_name)]
    if claim.payer_address is not None:
        pa = claim.payer_address
        carrier += [
            _address_text(pa.line1),
            _address_text(pa.line2),
            _city_line(pa.city, pa.state, pa.zip),
        ]
    carrier = [text for text in carrier if text][:4]
    for index, text in enumerate(carrier):
        put(
            "carrier" if index == 0 else None,
            2 + index,
            41,
            31,
            text,
            "\n".join(c[:31] for c in carrier),
        )

    col, caption = INSURANCE_TYPES[claim.insurance_type]
    out.check("1", 8, col, caption)
    put("1a", 8, 50, 29, _text(claim.insured_id))
    put("2", 10, 1, 28, _person(claim.patient_last, claim.patient_first, claim.patient_middle))
    put("3", 10, 31, 10, _mdy8(claim.patient_birth_date))
    out.check("3-sex", 10, PATIENT_SEX_COLUMNS[claim.patient_sex], claim.patient_sex)
    put("4", 10, 50, 29, _person(claim.insured_last, claim.insured_first, claim.insured_middle))

    pat, ins = claim.patient_address, claim.insured_address
    put("5", 12, 1, 28, _street(pat))
    col, caption = RELATIONSHIPS[claim.relationship]
    out.check("6", 12, col, caption)
    put("7", 12, 50, 29, _street(ins))
    put("5-city", 14, 1, 24, _address_text(pat.city))
    put("5-state", 14, 26, 3, _address_text(pat.state))
    put("7-city", 14, 50, 23, _address_text(ins.city))
    put("7-state", 14, 74, 3, _address_text(ins.state))
    put("5-zip", 16, 1, 12, _zip(pat.zip))
    put("5-phone", 16, 15, 11, _phone(pat.phone))
    put("7-zip", 16, 50, 12, _zip(ins.zip))
    put("7-phone", 16, 65, 11, _phone(ins.phone))

    put(
        "9",
        18,
        1,
        28,
        _person(claim.other_insured_last, claim.other_insured_first, claim.other_insured_middle),
    )
    put("11", 18, 50, 30, _text(claim.insured_group))
    put("9a", 20, 1, 28, _text(claim.other_insured_policy))
    yes, no = YES_NO_10
    for key, line, related in (
        ("10a", 20, claim.condition_employment),
        ("10b", 22, claim.condition_auto),
        ("10c", 24, claim.condition_other),
    ):
        out.check(key, line, yes if related else no, "YES" if related else "NO")
    if claim.insured_birth_date is not None:
        put("11a", 20, 53, 10, _mdy8(claim.insured_birth_date))
    if claim.insured_sex:
        out.check("11a-sex", 20, INSURED_SEX_COLUMNS[claim.insured_sex], claim.insured_sex)
    if claim.condition_auto:
        put("10b-state", 22, 45, 2, _address_text(claim.auto_accident_state))
    put("11c", 24, 50, 30, _text(claim.plan_name))
    put("9d", 26, 1, 28, _text(claim.other_plan_name))
    yes, no = YES_NO_11D
    out.check("11d", 26, yes if claim.other_plan else no, "YES" if claim.other_plan else "NO")

    put("12", 29, 7, 20, SIGNATURE_ON_FILE)
    put("13", 29, 55, 20, SIGNATURE_ON_FILE)

    if claim.illness_date is not None:
        put("14", 32, 2, 10, _mdy8(claim.illness_date))
        put("14-qual", 32, 16, 3, _text(claim.illness_qualifier))
    if _text(claim.referring_name):
        put("17-qual", 34, 1, 2, _text(claim.referring_qualifier))
        put("17", 34, 4, 25, _name_part(claim.referring_name))
    put("17b", 34, 33, 15, _text(claim.referring_npi))
    put("19", 36, 1, 48, _text(claim.additional_info))

    put("21-ind", 37, 42, 1, "0")
    for index, code in enumerate(claim.diagnoses):
        put(
            f"21{'ABCDEFGHIJKL'[index]}", 38 + index // 4, 3 + 13 * (index % 4), 8, _diagnosis(code)
        )
    put("22", 38, 50, 11, _text(claim.resubmission_code))
    put("22-ref", 38, 62, 18, _text(claim.original_ref))
    put("23", 40, 50, 29, _text(claim.prior_auth))

    put("25", 56, 1, 15, re.sub(r"[^0-9A-Z]", "", _text(claim.federal_tax_id)))
    kind = "EIN" if claim.tax_id_is_ein else "SSN"
    out.check("25-type", 56, TAX_ID_COLUMNS[kind], kind)
    put("26", 56, 23, 14, _text(claim.patient_account))
    yes, no = YES_NO_27
    out.check(
        "27", 56, yes if claim.accept_assignment else no, "YES" if claim.accept_assignment else "NO"
    )

    signature = textwrap.wrap(_text(claim.physician_signature), 20)[:2]
    for index, text in enumerate(signature):
        line = 60 - (len(signature) - 1 - index)
        put("31" if index == 0 else None, line, 1, 20, text, " ".join(signature))
    put("31-date", 61, 13, 8, _mdy6(claim.signature_date))

    put("33-phone", 57, 66, 11, _phone(claim.billing_phone))
    for key, col, width, provider in (
        ("32", 23, 26, claim.facility),
        ("33", 50, 30, claim.billing),
    ):
        rows = [
            text[:width]
            for text in (
                _address_text(provider.name),
                _street(provider),
                _city_line(provider.city, provider.state, provider.zip),
            )
        ]
        first = next((index for index, text in enumerate(rows) if text), 0)
        for index, text in enumerate(rows):
            put(
                key if index == first else None,
                58 + index,
                col,
                width,
                text,
                "\n".join(r for r in rows if r),
            )
        put(f"{key}a", 61, col, 10, _text(provider.npi))
    return out.items


def _line_items(claim: Cms1500Claim, number: int, line: Cms1500Line, row: int) -> list[_Item]:
    """The items of claim line `number` (1-based) printed in row `row` (1-6) of a form page."""
    out = _Items()
    put = out.put
    shaded, data = 41 + 2 * row, 42 + 2 * row
    put(f"24NDC-{number}", shaded, 1, 48, _ndc(line, f"24A shaded (line {number})"))
    put(f"24A-{number}", data, 1, 17, f"{_mdy6(line.date_from)} {_mdy6(line.date_to)}")
    put(f"24B-{number}", data, 19, 2, _text(line.place_of_service))
    put(f"24C-{number}", data, 22, 1, "Y" if line.emergency else "")
    code = _text(line.code)
    modifiers = " ".join(_text(modifier) for modifier in line.modifiers)
    put(f"24D-{number}", data, 25, 6, code, f"{code} {modifiers}".strip())
    put(None, data, 33, 11, modifiers)
    put(f"24E-{number}", data, 45, 4, _pointers(line.pointers))
    put(f"24F-{number}", data, 50, 8, _money(line.charge, f"24F (line {number})"))
    put(f"24G-{number}", data, 59, 3, _units(line.units, f"24G (line {number})"))
    put(f"24J-{number}", data, 68, 12, _text(line.rendering_npi))
    return out.items


def _total_items(claim: Cms1500Claim) -> list[_Item]:
    out = _Items()
    total = sum((Decimal(line.charge) for line in claim.lines), Decimal(0))
    out.put("28", 56, 52, 8, _money(total, "28"))
    if Decimal(claim.amount_paid) > 0:
        out.put("29", 56, 62, 8, _money(claim.amount_paid, "29"))
    return out.items


def _pages(claim: Cms1500Claim) -> list[list[_Item]]:
    _validate(claim)
    header = _header_items(claim)
    lines = list(claim.lines)
    chunks = [
        lines[start : start + LINES_PER_FORM] for start in range(0, len(lines), LINES_PER_FORM)
    ]
    pages: list[list[_Item]] = []
    for page_index, chunk in enumerate(chunks):
        items = list(header)
        for row, line in enumerate(chunk, start=1):
            items += _line_items(claim, page_index * LINES_PER_FORM + row, line, row)
        if page_index == len(chunks) - 1:
            items += _total_items(claim)
        else:
            items.append(_Item(None, 56, 51, "CONTINUED", "CONTINUED"))
        pages.append(items)
    return pages


def field_values(claim: Cms1500Claim) -> dict[str, str]:
    """Box id -> the text printed there (see the module docstring for the ids).

    Raises ValueError naming the box when the claim cannot be printed."""
    values: dict[str, str] = {}
    for items in _pages(claim):
        for item in items:
            if item.key is not None:
                values[item.key] = item.value
    return values


# --- the PDF -----------------------------------------------------------------------------


def render_cms1500(
    claim: Cms1500Claim, *, draw_form: bool = False, offset_pt: tuple[float, float] = (0.0, 0.0)
) -> bytes:
    """The claim on as many CMS-1500 pages as its lines need (6 a page), as PDF bytes.

    `draw_form=True` adds the outline of the boxes and their labels (plain paper);
    `offset_pt=(right, down)` shifts everything, in points, for a printer that feeds off true.
    Raises ValueError naming the box when the claim cannot be printed."""
    pages = _pages(claim)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, invariant=True)
    canvas.setTitle("CMS-1500 (02/12) claim")
    canvas.setCreator("carebench")
    dx, dy = offset_pt
    for items in pages:
        canvas.saveState()
        canvas.translate(dx, -dy)
        if draw_form:
            _draw_form(canvas)
        canvas.setFillGray(0)
        canvas.setFont(DATA_FONT, DATA_SIZE)
        for item in items:
            canvas.drawString(
                _x(item.col), _y(_baseline(item.line)), item.text, charSpace=DATA_CHAR_SPACE
            )
        canvas.restoreState()
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _x(col: float) -> float:
    """The left edge of column `col` (1-based), in points from the left of the page."""
    return ORIGIN_X + PITCH * (col - 1)


def _baseline(line: float) -> float:
    """The baseline of line `line` (1-based), in points from the top of the page."""
    return ORIGIN_Y + LEADING * line


def _rule(line: float) -> float:
    """The form's horizontal rule under line `line`, in points from the top of the page."""
    return _baseline(line) + 3.0


def _y(from_top: float) -> float:
    return PAGE_HEIGHT - from_top


RIGHT_EDGE_COL = 81  # a divider at this "column" is the right edge of the form
MIDDLE = 49.5  # the rule between the left and right halves: column 49 is blank on every line


def _div(col: float) -> float:
    """A vertical rule just left of column `col` (the right edge of the form for 81)."""
    if col >= RIGHT_EDGE_COL:
        return _x(80) + 1.8
    return _x(col) - 1.8


# Boxes: left column, right column (81 = the right edge), top rule line, bottom rule line, label.
_BOXES: tuple[tuple[float, float, int, int, str], ...] = (
    (1, MIDDLE, 6, 8, "1."),
    (MIDDLE, 81, 6, 8, "1a. INSURED'S I.D. NUMBER (For Program in Item 1)"),
    (1, 30, 8, 10, "2. PATIENT'S NAME (Last Name, First Name, Middle Initial)"),
    (30, MIDDLE, 8, 10, "3. PATIENT'S BIRTH DATE"),
    (MIDDLE, 81, 8, 10, "4. INSURED'S NAME (Last Name, First Name, Middle Initial)"),
    (1, 30, 10, 12, "5. PATIENT'S ADDRESS (No., Street)"),
    (30, MIDDLE, 10, 12, "6. PATIENT RELATIONSHIP TO INSURED"),
    (MIDDLE, 81, 10, 12, "7. INSURED'S ADDRESS (No., Street)"),
    (1, 25, 12, 14, "CITY"),
    (25, 30, 12, 14, "STATE"),
    (30, MIDDLE, 12, 16, "8. RESERVED FOR NUCC USE"),
    (MIDDLE, 73, 12, 14, "CITY"),
    (73, 81, 12, 14, "STATE"),
    (1, 13, 14, 16, "ZIP CODE"),
    (13, 30, 14, 16, "TELEPHONE (Include Area Code)"),
    (MIDDLE, 63, 14, 16, "ZIP CODE"),
    (63, 81, 14, 16, "TELEPHONE (Include Area Code)"),
    (1, 30, 16, 18, "9. OTHER INSURED'S NAME (Last Name, First Name, Middle Initial)"),
    (30, MIDDLE, 16, 18, "10. IS PATIENT'S CONDITION RELATED TO:"),
    (MIDDLE, 81, 16, 18, "11. INSURED'S POLICY GROUP OR FECA NUMBER"),
    (1, 30, 18, 20, "a. OTHER INSURED'S POLICY OR GROUP NUMBER"),
    (30, MIDDLE, 18, 20, "a. EMPLOYMENT? (Current or Previous)"),
    (MIDDLE, 81, 18, 20, "a. INSURED'S DATE OF BIRTH"),
    (1, 30, 20, 22, "b. RESERVED FOR NUCC USE"),
    (30, MIDDLE, 20, 22, "b. AUTO ACCIDENT?"),
    (MIDDLE, 81, 20, 22, "b. OTHER CLAIM ID (Designated by NUCC)"),
    (1, 30, 22, 24, "c. RESERVED FOR NUCC USE"),
    (30, MIDDLE, 22, 24, "c. OTHER ACCIDENT?"),
    (MIDDLE, 81, 22, 24, "c. INSURANCE PLAN NAME OR PROGRAM NAME"),
    (1, 30, 24, 26, "d. INSURANCE PLAN NAME OR PROGRAM NAME"),
    (30, MIDDLE, 24, 26, "10d. CLAIM CODES (Designated by NUCC)"),
    (MIDDLE, 81, 24, 26, "d. IS THERE ANOTHER HEALTH BENEFIT PLAN?"),
    (
        1,
        MIDDLE,
        26,
        30,
        "READ BACK OF FORM BEFORE COMPLETING & SIGNING THIS FORM. 12. PATIENT'S OR AUTHORIZED "
        "PERSON'S SIGNATURE I authorize the release of any medical or other information necessary "
        "to process this claim. I also request payment of government benefits either to myself or "
        "to the party who accepts assignment below.",
    ),
    (
        MIDDLE,
        81,
        26,
        30,
        "13. INSURED'S OR AUTHORIZED PERSON'S SIGNATURE I authorize payment of medical benefits "
        "to the undersigned physician or supplier for services described below.",
    ),
    (1, 30, 30, 32, "14. DATE OF CURRENT ILLNESS, INJURY, or PREGNANCY (LMP)"),
    (30, MIDDLE, 30, 32, "15. OTHER DATE"),
    (MIDDLE, 81, 30, 32, "16. DATES PATIENT UNABLE TO WORK IN CURRENT OCCUPATION"),
    (1, 29, 32, 34, "17. NAME OF REFERRING PROVIDER OR OTHER SOURCE"),
    (29, MIDDLE, 32, 33, "17a."),
    (29, MIDDLE, 33, 34, "17b. NPI"),
    (MIDDLE, 81, 32, 34, "18. HOSPITALIZATION DATES RELATED TO CURRENT SERVICES"),
    (1, MIDDLE, 34, 36, "19. ADDITIONAL CLAIM INFORMATION (Designated by NUCC)"),
    (MIDDLE, 81, 34, 36, "20. OUTSIDE LAB?"),
    (
        1,
        MIDDLE,
        36,
        40,
        "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY  Relate A-L to service line below (24E)",
    ),
    (MIDDLE, 81, 36, 38, "22. RESUBMISSION CODE"),
    (MIDDLE, 81, 38, 40, "23. PRIOR AUTHORIZATION NUMBER"),
    (1, 22, 54, 56, "25. FEDERAL TAX I.D. NUMBER"),
    (22, 37, 54, 56, "26. PATIENT'S ACCOUNT NO."),
    (37, MIDDLE, 54, 56, "27. ACCEPT ASSIGNMENT?"),
    (MIDDLE, 61, 54, 56, "28. TOTAL CHARGE"),
    (61, 71, 54, 56, "29. AMOUNT PAID"),
    (71, 81, 54, 56, "30. Rsvd for NUCC Use"),
    (
        1,
        22,
        56,
        61,
        "31. SIGNATURE OF PHYSICIAN OR SUPPLIER INCLUDING DEGREES OR CREDENTIALS (I certify that "
        "the statements on the reverse apply to this bill and are made a part thereof.)",
    ),
    (22, MIDDLE, 56, 61, "32. SERVICE FACILITY LOCATION INFORMATION"),
    (22, 35, 60, 61, "a."),
    (35, MIDDLE, 60, 61, "b."),
    (MIDDLE, 81, 56, 61, "33. BILLING PROVIDER INFO & PH #"),
    (MIDDLE, 62, 60, 61, "a."),
    (62, 81, 60, 61, "b."),
)

# Small captions: column, line, text, where ("top" = the box's label row, second line;
# "right" = on the data line right of a check box at that column; "data" = on the data line).
_CAPTIONS: tuple[tuple[float, int, str, str], ...] = (
    *((col, 8, caption, "right") for col, caption in INSURANCE_TYPES.values()),
    (31, 10, "MM", "top"),
    (34, 10, "DD", "top"),
    (37, 10, "YY", "top"),
    (44, 10, "SEX", "top"),
    (42, 10, "M", "right"),
    (47, 10, "F", "right"),
    *((col, 12, caption.title(), "right") for col, caption in RELATIONSHIPS.values()),
    *(
        (col, line, text, "right")
        for line in (20, 22, 24)
        for col, text in zip(YES_NO_10, ("YES", "NO"), strict=True)
    ),
    (44, 22, "PLACE (State)", "top"),
    (53, 20, "MM", "top"),
    (56, 20, "DD", "top"),
    (59, 20, "YY", "top"),
    (70, 20, "SEX", "top"),
    (68, 20, "M", "right"),
    (75, 20, "F", "right"),
    *((col, 26, text, "right") for col, text in zip(YES_NO_11D, ("YES", "NO"), strict=True)),
    (60, 26, "If yes, complete items 9, 9a, and 9d.", "data"),
    (1, 29, "SIGNED", "data"),
    (32, 29, "DATE", "data"),
    (49.8, 29, "SIGNED", "data"),
    (2, 32, "MM", "top"),
    (5, 32, "DD", "top"),
    (8, 32, "YY", "top"),
    (13, 32, "QUAL.", "data"),
    (31, 32, "QUAL.", "top"),
    (37, 32, "MM", "top"),
    (40, 32, "DD", "top"),
    (43, 32, "YY", "top"),
    (50.3, 32, "FROM", "data"),
    (65, 32, "TO", "data"),
    (50.3, 34, "FROM", "data"),
    (65, 34, "TO", "data"),
    *((col, 36, text, "right") for col, text in zip((52, 57), ("YES", "NO"), strict=True)),
    (63, 36, "$ CHARGES", "top"),
    (36, 37, "ICD Ind.", "data"),
    (62, 38, "ORIGINAL REF. NO.", "top"),
    (17, 56, "SSN", "top"),
    (19, 56, "EIN", "top"),
    *((col, 56, text, "right") for col, text in zip(YES_NO_27, ("YES", "NO"), strict=True)),
    (37.3, 56, "(For govt. claims, see back)", "top"),
    (50.3, 56, "$", "data"),
    (61.3, 56, "$", "data"),
    (1, 61, "SIGNED", "data"),
    (10, 61, "DATE", "data"),
)

_CHECKBOXES: tuple[tuple[float, int], ...] = (
    *((col, 8) for col, _ in INSURANCE_TYPES.values()),
    *((col, 10) for col in PATIENT_SEX_COLUMNS.values()),
    *((col, 12) for col, _ in RELATIONSHIPS.values()),
    *((col, line) for line in (20, 22, 24) for col in YES_NO_10),
    *((col, 20) for col in INSURED_SEX_COLUMNS.values()),
    *((col, 26) for col in YES_NO_11D),
    (52, 36),
    (57, 36),
    *((col, 56) for col in TAX_ID_COLUMNS.values()),
    *((col, 56) for col in YES_NO_27),
)

# Box 24: header cells (left column, right column, label lines).
_SERVICE_HEADER: tuple[tuple[float, float, tuple[str, ...]], ...] = (
    (
        1,
        19,
        (
            "24. A.  DATE(S) OF SERVICE",
            "",
            "From                         To",
            "MM    DD    YY    MM    DD    YY",
        ),
    ),
    (19, 22, ("B.", "PLACE OF", "SERVICE")),
    (22, 24, ("C.", "EMG")),
    (
        24,
        45,
        (
            "D. PROCEDURES, SERVICES, OR SUPPLIES",
            "(Explain Unusual Circumstances)",
            "",
            "CPT/HCPCS              MODIFIER",
        ),
    ),
    (45, MIDDLE, ("E.", "DIAGNOSIS", "POINTER")),
    (MIDDLE, 59, ("F.", "", "$ CHARGES")),
    (59, 63, ("G.", "DAYS", "OR", "UNITS")),
    (63, 65, ("H.", "EPSDT", "Family", "Plan")),
    (65, 68, ("I.", "ID.", "QUAL.")),
    (68, 81, ("J.", "RENDERING", "PROVIDER ID. #")),
)
_SERVICE_DIVIDERS = (19, 22, 24, 45, MIDDLE, 59, 63)  # drawn in the unshaded half of each line
_SERVICE_FULL_DIVIDERS = (65, 68)  # drawn through the shaded half too
_HALF_COLUMN_DIVIDERS = (9, 32, 35, 38, 41, 55)  # from|to, CPT|modifiers, cents


def _draw_form(canvas: Canvas) -> None:
    canvas.saveState()
    canvas.setStrokeGray(0)
    canvas.setLineWidth(0.5)
    left, right = _div(1), _div(RIGHT_EDGE_COL)

    # Title and the carrier side note.
    canvas.setFillGray(0)
    canvas.setFont(LABEL_BOLD, 11)
    canvas.drawString(left, _y(_baseline(5) - 1), "HEALTH INSURANCE CLAIM FORM")
    canvas.setFont(LABEL_FONT, 5.5)
    canvas.drawString(
        left, _y(_baseline(6) - 2), "APPROVED BY NATIONAL UNIFORM CLAIM COMMITTEE (NUCC) 02/12"
    )
    canvas.setFont(LABEL_FONT, 5.5)
    canvas.drawString(
        left,
        _y(_rule(61) + 8),
        "NUCC Instruction Manual available at: www.nucc.org      PLEASE PRINT OR TYPE      "
        "APPROVED OMB-0938-1197 FORM 1500 (02-12)",
    )
    for text, first_line, last_line in (
        ("CARRIER", 1, 6),
        ("PATIENT AND INSURED INFORMATION", 6, 30),
        ("PHYSICIAN OR SUPPLIER INFORMATION", 30, 61),
    ):
        canvas.saveState()
        canvas.translate(right + 7, _y((_rule(first_line) + _rule(last_line)) / 2))
        canvas.rotate(-90)
        canvas.setFont(LABEL_FONT, 5)
        canvas.drawCentredString(0, 0, text)
        canvas.restoreState()

    # Shaded halves of the service lines.
    canvas.setFillGray(SHADE_GREY)
    for row in range(1, LINES_PER_FORM + 1):
        top, bottom = _rule(40 + 2 * row), _rule(41 + 2 * row)
        canvas.rect(left, _y(bottom), right - left, bottom - top, stroke=0, fill=1)
    canvas.setFillGray(0)

    # The boxes and their labels.
    for c0, c1, top_line, bottom_line, label in _BOXES:
        x0, x1 = _div(c0), _div(c1)
        top, bottom = _rule(top_line), _rule(bottom_line)
        canvas.rect(x0, _y(bottom), x1 - x0, bottom - top, stroke=1, fill=0)
        _label(canvas, label, x0 + 1.5, x1 - 1.5, top, bottom)

    # Box 24: header, lines, dividers, line numbers.
    header_top, header_bottom = _rule(40), _rule(42)
    canvas.rect(left, _y(_rule(54)), right - left, _rule(54) - header_top, stroke=1, fill=0)
    for c0, c1, texts in _SERVICE_HEADER:
        x0, x1 = _div(c0), _div(c1)
        canvas.line(x0, _y(header_top), x0, _y(header_bottom))
        for index, text in enumerate(texts):
            if text:
                _fitted(
                    canvas, text, x0 + 1.2, header_top + 5 + index * LABEL_LEADING, x1 - x0 - 2.4
                )
    for row in range(1, LINES_PER_FORM + 1):
        top, middle, bottom = _rule(40 + 2 * row), _rule(41 + 2 * row), _rule(42 + 2 * row)
        canvas.line(left, _y(top), right, _y(top))
        canvas.setDash(1, 1)
        canvas.line(left, _y(middle), right, _y(middle))
        canvas.setDash()
        for col in _SERVICE_DIVIDERS:
            canvas.line(_div(col), _y(middle), _div(col), _y(bottom))
        for col in _SERVICE_FULL_DIVIDERS:
            canvas.line(_div(col), _y(top), _div(col), _y(bottom))
        for col in _HALF_COLUMN_DIVIDERS:
            x = _x(col) + PITCH / 2
            canvas.line(x, _y(middle + 3), x, _y(bottom))
        canvas.setFont(LABEL_FONT, LABEL_SIZE)
        canvas.drawString(_x(65) + 1, _y(bottom - 3.5), "NPI")
        canvas.setFont(LABEL_BOLD, 7)
        canvas.drawRightString(left - 2, _y(bottom - 6), str(row))
    canvas.line(left, _y(_rule(54)), right, _y(_rule(54)))

    # Cents dividers of 28 and 29, diagnosis letters and lines of box 21, phone parentheses.
    for cents_col in (57, 67):
        x = _x(cents_col) + PITCH / 2
        canvas.line(x, _y(_rule(55) + 3), x, _y(_rule(56)))
    canvas.setFont(LABEL_FONT, 5.5)
    for index, letter in enumerate("ABCDEFGHIJKL"):
        code_line, code_col = 38 + index // 4, 3 + 13 * (index % 4)
        under = _y(_baseline(code_line) + 1.5)
        canvas.drawRightString(_x(code_col) - 1.5, _y(_baseline(code_line)), f"{letter}.")
        canvas.line(_x(code_col), under, _x(code_col + 9) - 3, under)
    canvas.setFont(LABEL_FONT, 8)
    for paren_col, paren_line, paren in (
        (14, 16, "("),
        (18, 16, ")"),
        (64, 16, "("),
        (68, 16, ")"),
        (65, 57, "("),
        (69, 57, ")"),
    ):
        canvas.drawCentredString(_x(paren_col) + PITCH / 2, _y(_baseline(paren_line)), paren)
    _draw_checkboxes_and_captions(canvas)
    canvas.restoreState()

    # The outer frame, heavier.
    canvas.saveState()
    canvas.setLineWidth(1.2)
    canvas.rect(left, _y(_rule(61)), right - left, _rule(61) - _rule(6), stroke=1, fill=0)
    canvas.line(left, _y(_rule(30)), right, _y(_rule(30)))
    canvas.restoreState()


def _draw_checkboxes_and_captions(canvas: Canvas) -> None:
    for col, line in (*_CHECKBOXES, (42, 37)):  # (42, 37): the ICD indicator of box 21
        centre_x, centre_y = _x(col) + PITCH / 2, _baseline(line) - 2.8
        canvas.rect(centre_x - 4, _y(centre_y + 4), 8, 8, stroke=1, fill=0)
    for col, line, text, where in _CAPTIONS:
        limit = _caption_limit(col, line, checkboxes=where != "top")
        if where == "top":
            _fitted(canvas, text, _x(col), _rule(line - 2) + 5 + LABEL_LEADING, limit - _x(col))
        elif where == "right":
            x = _x(col) + PITCH + 1.2
            _fitted(canvas, text, x, _baseline(line) - 1, limit - x)
        else:
            _fitted(canvas, text, _x(col), _baseline(line) - 1, limit - _x(col))


def _caption_limit(col: float, line: int, *, checkboxes: bool) -> float:
    """Where a caption at `col` on `line` must end: the right edge of its box or, on the data
    line (`checkboxes`), before the next check box."""
    limit = _div(RIGHT_EDGE_COL)
    for c0, c1, top_line, bottom_line, _ in _BOXES:
        if c0 <= col < c1 and top_line < line <= bottom_line:
            limit = min(limit, _div(c1) - 1)
    for box_col, box_line in _CHECKBOXES if checkboxes else ():
        if box_line == line and box_col > col:
            limit = min(limit, _x(box_col) + PITCH / 2 - 5)
    return limit


def _label(canvas: Canvas, text: str, x0: float, x1: float, top: float, bottom: float) -> None:
    """A box's label at its top left, wrapped to the box's width (at most the box's height)."""
    if bottom - top <= LEADING:  # a one-line box (17a, 17b, 32a, 33a): a smaller label, higher
        canvas.setFont(LABEL_FONT, 3.8)
        canvas.drawString(x0, _y(top + 3.8), text)
        return
    canvas.setFont(LABEL_FONT, LABEL_SIZE)
    room = max(1, int((bottom - top - LEADING + 2) // LABEL_LEADING))
    lines = simpleSplit(text, LABEL_FONT, LABEL_SIZE, x1 - x0)[:room]
    for index, line in enumerate(lines):
        canvas.drawString(x0, _y(top + 5 + index * LABEL_LEADING), line)


def _fitted(canvas: Canvas, text: str, x: float, baseline_from_top: float, width: float) -> None:
    size = LABEL_SIZE
    while size > 3 and stringWidth(text, LABEL_FONT, size) > width:
        size -= 0.2
    canvas.setFont(LABEL_FONT, size)
    canvas.drawString(x, _y(baseline_from_top), text)
