"""The CMS-1500 (02/12) PDF: pure module, no database."""

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from carebench.billing.cms1500 import (
    Address,
    Cms1500Claim,
    Cms1500Line,
    Provider1500,
    field_values,
    render_cms1500,
)

SERVICE_DAY = date(2025, 3, 4)


def _line(
    code: str = "99213", pointers: str = "A", charge: str = "100.00", **changes
) -> Cms1500Line:
    line = Cms1500Line(
        date_from=SERVICE_DAY,
        date_to=SERVICE_DAY,
        place_of_service="11",
        emergency=False,
        code=code,
        modifiers=[],
        pointers=pointers,
        charge=Decimal(charge),
        units=Decimal("1"),
        rendering_npi="1234567893",
    )
    return replace(line, **changes)


def _claim(**changes) -> Cms1500Claim:
    claim = Cms1500Claim(
        insurance_type="group",
        insured_id="XYZ123456789",
        patient_last="Doe",
        patient_first="Jane",
        patient_middle="Quinn",
        patient_birth_date=date(1980, 1, 15),
        patient_sex="F",
        insured_last="Doe",
        insured_first="John",
        patient_address=Address(
            "123 N. Main St.", "Apt #4", "Springfield", "IL", "627011234", "(217) 555-0142"
        ),
        relationship="spouse",
        insured_address=Address("123 N. Main St.", "", "Springfield", "IL", "62701"),
        insured_group="GRP-0042",
        insured_birth_date=date(1978, 6, 2),
        insured_sex="M",
        plan_name="Acme PPO Gold",
        other_plan=False,
        condition_employment=False,
        condition_auto=False,
        condition_other=False,
        illness_date=date(2025, 3, 1),
        referring_name="Alan B. Smith MD",
        referring_npi="1245319599",
        additional_info="",
        diagnoses=["E11.9", "I10", "Z23"],
        prior_auth="PA998877",
        lines=[
            _line("99213", "AB", "125.00", modifiers=["25"]),
            _line("36415", "A", "15.50"),
            _line("90715", "C", "48.00", ndc="58160-842-11", ndc_quantity="ML0.5"),
        ],
        federal_tax_id="12-3456789",
        tax_id_is_ein=True,
        patient_account="ENC10042",
        accept_assignment=True,
        amount_paid=Decimal("20.00"),
        physician_signature="Maria Lopez MD",
        signature_date=date(2025, 3, 5),
        facility=Provider1500(
            "Carebench Family Clinic",
            "500 Oak Ave",
            "Suite 200",
            "Springfield",
            "IL",
            "62704",
            "1497758544",
        ),
        billing=Provider1500(
            "Carebench Medical Group",
            "PO Box 100",
            "",
            "Springfield",
            "IL",
            "627040100",
            "1972545372",
        ),
        billing_phone="217-555-0100",
    )
    return replace(claim, **changes)


def _page_texts(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_pdf_holds_the_patient_diagnoses_codes_and_total():
    (text,) = _page_texts(render_cms1500(_claim()))

    assert "DOE, JANE, Q" in text
    for code in ("E119", "I10", "Z23", "99213", "36415", "90715"):
        assert code in text
    assert "188 50" in text  # box 28: 125.00 + 15.50 + 48.00


def test_seven_lines_make_two_pages_with_the_total_on_the_last():
    lines = [_line(pointers="A") for _ in range(7)]

    first, second = _page_texts(render_cms1500(_claim(lines=lines)))

    assert "CONTINUED" in first and "700 00" not in first
    assert "700 00" in second and "CONTINUED" not in second
    assert "DOE, JANE, Q" in second  # every page repeats the claim's boxes


def test_a_pointer_to_no_diagnosis_names_box_24e():
    with pytest.raises(ValueError, match="24E"):
        render_cms1500(_claim(lines=[_line(pointers="AD")]))  # three diagnoses: A-C


def test_more_than_twelve_diagnoses_names_box_21():
    with pytest.raises(ValueError, match="box 21"):
        field_values(_claim(diagnoses=[f"Z{code:02d}" for code in range(13)]))


def test_field_values_of_a_sample_claim():
    values = field_values(_claim())

    assert values["1"] == "GROUP HEALTH PLAN"
    assert values["1a"] == "XYZ123456789"
    assert values["2"] == "DOE, JANE, Q"
    assert values["3"] == "01 15 1980"
    assert values["3-sex"] == "F"
    assert values["5"] == "123 N MAIN ST APT 4"
    assert values["5-zip"] == "62701-1234"
    assert values["5-phone"] == "217 5550142"
    assert values["6"] == "SPOUSE"
    assert values["10a"] == "NO"
    assert values["12"] == values["13"] == "SIGNATURE ON FILE"
    assert values["17"] == "ALAN B SMITH MD"
    assert values["21-ind"] == "0"
    assert (values["21A"], values["21B"], values["21C"]) == ("E119", "I10", "Z23")
    assert "21D" not in values
    assert values["24A-1"] == "03 04 25 03 04 25"
    assert values["24D-1"] == "99213 25"
    assert values["24E-1"] == "AB"
    assert values["24F-1"] == "125 00"
    assert values["24F-2"] == "15 50"
    assert values["24G-1"] == "1"
    assert values["24J-1"] == "1234567893"
    assert values["24NDC-3"] == "N458160084211   ML0.5"
    assert values["25"] == "123456789"
    assert values["25-type"] == "EIN"
    assert values["27"] == "YES"
    assert values["28"] == "188 50"
    assert values["29"] == "20 00"
    assert values["31-date"] == "03 05 25"
    assert values["32"] == "CAREBENCH FAMILY CLINIC\n500 OAK AVE SUITE 200\nSPRINGFIELD IL 62704"
    assert values["32a"] == "1497758544"
    assert values["33-phone"] == "217 5550100"
    assert values["33a"] == "1972545372"


def test_draw_form_draws_the_labels():
    (text,) = _page_texts(render_cms1500(_claim(), draw_form=True))

    assert "PATIENT'S NAME" in text


def test_data_only_prints_no_labels():
    (text,) = _page_texts(render_cms1500(_claim()))

    assert "PATIENT'S NAME" not in text
