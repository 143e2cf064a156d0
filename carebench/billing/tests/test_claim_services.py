"""Claims from documented visits: pricing, the checks, status moves, the 837P batch, the
CMS-1500, and the clinic's code and fee files."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from pypdf import PdfReader

from carebench.billing import services
from carebench.billing.models import Claim, ClaimBatch, ProcedureCode
from carebench.billing.services import LineInput
from carebench.billing.x12.check837 import check_837p, validate_with_pyx12
from carebench.core import clock
from carebench.scheduling.models import Provider
from carebench.testing import make_billing_clinic, make_claim, make_documented_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(biller: Any, icd10: Any) -> Any:
    return make_billing_clinic(biller)


@pytest.fixture
def visit(clinic: Any, biller: Any) -> Any:
    return make_documented_visit(clinic, biller)


def _claim(clinic: Any, visit: Any, **kw: Any) -> Claim:
    return services.create_claim(
        actor=clinic.actor, encounter=visit, diagnoses=["I10", "E11.9"], em_code="99213", **kw
    )


def test_the_superbill_lists_every_documented_service_with_its_modifiers(
    clinic: Any, visit: Any
) -> None:
    lines = services.superbill_lines(visit, em_code="99213")
    assert [(line.code, line.modifiers, line.units) for line in lines] == [
        ("99213", ("25",), Decimal(1)),
        ("93000", (), Decimal(1)),
        ("96372", (), Decimal(1)),
        ("J1030", (), Decimal(1)),
        ("90471", (), Decimal(1)),
        ("90472", (), Decimal(1)),
        ("90662", (), Decimal(1)),
        ("90715", (), Decimal(1)),
        ("36415", (), Decimal(1)),
        ("87880", ("QW",), Decimal(1)),
        ("81002", (), Decimal(1)),
    ]


def test_a_voided_ecg_is_not_billed(clinic: Any, visit: Any) -> None:
    visit.ekgs.update(voided_at=clock.now())
    assert "93000" not in [line.code for line in services.superbill_lines(visit)]


def test_a_claim_is_priced_from_the_payers_schedule_before_the_standard_one(
    clinic: Any, visit: Any
) -> None:
    claim = _claim(clinic, visit)
    charges = {line.code: line.charge for line in claim.lines.all()}
    assert charges["99213"] == Decimal("105.00")  # Acme's own fee
    assert charges["36415"] == Decimal("15.00")  # the standard charge
    assert claim.total_charge == sum(charges.values())
    assert claim.status == Claim.Status.DRAFT and claim.number.startswith("CB")


def test_a_code_without_a_fee_is_refused_naming_the_line(clinic: Any, visit: Any) -> None:
    clinic.standard.fees.filter(code="J1030").delete()
    with pytest.raises(ValidationError) as error:
        _claim(clinic, visit)
    assert "line 4 charge" in error.value.message_dict
    assert not Claim.objects.exists()


def test_a_category_code_cannot_be_the_diagnosis(clinic: Any, visit: Any) -> None:
    with pytest.raises(ValidationError) as error:
        services.create_claim(actor=clinic.actor, encounter=visit, diagnoses=["E11"])
    assert "category" in error.value.message_dict["diagnosis 1"][0]


def test_a_second_claim_for_the_same_visit_and_coverage_is_refused(clinic: Any, visit: Any) -> None:
    _claim(clinic, visit)
    with pytest.raises(ValidationError, match="already has a claim"):
        _claim(clinic, visit)


def test_another_organizations_visit_cannot_be_billed(
    clinic: Any, other_mat: Any, icd10: Any
) -> None:
    other = make_billing_clinic(other_mat, npi="1245319599")
    foreign_visit = make_documented_visit(other, other_mat)
    with pytest.raises(PermissionError):
        _claim(clinic, foreign_visit)


def test_a_clean_claim_becomes_ready_with_an_event(clinic: Any, visit: Any) -> None:
    claim = _claim(clinic, visit)
    assert services.mark_ready(actor=clinic.actor, claim=claim) == []
    claim.refresh_from_db()
    assert claim.status == Claim.Status.READY
    assert claim.events.last().to_status == Claim.Status.READY


def test_a_bad_rendering_npi_keeps_the_claim_back_naming_the_field(clinic: Any, visit: Any) -> None:
    claim = _claim(clinic, visit)
    Provider.objects.filter(pk=clinic.provider.pk).update(npi="1234567890")
    problems = services.mark_ready(actor=clinic.actor, claim=claim)
    assert [p.field for p in problems] == ["rendering provider NPI"]
    assert "check digit" in problems[0].message
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT and claim.problems[0]["fix"]


def test_a_claim_past_the_payers_filing_limit_is_held(clinic: Any) -> None:
    old = make_claim(clinic, status="draft", service_date=clock.today() - timedelta(days=400))
    problems = services.mark_ready(actor=clinic.actor, claim=old)
    assert any("timely-filing" in p.message for p in problems)


def test_a_pointer_past_the_diagnoses_is_refused_when_editing(clinic: Any, visit: Any) -> None:
    claim = _claim(clinic, visit)
    with pytest.raises(ValidationError) as error:
        services.update_claim(
            actor=clinic.actor,
            claim=claim,
            diagnoses=["I10"],
            lines=[LineInput(code="99213", pointers=(1, 2))],
        )
    assert "points at diagnosis 2" in error.value.message_dict["line 1 diagnosis pointers"][0]


def test_editing_a_ready_claim_sends_it_back_to_draft_with_the_new_total(
    clinic: Any, visit: Any
) -> None:
    claim = _claim(clinic, visit)
    services.mark_ready(actor=clinic.actor, claim=claim)
    services.update_claim(
        actor=clinic.actor,
        claim=claim,
        diagnoses=["I10"],
        lines=[LineInput(code="99214", modifiers=("25",)), LineInput(code="93000")],
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT
    assert claim.total_charge == Decimal("210.00")


def test_a_submitted_claim_cannot_be_edited(clinic: Any) -> None:
    claim = make_claim(clinic, status="submitted")
    with pytest.raises(ValidationError, match="replacement claim"):
        services.update_claim(
            actor=clinic.actor, claim=claim, diagnoses=["I10"], lines=[LineInput(code="99213")]
        )


def test_the_ready_claims_go_out_as_one_837p_that_pyx12_accepts(clinic: Any, visit: Any) -> None:
    claim = _claim(clinic, visit)
    services.mark_ready(actor=clinic.actor, claim=claim)
    batch = services.export_837p(actor=clinic.actor)
    assert batch is not None and batch.claim_count == 1
    assert validate_with_pyx12(batch.content) == []
    assert check_837p(batch.content, today=clock.today()) == []
    assert f"CLM*{claim.number}*" in batch.content and "REF*6R*" in batch.content
    assert "LIN**N4*00009307301" in batch.content  # the J code's NDC, 11 digits
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED and claim.batch == batch


def test_each_batch_takes_the_next_interchange_control_number(clinic: Any) -> None:
    for _ in range(2):
        make_claim(clinic, status="ready", service_date=clock.today())
        services.export_837p(actor=clinic.actor)
    assert sorted(ClaimBatch.objects.values_list("interchange_control", flat=True)) == [1, 2]


def test_nothing_ready_writes_no_batch(clinic: Any) -> None:
    make_claim(clinic, status="draft")
    assert services.export_837p(actor=clinic.actor) is None
    assert not ClaimBatch.objects.exists()


def test_the_export_command_writes_the_ready_claims(clinic: Any, visit: Any, tmp_path: Any) -> None:
    claim = _claim(clinic, visit)
    services.mark_ready(actor=clinic.actor, claim=claim)
    out = io.StringIO()
    target = tmp_path / "claims.x12"
    call_command("carebench_claims", "export", "--format", "837p", "-o", str(target), stdout=out)
    assert "1 claims" in out.getvalue()
    assert target.read_text().startswith("ISA*")


def test_the_cms1500_shows_the_claim(clinic: Any, visit: Any) -> None:
    claim = _claim(clinic, visit)
    pdf = services.cms1500_pdf(actor=clinic.actor, claim=claim)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert claim.number in text and "ACM123456789" in text
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2  # 11 lines, six a page


def test_a_denied_claim_can_be_appealed_with_a_reason(clinic: Any) -> None:
    claim = make_claim(clinic, status="denied")
    services.move_claim(actor=clinic.actor, claim=claim, to_status="appealed", note="records sent")
    claim.refresh_from_db()
    assert claim.status == Claim.Status.APPEALED


def test_a_submitted_claim_cannot_go_back_to_draft_by_hand(clinic: Any) -> None:
    claim = make_claim(clinic, status="submitted")
    with pytest.raises(ValidationError, match="submitted claim can go to rejected"):
        services.move_claim(actor=clinic.actor, claim=claim, to_status="draft", note="oops")


def test_the_clinics_code_file_is_imported_with_its_own_labels(clinic: Any) -> None:
    counts = services.import_procedure_codes(
        actor=clinic.actor,
        text="code,label\n99213,Office visit est 20-29 min\nJ1030,Methylpred 40 mg\n",
    )
    assert counts == {"added": 2, "updated": 0}
    assert ProcedureCode.objects.get(code="J1030").kind == "hcpcs"


def test_a_bad_row_refuses_the_whole_code_file(clinic: Any) -> None:
    with pytest.raises(ValidationError) as error:
        services.import_procedure_codes(
            actor=clinic.actor, text="code,label\n99213,Office visit\n9921,Too short\n"
        )
    assert "row 3 code" in error.value.message_dict
    assert not ProcedureCode.objects.exists()


def test_a_code_missing_from_the_imported_catalog_is_flagged(clinic: Any) -> None:
    services.import_procedure_codes(actor=clinic.actor, text="code,label\n99213,Office visit\n")
    claim = make_claim(clinic, status="draft", service_date=clock.today())
    problems = services.mark_ready(actor=clinic.actor, claim=claim)
    assert [p.field for p in problems] == ["line 2 (96372) code"]


def test_a_fee_file_with_a_bad_amount_is_refused(clinic: Any) -> None:
    with pytest.raises(ValidationError) as error:
        services.import_fees(
            actor=clinic.actor, schedule=clinic.standard, text="code,amount\n99213,12.345\n"
        )
    assert "row 2 amount" in error.value.message_dict


def test_the_billing_profile_needs_a_zip_plus_4(clinic: Any) -> None:
    with pytest.raises(ValidationError) as error:
        services.save_billing_profile(actor=clinic.actor, postal_code="78701")
    assert "ZIP+4" in error.value.message_dict["postal_code"][0]


def test_a_visit_without_coverage_cannot_be_billed_to_insurance(clinic: Any, visit: Any) -> None:
    clinic.coverage.end_date = date(2024, 12, 31)
    clinic.coverage.save()
    with pytest.raises(ValidationError) as error:
        _claim(clinic, visit)
    assert "no primary coverage" in error.value.message_dict["coverage"][0]


def test_a_medicare_claim_administers_the_flu_shot_with_g0008(clinic: Any, visit: Any) -> None:
    from carebench.billing.models import Fee

    clinic.payer.filing_indicator = "MB"
    clinic.payer.save()
    Fee.objects.create(schedule=clinic.standard, code="G0008", amount="20.00")
    claim = _claim(clinic, visit)
    codes = [line.code for line in claim.lines.all()]
    assert "G0008" in codes and codes.count("90471") == 1 and "90472" not in codes


def test_a_drug_is_billed_in_its_hcpcs_units_for_the_amount_given(clinic: Any, visit: Any) -> None:
    from carebench.meds.models import Administration, Product

    Product.objects.filter(organization=clinic.org, billing_code="J1030").update(
        billing_units=Decimal(1)
    )
    Administration.objects.filter(encounter=visit, product__billing_code="J1030").update(
        dose_amount=Decimal(2)
    )  # 80 mg: two vials' worth of the 40 mg code
    line = next(x for x in services.superbill_lines(visit) if x.code == "J1030")
    assert line.units == Decimal(2)
