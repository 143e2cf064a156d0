"""ClaimResponse and ExplanationOfBenefit over FHIR: the payer's decisions (835 claim payments)
on the organization's claims, read and search."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from carebench.audit.models import Action, AuditEvent
from carebench.billing.models import ClaimPayment, Remittance
from carebench.core import clock
from carebench.patients.models import Patient
from carebench.testing import make_claim

from .conftest import FhirClient
from .test_claim_fhir import biller_fhir, billing, client_for, error_of, ids, other_biller_fhir, pay

__all__ = ["billing", "biller_fhir", "other_biller_fhir"]

CARC = "https://x12.org/codes/claim-adjustment-reason-codes"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"


def get(fhir: FhirClient, path: str, model: Any) -> dict[str, Any]:
    response = fhir.get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    model.model_validate(body)
    return body


def find(fhir: FhirClient, resource: str, model: Any, **params: Any) -> dict[str, Any]:
    response = fhir.get(f"/fhir/{resource}", params)
    assert response.status_code == 200, response.content
    body = response.json()
    Bundle.model_validate(body)
    for entry in body.get("entry", []):
        model.model_validate(entry["resource"])
    return body


def response_of(fhir: FhirClient, payment: ClaimPayment) -> dict[str, Any]:
    return get(fhir, f"/fhir/ClaimResponse/{payment.pk}", ClaimResponse)


def eob_of(fhir: FhirClient, claim: Any) -> dict[str, Any]:
    return get(fhir, f"/fhir/ExplanationOfBenefit/{claim.pk}", ExplanationOfBenefit)


def amounts(adjudication: list[dict[str, Any]]) -> dict[str, Any]:
    """Adjudication as {category code (or group:reason): amount}."""
    found = {}
    for item in adjudication:
        code = item["category"]["coding"][0]["code"]
        if "reason" in item:
            code = f"{code}:{item['reason']['coding'][0]['code']}"
        found[code] = item["amount"]["value"]
    return found


def denied_second_line(claim: Any) -> list[dict[str, Any]]:
    """99213 paid 80 (allowed 80, CO-45 30), 96372 denied (CO-97 30)."""
    return [
        {
            "line": 1,
            "charge": "110.00",
            "allowed": "80.00",
            "paid": "80.00",
            "adjustments": [{"group": "CO", "reason": "45", "amount": "30.00"}],
        },
        {
            "line": 2,
            "charge": "30.00",
            "allowed": "0.00",
            "paid": "0.00",
            "adjustments": [{"group": "CO", "reason": "97", "amount": "30.00"}],
        },
    ]


# --- ClaimResponse ------------------------------------------------------------------------------


def test_claim_response_reads_the_payers_decision(biller_fhir, billing):
    claim = make_claim(billing)
    payment = pay(claim)
    body = response_of(biller_fhir, payment)
    assert body["id"] == str(payment.pk)
    assert (body["status"], body["use"]) == ("active", "claim")
    assert body["type"]["coding"][0]["code"] == "professional"
    assert body["patient"] == {"reference": f"Patient/{billing.patient.pk}"}
    assert body["created"] == payment.remittance.imported_at.isoformat()
    assert body["insurer"] == {"display": "Acme Health", "identifier": {"value": "60054"}}
    assert body["request"] == {"reference": f"Claim/{claim.pk}"}
    assert body["identifier"] == [{"value": "ICN0001"}]


def test_claim_response_outcome_is_complete_when_every_line_is_paid(biller_fhir, billing):
    body = response_of(biller_fhir, pay(make_claim(billing)))
    assert body["outcome"] == "complete"
    assert body["disposition"] == "Processed as primary"


def test_claim_response_payment_is_the_amount_and_date(biller_fhir, billing):
    payment = pay(make_claim(billing))
    body = response_of(biller_fhir, payment)
    assert body["payment"]["amount"] == {"value": 120, "currency": "USD"}
    assert body["payment"]["date"] == "2026-11-20"
    assert body["payment"]["identifier"] == {"value": payment.remittance.trace_number}
    assert body["payment"]["type"]["coding"][0]["code"] == "complete"


def test_claim_response_items_are_adjudicated_per_line(biller_fhir, billing):
    body = response_of(biller_fhir, pay(make_claim(billing)))
    first, second = body["item"]
    assert first["itemSequence"] == 1 and second["itemSequence"] == 2
    assert amounts(first["adjudication"]) == {
        "submitted": 110,
        "eligible": 100,
        "benefit": 100,
        "CO:45": 10,
    }
    submitted = first["adjudication"][0]["category"]["coding"][0]
    assert submitted["system"] == ADJUDICATION


def test_adjustments_carry_the_carc_as_reason(biller_fhir, billing):
    body = response_of(biller_fhir, pay(make_claim(billing)))
    adjustment = body["item"][0]["adjudication"][-1]
    assert adjustment["reason"] == {"coding": [{"system": CARC, "code": "45"}]}
    assert adjustment["category"]["coding"][0]["code"] == "CO"
    assert adjustment["amount"] == {"value": 10, "currency": "USD"}


def test_claim_response_is_partial_when_a_line_is_denied(biller_fhir, billing):
    claim = make_claim(billing)
    body = response_of(biller_fhir, pay(claim, lines=denied_second_line(claim)))
    assert body["outcome"] == "partial"


def test_deductible_line_is_not_a_denial(biller_fhir, billing):
    claim = make_claim(billing, lines=[("99213", "110.00")])
    lines = [
        {
            "line": 1,
            "charge": "110.00",
            "allowed": "100.00",
            "paid": "0.00",
            "adjustments": [
                {"group": "CO", "reason": "45", "amount": "10.00"},
                {"group": "PR", "reason": "1", "amount": "100.00"},
            ],
        }
    ]
    payment = pay(claim, lines=lines, patient_responsibility="100.00")
    body = response_of(biller_fhir, payment)
    assert body["outcome"] == "complete"
    assert amounts(body["total"])["memberliability"] == 100


def test_denied_claim_is_partial_with_its_disposition(biller_fhir, billing):
    claim = make_claim(billing, lines=[("99213", "110.00")])
    lines = [{"line": 1, "charge": "110.00", "paid": "0.00", "adjustments": []}]
    payment = pay(
        claim,
        lines=lines,
        status_code="4",
        adjustments=[{"group": "CO", "reason": "29", "amount": "110.00"}],
    )
    body = response_of(biller_fhir, payment)
    assert (body["outcome"], body["disposition"]) == ("partial", "Denied")
    assert amounts(body["adjudication"]) == {"CO:29": 110}


def test_claim_response_total_has_submitted_eligible_and_benefit(biller_fhir, billing):
    body = response_of(biller_fhir, pay(make_claim(billing)))
    assert amounts(body["total"]) == {"submitted": 140, "eligible": 120, "benefit": 120}


def test_service_matched_to_no_line_is_an_add_item(biller_fhir, billing):
    claim = make_claim(billing, lines=[("99213", "110.00")])
    lines = [
        {"line": 1, "charge": "110.00", "allowed": "100.00", "paid": "100.00"},
        {"line": None, "code": "J1030", "charge": "12.00", "paid": "0.00"},
    ]
    body = response_of(biller_fhir, pay(claim, lines=lines))
    (added,) = body["addItem"]
    assert added["productOrService"]["coding"][0]["code"] == "J1030"
    assert amounts(added["adjudication"]) == {"submitted": 12, "benefit": 0}


def test_unmatched_claim_payment_is_404(biller_fhir, billing):
    payment = pay(make_claim(billing))
    ClaimPayment.objects.filter(pk=payment.pk).update(claim=None)
    error_of(biller_fhir.get(f"/fhir/ClaimResponse/{payment.pk}"), 404)


def test_claim_responses_search_by_patient_and_by_request(biller_fhir, billing):
    claim, other = make_claim(billing), make_claim(billing)
    first, second = pay(claim), pay(other)
    by_patient = find(biller_fhir, "ClaimResponse", ClaimResponse, patient=billing.patient.pk)
    assert ids(by_patient) == [str(first.pk), str(second.pk)]
    by_request = find(biller_fhir, "ClaimResponse", ClaimResponse, request=f"Claim/{other.pk}")
    assert ids(by_request) == [str(second.pk)]


def test_claim_response_search_needs_patient_or_request(biller_fhir, billing):
    error_of(biller_fhir.get("/fhir/ClaimResponse"), 400)


def test_claim_response_read_and_search_are_audited(biller_fhir, billing, biller):
    payment = pay(make_claim(billing))
    response_of(biller_fhir, payment)
    find(biller_fhir, "ClaimResponse", ClaimResponse, request=payment.claim_id)
    read = AuditEvent.objects.get(action=Action.VIEW, resource_type="ClaimPayment")
    assert (read.resource_id, read.patient_id, read.user_id) == (
        str(payment.pk),
        billing.patient.pk,
        biller.pk,
    )
    searched = AuditEvent.objects.get(action=Action.SEARCH, resource_type="ClaimPayment")
    assert searched.patient_id == billing.patient.pk
    assert json.loads(searched.detail)["ids"] == [payment.pk]


def test_claim_response_needs_view_claimpayment(org, billing):
    provider = client_for(org, "provider")  # may view claims, not payments
    payment = pay(make_claim(billing))
    error_of(provider.get(f"/fhir/ClaimResponse/{payment.pk}"), 403)


def test_another_organizations_claim_response_is_404_and_never_found(other_biller_fhir, billing):
    payment = pay(make_claim(billing))
    error_of(other_biller_fhir.get(f"/fhir/ClaimResponse/{payment.pk}"), 404)
    found = find(other_biller_fhir, "ClaimResponse", ClaimResponse, patient=billing.patient.pk)
    assert found["total"] == 0


def test_voided_patients_claim_response_is_410(biller_fhir, billing):
    payment = pay(make_claim(billing))
    Patient.objects.filter(pk=billing.patient.pk).update(voided_at=clock.now())
    error_of(biller_fhir.get(f"/fhir/ClaimResponse/{payment.pk}"), 410)


# --- ExplanationOfBenefit -----------------------------------------------------------------------


def test_eob_reads_as_the_claim_with_its_payer_decision(biller_fhir, billing):
    claim = make_claim(billing, number="CB000099")
    payment = pay(claim)
    body = eob_of(biller_fhir, claim)
    assert body["id"] == str(claim.pk)
    assert (body["status"], body["use"], body["outcome"]) == ("active", "claim", "complete")
    assert body["type"]["coding"][0]["code"] == "professional"
    assert body["patient"] == {"reference": f"Patient/{billing.patient.pk}"}
    assert body["created"] == payment.remittance.imported_at.isoformat()
    assert body["insurer"]["display"] == "Acme Health"
    assert body["provider"]["reference"] == f"Practitioner/{billing.provider.pk}"
    assert body["claim"] == {"reference": f"Claim/{claim.pk}"}
    assert body["claimResponse"] == {"reference": f"ClaimResponse/{payment.pk}"}
    assert body["identifier"][0]["value"] == "CB000099"


def test_eob_insurance_is_the_focal_coverage(biller_fhir, billing):
    claim = make_claim(billing)
    pay(claim)
    assert eob_of(biller_fhir, claim)["insurance"] == [
        {"focal": True, "coverage": {"reference": f"Coverage/{billing.coverage.pk}"}}
    ]


def test_claim_without_payments_has_no_eob(biller_fhir, billing):
    error_of(biller_fhir.get(f"/fhir/ExplanationOfBenefit/{make_claim(billing).pk}"), 404)


def test_eob_sums_adjudication_over_the_claims_payments(biller_fhir, billing):
    claim = make_claim(billing, lines=[("99213", "110.00")])
    first_day = clock.now() - timedelta(days=3)
    pay(
        claim,
        imported_at=first_day,
        lines=[
            {
                "line": 1,
                "charge": "110.00",
                "allowed": "100.00",
                "paid": "60.00",
                "adjustments": [
                    {"group": "CO", "reason": "45", "amount": "10.00"},
                    {"group": "PR", "reason": "2", "amount": "40.00"},
                ],
            }
        ],
        patient_responsibility="40.00",
    )
    pay(  # the payer reprocesses: 20 more paid, the patient's share down by 20
        claim,
        lines=[
            {
                "line": 1,
                "charge": "110.00",
                "allowed": "0.00",
                "paid": "20.00",
                "adjustments": [{"group": "PR", "reason": "2", "amount": "-20.00"}],
            }
        ],
        patient_responsibility="-20.00",
    )
    body = eob_of(biller_fhir, claim)
    (item,) = body["item"]
    assert amounts(item["adjudication"]) == {
        "submitted": 110,
        "eligible": 100,
        "benefit": 80,
        "CO:45": 10,
        "PR:2": 20,
    }
    assert amounts(body["total"]) == {
        "submitted": 110,
        "eligible": 100,
        "benefit": 80,
        "memberliability": 20,
    }
    assert body["payment"]["amount"] == {"value": 80, "currency": "USD"}


def test_eob_items_are_the_claim_lines(biller_fhir, billing):
    claim = make_claim(billing)
    pay(claim)
    first, second = eob_of(biller_fhir, claim)["item"]
    assert first["sequence"] == 1 and first["diagnosisSequence"] == [1]
    assert first["productOrService"]["coding"][0]["code"] == "99213"
    assert first["modifier"][0]["coding"][0]["code"] == "25"
    assert second["net"] == {"value": 30, "currency": "USD"}


def test_eob_is_partial_when_a_line_is_denied(biller_fhir, billing):
    claim = make_claim(billing)
    pay(claim, lines=denied_second_line(claim))
    assert eob_of(biller_fhir, claim)["outcome"] == "partial"


def test_eob_search_by_patient_lists_claims_with_payments(biller_fhir, billing):
    paid = make_claim(billing)
    make_claim(billing)  # not yet paid
    pay(paid)
    body = find(
        biller_fhir, "ExplanationOfBenefit", ExplanationOfBenefit, patient=billing.patient.pk
    )
    assert ids(body) == [str(paid.pk)]


def test_eob_read_is_audited(biller_fhir, billing, biller):
    claim = make_claim(billing)
    pay(claim)
    eob_of(biller_fhir, claim)
    event = AuditEvent.objects.get(action=Action.VIEW)
    assert (event.resource_type, event.resource_id, event.patient_id, event.user_id) == (
        "Claim",
        str(claim.pk),
        billing.patient.pk,
        biller.pk,
    )
    assert json.loads(event.detail)["fhir"] == f"ExplanationOfBenefit/{claim.pk}"


def test_eob_search_is_audited(biller_fhir, billing):
    claim = make_claim(billing)
    pay(claim)
    find(biller_fhir, "ExplanationOfBenefit", ExplanationOfBenefit, patient=billing.patient.pk)
    event = AuditEvent.objects.get(action=Action.SEARCH)
    detail = json.loads(event.detail)
    assert (event.patient_id, detail["fhir"], detail["ids"]) == (
        billing.patient.pk,
        "ExplanationOfBenefit",
        [claim.pk],
    )


def test_eob_needs_view_claimpayment(org, billing):
    claim = make_claim(billing)
    pay(claim)
    error_of(client_for(org, "provider").get(f"/fhir/ExplanationOfBenefit/{claim.pk}"), 403)


def test_another_organizations_eob_is_404_and_never_found(other_biller_fhir, billing):
    claim = make_claim(billing)
    pay(claim)
    error_of(other_biller_fhir.get(f"/fhir/ExplanationOfBenefit/{claim.pk}"), 404)
    found = find(
        other_biller_fhir, "ExplanationOfBenefit", ExplanationOfBenefit, patient=billing.patient.pk
    )
    assert found["total"] == 0


def test_eob_search_needs_the_patient(biller_fhir, billing):
    error_of(biller_fhir.get("/fhir/ExplanationOfBenefit"), 400)


def test_remittance_of_another_organization_never_joins_an_eob(biller_fhir, billing, other_org):
    claim = make_claim(billing)
    pay(claim)
    # a stray row of another organization pointing at this claim stays out of its EOB
    stray = Remittance.objects.create(
        organization=other_org,
        payer_name="Elsewhere",
        trace_number="X1",
        total_paid="999.00",
        imported_at=clock.now(),
    )
    ClaimPayment.objects.create(
        organization=other_org,
        remittance=stray,
        claim=claim,
        patient_control_number=claim.number,
        status_code="1",
        charge="140.00",
        paid="999.00",
    )
    assert eob_of(biller_fhir, claim)["payment"]["amount"]["value"] == 120
