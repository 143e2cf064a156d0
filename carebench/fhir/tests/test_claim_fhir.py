"""Claim over FHIR: the organization's professional claims, read and search.

The fixtures and helpers here (a billing clinic, a biller's client, `pay`) are shared with
test_eob_fhir.py (ClaimResponse and ExplanationOfBenefit).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.claim import Claim as FhirClaim
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.audit.models import Action, AuditEvent
from carebench.billing.models import Claim, ClaimPayment, LinePayment, Remittance
from carebench.core import clock
from carebench.patients.models import Patient
from carebench.testing import UserFactory, make_billing_clinic, make_claim

from .conftest import FhirClient, token_for

CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


# --- shared fixtures and helpers ----------------------------------------------------------------


@pytest.fixture
def billing(biller: Any) -> Any:
    """`make_billing_clinic` for the biller's organization."""
    return make_billing_clinic(biller)


@pytest.fixture
def biller_fhir(biller: Any) -> FhirClient:
    return FhirClient(token_for(biller))


@pytest.fixture
def other_biller_fhir(other_org: Any) -> FhirClient:
    """A biller of the other organization."""
    user = UserFactory(organization=other_org, username="biller-elsewhere", roles=["biller"])
    return FhirClient(token_for(user))


def client_for(org: Any, role: str) -> FhirClient:
    user = UserFactory(organization=org, username=f"{role}-fhir-billing", roles=[role])
    return FhirClient(token_for(user))


_trace = 0


def pay(
    claim: Claim,
    *,
    lines: list[dict[str, Any]] | None = None,
    status_code: str = "1",
    patient_responsibility: str = "0.00",
    adjustments: list[dict[str, str]] | None = None,
    imported_at: datetime | None = None,
    payment_date: date | None = date(2026, 11, 20),
    payer_claim_number: str = "ICN0001",
) -> ClaimPayment:
    """A remittance with one claim payment for `claim`, as the posting service would write it.

    `lines`: one dict per SVC: `line` (number on the claim, or None for an unmatched service),
    `code`, `charge`, `paid`, `allowed`, `adjustments`. The default pays every line its charge
    less a CO-45 of 10.00."""
    global _trace
    _trace += 1
    claim_lines = {line.number: line for line in claim.lines.all()}
    if lines is None:
        lines = [
            {
                "line": n,
                "charge": str(line.charge),
                "allowed": str(line.charge - 10),
                "paid": str(line.charge - 10),
                "adjustments": [{"group": "CO", "reason": "45", "amount": "10.00"}],
            }
            for n, line in claim_lines.items()
        ]
    paid = sum((Decimal(item["paid"]) for item in lines), Decimal(0))
    remittance = Remittance.objects.create(
        organization=claim.organization,
        payer=claim.payer,
        payer_name=claim.payer.name,
        trace_number=f"EFT{_trace:06d}",
        payment_date=payment_date,
        payment_method="ACH",
        total_paid=paid,
        imported_at=imported_at or clock.now(),
    )
    payment = ClaimPayment.objects.create(
        organization=claim.organization,
        remittance=remittance,
        claim=claim,
        patient_control_number=claim.number,
        status_code=status_code,
        charge=claim.total_charge,
        paid=paid,
        patient_responsibility=Decimal(patient_responsibility),
        payer_claim_number=payer_claim_number,
        adjustments=adjustments or [],
        remark_codes=[],
    )
    for item in lines:
        line = claim_lines.get(item["line"]) if item.get("line") else None
        LinePayment.objects.create(
            organization=claim.organization,
            payment=payment,
            line=line,
            code=item.get("code") or (line.code if line else "99999"),
            modifiers=line.modifiers if line else [],
            charge=Decimal(item["charge"]),
            paid=Decimal(item["paid"]),
            allowed=Decimal(item["allowed"]) if item.get("allowed") is not None else None,
            units=line.units if line else Decimal(1),
            adjustments=item.get("adjustments", []),
        )
    return payment


def ids(bundle: dict[str, Any]) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    OperationOutcome.model_validate(body)
    return body


# --- Claim --------------------------------------------------------------------------------------


