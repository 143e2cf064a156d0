"""The lab requisition: a letter-size PDF that travels with the specimens to the reference lab.

Pure: plain data in, PDF bytes out (no Django). It carries the order number as a Code 128
barcode, two patient identifiers (name and date of birth, with the MRN), the ordering provider
with NPI, the diagnoses (ICD-10-CM), the tests (with LOINC) and the specimens' accessions.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas


@dataclass(frozen=True)
class RequisitionTest:
    code: str
    name: str
    loinc: str
    container: str
    performed: str


@dataclass(frozen=True)
class RequisitionData:
    order_number: str
    organization: str
    facility: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    mrn: str
    provider_name: str
    provider_npi: str
    ordered_at: datetime  # in the facility's zone
    priority: str
    basis: str
    cosign: str  # "co-signed by ... at ...", "awaiting provider co-signature" or ""
    fasting: str
    diagnoses: Sequence[tuple[str, str]]  # (ICD-10-CM code, description)
    tests: Sequence[RequisitionTest]
    specimens: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (accession, container)
    note: str = ""


class _Page:
    """A cursor down a letter page that starts a new page when it runs out of room."""

    def __init__(self, canvas: Canvas, data: RequisitionData) -> None:
        self.canvas = canvas
        self.data = data
        self.left = 0.75 * inch
        self.right = LETTER[0] - 0.75 * inch
        self.y = 0.0
        self.page = 0
        self.new_page()

    def new_page(self) -> None:
        if self.page:
            self.canvas.showPage()
        self.page += 1
        c = self.canvas
        top = LETTER[1] - 0.75 * inch
        c.setFont("Helvetica-Bold", 15)
        c.drawString(self.left, top - 14, "Laboratory requisition")
        c.setFont("Helvetica", 9)
        c.drawString(self.left, top - 28, f"{self.data.organization} · {self.data.facility}")
        barcode = Code128(self.data.order_number, barHeight=28, barWidth=1.0, humanReadable=False)
        barcode.drawOn(c, self.right - barcode.width, top - 30)
        c.setFont("Courier-Bold", 10)
        c.drawRightString(self.right, top - 42, f"Order {self.data.order_number}")
        if self.page > 1:
            c.setFont("Helvetica", 8)
            c.drawString(self.left, top - 40, f"page {self.page} (continued)")
        self.y = top - 60

    def need(self, height: float) -> None:
        if self.y - height < 0.75 * inch:
            self.new_page()

    def heading(self, text: str) -> None:
        self.need(30)
        self.y -= 8
        self.canvas.setFont("Helvetica-Bold", 10.5)
        self.canvas.drawString(self.left, self.y, text)
        self.y -= 4
        self.canvas.setLineWidth(0.5)
        self.canvas.line(self.left, self.y, self.right, self.y)
        self.y -= 12

    def row(self, cells: Sequence[tuple[float, str]], *, bold: bool = False, size: float = 9):
        self.need(size + 4)
        self.canvas.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        for x, text in cells:
            self.canvas.drawString(self.left + x, self.y, text)
        self.y -= size + 4


def requisition_pdf(data: RequisitionData) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, pageCompression=0, invariant=True)
    canvas.setTitle(f"Lab requisition {data.order_number}")
    page = _Page(canvas, data)

    page.heading("Patient")
    page.row([(0, f"{data.family_name.upper()}, {data.given_name}")], bold=True, size=11)
    page.row(
        [
            (0, f"Date of birth {data.birth_date:%m/%d/%Y}"),
            (170, f"Sex {data.sex}"),
            (290, f"MRN {data.mrn}"),
        ]
    )

    page.heading("Order")
    page.row(
        [
            (0, f"Ordering provider: {data.provider_name}"),
            (290, f"NPI {data.provider_npi}"),
        ]
    )
    page.row([(0, f"Ordered {data.ordered_at:%m/%d/%Y %H:%M}"), (170, f"Priority {data.priority}")])
    page.row([(0, f"Basis: {data.basis}"), (290, data.cosign)])
    page.row([(0, f"Fasting: {data.fasting}")])
    if data.note:
        page.row([(0, f"Note: {data.note[:110]}")])

    page.heading("Diagnoses (ICD-10-CM)")
    for code, description in data.diagnoses:
        page.row([(0, code), (60, description[:90])])

    page.heading("Tests")
    page.row([(0, "Code"), (60, "Test"), (300, "LOINC"), (360, "Container")], bold=True)
    for test in data.tests:
        page.row(
            [
                (0, test.code),
                (60, test.name[:48]),
                (300, test.loinc or "—"),
                (360, test.container[:28]),
            ]
        )

    if data.specimens:
        page.heading("Specimens")
        for accession, container in data.specimens:
            page.row([(0, accession), (80, container)])

    page.need(50)
    page.y -= 30
    canvas.setFont("Helvetica", 9)
    canvas.line(page.left, page.y, page.left + 220, page.y)
    canvas.drawString(page.left, page.y - 11, "Collected by (initials, date, time)")
    canvas.save()
    return buffer.getvalue()
