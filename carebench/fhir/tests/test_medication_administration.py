"""MedicationAdministration over FHIR: doses of injectables (not vaccines); read, search."""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.audit.models import Action, AuditEvent
from carebench.encounters import services as encounters
from carebench.meds import services

from .conftest import FhirClient, token_for
from .meds_data import KETOROLAC_NDC, clinic, give_flu, give_ketorolac, ketorolac, order_ketorolac

__all__ = ["clinic"]


def read(fhir, administration):
    response = fhir.get(f"/fhir/MedicationAdministration/{administration.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    MedicationAdministration.model_validate(body)
    return body


def search(fhir, **params):
    response = fhir.get("/fhir/MedicationAdministration", params)
    assert response.status_code == 200, response.content
    body = response.json()
    Bundle.model_validate(body)
    for entry in body.get("entry", []):
        MedicationAdministration.model_validate(entry["resource"])
    return body


def ids(bundle):
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def status_of_error(response, status):
    assert response.status_code == status, response.content
    OperationOutcome.model_validate(response.json())


def test_given_dose_reads_with_medication_and_request(fhir, clinic):
    dose = give_ketorolac(clinic, ketorolac(clinic))
    body = read(fhir, dose)
    assert body["status"] == "completed"
    assert body["medicationCodeableConcept"] == {
        "coding": [
            {
                "system": "http://hl7.org/fhir/sid/ndc",
                "code": KETOROLAC_NDC,
                "display": "Ketorolac 30 mg/mL",
            }
        ],
        "text": "Ketorolac 30 mg/mL",
    }
    assert body["subject"] == {"reference": f"Patient/{clinic.patient.pk}"}
    assert body["effectiveDateTime"] == dose.occurred_at.isoformat()
    assert body["request"] == {"reference": f"MedicationRequest/{dose.order_id}"}


def test_dosage_has_route_site_and_dose(fhir, clinic):
    body = read(fhir, give_ketorolac(clinic, ketorolac(clinic)))
    dosage = body["dosage"]
    assert dosage["text"] == "30 mg IM, right gluteus medius"
    assert dosage["route"]["coding"][0]["code"] == "C28161"
    assert dosage["site"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v2-0163",
        "code": "RG",
        "display": "Right gluteus medius",
    }
    assert dosage["dose"] == {
        "value": 30,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }


def test_performer_is_who_gave_it(fhir, clinic, mat):
    body = read(fhir, give_ketorolac(clinic, ketorolac(clinic)))
    assert body["performer"] == [{"actor": {"display": mat.display_name}}]


def test_context_is_the_encounter(fhir, clinic):
    visit = encounters.open_walk_in(actor=clinic.mat, patient=clinic.patient)
    body = read(fhir, give_ketorolac(clinic, ketorolac(clinic), encounter=visit))
    assert body["context"] == {"reference": f"Encounter/{visit.pk}"}


def test_refused_dose_reads_not_done_without_dosage(fhir, clinic):
    order = order_ketorolac(clinic, ketorolac(clinic))
    refusal = services.record_refusal(
        actor=clinic.mat, patient=clinic.patient, reason="03", order=order
    )
    body = read(fhir, refusal)
    assert body["status"] == "not-done"
    assert body["statusReason"][0]["coding"][0]["code"] == "PATOBJ"
    assert "dosage" not in body and "performer" not in body


def test_voided_dose_reads_entered_in_error(fhir, clinic):
    dose = give_ketorolac(clinic, ketorolac(clinic))
    services.void_administration(actor=clinic.mat, administration=dose, reason="wrong patient")
    body = read(fhir, dose)
    assert body["status"] == "entered-in-error"
    assert {"text": "Entered in error: wrong patient"} in body["note"]


def test_read_is_audited(fhir, clinic, mat):
    dose = give_ketorolac(clinic, ketorolac(clinic))
    read(fhir, dose)
    event = AuditEvent.objects.get(action=Action.VIEW, resource_type="Administration")
    assert (event.resource_id, event.patient_id, event.user_id) == (
        str(dose.pk),
        clinic.patient.pk,
        mat.pk,
    )


def test_a_vaccine_dose_is_not_a_medication_administration(fhir, clinic):
    dose = give_flu(clinic)
    status_of_error(fhir.get(f"/fhir/MedicationAdministration/{dose.pk}"), 404)


def test_another_organizations_dose_is_404(other_fhir, clinic):
    dose = give_ketorolac(clinic, ketorolac(clinic))
    status_of_error(other_fhir.get(f"/fhir/MedicationAdministration/{dose.pk}"), 404)


def test_read_needs_the_permission(clinic, medtech):
    dose = give_ketorolac(clinic, ketorolac(clinic))
    client = FhirClient(token_for(medtech))
    status_of_error(client.get(f"/fhir/MedicationAdministration/{dose.pk}"), 403)


def test_search_by_patient_finds_injectables_only(fhir, clinic):
    dose = give_ketorolac(clinic, ketorolac(clinic))
    give_flu(clinic)
    bundle = search(fhir, patient=f"Patient/{clinic.patient.pk}")
    assert bundle["total"] == 1 and ids(bundle) == [str(dose.pk)]


def test_search_by_status(fhir, clinic):
    drug = ketorolac(clinic)
    given = give_ketorolac(clinic, drug)
    refused = services.record_refusal(
        actor=clinic.mat,
        patient=clinic.patient,
        reason="03",
        order=order_ketorolac(clinic, drug),
    )
    assert ids(search(fhir, subject=clinic.patient.pk, status="not-done")) == [str(refused.pk)]
    assert ids(search(fhir, subject=clinic.patient.pk, status="completed")) == [str(given.pk)]


def test_voided_doses_are_found_only_when_asked_for(fhir, clinic):
    dose = give_ketorolac(clinic, ketorolac(clinic))
    services.void_administration(actor=clinic.mat, administration=dose, reason="wrong patient")
    assert search(fhir, patient=clinic.patient.pk)["total"] == 0
    assert ids(search(fhir, patient=clinic.patient.pk, status="entered-in-error")) == [str(dose.pk)]


def test_search_never_shows_another_organization(other_fhir, clinic):
    give_ketorolac(clinic, ketorolac(clinic))
    assert search(other_fhir, patient=clinic.patient.pk)["total"] == 0


def test_search_is_audited(fhir, clinic, mat):
    dose = give_ketorolac(clinic, ketorolac(clinic))
    search(fhir, patient=clinic.patient.pk)
    event = AuditEvent.objects.get(action=Action.SEARCH, resource_type="Administration")
    assert event.user_id == mat.pk and str(dose.pk) in event.detail


def test_search_needs_the_patient(fhir, clinic):
    status_of_error(fhir.get("/fhir/MedicationAdministration", {"status": "completed"}), 400)


def test_capability_statement_lists_medication_administration(anonymous, db):
    body = anonymous.get("/fhir/metadata").json()
    found = {r["type"]: r for r in body["rest"][0]["resource"]}["MedicationAdministration"]
    assert {i["code"] for i in found["interaction"]} == {"read", "search-type"}
    assert {"patient", "status"} <= {p["name"] for p in found["searchParam"]}
