"""MedicationRequest over FHIR: orders for one dose (provider and standing orders); read, search."""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.audit.models import Action, AuditEvent
from carebench.core import clock
from carebench.meds import services
from carebench.meds.models import MedicationOrder

from .conftest import FhirClient, token_for
from .meds_data import (
    KETOROLAC_NDC,
    clinic,
    give_flu,
    ketorolac,
    order_ketorolac,
    standing_flu_order,
)

__all__ = ["clinic"]

US_CORE_MEDICATIONREQUEST = (
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-medicationrequest"
)
BASIS = "urn:carebench:medication-order-basis"


def read(fhir, order):
    response = fhir.get(f"/fhir/MedicationRequest/{order.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    MedicationRequest.model_validate(body)
    return body


def search(fhir, **params):
    response = fhir.get("/fhir/MedicationRequest", params)
    assert response.status_code == 200, response.content
    body = response.json()
    Bundle.model_validate(body)
    for entry in body.get("entry", []):
        MedicationRequest.model_validate(entry["resource"])
    return body


def ids(bundle):
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def status_of_error(response, status):
    assert response.status_code == status, response.content
    OperationOutcome.model_validate(response.json())


def test_provider_order_reads_as_us_core_medication_request(fhir, clinic, provider):
    order = order_ketorolac(clinic, ketorolac(clinic))
    body = read(fhir, order)
    assert body["meta"]["profile"] == [US_CORE_MEDICATIONREQUEST]
    assert (body["status"], body["intent"]) == ("active", "order")
    assert body["medicationCodeableConcept"]["coding"] == [
        {
            "system": "http://hl7.org/fhir/sid/ndc",
            "code": KETOROLAC_NDC,
            "display": "Ketorolac 30 mg/mL",
        }
    ]
    assert body["subject"] == {"reference": f"Patient/{clinic.patient.pk}"}
    assert body["authoredOn"] == order.ordered_at.isoformat()
    assert body["requester"]["reference"] == f"Practitioner/{clinic.provider.pk}"
    assert body["recorder"]["reference"] == f"Practitioner/{clinic.provider.pk}"
    assert body["note"] == [{"text": "For pain. No NSAIDs for 6 hours."}]


def test_dosage_instruction_is_one_dose(fhir, clinic):
    body = read(fhir, order_ketorolac(clinic, ketorolac(clinic)))
    assert body["dosageInstruction"] == [
        {
            "text": "30 mg IM once",
            "timing": {"repeat": {"count": 1}},
            "route": {
                "coding": [
                    {
                        "system": "http://ncimeta.nci.nih.gov",
                        "code": "C28161",
                        "display": "Intramuscular",
                    }
                ],
                "text": "Intramuscular",
            },
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": 30,
                        "unit": "mg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg",
                    }
                }
            ],
        }
    ]


def test_vaccine_order_carries_ndc_and_cvx(fhir, clinic):
    body = read(fhir, standing_flu_order(clinic))
    systems = [(c["system"], c["code"]) for c in body["medicationCodeableConcept"]["coding"]]
    assert systems == [
        ("http://hl7.org/fhir/sid/ndc", "58160-0919-52"),
        ("http://hl7.org/fhir/sid/cvx", "140"),
    ]


def test_standing_order_basis_is_a_category_and_recorder_is_the_mat(fhir, clinic, mat):
    body = read(fhir, standing_flu_order(clinic))
    basis = [c for c in body["category"] if c["coding"][0]["system"] == BASIS]
    assert basis == [
        {
            "coding": [{"system": BASIS, "code": "standing", "display": "Standing order"}],
            "text": "Standing order: Seasonal influenza, adults",
        }
    ]
    assert body["recorder"] == {"display": mat.display_name}
    assert body["requester"]["reference"] == f"Practitioner/{clinic.provider.pk}"
    assert {"text": "Awaiting co-signature by Grace Okafor, MD"} in body["note"]


def test_given_order_is_completed(fhir, clinic):
    dose = give_flu(clinic)
    assert read(fhir, dose.order)["status"] == "completed"


