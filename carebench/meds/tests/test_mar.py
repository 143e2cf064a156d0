"""The monthly MAR of one resident (pure: no database).

The PDF is read back with pypdf: its text page by page, and its drawing operators for the grey
of the days a month does not have.
"""

import io
import re
from dataclasses import replace
from datetime import date, datetime, time

import pytest
from pypdf import PdfReader

from carebench.meds.mar import (
    MISSED_MARK,
    OUT_OF_MONTH_GREY,
    MarCell,
    MarInput,
    MarOrder,
    PrnDose,
    StaffInitials,
    allergy_text,
    code_legend,
    initials_legend,
    mar_notes,
    mar_rows,
    prn_rows,
    render_mar,
)

AM, PM = time(8), time(20)
MARCH = date(2027, 3, 1)


def bid_order(**changes) -> MarOrder:
    cells = {}
    for day in range(1, 32):
        cells[(day, AM)] = MarCell("given", "JR")
        cells[(day, PM)] = MarCell("given", "KM")
    cells[(12, AM)] = MarCell("H", "JR", note="pulse 52 < 60")
    cells[(5, PM)] = MarCell("R", "KM", note="said she felt nauseous")
    cells[(20, AM)] = MarCell("given", "JR", late=True, note="at the day program")
    del cells[(14, PM)]  # due, never documented
    order = MarOrder(
        order_id=101,
        drug="Metoprolol tartrate",
        strength="25 mg",
        form="tablet",
        dose="1 tablet",
        route="by mouth",
        frequency="twice daily",
        instructions="Take with food",
        hold_text="Hold if pulse < 60 or systolic BP < 100",
        start=date(2027, 2, 10),
        stop=None,
        prn=False,
        times=(AM, PM),
        cells=cells,
    )
    return replace(order, **changes)


def daily_order(order_id: int = 102, drug: str = "Lisinopril", **changes) -> MarOrder:
    order = MarOrder(
        order_id=order_id,
        drug=drug,
        strength="10 mg",
        form="tablet",
        dose="1 tablet",
        route="by mouth",
        frequency="once daily",
        instructions="",
        hold_text="",
        start=date(2027, 1, 1),
        stop=None,
        prn=False,
        times=(AM,),
        cells={(day, AM): MarCell("given", "JR") for day in range(1, 32)},
    )
    return replace(order, **changes)


PRN_ORDER = MarOrder(
    order_id=103,
    drug="Acetaminophen",
    strength="500 mg",
    form="tablet",
    dose="2 tablets",
    route="by mouth",
    frequency="every 6 hours as needed",
    instructions="For pain",
    hold_text="",
    start=date(2027, 1, 5),
    stop=None,
    prn=True,
    times=(),
    cells={},
)
PRN_DOSE = PrnDose(
    order_id=103,
    drug="Acetaminophen 500 mg",
    given_at=datetime(2027, 3, 7, 14, 10),
    dose="2 tablets",
    reason="Headache, pain 5/10",
    effectiveness="Pain 1/10, resting",
    effectiveness_at=datetime(2027, 3, 7, 14, 55),
    initials="KM",
)
STAFF = (
    StaffInitials("JR", "Jo Rivera", "CMA / Med Tech"),
    StaffInitials("KM", "Kim Mendez", "LPN"),
)


def mar(**changes) -> MarInput:
    data = MarInput(
        home_name="Maple Grove Assisted Living",
        month=date(2027, 3, 15),
        resident_name="Eleanor Whitfield",
        room="12B",
        birth_date=date(1938, 5, 4),
        allergies="Penicillin (hives)",
        prescribers="Dr. Priya Shah, MD",
        pharmacy="Main Street Pharmacy",
        orders=(bid_order(), daily_order(), PRN_ORDER),
        prn_doses=(PRN_DOSE,),
        staff=STAFF,
        generated_at=datetime(2027, 4, 1, 7, 30),
    )
    return replace(data, **changes)


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def rows_of(data: MarInput, drug: str) -> dict[str, list[str]]:
    """Time -> the 31 day cells of the order whose box starts with drug."""
    return {row[1]: row[2:] for row in mar_rows(data)[1:] if row[0].startswith(drug)}


