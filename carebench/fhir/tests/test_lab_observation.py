"""Lab results as Observations (category laboratory, ids `lab-<id>`): read, search."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.audit.models import Action, AuditEvent
from carebench.core import clock
from carebench.encounters import services as encounter_services
from carebench.encounters.vitals import VitalsEntry
from carebench.fhir.appointment import zone_of
from carebench.labs.result_services import ResultValue, store_results

from .conftest import FhirClient, token_for
from .lab_data import hemoglobin, resulted_order

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


@pytest.fixture
def resulted(lab):
    return resulted_order(lab)


def by_code(resulted, code):
    return next(r for r in resulted.results if r.code == code)


def test_read_a_numeric_result(fhir, lab, resulted):
    hgb = by_code(resulted, "718-7")
    response = fhir.get(f"/fhir/Observation/lab-{hgb.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    Observation.model_validate(body)
    assert body["id"] == f"lab-{hgb.pk}"
    assert body["status"] == "final"
    assert body["category"][0]["coding"][0] == {
        "system": CATEGORY,
        "code": "laboratory",
        "display": "Laboratory",
    }
    assert body["code"]["coding"][0] == {"system": LOINC, "code": "718-7", "display": "Hemoglobin"}
    assert body["valueQuantity"] == {"value": 13.5, "unit": "g/dL", "system": UCUM, "code": "g/dL"}
    assert body["referenceRange"] == [
        {
            "low": {"value": 12, "unit": "g/dL", "system": UCUM, "code": "g/dL"},
            "high": {"value": 16, "unit": "g/dL", "system": UCUM, "code": "g/dL"},
        }
    ]
    assert body["interpretation"][0]["coding"][0]["code"] == "N"
    assert body["effectiveDateTime"] == hgb.observed_at.isoformat()
    assert body["basedOn"] == [{"reference": f"ServiceRequest/{resulted.items['CBC'].pk}"}]
    assert body["specimen"] == {"reference": f"Specimen/{resulted.specimens[0].pk}"}
    assert body["subject"] == {"reference": f"Patient/{lab.patient.pk}"}
    assert {"display": "Quest Diagnostics"} in body["performer"]


def test_high_result_is_flagged_high(fhir, resulted):
    body = fhir.get(f"/fhir/Observation/lab-{by_code(resulted, '2951-2').pk}").json()
    assert body["interpretation"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
        "code": "H",
        "display": "High",
    }
    assert body["valueQuantity"]["code"] == "mmol/L"


def test_text_result_is_a_value_string_with_the_labs_own_code(fhir, resulted):
    body = fhir.get(f"/fhir/Observation/lab-{by_code(resulted, 'COMM').pk}").json()
    Observation.model_validate(body)
    assert body["valueString"] == "Specimen slightly lipemic"
    assert body["code"]["coding"][0]["system"] == "urn:carebench:lab-code:L"


def test_units_outside_ucum_have_no_code_and_iu_is_rewritten(fhir, lab):
    rows = store_results(
        actor=lab.mat,
        patient=lab.patient,
        values=[
            ResultValue(code="3016-3", name="TSH", value=Decimal("2.1"), unit="uIU/mL"),
            ResultValue(code="9999-9", name="Odd", value=Decimal("4"), unit="cells/hpf"),
            ResultValue(code="2345-7", name="Glucose", value=Decimal("40"), comparator="<"),
        ],
        source="manual",
    )
    tsh, odd, glucose = (fhir.get(f"/fhir/Observation/lab-{r.pk}").json() for r in rows)
    for body in (tsh, odd, glucose):
        Observation.model_validate(body)
    assert tsh["valueQuantity"]["code"] == "u[IU]/mL" and tsh["valueQuantity"]["unit"] == "uIU/mL"
    assert odd["valueQuantity"] == {"value": 4, "unit": "cells/hpf"}
    assert glucose["valueQuantity"] == {"value": 40, "comparator": "<"}


def test_preliminary_then_corrected(fhir, lab):
    resulted = resulted_order(lab, final=False)
    first = by_code(resulted, "718-7")
    assert fhir.get(f"/fhir/Observation/lab-{first.pk}").json()["status"] == "preliminary"
    (final,) = store_results(
        actor=lab.mat,
        patient=lab.patient,
        values=[hemoglobin(resulted.items["CBC"], "13.6")],
        source="hl7",
        order=resulted.order,
    )
    (corrected,) = store_results(
        actor=lab.mat,
        patient=lab.patient,
        values=[hemoglobin(resulted.items["CBC"], "11.0")],
        source="hl7",
        order=resulted.order,
    )
    assert fhir.get(f"/fhir/Observation/lab-{final.pk}").json()["status"] == "entered-in-error"
    body = fhir.get(f"/fhir/Observation/lab-{corrected.pk}").json()
    Observation.model_validate(body)
    assert body["status"] == "corrected" and body["interpretation"][0]["coding"][0]["code"] == "L"
    old = fhir.get(f"/fhir/Observation/lab-{first.pk}").json()
    Observation.model_validate(old)
    assert old["status"] == "entered-in-error"
    assert {"text": f"Replaced by Observation/lab-{final.pk}"} in old["note"]


def test_search_category_laboratory_finds_only_lab_results(fhir, mat, lab, resulted):
    encounter_services.record_vitals(
        actor=lab.mat, patient=lab.patient, entry=VitalsEntry(heart_rate=72)
    )
    response = fhir.get(
        "/fhir/Observation", {"patient": f"Patient/{lab.patient.pk}", "category": "laboratory"}
    )
    assert response.status_code == 200
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["total"] == 3
    for entry in bundle["entry"]:
        Observation.model_validate(entry["resource"])
        assert entry["resource"]["id"].startswith("lab-")
    vitals = fhir.get("/fhir/Observation", {"patient": lab.patient.pk}).json()
    assert vitals["total"] == 1
    assert not vitals["entry"][0]["resource"]["id"].startswith("lab-")


def test_search_by_subject_code_date_and_status(fhir, lab, resulted):
    def total(**params):
        query = {"subject": f"Patient/{lab.patient.pk}", "category": f"{CATEGORY}|laboratory"}
        return fhir.get("/fhir/Observation", {**query, **params}).json()["total"]

    today = clock.now().astimezone(zone_of(lab.org)).date()  # days in the clinic's zone
    assert total(code=f"{LOINC}|718-7") == 1
    assert total(code="718-7,2951-2") == 2
    assert total(code="urn:carebench:lab-code:L|COMM") == 1
    assert total(date=f"ge{today.isoformat()}") == 3
    assert total(date=f"lt{(today - timedelta(days=2)).isoformat()}") == 0
    assert total(status="final") == 3 and total(status="preliminary") == 0


def test_vital_sign_ids_do_not_reach_lab_results(fhir, resulted):
    hgb = by_code(resulted, "718-7")
    assert fhir.get(f"/fhir/Observation/{hgb.pk}").status_code == 404
    assert fhir.get("/fhir/Observation/lab-999999").status_code == 404


def test_another_organizations_result_is_404(other_fhir, lab, resulted):
    response = other_fhir.get(f"/fhir/Observation/lab-{resulted.results[0].pk}")
    assert response.status_code == 404
    OperationOutcome.model_validate(response.json())
    search = other_fhir.get(
        "/fhir/Observation", {"patient": lab.patient.pk, "category": "laboratory"}
    ).json()
    assert search["total"] == 0


def test_read_is_audited(fhir, lab, resulted):
    hgb = by_code(resulted, "718-7")
    fhir.get(f"/fhir/Observation/lab-{hgb.pk}")
    assert AuditEvent.objects.filter(
        action=Action.VIEW,
        resource_type="LabResult",
        resource_id=str(hgb.pk),
        patient_id=lab.patient.pk,
        channel="api",
    ).exists()


def test_front_desk_sees_orders_but_not_results(frontdesk, resulted):
    client = FhirClient(token_for(frontdesk))
    assert client.get(f"/fhir/ServiceRequest/{resulted.items['CBC'].pk}").status_code == 200
    response = client.get(f"/fhir/Observation/lab-{resulted.results[0].pk}")
    assert response.status_code == 403
    OperationOutcome.model_validate(response.json())


def test_search_page_is_a_fixed_number_of_queries(fhir, lab, django_assert_max_num_queries):
    params = {"patient": lab.patient.pk, "category": "laboratory"}
    resulted_order(lab)
    with django_assert_max_num_queries(8):
        assert fhir.get("/fhir/Observation", params).json()["total"] == 3
    resulted_order(lab)
    resulted_order(lab)
    with django_assert_max_num_queries(8):
        assert fhir.get("/fhir/Observation", params).json()["total"] == 9
