"""Patient handouts after a vaccine or an injection: a letter-size PDF in the patient's language.

Pure: plain data in, bytes or lines out (no Django). The texts are data, one JSON file per
language in `data/handouts/` (`en.json` is the reference; every other file has the same keys).
Adding a language is adding a file whose alphabet the embedded font covers (DejaVu Sans from
matplotlib, else Bitstream Vera from reportlab: Latin, Greek and Cyrillic, not Chinese, Korean or
Arabic).

A handout holds, in this order: the clinic (name, address, phone), the two patient identifiers
(name and date of birth) and the date given; what was given (product, dose, route, site, lot and,
for a vaccine, the VIS edition date); how long to wait in the clinic; the provider's own
instructions, verbatim (line breaks kept, long lines wrapped); the aftercare for the kind of
product (what is common, what helps, when to call the clinic, when to call 911), by vaccine group
where it matters, else the generic vaccine or injection text; the next dose due; a note that the
text is general and the provider's instructions come first. Every page ends with
"Questions? Call <phone>" and its page number; pages after the first repeat the patient's name
and date of birth. Long instructions flow to the next page.

`route_text` and `site_text` may be codes (NCIT route codes or HL7 0162 ones such as IM; HL7 0163
site codes such as LD): they are printed in words in the handout's language. Any other text is
printed as given.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import LETTER
from reportlab.pdfgen.canvas import Canvas

from carebench.core import pdf_text

DATA_DIR = Path(__file__).resolve().parent / "data" / "handouts"
DEFAULT_LANGUAGE = "en"
PRODUCT_KINDS = frozenset({"vaccine", "injection"})
VACCINE_GROUPS = (
    "FLU",
    "COVID",
    "TDAP",
    "HPV",
    "MMR",
    "VARICELLA",
    "HEPA",
    "HEPB",
    "PNEUMO",
    "ZOSTER",
)
GENERIC_VACCINE = "VACCINE"
GENERIC_INJECTION = "INJECTION"
# Other spellings of the groups, after upper-casing and dropping everything but letters and
# digits (carebench's own group names are "COVID-19", "HepB", "VZV", "TD", "DTAP", ...).
GROUP_ALIASES = {
    "INFLUENZA": "FLU",
    "COVID19": "COVID",
    "SARSCOV2": "COVID",
    "TD": "TDAP",
    "DT": "TDAP",
    "DTAP": "TDAP",
    "TETANUS": "TDAP",
    "MMRV": "MMR",
    "VZV": "VARICELLA",
    "VAR": "VARICELLA",
    "CHICKENPOX": "VARICELLA",
    "HEPATITISA": "HEPA",
    "HEPATITISB": "HEPB",
    "PCV": "PNEUMO",
    "PPSV": "PNEUMO",
    "PNEUMOCOCCAL": "PNEUMO",
    "SHINGLES": "ZOSTER",
    "RZV": "ZOSTER",
}
# HL7 table 0162 route codes, as NCIT codes (the keys of "routes" in the language files).
ROUTE_ALIASES = {
    "IM": "C28161",
    "SC": "C38299",
    "ID": "C38238",
    "NS": "C38284",
    "PO": "C38288",
    "IV": "C38276",
}

PAGE_WIDTH, PAGE_HEIGHT = LETTER
MARGIN = 0.5 * 72
FOOTER_HEIGHT = 26.0
BULLET = "•"
BULLET_INDENT = 11.0
COLUMN_GAP = 12.0


@dataclass(frozen=True, kw_only=True)
class HandoutInput:
    language: str  # any spelling resolve_language accepts: "es", "spa", "Spanish", "es-MX"
    clinic_name: str
    clinic_address: str  # line breaks are kept
    clinic_phone: str
    patient_name: str
    birth_date: date
    given_on: date
    product_name: str
    product_kind: str  # "vaccine" or "injection"
    dose_text: str  # e.g. "0.5 mL"
    route_text: str  # words, or a route code (C28161, IM)
    site_text: str  # words, or an HL7 0163 site code (LD)
    lot_number: str
    observation_minutes: int  # 0: no waiting line
    vaccine_group: str | None = None  # FLU, COVID, TDAP, HPV, MMR, VARICELLA, HEPA, HEPB, ...
    vis_edition_date: date | None = None  # printed for vaccines when known
    provider_instructions: str = ""  # printed verbatim
    next_due_text: str = ""  # printed as given, e.g. "Your next dose ... is due on or after ..."

    def __post_init__(self) -> None:
        if self.product_kind not in PRODUCT_KINDS:
            raise ValueError(
                f"product_kind must be 'vaccine' or 'injection', not {self.product_kind!r}"
            )
        if self.observation_minutes < 0:
            raise ValueError("observation_minutes must not be negative")


# --- language files ----------------------------------------------------------------------------


def available_languages() -> list[str]:
    """The language codes that have a file, e.g. ["en", "es"]."""
    return sorted(path.stem for path in DATA_DIR.glob("*.json"))


@lru_cache(maxsize=16)
def load_texts(code: str) -> dict[str, Any]:
    """The texts of one language file (code as in available_languages()); shared, read only."""
    if code not in available_languages():
        raise KeyError(f"no handout texts for language {code!r}")
    texts: dict[str, Any] = json.loads((DATA_DIR / f"{code}.json").read_text(encoding="utf-8"))
    return texts


def resolve_language(preferred: str | None) -> tuple[str, bool]:
    """The language code to print in, and whether it fell back to English.

    Accepts codes and names in any case ("es", "spa", "Spanish", "español", "es-MX", "es_MX"),
    matched against each file's `meta.aliases`. No preference ("" or None) is English without
    a fall-back; a language with no file is English with `fell_back` True, so the caller can say
    "no Spanish translation, printed in English".
    """
    wanted = (preferred or "").strip().lower().replace("_", "-")
    if not wanted:
        return DEFAULT_LANGUAGE, False
    candidates = {wanted, wanted.split("-")[0]}
    for code in available_languages():
        aliases = {code, *(str(alias).lower() for alias in load_texts(code)["meta"]["aliases"])}
        if candidates & aliases:
            return code, False
    return DEFAULT_LANGUAGE, True


def _texts_for(language: str) -> dict[str, Any]:
    return load_texts(resolve_language(language)[0])


def format_date(value: date, language: str) -> str:
    """A date in words: "March 1, 2027", "1 de marzo de 2027"."""
    dates = _texts_for(language)["dates"]
    month = dates["months"][value.month - 1]
    return str(dates["format"]).format(day=value.day, month=month, year=value.year)


def route_words(code: str, language: str) -> str:
    """A route code (NCIT such as C28161, or HL7 0162 such as IM) in plain words; any other
    text is returned as given."""
    key = code.strip().upper()
    key = ROUTE_ALIASES.get(key, key)
    return str(_texts_for(language)["routes"].get(key, code))


def site_words(code: str, language: str) -> str:
    """An HL7 0163 body site code (LA, RD, LVL, RG, LLFA, ...) in plain words; any other text is
    returned as given."""
    return str(_texts_for(language)["sites"].get(code.strip().upper(), code))


def aftercare_key(product_kind: str, vaccine_group: str | None) -> str:
    """Which aftercare text applies: a vaccine group, "VACCINE" (a vaccine of another or no
    group) or "INJECTION" (any injected medicine)."""
    if product_kind != "vaccine":
        return GENERIC_INJECTION
    key = re.sub(r"[^A-Z0-9]", "", (vaccine_group or "").upper())
    key = GROUP_ALIASES.get(key, key)
    return key if key in VACCINE_GROUPS else GENERIC_VACCINE


# --- content -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    style: str  # a key of STYLES
    text: str
    keep: int = 0  # keep on the same page as this many following blocks


@dataclass(frozen=True)
class _Style:
    bold: bool
    size: float
    leading: float
    space_before: float = 0.0
    bullet: bool = False
    columns: int = 1  # consecutive blocks of a 2-column style are set side by side


STYLES = {
    "clinic": _Style(bold=True, size=13, leading=15.5),
    "small": _Style(bold=False, size=9, leading=11),
    "title": _Style(bold=True, size=15, leading=18, space_before=5),
    "heading": _Style(bold=True, size=10.5, leading=13, space_before=5),
    "text": _Style(bold=False, size=9.5, leading=11.3),
    "verbatim": _Style(bold=False, size=9.5, leading=11.3),
    "bullet": _Style(bold=False, size=9.5, leading=11.3, bullet=True),
    "bullet2": _Style(bold=False, size=9.5, leading=11.3, bullet=True, columns=2),
    "note": _Style(bold=False, size=8.5, leading=10.4, space_before=5),
}


def _instruction_lines(text: str) -> list[str]:
    """The provider's text as lines, blank lines at either end dropped, the rest kept."""
    lines = re.split(r"\r\n|\r|\n", text)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _blocks(data: HandoutInput) -> list[_Block]:
    language = resolve_language(data.language)[0]
    texts = load_texts(language)
    labels = texts["labels"]
    vaccine = data.product_kind == "vaccine"
    born = format_date(data.birth_date, language)
    address = ", ".join(line.strip() for line in _instruction_lines(data.clinic_address))
    contact = " · ".join(item for item in (address, data.clinic_phone.strip()) if item)
    blocks = [
        _Block("clinic", data.clinic_name),
        _Block("small", contact),
        _Block("title", labels["title_vaccine" if vaccine else "title_injection"], keep=1),
    ]
    blocks.append(_Block("text", labels["patient"].format(name=data.patient_name)))
    blocks.append(_Block("text", labels["birth_date"].format(date=born)))
    blocks.append(
        _Block("text", labels["given_on"].format(date=format_date(data.given_on, language)))
    )

    blocks.append(_Block("heading", labels["section_given"], keep=1))
    product = labels["product_vaccine" if vaccine else "product_injection"]
    fields = [
        (product, data.product_name),
        (labels["dose"], data.dose_text),
        (labels["route"], route_words(data.route_text, language)),
        (labels["site"], site_words(data.site_text, language)),
        (labels["lot"], data.lot_number),
    ]
    blocks += [_Block("text", label.format(value=v.strip())) for label, v in fields if v.strip()]
    if vaccine and data.vis_edition_date is not None:
        vis = format_date(data.vis_edition_date, language)
        blocks.append(_Block("text", labels["vis"].format(date=vis)))

    if data.observation_minutes:
        blocks.append(_Block("heading", labels["section_wait"], keep=2))
        blocks.append(_Block("text", labels["wait"].format(minutes=data.observation_minutes)))
        blocks.append(_Block("text", labels["wait_why"]))

    instructions = _instruction_lines(data.provider_instructions)
    if instructions:
        blocks.append(_Block("heading", labels["section_instructions"], keep=1))
        blocks += [_Block("verbatim", line) for line in instructions]

    blocks += _aftercare_blocks(texts, data)

    if data.next_due_text.strip():
        blocks.append(_Block("heading", labels["section_next"], keep=1))
        blocks.append(_Block("text", data.next_due_text.strip()))

    blocks.append(_Block("note", labels["general_note"]))
    return blocks