def read(fhir: FhirClient, claim: Claim) -> dict[str, Any]:
    response = fhir.get(f"/fhir/Claim/{claim.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirClaim.model_validate(body)
    return body


def search(fhir: FhirClient, **params: Any) -> dict[str, Any]:
    response = fhir.get("/fhir/Claim", params)
    assert response.status_code == 200, response.content
    body = response.json()
    Bundle.model_validate(body)
    for entry in body.get("entry", []):
        FhirClaim.model_validate(entry["resource"])
    return body


def test_claim_reads_as_an_active_professional_claim(biller_fhir, billing):
    claim = make_claim(billing, number="CB000042")
    body = read(biller_fhir, claim)
    assert body["id"] == str(claim.pk)
    assert body["status"] == "active"
    assert body["type"]["coding"][0]["code"] == "professional"
    assert body["use"] == "claim"
    assert body["priority"]["coding"][0]["code"] == "normal"
    assert body["patient"] == {"reference": f"Patient/{billing.patient.pk}"}
    assert body["created"] == claim.created_at.isoformat()
    assert body["billablePeriod"] == {"start": "2026-11-02", "end": "2026-11-02"}
    assert body["identifier"] == [
        {"system": f"urn:carebench:claim:{billing.org.slug}", "value": "CB000042"}
    ]


def test_provider_is_the_rendering_practitioner_and_insurer_the_payer(biller_fhir, billing):
    body = read(biller_fhir, make_claim(billing))
    assert body["provider"] == {
        "reference": f"Practitioner/{billing.provider.pk}",
        "display": billing.provider.display_name,
    }
    assert body["insurer"] == {"display": "Acme Health", "identifier": {"value": "60054"}}
    assert body["facility"]["reference"] == f"Location/{billing.facility.pk}"


@pytest.mark.parametrize("status", ["draft", "ready", "submitted", "paid", "denied", "rejected"])
def test_every_live_status_is_active(biller_fhir, billing, status):
    assert read(biller_fhir, make_claim(billing, status=status))["status"] == "active"


def test_voided_claim_is_cancelled(biller_fhir, billing):
    assert read(biller_fhir, make_claim(billing, status="void"))["status"] == "cancelled"


def test_insurance_is_the_focal_coverage(biller_fhir, billing):
    claim = make_claim(billing)
    Claim.objects.filter(pk=claim.pk).update(prior_auth_number="PA777")
    body = read(biller_fhir, claim)
    assert body["insurance"] == [
        {
            "sequence": 1,
            "focal": True,
            "coverage": {"reference": f"Coverage/{billing.coverage.pk}"},
            "preAuthRef": ["PA777"],
        }
    ]


def test_diagnoses_are_icd10cm_with_the_dot_in_order(biller_fhir, billing, icd10):
    body = read(biller_fhir, make_claim(billing, diagnoses=["E119", "I10"]))
    first, second = body["diagnosis"]
    assert first["sequence"] == 1
    assert first["diagnosisCodeableConcept"]["coding"] == [
        {
            "system": ICD10CM,
            "code": "E11.9",
            "display": "Type 2 diabetes mellitus without complications",
        }
    ]
    assert first["type"][0]["coding"][0]["code"] == "principal"
    assert second["sequence"] == 2
    assert second["diagnosisCodeableConcept"]["coding"][0]["code"] == "I10"


def test_items_carry_code_modifier_pointers_quantity_and_price(biller_fhir, billing):
    claim = make_claim(billing)
    claim.lines.filter(number=2).update(units=Decimal(2), pointers=[1, 2])
    first, second = read(biller_fhir, claim)["item"]
    assert first["sequence"] == 1
    assert first["diagnosisSequence"] == [1]
    assert first["productOrService"]["coding"] == [{"system": CPT, "code": "99213"}]
    assert first["modifier"] == [{"coding": [{"system": CPT, "code": "25"}]}]
    assert first["servicedDate"] == "2026-11-02"
    assert first["quantity"] == {"value": 1}
    assert first["net"] == {"value": 110, "currency": "USD"}
    assert second["diagnosisSequence"] == [1, 2]
    assert second["quantity"] == {"value": 2}
    assert second["unitPrice"] == {"value": 15, "currency": "USD"}
    assert second["net"] == {"value": 30, "currency": "USD"}


def test_letter_codes_and_modifiers_are_hcpcs(biller_fhir, billing):
    claim = make_claim(billing, lines=[("J1030", "12.50")], modifiers={1: ["JZ"]})
    (item,) = read(biller_fhir, claim)["item"]
    assert item["productOrService"]["coding"] == [{"system": HCPCS, "code": "J1030"}]
    assert item["modifier"] == [{"coding": [{"system": HCPCS, "code": "JZ"}]}]
    assert item["net"] == {"value": 12.5, "currency": "USD"}


def test_total_is_the_claims_charge(biller_fhir, billing):
    body = read(biller_fhir, make_claim(billing))
    assert body["total"] == {"value": 140, "currency": "USD"}


def test_read_is_audited(biller_fhir, billing, biller):
    claim = make_claim(billing)
    read(biller_fhir, claim)
    event = AuditEvent.objects.get(action=Action.VIEW, resource_type="Claim")
    assert (event.resource_id, event.patient_id, event.user_id) == (
        str(claim.pk),
        billing.patient.pk,
        biller.pk,
    )
    assert json.loads(event.detail)["fhir"] == f"Claim/{claim.pk}"


def test_search_is_audited(biller_fhir, billing):
    claim = make_claim(billing)
    search(biller_fhir, patient=billing.patient.pk)
    event = AuditEvent.objects.get(action=Action.SEARCH, resource_type="Claim")
    assert event.patient_id == billing.patient.pk
    detail = json.loads(event.detail)
    assert detail["ids"] == [claim.pk] and detail["fhir"] == "Claim"


def test_search_by_patient_returns_their_claims_newest_service_first(biller_fhir, billing):
    older = make_claim(billing, service_date=date(2026, 10, 1))
    newer = make_claim(billing, service_date=date(2026, 11, 1))
    body = search(biller_fhir, patient=f"Patient/{billing.patient.pk}")
    assert body["total"] == 2
    assert ids(body) == [str(newer.pk), str(older.pk)]


def test_search_by_status(biller_fhir, billing):
    live = make_claim(billing)
    void = make_claim(billing, status="void")
    patient = billing.patient.pk
    assert ids(search(biller_fhir, patient=patient, status="cancelled")) == [str(void.pk)]
    assert ids(search(biller_fhir, patient=patient, status="active")) == [str(live.pk)]
    assert search(biller_fhir, patient=patient, status="draft")["total"] == 0


def test_search_by_use(biller_fhir, billing):
    make_claim(billing)
    patient = billing.patient.pk
    assert search(biller_fhir, patient=patient, use="claim")["total"] == 1
    assert search(biller_fhir, patient=patient, use="preauthorization")["total"] == 0


def test_search_by_created_date(biller_fhir, billing):
    make_claim(billing)
    today = clock.today()
    patient = billing.patient.pk
    assert search(biller_fhir, patient=patient, created=today.isoformat())["total"] == 1
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert search(biller_fhir, patient=patient, created=f"ge{tomorrow}")["total"] == 0


def test_search_by_claim_number(biller_fhir, billing):
    claim = make_claim(billing, number="CB000777")
    make_claim(billing)
    system = f"urn:carebench:claim:{billing.org.slug}"
    found = search(biller_fhir, patient=billing.patient.pk, identifier=f"{system}|CB000777")
    assert ids(found) == [str(claim.pk)]


def test_search_pages_with_count(biller_fhir, billing):
    for _ in range(3):
        make_claim(billing)
    body = search(biller_fhir, patient=billing.patient.pk, _count=2)
    assert body["total"] == 3 and len(body["entry"]) == 2
    following = next(link["url"] for link in body["link"] if link["relation"] == "next")
    assert "_offset=2" in following


def test_search_needs_the_patient(biller_fhir, billing):
    error_of(biller_fhir.get("/fhir/Claim"), 400)


def test_another_organizations_claim_is_404(other_biller_fhir, billing):
    error_of(other_biller_fhir.get(f"/fhir/Claim/{make_claim(billing).pk}"), 404)


def test_search_never_shows_another_organizations_claims(other_biller_fhir, billing):
    make_claim(billing)
    assert search(other_biller_fhir, patient=billing.patient.pk)["total"] == 0


def test_reading_needs_view_claim(fhir, billing, mat):
    error_of(fhir.get(f"/fhir/Claim/{make_claim(billing).pk}"), 403)
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED)
    assert denied.user_id == mat.pk and json.loads(denied.detail)["needs"] == ["billing.view_claim"]


def test_front_desk_may_read_claims(org, billing):
    read(client_for(org, "frontdesk"), make_claim(billing))


def test_voided_patients_claim_is_410_and_left_out_of_searches(biller_fhir, billing):
    claim = make_claim(billing)
    Patient.objects.filter(pk=billing.patient.pk).update(voided_at=clock.now())
    error_of(biller_fhir.get(f"/fhir/Claim/{claim.pk}"), 410)
    assert search(biller_fhir, patient=billing.patient.pk)["total"] == 0


def test_capability_statement_lists_the_billing_resources(anonymous, db):
    body = anonymous.get("/fhir/metadata").json()
    CapabilityStatement.model_validate(body)
    resources = {r["type"]: r for r in body["rest"][0]["resource"]}
    for kind, params in (
        ("Claim", {"patient", "status", "use", "created", "identifier"}),
        ("ClaimResponse", {"patient", "request"}),
        ("ExplanationOfBenefit", {"patient"}),
    ):
        assert {i["code"] for i in resources[kind]["interaction"]} == {"read", "search-type"}
        assert params <= {p["name"] for p in resources[kind]["searchParam"]}
