"""Immunization over FHIR: vaccine doses given, refused, reported; read, search, create history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.audit.models import Action, AuditEvent
from carebench.core import clock
from carebench.meds import services
from carebench.meds.models import Administration, RegistryMessage
from carebench.patients.models import Patient
from carebench.testing import make_patient

from .conftest import FhirClient, token_for
from .meds_data import clinic, give_flu, give_ketorolac, historical, ketorolac, refuse_flu

__all__ = ["clinic"]

CVX = "http://hl7.org/fhir/sid/cvx"
NDC = "http://hl7.org/fhir/sid/ndc"
US_CORE_IMMUNIZATION = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-immunization"


def read(fhir, administration):
    response = fhir.get(f"/fhir/Immunization/{administration.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    Immunization.model_validate(body)
    return body


def search(fhir, **params):
    response = fhir.get("/fhir/Immunization", params)
    assert response.status_code == 200, response.content
    body = response.json()
    Bundle.model_validate(body)
    return body


def ids(bundle):
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def history_json(patient, **overrides):
    body = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": CVX, "code": "115", "display": "Tdap"}]},
        "patient": {"reference": f"Patient/{patient.pk}"},
        "occurrenceDateTime": "2024-10-01",
        "primarySource": False,
        "reportOrigin": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/immunization-origin",
                    "code": "record",
                }
            ]
        },
        "lotNumber": "tdx55",
        "manufacturer": {"identifier": {"system": "http://hl7.org/fhir/sid/mvx", "value": "SKB"}},
    }
    body.update(overrides)
    return body


def issue_of(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    OperationOutcome.model_validate(body)
    return body["issue"][0]


# --- read ---------------------------------------------------------------------------------------


def test_given_dose_reads_as_us_core_immunization(fhir, clinic):
    dose = give_flu(clinic)
    body = read(fhir, dose)
    assert body["meta"]["profile"] == [US_CORE_IMMUNIZATION]
    assert body["status"] == "completed" and body["primarySource"] is True
    assert body["vaccineCode"]["coding"] == [
        {"system": CVX, "code": "140", "display": dose.vaccine_code.short_name},
        {"system": NDC, "code": "58160-0919-52", "display": "Fluarix Trivalent 2026-2027"},
    ]
    assert body["patient"] == {"reference": f"Patient/{clinic.patient.pk}"}
    assert body["occurrenceDateTime"] == dose.occurred_at.isoformat()
    assert body["lotNumber"] == "FL7Y2"
    assert body["expirationDate"] == clinic.good_lot.expires_on.isoformat()
    assert body["manufacturer"]["identifier"] == {
        "system": "http://hl7.org/fhir/sid/mvx",
        "value": "SKB",
    }
    assert body["location"]["reference"] == f"Location/{clinic.facility.pk}"


def test_given_dose_site_route_and_dose(fhir, clinic):
    body = read(fhir, give_flu(clinic))
    assert body["site"]["coding"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v2-0163",
            "code": "LD",
            "display": "Left deltoid",
        }
    ]
    assert body["route"]["coding"] == [
        {"system": "http://ncimeta.nci.nih.gov", "code": "C28161", "display": "Intramuscular"}
    ]
    assert body["doseQuantity"] == {
        "value": 0.5,
        "unit": "mL",
        "system": "http://unitsofmeasure.org",
        "code": "mL",
    }


def test_performers_are_the_mat_by_name_and_the_ordering_practitioner(fhir, clinic, mat):
    body = read(fhir, give_flu(clinic))
    by_function = {p["function"]["coding"][0]["code"]: p["actor"] for p in body["performer"]}
    assert by_function["AP"] == {"display": mat.display_name}
    assert by_function["OP"]["reference"] == f"Practitioner/{clinic.provider.pk}"


def test_vis_eligibility_and_funding(fhir, clinic):
    body = read(fhir, give_flu(clinic))
    assert body["education"] == [
        {
            "documentType": "Vaccine Information Statement (FLU)",
            "publicationDate": "2023-08-06",
            "presentationDate": clock.today().isoformat(),
        }
    ]
    assert body["programEligibility"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v2-0064",
        "code": "V01",
        "display": "Not VFC eligible",
    }
    codes = {(c["system"], c["code"]) for c in body["fundingSource"]["coding"]}
    assert ("http://terminology.hl7.org/CodeSystem/immunization-funding-source", "private") in codes


def test_read_is_audited(fhir, clinic, mat):
    dose = give_flu(clinic)
    read(fhir, dose)
    event = AuditEvent.objects.get(action=Action.VIEW, resource_type="Administration")
    assert (event.resource_id, event.patient_id, event.user_id, event.channel) == (
        str(dose.pk),
        clinic.patient.pk,
        mat.pk,
        "api",
    )


def test_refusal_reads_not_done_with_the_reason(fhir, clinic):
    body = read(fhir, refuse_flu(clinic, reason="03"))
    assert body["status"] == "not-done"
    assert body["statusReason"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
        "code": "PATOBJ",
        "display": "patient objection",
    }
    assert body["statusReason"]["coding"][1]["code"] == "03"
    assert body["statusReason"]["text"] == "Patient decision"
    assert "doseQuantity" not in body and "lotNumber" not in body


def test_reported_dose_has_its_origin_and_a_date(fhir, clinic):
    dose = historical(clinic)
    body = read(fhir, dose)
    assert body["primarySource"] is False
    assert body["reportOrigin"]["coding"][0]["code"] == "provider"
    assert body["occurrenceDateTime"] == (clock.today() - timedelta(days=400)).isoformat()
    assert body["lotNumber"] == "AB123"
    assert "performer" not in body and "location" not in body


def test_voided_dose_reads_entered_in_error(fhir, clinic):
    dose = give_flu(clinic)
    services.void_administration(actor=clinic.mat, administration=dose, reason="wrong chart")
    body = read(fhir, dose)
    assert body["status"] == "entered-in-error"
    assert {"text": "Entered in error: wrong chart"} in body["note"]


def test_voided_patients_dose_is_gone(fhir, clinic):
    dose = give_flu(clinic)
    Patient.objects.filter(pk=clinic.patient.pk).update(voided_at=clock.now())
    issue_of(fhir.get(f"/fhir/Immunization/{dose.pk}"), 410)


def test_reaction_is_listed(fhir, clinic):
    dose = give_flu(clinic)
    services.record_reaction(
        actor=clinic.mat,
        administration=dose,
        onset_at=dose.occurred_at + timedelta(minutes=5),
        description="Hives on both arms",
        severity="moderate",
        reported_to_vaers=True,
    )
    body = read(fhir, dose)
    assert body["reaction"] == [
        {
            "date": (dose.occurred_at + timedelta(minutes=5)).isoformat(),
            "detail": {"display": "Hives on both arms (moderate; reported to VAERS)"},
            "reported": False,
        }
    ]


def test_reactions_are_left_out_for_users_who_may_not_see_them(clinic, frontdesk):
    dose = give_flu(clinic)
    services.record_reaction(
        actor=clinic.mat,
        administration=dose,
        onset_at=dose.occurred_at + timedelta(minutes=5),
        description="Fainted",
        severity="mild",
    )
    body = read(FhirClient(token_for(frontdesk)), dose)
    assert "reaction" not in body


def test_another_organizations_dose_is_404(other_fhir, clinic):
    response = other_fhir.get(f"/fhir/Immunization/{give_flu(clinic).pk}")
    issue_of(response, 404)


def test_an_injectable_dose_is_not_an_immunization(fhir, clinic):
    dose = give_ketorolac(clinic, ketorolac(clinic))
    issue_of(fhir.get(f"/fhir/Immunization/{dose.pk}"), 404)


def test_read_needs_the_permission(clinic, medtech):
    response = FhirClient(token_for(medtech)).get(f"/fhir/Immunization/{give_flu(clinic).pk}")
    issue_of(response, 403)


# --- search -------------------------------------------------------------------------------------


def test_search_by_patient_newest_first(fhir, clinic):
    old = historical(clinic)
    new = give_flu(clinic)
    other_patient = make_patient(clinic.mat.user, family_name="Elsewhere")
    give_flu(clinic, patient=other_patient)
    bundle = search(fhir, patient=f"Patient/{clinic.patient.pk}")
    assert bundle["total"] == 2
    assert ids(bundle) == [str(new.pk), str(old.pk)]
    for entry in bundle["entry"]:
        Immunization.model_validate(entry["resource"])


def test_search_never_shows_another_organization(other_fhir, clinic):
    give_flu(clinic)
    assert search(other_fhir, patient=clinic.patient.pk)["total"] == 0


def test_search_by_vaccine_code_with_or_without_system(fhir, clinic):
    tdap = historical(clinic, cvx="115")
    give_flu(clinic)
    assert ids(search(fhir, patient=clinic.patient.pk, **{"vaccine-code": "115"})) == [str(tdap.pk)]
    with_system = search(fhir, patient=clinic.patient.pk, **{"vaccine-code": f"{CVX}|115"})
    assert ids(with_system) == [str(tdap.pk)]
    assert search(fhir, patient=clinic.patient.pk, **{"vaccine-code": "other|115"})["total"] == 0


def test_search_by_date_with_prefixes(fhir, clinic):
    old = historical(clinic, days_ago=400)
    new = give_flu(clinic)
    cut = (clock.today() - timedelta(days=30)).isoformat()
    assert ids(search(fhir, patient=clinic.patient.pk, date=f"ge{cut}")) == [str(new.pk)]
    assert ids(search(fhir, patient=clinic.patient.pk, date=f"lt{cut}")) == [str(old.pk)]
    day = (clock.today() - timedelta(days=400)).isoformat()
    assert ids(search(fhir, patient=clinic.patient.pk, date=day)) == [str(old.pk)]


def test_search_by_status(fhir, clinic):
    refused = refuse_flu(clinic)
    given = give_flu(clinic)
    assert ids(search(fhir, patient=clinic.patient.pk, status="not-done")) == [str(refused.pk)]
    assert ids(search(fhir, patient=clinic.patient.pk, status="completed")) == [str(given.pk)]


def test_voided_doses_are_found_only_when_asked_for(fhir, clinic):
    dose = give_flu(clinic)
    services.void_administration(actor=clinic.mat, administration=dose, reason="wrong chart")
    assert search(fhir, patient=clinic.patient.pk)["total"] == 0
    found = search(fhir, patient=clinic.patient.pk, status="entered-in-error")
    assert ids(found) == [str(dose.pk)]


def test_search_is_audited(fhir, clinic, mat):
    dose = give_flu(clinic)
    search(fhir, patient=clinic.patient.pk)
    event = AuditEvent.objects.get(action=Action.SEARCH, resource_type="Administration")
    assert event.patient_id == clinic.patient.pk and event.user_id == mat.pk
    assert str(dose.pk) in event.detail


def test_search_needs_the_patient(fhir, clinic):
    issue_of(fhir.get("/fhir/Immunization"), 400)


@pytest.mark.parametrize("value", ["2024-13-01", "after2024"])
def test_bad_date_search_is_400(fhir, clinic, value):
    issue = issue_of(
        fhir.get("/fhir/Immunization", {"patient": clinic.patient.pk, "date": value}), 400
    )
    assert issue["expression"] == ["date"]


# --- create (history) ---------------------------------------------------------------------------


def test_create_records_history_through_the_service(fhir, clinic):
    response = fhir.post("/fhir/Immunization", history_json(clinic.patient))
    assert response.status_code == 201, response.content
    body = response.json()
    Immunization.model_validate(body)
    dose = Administration.objects.get(pk=body["id"])
    assert dose.kind == Administration.Kind.HISTORICAL
    assert (dose.vaccine_code.cvx, dose.source, dose.lot_number) == ("115", "03", "TDX55")
    assert dose.manufacturer.mvx == "SKB"
    assert response["Location"].endswith(f"/fhir/Immunization/{dose.pk}")
    assert body["occurrenceDateTime"] == "2024-10-01" and body["primarySource"] is False
    assert RegistryMessage.objects.filter(administration=dose, action="A").exists()


def test_create_is_audited(fhir, clinic, mat):
    body = fhir.post("/fhir/Immunization", history_json(clinic.patient)).json()
    event = AuditEvent.objects.get(action=Action.CREATE, resource_type="Administration")
    assert (event.resource_id, event.user_id, event.channel) == (body["id"], mat.pk, "api")


@pytest.mark.parametrize(
    ("overrides", "element"),
    [
        ({"primarySource": True}, "Immunization.primarySource"),
        ({"status": "not-done"}, "Immunization.status"),
        (
            {"vaccineCode": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}]}},
            "Immunization.vaccineCode",
        ),
        (
            {"vaccineCode": {"coding": [{"system": CVX, "code": "9999"}]}},
            "Immunization.vaccineCode",
        ),
        ({"occurrenceDateTime": "2024-10"}, "Immunization.occurrenceDateTime"),
        ({"occurrenceDateTime": "2099-01-01"}, "Immunization.occurrenceDateTime"),
        (
            {"reportOrigin": {"coding": [{"system": "http://x", "code": "y"}]}},
            "Immunization.reportOrigin",
        ),
        (
            {
                "manufacturer": {
                    "identifier": {"system": "http://hl7.org/fhir/sid/mvx", "value": "ZZZ"}
                }
            },
            "Immunization.manufacturer",
        ),
    ],
)
def test_bad_create_is_422_naming_the_element(fhir, clinic, overrides, element):
    response = fhir.post("/fhir/Immunization", history_json(clinic.patient, **overrides))
    assert issue_of(response, 422)["expression"] == [element]
    assert not Administration.objects.exists()


def test_create_that_the_model_rejects_is_400(fhir, clinic):
    response = fhir.post("/fhir/Immunization", history_json(clinic.patient, lotNumber=["x"]))
    assert issue_of(response, 400)["expression"] == ["Immunization.lotNumber"]


def test_create_for_another_organizations_patient_is_422(other_fhir, clinic):
    response = other_fhir.post("/fhir/Immunization", history_json(clinic.patient))
    assert issue_of(response, 422)["expression"] == ["Immunization.patient"]


def test_create_needs_the_permission(clinic, frontdesk):
    client = FhirClient(token_for(frontdesk))
    issue_of(client.post("/fhir/Immunization", history_json(clinic.patient)), 403)


def test_capability_statement_lists_immunization(anonymous, db):
    body = anonymous.get("/fhir/metadata").json()
    found = {r["type"]: r for r in body["rest"][0]["resource"]}["Immunization"]
    assert found["supportedProfile"] == [US_CORE_IMMUNIZATION]
    assert {i["code"] for i in found["interaction"]} == {"read", "search-type", "create"}
    assert {"patient", "date", "vaccine-code", "status"} <= {
        p["name"] for p in found["searchParam"]
    }