def day(cells: list[str], number: int) -> str:
    return cells[number - 1]


# --- the PDF -----------------------------------------------------------------------------------


def test_pdf_opens_and_every_page_names_the_resident_and_month():
    pdf = render_mar(mar())
    assert pdf.startswith(b"%PDF")
    texts = pages_text(pdf)
    assert texts
    for text in texts:
        assert "Eleanor Whitfield" in text
        assert "March 2027" in text


def test_header_has_the_residents_details():
    text = pages_text(render_mar(mar()))[0]
    for expected in (
        "Maple Grove Assisted Living",
        "12B",
        "05/04/1938",
        "Penicillin (hives)",
        "Dr. Priya Shah, MD",
        "Main Street Pharmacy",
        "Page 1 of 1",
    ):
        assert expected in text


def test_bid_order_has_one_row_per_scheduled_time():
    rows = rows_of(mar(), "Metoprolol")
    assert list(rows) == ["08:00", "20:00"]
    assert day(rows["08:00"], 1) == "JR"
    assert day(rows["20:00"], 1) == "KM"
    assert list(rows_of(mar(), "Lisinopril")) == ["08:00"]


def test_prn_dose_is_listed_with_reason_effectiveness_and_initials():
    assert prn_rows(mar())[1] == [
        "Acetaminophen 500 mg tablet",
        "03/07 14:10",
        "2 tablets",
        "Headache, pain 5/10",
        "Pain 1/10, resting",
        "03/07 14:55",
        "KM",
    ]
    text = pages_text(render_mar(mar()))[0]
    assert "PRN (as needed) medications" in text
    assert "Headache, pain 5/10" in text
    assert "Pain 1/10, resting" in text


def test_prn_dose_without_effectiveness_is_a_discrepancy():
    dose = replace(PRN_DOSE, effectiveness="", effectiveness_at=None)
    data = mar(prn_doses=(dose,))
    assert prn_rows(data)[1][4] == "NOT DOCUMENTED"
    assert any("effectiveness not documented" in note for note in mar_notes(data))


def test_held_cell_shows_h_and_its_footnote_names_the_vital():
    data = mar()
    cell = day(rows_of(data, "Metoprolol")["08:00"], 12)
    assert cell.startswith("H")
    mark = cell[1:]
    assert mark  # the footnote number, as a superscript
    note = next(note for note in mar_notes(data) if note.startswith(mark + " "))
    assert "03/12 08:00" in note
    assert "held: pulse 52 < 60" in note
    assert "held: pulse 52 < 60" in pages_text(render_mar(data))[0]


def test_refused_cell_shows_r_with_the_reason_in_the_notes():
    data = mar()
    cell = day(rows_of(data, "Metoprolol")["20:00"], 5)
    assert cell.startswith("R")
    assert any("refused: said she felt nauseous" in note for note in mar_notes(data))


def test_late_dose_shows_the_initials_and_the_late_mark():
    cell = day(rows_of(mar(), "Metoprolol")["08:00"], 20)
    assert cell.startswith("JR·L")


def test_undocumented_due_dose_shows_the_missed_mark():
    data = mar()
    assert day(rows_of(data, "Metoprolol")["20:00"], 14) == MISSED_MARK
    assert any("missed" in note and "03/14" in note for note in mar_notes(data))
    assert "MISSED" in pages_text(render_mar(data))[0]


def test_doses_not_yet_due_are_blank_not_missed():
    data = mar(generated_at=datetime(2027, 3, 14, 19, 0))
    cells = rows_of(data, "Metoprolol")["20:00"]
    assert day(cells, 14) == ""
    assert all(MISSED_MARK not in cell for cell in cells)


def test_initials_legend_lists_each_initial_with_name_and_role():
    data = mar()
    assert initials_legend(data) == [
        "JR = Jo Rivera, CMA / Med Tech",
        "KM = Kim Mendez, LPN",
    ]
    text = pages_text(render_mar(data))[-1]
    assert "Staff initials" in text
    assert "= Jo Rivera, CMA / Med Tech" in text
    assert "= Kim Mendez, LPN" in text


