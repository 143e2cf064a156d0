"""The aftercare handout after a procedure: a letter-size PDF in English or Spanish.

Pure: plain data in, bytes or lines out (no Django). The aftercare text is the clinic's own,
from the procedure template (one paragraph or bullet per line; a line starting with "- " is a
bullet); the frame around it (titles, labels, when to call) is here in both languages.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import LETTER
from reportlab.pdfgen.canvas import Canvas

from carebench.core import pdf_text

LANGUAGES = ("en", "es")
PAGE_WIDTH, PAGE_HEIGHT = LETTER
MARGIN = 0.6 * 72
FOOTER = 28.0
BULLET_INDENT = 12.0

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],  # fmt: skip
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],  # fmt: skip
}
LABELS = {
    "en": {
        "title": "Aftercare: {procedure}",
        "patient": "Patient: {name}",
        "born": "Date of birth: {date}",
        "done_on": "Done on: {date}",
        "site": "Where: {site}",
        "by": "By: {provider}",
        "care": "Caring for yourself at home",
        "specimen": "A sample was sent to the laboratory. The clinic will call you with the "
        "result; if you have not heard from us in 2 weeks, please call.",
        "follow_up": "Follow-up",
        "call": "Call the clinic if you have",
        "call_items": [
            "fever of 100.4 °F (38 °C) or higher, or chills",
            "redness, warmth or swelling that spreads, or red streaks",
            "pus or a bad smell from the site",
            "bleeding that does not stop after 10 minutes of firm pressure",
            "pain that gets worse instead of better",
        ],
        "emergency": "Call 911 for trouble breathing, swelling of the face or throat, chest "
        "pain, or fainting.",
        "note": "This is general advice. Follow your provider's own instructions first.",
        "questions": "Questions? Call {phone}",
        "page": "Page {n} of {total}",
        "continued": "{name}, born {date} (continued)",
    },
    "es": {
        "title": "Cuidados después del procedimiento: {procedure}",
        "patient": "Paciente: {name}",
        "born": "Fecha de nacimiento: {date}",
        "done_on": "Fecha del procedimiento: {date}",
        "site": "Lugar: {site}",
        "by": "Realizado por: {provider}",
        "care": "Cómo cuidarse en casa",
        "specimen": "Se envió una muestra al laboratorio. La clínica le llamará con el "
        "resultado; si no sabe de nosotros en 2 semanas, llámenos.",
        "follow_up": "Seguimiento",
        "call": "Llame a la clínica si tiene",
        "call_items": [
            "fiebre de 100.4 °F (38 °C) o más, o escalofríos",
            "enrojecimiento, calor o hinchazón que se extiende, o rayas rojas",
            "pus o mal olor en la herida",
            "sangrado que no para después de 10 minutos de presión firme",
            "dolor que empeora en vez de mejorar",
        ],
        "emergency": "Llame al 911 si tiene dificultad para respirar, hinchazón de la cara o "
        "la garganta, dolor de pecho o se desmaya.",
        "note": "Estos son consejos generales. Siga primero las instrucciones de su proveedor.",
        "questions": "¿Preguntas? Llame al {phone}",
        "page": "Página {n} de {total}",
        "continued": "{name}, nacido/a el {date} (continuación)",
    },
}


@dataclass(frozen=True, kw_only=True)
class AftercareInput:
    language: str  # "en" or "es"; anything else prints in English
    clinic_name: str
    clinic_phone: str
    patient_name: str
    birth_date: date
    done_on: date
    procedure_name: str
    site: str
    provider_name: str
    aftercare_text: str  # the template's text in that language; "- " starts a bullet
    specimen_sent: bool = False
    follow_up: str = ""  # printed as given


def language_of(preferred: str | None) -> str:
    """ "es", "spa", "Spanish", "español", "es-MX" -> "es"; anything else -> "en"."""
    wanted = (preferred or "").strip().lower().replace("_", "-")
    if wanted.split("-")[0] in ("es", "spa", "spanish", "español", "espanol"):
        return "es"
    return "en"


def format_date(value: date, language: str) -> str:
    month = MONTHS[language][value.month - 1]
    if language == "es":
        return f"{value.day} de {month} de {value.year}"
    return f"{month} {value.day}, {value.year}"


def _blocks(data: AftercareInput) -> list[tuple[str, str]]:
    """(style, text) in order: style is clinic, title, heading, text, bullet or note."""
    lang = language_of(data.language)
    labels = LABELS[lang]
    blocks: list[tuple[str, str]] = [
        ("clinic", data.clinic_name),
        ("title", str(labels["title"]).format(procedure=data.procedure_name)),
        ("text", str(labels["patient"]).format(name=data.patient_name)),
        ("text", str(labels["born"]).format(date=format_date(data.birth_date, lang))),
        ("text", str(labels["done_on"]).format(date=format_date(data.done_on, lang))),
    ]
    if data.site.strip():
        blocks.append(("text", str(labels["site"]).format(site=data.site.strip())))
    if data.provider_name.strip():
        blocks.append(("text", str(labels["by"]).format(provider=data.provider_name.strip())))
    blocks.append(("heading", str(labels["care"])))
    for raw in data.aftercare_text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(("- ", "* ", "• ")):
            blocks.append(("bullet", line[2:].strip()))
        else:
            blocks.append(("text", line))
    if data.specimen_sent:
        blocks.append(("text", str(labels["specimen"])))
    if data.follow_up.strip():
        blocks.append(("heading", str(labels["follow_up"])))
        blocks.append(("text", data.follow_up.strip()))
    blocks.append(("heading", str(labels["call"])))
    blocks += [("bullet", str(item)) for item in labels["call_items"]]
    blocks.append(("text", str(labels["emergency"])))
    blocks.append(("note", str(labels["note"])))
    return blocks


def aftercare_lines(data: AftercareInput) -> list[str]:
    """The handout's texts before wrapping, ending with the footer's "Questions?" line."""
    labels = LABELS[language_of(data.language)]
    return [text for _, text in _blocks(data)] + [
        str(labels["questions"]).format(phone=data.clinic_phone)
    ]


# style: (bold, size, leading, space before)
STYLES = {
    "clinic": (True, 13.0, 16.0, 0.0),
    "title": (True, 15.0, 19.0, 6.0),
    "heading": (True, 11.0, 14.0, 8.0),
    "text": (False, 10.0, 12.5, 1.0),
    "bullet": (False, 10.0, 12.5, 1.0),
    "note": (False, 8.5, 10.5, 8.0),
}


def render_aftercare(data: AftercareInput) -> bytes:
    """The handout as PDF bytes."""
    lang = language_of(data.language)
    labels = LABELS[lang]
    regular, bold = pdf_text.fonts()
    width = PAGE_WIDTH - 2 * MARGIN
    top, bottom = PAGE_HEIGHT - MARGIN, MARGIN + FOOTER
    pages: list[list[tuple[float, float, str, float, str]]] = [[]]
    y = top
    continued = str(labels["continued"]).format(
        name=data.patient_name, date=format_date(data.birth_date, lang)
    )
    for style, text in _blocks(data):
        is_bold, size, leading, before = STYLES[style]
        font = bold if is_bold else regular
        indent = BULLET_INDENT if style == "bullet" else 0.0
        lines = pdf_text.wrap(text, font, size, width - indent)
        y -= before
        for number, line in enumerate(lines):
            if y - leading < bottom:
                pages.append([(MARGIN, top - 10, regular, 8.5, continued)])
                y = top - 24
            y -= leading
            if style == "bullet" and number == 0:
                pages[-1].append((MARGIN, y, font, size, "•"))
            pages[-1].append((MARGIN + indent, y, font, size, line))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, invariant=1)
    canvas.setTitle(str(labels["title"]).format(procedure=data.procedure_name))
    total = len(pages)
    for index, page in enumerate(pages, start=1):
        for x, y_pos, font, size, text in page:
            canvas.setFont(font, size)
            canvas.drawString(x, y_pos, text)
        canvas.setFont(regular, 9)
        canvas.drawString(MARGIN, MARGIN, str(labels["questions"]).format(phone=data.clinic_phone))
        page_text = str(labels["page"]).format(n=index, total=total)
        canvas.drawRightString(PAGE_WIDTH - MARGIN, MARGIN, page_text)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