def _aftercare_blocks(texts: dict[str, Any], data: HandoutInput) -> list[_Block]:
    labels = texts["labels"]
    common = texts["aftercare_common"]
    group = texts["aftercare"][aftercare_key(data.product_kind, data.vaccine_group)]
    care = list(group["care"])
    if data.product_kind == "vaccine":
        care += texts["vaccine_common"]["care"]
    care += common["care"]
    emergency = texts["emergency"]

    blocks = [
        _Block("heading", labels["section_common"], keep=1),
        _Block("text", group["about"]),
        _Block("text", common["intro"]),
    ]
    blocks += [_Block("bullet", item) for item in group["common"]]
    blocks.append(_Block("heading", labels["section_care"], keep=1))
    blocks += [_Block("bullet", item) for item in care]
    blocks.append(_Block("heading", labels["section_call"], keep=1))
    blocks += [_Block("bullet", item) for item in [*group["call_clinic"], *common["call_clinic"]]]
    signs = emergency["signs"]
    blocks.append(_Block("heading", labels["section_911"], keep=len(signs) + 2))
    blocks.append(_Block("text", emergency["intro"]))
    blocks += [_Block("bullet2", item) for item in signs]
    blocks.append(_Block("text", emergency["after"]))
    return blocks


def _footer_text(data: HandoutInput) -> str:
    labels = _texts_for(data.language)["labels"]
    return str(labels["questions"].format(phone=data.clinic_phone))


