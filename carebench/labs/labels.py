"""Specimen labels: a PDF of 2 x 1 inch labels (one per page, Code 128) and ZPL for Zebra
printers (203 dpi, 2 x 1 inch: ^PW406 ^LL203).

Pure: plain data in, bytes or text out (no Django). Each label carries two patient identifiers
(name and date of birth), the accession as a Code 128 barcode and in text, the tests (short
codes), the container, the collection date and time (a line to write on until it is collected)
and the collector's initials.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

LABEL_WIDTH = 2 * inch  # 144 pt
LABEL_HEIGHT = 1 * inch  # 72 pt
ZPL_DOTS_WIDE = 406  # 2 in at 203 dpi
ZPL_DOTS_HIGH = 203  # 1 in at 203 dpi


@dataclass(frozen=True)
class LabelData:
    accession: str
    family_name: str
    given_name: str
    birth_date: date
    tests: Sequence[str]
    container: str  # short tube name, e.g. "Lavender EDTA"
    collected_at: datetime | None = None  # already in the facility's zone
    collector_initials: str = ""
    mrn: str = ""
    flags: Sequence[str] = field(default_factory=tuple)  # e.g. ("STAT", "RE-COLLECT")


def _patient_line(label: LabelData) -> str:
    return f"{label.family_name.upper()}, {label.given_name}"


def _tests_line(label: LabelData, limit: int = 34) -> str:
    text = " ".join(label.tests)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _collected_line(label: LabelData) -> str:
    if label.collected_at is None:
        return "Coll ____/____/____ ____:____ By ____"
    return f"Coll {label.collected_at:%m/%d/%Y %H:%M} By {label.collector_initials or '____'}"


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> float:
    """The largest font size up to `size` at which `text` fits in `width`."""
    while size > 4 and canvas.stringWidth(text, font, size) > width:
        size -= 0.25
    return size


def _draw_label(canvas: Canvas, label: LabelData) -> None:
    margin = 5.0
    usable = LABEL_WIDTH - 2 * margin
    top = LABEL_HEIGHT - margin
    name = _patient_line(label)
    canvas.setFont("Helvetica-Bold", _fit(canvas, name, "Helvetica-Bold", 7.5, usable * 0.62))
    canvas.drawString(margin, top - 7, name)
    dob = f"DOB {label.birth_date:%m/%d/%Y}"
    canvas.setFont("Helvetica-Bold", 6.5)
    canvas.drawRightString(LABEL_WIDTH - margin, top - 7, dob)

    barcode = Code128(label.accession, barHeight=20, barWidth=0.72, quiet=0, humanReadable=False)
    bar_x = margin + 4
    barcode.drawOn(canvas, bar_x, top - 31)
    text_x = bar_x + barcode.width + 8
    canvas.setFont("Courier-Bold", 7.5)
    canvas.drawString(text_x, top - 19, label.accession)
    flags = " ".join(label.flags)
    if flags:
        canvas.setFont("Helvetica-Bold", 6)
        canvas.drawString(text_x, top - 28, flags)

    canvas.setFont("Helvetica", 6)
    canvas.drawString(margin, top - 40, _tests_line(label))
    container = label.container + (f"  MRN {label.mrn}" if label.mrn else "")
    canvas.setFont("Helvetica", _fit(canvas, container, "Helvetica", 6, usable))
    canvas.drawString(margin, top - 48, container)
    canvas.setFont("Helvetica", 6)
    canvas.drawString(margin, top - 58, _collected_line(label))


def labels_pdf(labels: Iterable[LabelData]) -> bytes:
    """One 2 x 1 inch page per label (label printers feed one label per page)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(LABEL_WIDTH, LABEL_HEIGHT), pageCompression=0, invariant=True)
    canvas.setTitle("Specimen labels")
    count = 0
    for label in labels:
        _draw_label(canvas, label)
        canvas.showPage()
        count += 1
    if count == 0:
        raise ValueError("no labels to print")
    canvas.save()
    return buffer.getvalue()


def _zpl_text(text: str) -> str:
    """Field data without ZPL's command characters (^ and ~) and kept to printable ASCII."""
    cleaned = "".join(ch if 32 <= ord(ch) < 127 and ch not in "^~\\" else " " for ch in text)
    return " ".join(cleaned.split())


def label_zpl(label: LabelData) -> str:
    name = _zpl_text(_patient_line(label))[:26]
    dob = f"DOB {label.birth_date:%m/%d/%Y}"
    flags = _zpl_text(" ".join(label.flags))
    lines = [
        "^XA",
        "^CI0",
        f"^PW{ZPL_DOTS_WIDE}",
        f"^LL{ZPL_DOTS_HIGH}",
        "^LH0,0",
        f"^FO12,10^A0N,22,20^FD{name}^FS",
        f"^FO270,12^A0N,20,18^FD{dob}^FS",
        f"^FO20,38^BY2,3,56^BCN,56,N,N,N^FD{_zpl_text(label.accession)}^FS",
        f"^FO270,42^A0N,24,20^FD{_zpl_text(label.accession)}^FS",
    ]
    if flags:
        lines.append(f"^FO270,72^A0N,20,18^FD{flags}^FS")
    lines += [
        f"^FO12,102^A0N,20,18^FD{_zpl_text(_tests_line(label, 40))}^FS",
        f"^FO12,126^A0N,20,18^FD{_zpl_text(label.container)[:40]}^FS",
        f"^FO12,152^A0N,22,20^FD{_zpl_text(_collected_line(label))}^FS",
        "^PQ1",
        "^XZ",
    ]
    return "\n".join(lines) + "\n"


def labels_zpl(labels: Iterable[LabelData]) -> str:
    return "".join(label_zpl(label) for label in labels)