def test_initials_not_on_the_staff_list_are_flagged():
    data = mar(staff=STAFF[:1])
    assert "KM = NOT ON THE STAFF LIST" in initials_legend(data)
    assert any("KM are not on the staff list" in note for note in mar_notes(data))


def test_code_legend_has_every_standard_code_and_counts_what_appears():
    legend = code_legend(mar())
    for code in ("JR = ", "JR·L = ", "R = ", "H = ", "A = ", "N = ", f"{MISSED_MARK} = "):
        assert any(line.startswith(code) for line in legend)
    assert any(line.startswith("H = ") and "(1 this month)" in line for line in legend)


def test_february_of_a_non_leap_year_greys_days_29_to_31():
    order = daily_order(cells={(n, AM): MarCell("given", "JR") for n in range(1, 29)})
    february = mar(month=date(2027, 2, 1), orders=(order,), generated_at=datetime(2027, 3, 1, 7, 0))
    rows = mar_rows(february)
    assert rows[0][2:] == [str(n) for n in range(1, 29)] + ["", "", ""]
    assert rows[1][2:] == ["JR"] * 28 + ["", "", ""]

    # reportlab writes a fill grey of 0.78 as ".78 g"
    grey = f"{OUT_OF_MONTH_GREY:g}".lstrip("0").encode()
    fill = re.compile(rb"(?<![\d.])0?" + re.escape(grey) + rb" g\b")

    def greys(data: MarInput) -> int:
        pages = PdfReader(io.BytesIO(render_mar(data))).pages
        return sum(len(fill.findall(page.get_contents().get_data())) for page in pages)

    march = mar(orders=(daily_order(),))
    assert greys(february) - greys(march) == 3 * 2  # the day heading and the 08:00 row


def test_many_orders_flow_onto_several_pages_with_the_header_repeated():
    orders = [daily_order(order_id=200 + n, drug=f"Drug{n:02d}") for n in range(25)]
    pdf = render_mar(mar(orders=orders, prn_doses=()))
    texts = pages_text(pdf)
    assert len(texts) >= 3
    for number, text in enumerate(texts, start=1):
        assert "Eleanor Whitfield" in text
        assert "Medication Administration Record — March 2027" in text
        assert f"Page {number} of {len(texts)}" in text
    everything = "\n".join(texts)
    assert all(f"Drug{n:02d}" in everything for n in range(25))


def test_discontinued_order_shows_dc_and_no_cells_after_it():
    stopped = daily_order(
        stop=date(2027, 3, 20),
        cells={(n, AM): MarCell("given", "JR") for n in range(1, 21)},
    )
    data = mar(orders=(stopped,))
    label = next(row[0] for row in mar_rows(data)[1:] if row[0].startswith("Lisinopril"))
    assert "DC 03/20/2027" in label
    cells = rows_of(data, "Lisinopril")["08:00"]
    assert day(cells, 20) == "JR"
    assert cells[20:] == [""] * 11
    assert "DC 03/20/2027" in pages_text(render_mar(data))[0]


def test_dose_documented_at_an_unscheduled_time_is_a_discrepancy():
    order = daily_order(cells={(3, time(12)): MarCell("given", "JR")})
    notes = mar_notes(mar(orders=(order,)))
    assert any("03/03 12:00, not a scheduled time" in note for note in notes)


@pytest.mark.parametrize(
    ("given", "printed"),
    [
        ("", "Allergies not recorded"),
        ("NKA", "No known allergies"),
        ("no known allergies", "No known allergies"),
        ("Penicillin; sulfa", "Penicillin; sulfa"),
    ],
)
def test_allergies_text(given, printed):
    assert allergy_text(given) == printed


def test_letter_paper_also_renders():
    texts = pages_text(render_mar(mar(), paper="letter"))
    assert all("Eleanor Whitfield" in text for text in texts)
    with pytest.raises(ValueError, match="paper"):
        render_mar(mar(), paper="a3")


def test_unknown_cell_code_is_refused():
    with pytest.raises(ValueError, match="code"):
        MarCell("X")
