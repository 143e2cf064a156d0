"""AllergyIntolerance, Condition, MedicationStatement and Coverage: create, read, search."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.coverage import Coverage as FhirCoverage
from fhir.resources.R4B.medicationstatement import MedicationStatement as FhirMedication

from carebench.audit.models import Action, AuditEvent
from carebench.patients import services
from carebench.patients.models import Allergy, Coverage, MedicationStatement, Problem
from carebench.testing import actor_for, make_patient

from .conftest import FHIR_JSON, FhirClient, token_for

MODELS = {
    "AllergyIntolerance": AllergyIntolerance,
    "Condition": Condition,
    "MedicationStatement": FhirMedication,
    "Coverage": FhirCoverage,
}


@pytest.fixture
def patient(mat):
    return make_patient(mat, family_name="Chartwell")


def allergy_json(patient, **overrides):
    return {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": "active",
                }
            ]
        },
        "type": "allergy",
        "category": ["medication"],
        "code": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "7980",
                    "display": "Penicillin G",
                }
            ],
            "text": "Penicillin",
        },
        "patient": {"reference": f"Patient/{patient.pk}"},
        "reaction": [{"manifestation": [{"text": "Hives"}], "severity": "moderate"}],
        **overrides,
    }


def condition_json(patient, code="E11.9", **overrides):
    return {
        "resourceType": "Condition",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]},
        "subject": {"reference": f"Patient/{patient.pk}"},
        "onsetDateTime": "2020-01-01",
        **overrides,
    }


def medication_json(patient, **overrides):
    return {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}],
            "text": "Metformin 500 mg tablet",
        },
        "subject": {"reference": f"Patient/{patient.pk}"},
        "dosage": [
            {
                "text": "500 mg",
                "route": {"text": "oral"},
                "timing": {"code": {"text": "twice daily"}},
            }
        ],
        "effectivePeriod": {"start": "2024-02-01"},
        **overrides,
    }


def coverage_json(patient, **overrides):
    return {
        "resourceType": "Coverage",
        "status": "active",
        "subscriberId": "XJH123456",
        "beneficiary": {"reference": f"Patient/{patient.pk}"},
        "relationship": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                    "code": "self",
                }
            ]
        },
        "payor": [{"display": "Blue Cross Blue Shield of Texas", "identifier": {"value": "84980"}}],
        "class": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/coverage-class",
                            "code": "group",
                        }
                    ]
                },
                "value": "G-100",
            }
        ],
        "period": {"start": "2024-01-01"},
        **overrides,
    }


def create(fhir, body):
    response = fhir.post(f"/fhir/{body['resourceType']}", body)
    assert response.status_code == 201, response.content
    resource = response.json()
    MODELS[resource["resourceType"]].model_validate(resource)
    assert response["Location"].endswith(f"/fhir/{resource['resourceType']}/{resource['id']}")
    return resource


def search(fhir, resource_type, **params):
    response = fhir.get(f"/fhir/{resource_type}", params)
    assert response.status_code == 200, response.content
    bundle = response.json()
    Bundle.model_validate(bundle)
    for entry in bundle.get("entry", []):
        MODELS[resource_type].model_validate(entry["resource"])
    return bundle


def test_allergy_create_read_search(fhir, patient):
    resource = create(fhir, allergy_json(patient))
    assert resource["clinicalStatus"]["coding"][0]["code"] == "active"
    assert resource["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert resource["code"]["coding"][0]["code"] == "7980"
    assert resource["patient"] == {"reference": f"Patient/{patient.pk}"}
    allergy = Allergy.objects.get(pk=resource["id"])
    assert (allergy.substance, allergy.reaction, allergy.severity) == (
        "Penicillin",
        "Hives",
        "moderate",
    )
    read = fhir.get(f"/fhir/AllergyIntolerance/{resource['id']}")
    assert read.status_code == 200
    AllergyIntolerance.model_validate(read.json())
    for ref in (f"Patient/{patient.pk}", str(patient.pk)):
        bundle = search(fhir, "AllergyIntolerance", patient=ref)
        assert [e["resource"]["id"] for e in bundle["entry"]] == [resource["id"]]
    assert (
        search(fhir, "AllergyIntolerance", patient=patient.pk, **{"clinical-status": "resolved"})[
            "total"
        ]
        == 0
    )


def test_no_known_allergies_goes_through_its_service(fhir, patient):
    body = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "716186003"}]},
        "patient": {"reference": f"Patient/{patient.pk}"},
    }
    resource = create(fhir, body)
    assert Allergy.objects.get(pk=resource["id"]).kind == Allergy.Kind.NO_KNOWN
    assert resource["code"]["coding"][0]["code"] == "716186003"
    again = fhir.post("/fhir/AllergyIntolerance", body)
    assert again.status_code == 422
    assert again.json()["issue"][0]["expression"] == ["AllergyIntolerance.code"]


def test_condition_create_read_search(fhir, patient, icd10):
    resource = create(fhir, condition_json(patient))
    assert resource["category"][0]["coding"][0]["code"] == "problem-list-item"
    coding = resource["code"]["coding"][0]
    assert (coding["system"], coding["code"]) == ("http://hl7.org/fhir/sid/icd-10-cm", "E11.9")
    assert coding["display"] == "Type 2 diabetes mellitus without complications"
    assert resource["clinicalStatus"]["coding"][0]["code"] == "active"
    assert resource["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert fhir.get(f"/fhir/Condition/{resource['id']}").status_code == 200
    assert search(fhir, "Condition", patient=f"Patient/{patient.pk}")["total"] == 1
    assert search(fhir, "Condition", patient=patient.pk, code="E11.9")["total"] == 1
    assert search(fhir, "Condition", patient=patient.pk, code="I10")["total"] == 0
    assert search(fhir, "Condition", patient=patient.pk, category="health-concern")["total"] == 0


def test_condition_needs_a_billable_icd10_code(fhir, patient, icd10):
    response = fhir.post("/fhir/Condition", condition_json(patient, code="E11"))
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Condition.code"] and "billable" in issue["diagnostics"]
    snomed = condition_json(patient)
    snomed["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}
    assert fhir.post("/fhir/Condition", snomed).status_code == 422
    assert not Problem.objects.exists()


def test_medication_statement_create_read_search(fhir, patient):
    resource = create(fhir, medication_json(patient))
    concept = resource["medicationCodeableConcept"]
    assert concept["coding"][0] == {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
        "code": "860975",
        "display": "Metformin 500 mg tablet",
    }
    assert resource["status"] == "active"
    med = MedicationStatement.objects.get(pk=resource["id"])
    assert (med.dose, med.route, med.frequency) == ("500 mg", "oral", "twice daily")
    assert fhir.get(f"/fhir/MedicationStatement/{resource['id']}").status_code == 200
    assert search(fhir, "MedicationStatement", patient=patient.pk)["total"] == 1
    assert search(fhir, "MedicationStatement", patient=patient.pk, status="stopped")["total"] == 0


def test_coverage_create_read_search(fhir, patient):
    resource = create(fhir, coverage_json(patient))
    assert resource["status"] == "active"
    assert resource["beneficiary"] == {"reference": f"Patient/{patient.pk}"}
    assert resource["payor"][0]["display"] == "Blue Cross Blue Shield of Texas"
    assert resource["relationship"]["coding"][0]["code"] == "self"
    coverage = Coverage.objects.select_related("payer").get(pk=resource["id"])
    assert (coverage.member_id, coverage.group_number, coverage.payer.payer_code) == (
        "XJH123456",
        "G-100",
        "84980",
    )
    assert fhir.get(f"/fhir/Coverage/{resource['id']}").status_code == 200
    assert search(fhir, "Coverage", patient=patient.pk)["total"] == 1
    duplicate = fhir.post("/fhir/Coverage", coverage_json(patient))
    assert duplicate.status_code == 422
    assert duplicate.json()["issue"][0]["expression"] == ["Coverage.order"]


def test_reference_to_another_organizations_patient_is_refused(fhir, other_mat):
    theirs = make_patient(other_mat)
    response = fhir.post("/fhir/AllergyIntolerance", allergy_json(theirs))
    assert response.status_code == 422
    assert "is not known" in response.json()["issue"][0]["diagnostics"]
    assert not Allergy.objects.exists()


@pytest.fixture
def chart(mat, patient, icd10):
    """One entry of each kind for `patient`, made through the services."""
    actor = actor_for(mat)
    return {
        "AllergyIntolerance": services.add_allergy(
            actor=actor, patient=patient, substance="Latex", category="environment"
        ),
        "Condition": services.add_problem(actor=actor, patient=patient, icd10_code="I10"),
        "MedicationStatement": services.add_medication(
            actor=actor, patient=patient, medication="Lisinopril 10 mg tablet"
        ),
        "Coverage": services.add_coverage(
            actor=actor,
            patient=patient,
            member_id="M1",
            payer=services.get_or_create_payer(actor=actor, name="Aetna"),
        ),
    }


@pytest.mark.parametrize("resource_type", list(MODELS))
def test_other_organization_sees_nothing(resource_type, chart, patient, other_fhir):
    entry = chart[resource_type]
    assert other_fhir.get(f"/fhir/{resource_type}/{entry.pk}").status_code == 404
    bundle = search(other_fhir, resource_type, patient=f"Patient/{patient.pk}")
    assert bundle["total"] == 0 and "entry" not in bundle


@pytest.mark.parametrize("resource_type", list(MODELS))
def test_read_and_search_are_audited(resource_type, chart, patient, fhir, mat):
    entry = chart[resource_type]
    assert fhir.get(f"/fhir/{resource_type}/{entry.pk}").status_code == 200
    search(fhir, resource_type, patient=patient.pk)
    view = AuditEvent.objects.get(action=Action.VIEW)
    assert (view.patient_id, view.resource_id, view.user_id, view.channel) == (
        patient.pk,
        str(entry.pk),
        mat.pk,
        "api",
    )
    found = AuditEvent.objects.get(action=Action.SEARCH)
    assert found.patient_id == patient.pk and found.resource_type == type(entry).__name__


@pytest.mark.parametrize("resource_type", list(MODELS))
def test_voided_entries_are_gone(resource_type, chart, patient, fhir, mat):
    entry = chart[resource_type]
    services.void_entry(actor=actor_for(mat), entry=entry, reason="entered on the wrong chart")
    response = fhir.get(f"/fhir/{resource_type}/{entry.pk}")
    assert response.status_code == 410
    assert response["Content-Type"].startswith(FHIR_JSON)
    assert search(fhir, resource_type, patient=patient.pk)["total"] == 0


@pytest.mark.parametrize("resource_type", list(MODELS))
def test_search_needs_a_patient(resource_type, fhir):
    response = fhir.get(f"/fhir/{resource_type}")
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert fhir.get(f"/fhir/{resource_type}", {"patient": "Group/1"}).status_code == 400


def test_biller_may_not_create_an_allergy(biller, patient):
    client = FhirClient(token_for(biller))
    response = client.post("/fhir/AllergyIntolerance", allergy_json(patient))
    assert response.status_code == 403
    assert response["Content-Type"].startswith(FHIR_JSON)
    assert response.json()["issue"][0]["code"] == "forbidden"
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, user_id=biller.pk).exists()
    assert not Allergy.objects.exists()
    assert client.post("/fhir/Coverage", coverage_json(patient)).status_code == 201


def test_medtech_may_not_read_coverage(medtech, patient):
    client = FhirClient(token_for(medtech))
    assert client.get("/fhir/Coverage", {"patient": patient.pk}).status_code == 403
    assert client.get("/fhir/MedicationStatement", {"patient": patient.pk}).status_code == 200