def handout_text(data: HandoutInput) -> list[str]:
    """The handout's lines before wrapping, in order, ending with the "Questions?" line (the
    PDF prints that one at the foot of every page). Blank lines inside the provider's
    instructions are kept as "". For tests and for an HTML preview."""
    return [block.text for block in _blocks(data)] + [_footer_text(data)]


# --- PDF ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    x: float
    y: float
    font: str
    size: float
    text: str


def _layout(data: HandoutInput) -> list[list[_Line]]:
    """Place the wrapped lines on pages. A block stays on one page with the next `keep` blocks
    when they fit on a page; a block of up to 3 lines is not split, a longer one leaves at least
    2 lines at the foot of a page."""
    regular, bold = pdf_text.fonts()
    blocks = _blocks(data)
    language = resolve_language(data.language)[0]
    labels = load_texts(language)["labels"]
    continued = labels["continued"].format(
        name=data.patient_name, date=format_date(data.birth_date, language)
    )
    width = PAGE_WIDTH - 2 * MARGIN
    top = PAGE_HEIGHT - MARGIN
    bottom = MARGIN + FOOTER_HEIGHT

    def cell_width(style: _Style) -> float:
        return (width - COLUMN_GAP * (style.columns - 1)) / style.columns

    rows: list[tuple[_Style, list[int]]] = []  # blocks set side by side
    for index, block in enumerate(blocks):
        style = STYLES[block.style]
        if (
            rows
            and style.columns > 1
            and blocks[rows[-1][1][0]].style == block.style
            and len(rows[-1][1]) < style.columns
        ):
            rows[-1][1].append(index)
        else:
            rows.append((style, [index]))
    row_of = {index: number for number, (_, indexes) in enumerate(rows) for index in indexes}
    wrapped: dict[int, list[str]] = {}
    for style, indexes in rows:
        indent = BULLET_INDENT if style.bullet else 0.0
        for index in indexes:
            font = bold if style.bold else regular
            wrapped[index] = pdf_text.wrap(
                blocks[index].text, font, style.size, cell_width(style) - indent
            )
    counts = [max(len(wrapped[index]) for index in indexes) for _, indexes in rows]
    heights = [
        style.space_before + style.leading * n for (style, _), n in zip(rows, counts, strict=True)
    ]

    pages: list[list[_Line]] = [[]]
    y = top
    fresh = True

    def new_page() -> None:
        nonlocal y, fresh
        small = STYLES["small"]
        pages.append([_Line(MARGIN, top - small.leading, regular, small.size, continued)])
        y = top - 2 * small.leading
        fresh = True

    for number, (style, indexes) in enumerate(rows):
        count = counts[number]
        last = max(row_of[min(i + blocks[i].keep, len(blocks) - 1)] for i in indexes)
        needed = style.leading * (count if count <= 3 else 2) + sum(heights[number + 1 : last + 1])
        if not fresh and y - style.space_before - needed < bottom:
            new_page()
        if not fresh:
            y -= style.space_before
        font = bold if style.bold else regular
        indent = BULLET_INDENT if style.bullet else 0.0
        for line_number in range(count):
            if y - style.leading < bottom:
                new_page()
            y -= style.leading
            fresh = False
            for column, index in enumerate(indexes):
                lines = wrapped[index]
                if line_number >= len(lines):
                    continue
                x = MARGIN + column * (cell_width(style) + COLUMN_GAP)
                if style.bullet and line_number == 0:
                    pages[-1].append(_Line(x, y, font, style.size, BULLET))
                pages[-1].append(_Line(x + indent, y, font, style.size, lines[line_number]))
    return pages


def render_handout(data: HandoutInput) -> bytes:
    """The handout as a letter-size PDF: one page, or more when the instructions are long."""
    regular, _ = pdf_text.fonts()
    language = resolve_language(data.language)[0]
    labels = load_texts(language)["labels"]
    pages = _layout(data)
    footer = _footer_text(data)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, invariant=True)
    canvas.setTitle(
        labels["title_vaccine" if data.product_kind == "vaccine" else "title_injection"]
    )
    canvas.setAuthor(data.clinic_name)
    for number, lines in enumerate(pages, start=1):
        for line in lines:
            canvas.setFont(line.font, line.size)
            canvas.drawString(line.x, line.y, line.text)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, MARGIN + 16, PAGE_WIDTH - MARGIN, MARGIN + 16)
        canvas.setFont(regular, 9)
        canvas.drawString(MARGIN, MARGIN + 4, footer)
        page = labels["page"].format(page=number, pages=len(pages))
        canvas.drawRightString(PAGE_WIDTH - MARGIN, MARGIN + 4, page)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
