"""Labels (PDF and ZPL) and the requisition PDF (pure: no database)."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from carebench.labs import labels, requisition
from carebench.labs.labels import LabelData


def label(**kw) -> LabelData:
    values = {
        "accession": "S000123",
        "family_name": "Nguyen",
        "given_name": "Linh",
        "birth_date": date(1980, 5, 17),
        "tests": ["CBC", "A1C"],
        "container": "Lavender top",
        "mrn": "100042",
    }
    values.update(kw)
    return LabelData(**values)


def test_label_pdf_is_2_by_1_inch_with_the_accession_and_identifiers():
    pdf = labels.labels_pdf([label(), label(accession="S000124")])
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", pdf)
    assert boxes == [(b"144", b"72"), (b"144", b"72")]
    for text in (b"S000123", b"S000124", b"NGUYEN, Linh", b"DOB 05/17/1980", b"CBC A1C"):
        assert text in pdf
    assert b"Coll ____/____/____" in pdf  # a line to write on until collected


def test_label_pdf_shows_collection_time_and_initials_once_collected():
    pdf = labels.labels_pdf(
        [label(collected_at=datetime(2026, 11, 2, 8, 5), collector_initials="MR")]
    )
    assert b"Coll 11/02/2026 08:05 By MR" in pdf


def test_label_barcode_is_code128_with_a_correct_check_character():
    from reportlab.graphics.barcode.code128 import Code128

    code = Code128("S000123")
    code.validate()
    code.encode()
    values = list(code.encoded)
    # Start B, "S", switch to set C, "00" "01" "23", check character, stop.
    assert values[:6] == [104, 51, 99, 0, 1, 23] and values[-1] == 106
    weighted = values[0] + sum(i * v for i, v in enumerate(values[1:-2], start=1))
    assert values[-2] == weighted % 103
    pdf = labels.labels_pdf([label()])
    bars = re.findall(rb"n [\d.]+ 0 ([\d.]+) 20 re f", pdf)
    assert len(bars) >= 15  # the bars are drawn, each a whole number of modules wide
    assert all(round(float(w) / 0.72, 3) in (1, 2, 3, 4) for w in bars)


def test_no_labels_is_an_error():
    with pytest.raises(ValueError):
        labels.labels_pdf([])


def test_zpl_one_label_per_format_at_203_dpi():
    text = labels.labels_zpl([label(), label(accession="S000124", flags=("STAT",))])
    assert text.count("^XA") == 2 and text.count("^XZ") == 2
    assert "^PW406" in text and "^LL203" in text
    assert "^BCN" in text
    assert "^FDS000123^FS" in text and "^FDS000124^FS" in text
    assert "DOB 05/17/1980" in text and "NGUYEN, Linh" in text
    assert "STAT" in text


def test_zpl_field_data_cannot_inject_commands():
    text = labels.label_zpl(label(family_name="O^Brien~JA", tests=["^XZ"]))
    body = text.split("\n")
    data = [line for line in body if "^FD" in line]
    for line in data:
        field = line.split("^FD", 1)[1].rsplit("^FS", 1)[0]
        assert "^" not in field and "~" not in field


def test_requisition_pdf_has_barcode_identifiers_provider_tests_and_diagnoses():
    data = requisition.RequisitionData(
        order_number="L000007",
        organization="Riverbend Health",
        facility="Riverbend Family Clinic",
        family_name="Nguyen",
        given_name="Linh",
        birth_date=date(1980, 5, 17),
        sex="Female",
        mrn="100042",
        provider_name="Grace Okafor, MD",
        provider_npi="1234567893",
        ordered_at=datetime(2026, 11, 2, 9, 30),
        priority="Routine",
        basis="Standing order",
        cosign="Awaiting provider co-signature",
        fasting="yes, patient fasted",
        diagnoses=[("E11.9", "Type 2 diabetes mellitus without complications")],
        tests=[
            requisition.RequisitionTest("A1C", "Hemoglobin A1c", "4548-4", "Lavender", "Ref")
            for _ in range(60)  # long enough for a second page
        ],
        specimens=[("S000001", "Lavender top")],
    )
    pdf = requisition.requisition_pdf(data)
    assert pdf.startswith(b"%PDF")
    for text in (
        b"L000007",
        b"NGUYEN, Linh",
        b"Date of birth 05/17/1980",
        b"NPI 1234567893",
        b"E11.9",
        b"4548-4",
        b"S000001",
        b"Awaiting provider co-signature",
    ):
        assert text in pdf, text
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 2 or b"page 2" in pdf


def test_hundred_labels_render_fast():
    import time

    start = time.perf_counter()
    labels.labels_pdf([label(accession=f"S{n:06d}") for n in range(100)])
    assert time.perf_counter() - start < 2.0