def test_refused_order_is_cancelled_with_the_patients_objection(fhir, clinic):
    order = standing_flu_order(clinic)
    services.record_refusal(actor=clinic.mat, patient=clinic.patient, reason="00", order=order)
    body = read(fhir, order)
    assert body["status"] == "cancelled"
    assert body["statusReason"]["coding"][0]["code"] == "PATOBJ"
    assert body["statusReason"]["text"] == "Refused: Parental decision"


def test_cancelled_order_gives_the_reason(fhir, clinic):
    order = order_ketorolac(clinic, ketorolac(clinic))
    services.cancel_order(actor=clinic.doc, order=order, reason="pain resolved")
    body = read(fhir, order)
    assert body["status"] == "cancelled"
    assert body["statusReason"] == {"text": "pain resolved"}


def test_voided_order_reads_entered_in_error_and_leaves_searches(fhir, clinic):
    order = standing_flu_order(clinic)
    MedicationOrder.objects.filter(pk=order.pk).update(
        voided_at=clock.now(), void_reason="wrong patient"
    )
    body = read(fhir, order)
    assert body["status"] == "entered-in-error"
    assert body["statusReason"] == {"text": "wrong patient"}
    assert search(fhir, patient=clinic.patient.pk)["total"] == 0
    assert search(fhir, patient=clinic.patient.pk, status="entered-in-error")["total"] == 1


def test_read_is_audited(fhir, clinic, mat):
    order = standing_flu_order(clinic)
    read(fhir, order)
    event = AuditEvent.objects.get(action=Action.VIEW, resource_type="MedicationOrder")
    assert (event.resource_id, event.patient_id, event.user_id) == (
        str(order.pk),
        clinic.patient.pk,
        mat.pk,
    )


def test_another_organizations_order_is_404(other_fhir, clinic):
    order = standing_flu_order(clinic)
    status_of_error(other_fhir.get(f"/fhir/MedicationRequest/{order.pk}"), 404)


def test_read_needs_the_permission(clinic, frontdesk):
    order = standing_flu_order(clinic)
    status_of_error(
        FhirClient(token_for(frontdesk)).get(f"/fhir/MedicationRequest/{order.pk}"), 403
    )


def test_search_by_patient_newest_first(fhir, clinic):
    first = standing_flu_order(clinic)
    second = order_ketorolac(clinic, ketorolac(clinic))
    bundle = search(fhir, patient=f"Patient/{clinic.patient.pk}")
    assert ids(bundle) == [str(second.pk), str(first.pk)]


def test_search_by_status(fhir, clinic):
    given = give_flu(clinic).order
    active = order_ketorolac(clinic, ketorolac(clinic))
    assert ids(search(fhir, patient=clinic.patient.pk, status="completed")) == [str(given.pk)]
    assert ids(search(fhir, subject=clinic.patient.pk, status="active")) == [str(active.pk)]


def test_search_by_category(fhir, clinic):
    standing = standing_flu_order(clinic)
    ordered = order_ketorolac(clinic, ketorolac(clinic))
    assert ids(search(fhir, patient=clinic.patient.pk, category="standing")) == [str(standing.pk)]
    provider = search(fhir, patient=clinic.patient.pk, category=f"{BASIS}|provider")
    assert ids(provider) == [str(ordered.pk)]
    assert search(fhir, patient=clinic.patient.pk, category="outpatient")["total"] == 2


def test_search_never_shows_another_organization(other_fhir, clinic):
    standing_flu_order(clinic)
    assert search(other_fhir, patient=clinic.patient.pk)["total"] == 0


def test_search_is_audited(fhir, clinic, mat):
    order = standing_flu_order(clinic)
    search(fhir, patient=clinic.patient.pk)
    event = AuditEvent.objects.get(action=Action.SEARCH, resource_type="MedicationOrder")
    assert event.user_id == mat.pk and str(order.pk) in event.detail


def test_search_needs_the_patient(fhir, clinic):
    status_of_error(fhir.get("/fhir/MedicationRequest"), 400)


def test_capability_statement_lists_medication_request(anonymous, db):
    body = anonymous.get("/fhir/metadata").json()
    found = {r["type"]: r for r in body["rest"][0]["resource"]}["MedicationRequest"]
    assert found["supportedProfile"] == [US_CORE_MEDICATIONREQUEST]
    assert {"patient", "status", "category"} <= {p["name"] for p in found["searchParam"]}
