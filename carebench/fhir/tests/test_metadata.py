"""The CapabilityStatement, the OpenAPI schema, and FHIR answers for paths we do not serve."""

from __future__ import annotations

from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from .conftest import FHIR_JSON


def test_metadata_needs_no_token_and_validates(anonymous, db):
    response = anonymous.get("/fhir/metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    CapabilityStatement.model_validate(body)
    assert body["fhirVersion"] == "4.0.1"
    assert "json" in body["format"]
    rest = body["rest"][0]
    assert "Bearer" in rest["security"]["description"]
    resources = {r["type"]: r for r in rest["resource"]}
    assert set(resources) == {
        "Patient",
        "AllergyIntolerance",
        "Condition",
        "MedicationStatement",
        "Immunization",
        "MedicationAdministration",
        "MedicationRequest",
        "Coverage",
        "Practitioner",
        "Location",
        "Schedule",
        "Slot",
        "Appointment",
        "Encounter",
        "Observation",
        "DiagnosticReport",
        "ServiceRequest",
        "Specimen",
        "Claim",
        "ClaimResponse",
        "ExplanationOfBenefit",
        "DocumentReference",
        "Binary",
        "Procedure",
        "Consent",
    }
    patient = resources["Patient"]
    assert {i["code"] for i in patient["interaction"]} == {
        "read",
        "search-type",
        "create",
        "update",
    }
    assert {"name", "family", "given", "birthdate", "identifier"} <= {
        p["name"] for p in patient["searchParam"]
    }
    assert patient["supportedProfile"] == [
        "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
    ]
    for kind in ("AllergyIntolerance", "Condition", "Coverage", "MedicationStatement"):
        assert "patient" in {p["name"] for p in resources[kind]["searchParam"]}


def test_openapi_schema_is_served(anonymous, db):
    response = anonymous.get("/fhir/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert "/fhir/Patient" in schema["paths"]
    assert "/fhir/Patient/{patient_id}" in schema["paths"]
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"


def test_unknown_path_is_a_fhir_404(fhir):
    response = fhir.get("/fhir/Procedure/1")
    assert response.status_code == 404
    assert response["Content-Type"].startswith(FHIR_JSON)
    OperationOutcome.model_validate(response.json())


def test_unsupported_method_is_a_fhir_405(fhir):
    response = fhir.client.delete("/fhir/Patient/1", headers=fhir.headers)
    assert response.status_code == 405
    assert response["Content-Type"].startswith(FHIR_JSON)
    OperationOutcome.model_validate(response.json())
