"""The billing pages: the worklist, a claim, the encounter form, editing, sending, the set-up."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from carebench.audit.models import AuditEvent
from carebench.billing import services
from carebench.billing.models import Claim, ClaimBatch, ProcedureCode
from carebench.conftest import signed_in
from carebench.testing import make_billing_clinic, make_claim, make_documented_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(biller: Any, icd10: Any) -> Any:
    return make_billing_clinic(biller)


@pytest.fixture
def client(biller: Any) -> Any:
    return signed_in(biller)


def test_the_worklist_shows_claims_with_counts_by_status(clinic: Any, client: Any) -> None:
    claim = make_claim(clinic, status="draft")
    page = client.get(reverse("billing:worklist")).content.decode()
    assert claim.number in page and "Draft <strong>1</strong>" in page


def test_the_worklist_filters_by_status(clinic: Any, client: Any) -> None:
    draft = make_claim(clinic, status="draft")
    paid = make_claim(clinic, status="paid")
    page = client.get(reverse("billing:worklist") + "?status=paid").content.decode()
    assert paid.number in page and draft.number not in page


def test_a_medication_technician_cannot_see_claims(clinic: Any, medtech: Any) -> None:
    assert signed_in(medtech).get(reverse("billing:worklist")).status_code == 403


def test_opening_a_claim_is_audited(clinic: Any, client: Any) -> None:
    claim = make_claim(clinic)
    assert client.get(reverse("billing:claim", args=[claim.pk])).status_code == 200
    assert AuditEvent.objects.filter(resource_type="Claim", resource_id=str(claim.pk)).exists()


def test_the_encounter_form_makes_a_priced_draft_claim(
    clinic: Any, client: Any, biller: Any
) -> None:
    visit = make_documented_visit(clinic, biller)
    url = reverse("billing:superbill", args=[visit.pk])
    page = client.get(url).content.decode()
    assert "93000" in page and "87880" in page
    response = client.post(url, {"em_code": "99213", "diagnoses": "I10, E11.9", "coverage": ""})
    claim = Claim.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/claims/{claim.pk}/")
    assert claim.lines.get(code="99213").modifiers == ["25"]


def test_the_encounter_form_names_a_bad_diagnosis(clinic: Any, client: Any, biller: Any) -> None:
    visit = make_documented_visit(clinic, biller)
    response = client.post(
        reverse("billing:superbill", args=[visit.pk]), {"em_code": "99213", "diagnoses": "E11"}
    )
    assert response.status_code == 422
    assert "E11 is a category, not a billable code" in response.content.decode()
    assert not Claim.objects.exists()


def test_checking_a_claim_shows_what_to_fix(clinic: Any, client: Any) -> None:
    claim = make_claim(clinic, status="draft", diagnoses=["E11"])
    client.post(reverse("billing:check", args=[claim.pk]))
    page = client.get(reverse("billing:claim", args=[claim.pk])).content.decode()
    assert "is a category, not a billable code" in page and "Fix:" in page


def test_editing_a_claim_reprices_and_keeps_the_pointers(clinic: Any, client: Any) -> None:
    claim = make_claim(clinic, status="draft")
    response = client.post(
        reverse("billing:edit", args=[claim.pk]),
        {
            "diagnoses": "I10, E11.9",
            "code_1": "99214",
            "modifiers_1": "25",
            "pointers_1": "1, 2",
            "code_2": "96372",
            "pointers_2": "2",
        },
    )
    assert response.status_code == 302
    lines = {line.code: line for line in claim.lines.all()}
    assert lines["99214"].pointers == [1, 2] and str(lines["99214"].charge) == "165.00"


def test_an_edit_with_a_bad_pointer_comes_back_with_the_rule(clinic: Any, client: Any) -> None:
    claim = make_claim(clinic, status="draft")
    response = client.post(
        reverse("billing:edit", args=[claim.pk]),
        {"diagnoses": "I10", "code_1": "99213", "pointers_1": "3"},
    )
    assert response.status_code == 422
    assert "points at diagnosis 3" in response.content.decode()


def test_sending_writes_a_batch_to_download(clinic: Any, client: Any) -> None:
    from carebench.core import clock

    claim = make_claim(clinic, status="ready", service_date=clock.today())
    assert client.post(reverse("billing:send")).status_code == 302
    batch = ClaimBatch.objects.get()
    download = client.get(reverse("billing:batch_file", args=[batch.pk]))
    assert (
        download.content.decode().startswith("ISA*") and claim.number in download.content.decode()
    )


def test_the_cms1500_downloads_as_pdf(clinic: Any, client: Any) -> None:
    claim = make_claim(clinic)
    response = client.get(reverse("billing:cms1500", args=[claim.pk]))
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")


def test_a_denied_claim_is_appealed_from_its_page(clinic: Any, client: Any) -> None:
    claim = make_claim(clinic, status="denied")
    client.post(
        reverse("billing:move", args=[claim.pk]), {"to_status": "appealed", "note": "notes sent"}
    )
    claim.refresh_from_db()
    assert claim.status == "appealed" and claim.events.last().note == "notes sent"


def test_the_manager_imports_the_code_file(clinic: Any, manager: Any) -> None:
    upload = SimpleUploadedFile("codes.csv", b"code,label\n99213,Office visit, est.\n")
    response = signed_in(manager).post(
        reverse("billing:setup"), {"action": "codes", "file": upload}
    )
    assert response.status_code == 422  # the label's comma makes a third, unnamed column
    upload = SimpleUploadedFile("codes.csv", b'code,label\n99213,"Office visit, est."\n')
    signed_in(manager).post(reverse("billing:setup"), {"action": "codes", "file": upload})
    assert ProcedureCode.objects.get().label == "Office visit, est."


def test_the_biller_cannot_change_the_set_up(clinic: Any, client: Any) -> None:
    response = client.post(reverse("billing:setup"), {"action": "profile"})
    assert response.status_code == 403


def test_a_claim_of_another_organization_is_not_found(
    clinic: Any, client: Any, other_mat: Any
) -> None:
    other = make_billing_clinic(other_mat, npi="1245319599")
    foreign = make_claim(other)
    assert client.get(reverse("billing:claim", args=[foreign.pk])).status_code == 404
    assert services  # the module under test is imported for its side effects on the URLconf


def test_the_manager_sets_how_a_payer_is_billed(clinic: Any, manager: Any) -> None:
    response = signed_in(manager).post(
        reverse("billing:setup"),
        {
            "action": "payer",
            "payer": clinic.payer.pk,
            "payer_code": "00430",
            "filing_indicator": "MB",
            "timely_filing_days": "365",
        },
    )
    assert response.status_code == 302
    clinic.payer.refresh_from_db()
    assert (clinic.payer.payer_code, clinic.payer.filing_indicator) == ("00430", "MB")


def test_a_timely_filing_limit_of_ten_days_is_refused(clinic: Any, manager: Any) -> None:
    response = signed_in(manager).post(
        reverse("billing:setup"),
        {
            "action": "payer",
            "payer": clinic.payer.pk,
            "payer_code": "00430",
            "filing_indicator": "CI",
            "timely_filing_days": "10",
        },
    )
    assert response.status_code == 422 and "between 30 and 1,095 days" in response.content.decode()
