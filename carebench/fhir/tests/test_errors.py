"""Errors are OperationOutcomes with the right status: 400, 401, 403, 413, 415."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.patients.models import Patient

from .conftest import FHIR_JSON, FhirClient, token_for

PATIENT = {
    "resourceType": "Patient",
    "gender": "female",
    "birthDate": "1970-01-01",
    "name": [{"family": "Errorson", "given": ["Eve"]}],
}


def outcome(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    OperationOutcome.model_validate(body)
    return body


@pytest.mark.parametrize("path", ["/fhir/Patient", "/fhir/Patient/1", "/fhir/Condition?patient=1"])
def test_no_token_is_401(anonymous, db, path):
    response = anonymous.get(path)
    body = outcome(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert body["issue"][0]["code"] == "login"


@pytest.mark.parametrize(
    "header", ["Bearer cbk_not-a-token", "Bearer ", "Basic abc", "Token cbk_x"]
)
def test_bad_token_is_401(db, header):
    response = Client().get("/fhir/Patient", headers={"Authorization": header})
    outcome(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_token_on_create_is_401_and_writes_nothing(anonymous, db):
    outcome(anonymous.post("/fhir/Patient", PATIENT), 401)
    assert not Patient.objects.exists()


def test_role_without_the_permission_is_403(manager):
    client = FhirClient(token_for(manager))
    outcome(client.post("/fhir/Patient", PATIENT), 403)
    assert client.get("/fhir/Patient").status_code == 200


def test_malformed_json_is_400(fhir):
    body = outcome(fhir.post("/fhir/Patient", '{"resourceType": "Patient",'), 400)
    assert "JSON" in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize("payload", ["[]", '"Patient"', "null", ""])
def test_body_that_is_not_a_resource_is_400(fhir, payload):
    outcome(fhir.post("/fhir/Patient", payload), 400)


def test_pydantic_invalid_resource_is_400_with_the_path(fhir):
    resource = {
        **PATIENT,
        "name": [{"family": "Errorson", "given": "Eve"}],
        "birthDate": "01/02/1970",
        "colour": "blue",
    }
    body = outcome(fhir.post("/fhir/Patient", resource), 400)
    expressions = {e for i in body["issue"] for e in i["expression"]}
    assert {"Patient.name[0].given", "Patient.birthDate", "Patient.colour"} <= expressions
    assert not Patient.objects.exists()


@pytest.mark.parametrize("resource_type", ["Observation", None, "Patient "])
def test_wrong_or_missing_resource_type_is_400(fhir, resource_type):
    body = {**PATIENT, "resourceType": resource_type}
    outcome(fhir.post("/fhir/Patient", body), 400)
    allergy = {"resourceType": "Patient", "patient": {"reference": "Patient/1"}}
    outcome(fhir.post("/fhir/AllergyIntolerance", allergy), 400)


def test_plain_json_content_type_is_accepted(fhir):
    response = fhir.post("/fhir/Patient", PATIENT, content_type="application/json")
    assert response.status_code == 201
    assert response["Content-Type"].startswith(FHIR_JSON)


def test_other_content_type_is_415(fhir):
    outcome(fhir.post("/fhir/Patient", json.dumps(PATIENT), content_type="text/plain"), 415)


def test_csrf_does_not_apply(mat):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/fhir/Patient",
        json.dumps(PATIENT),
        content_type=FHIR_JSON,
        headers={"Authorization": f"Bearer {token_for(mat)}"},
    )
    assert response.status_code == 201


def test_body_over_one_megabyte_is_413(fhir):
    big = {**PATIENT, "text": {"status": "generated", "div": "x" * (1024 * 1024 + 1)}}
    outcome(fhir.post("/fhir/Patient", big), 413)


def test_missing_required_demographics_are_422_naming_each(fhir):
    body = outcome(
        fhir.post("/fhir/Patient", {"resourceType": "Patient", "birthDate": "1970-01-01"}), 422
    )
    expressions = {e for i in body["issue"] for e in i["expression"]}
    assert {"Patient.name.family", "Patient.name.given", "Patient.gender"} <= expressions
