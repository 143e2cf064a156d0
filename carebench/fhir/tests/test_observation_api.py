"""Observation (vital signs) over the FHIR API: create through record_vitals, read, search."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation as FhirObservation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.audit.models import Action, AuditEvent
from carebench.core import clock
from carebench.encounters import services as encounter_services
from carebench.encounters.models import Alert, Observation, VitalSigns
from carebench.encounters.vitals import VitalsEntry
from carebench.testing import actor_for, make_patient

from .conftest import FhirClient, token_for

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
VITAL_SIGNS = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs",
            }
        ]
    }
]


@pytest.fixture
def patient(mat):
    return make_patient(mat, family_name="Vitalis")


def quantity(value, code):
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def vital(patient, loinc, value=None, unit=None, **overrides):
    body = {
        "resourceType": "Observation",
        "status": "final",
        "category": VITAL_SIGNS,
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{patient.pk}"},
        "effectiveDateTime": (clock.now() - timedelta(minutes=5)).isoformat(),
    }
    if value is not None:
        body["valueQuantity"] = quantity(value, unit)
    body.update(overrides)
    return body


def blood_pressure(patient, systolic=128, diastolic=82, **overrides):
    components = []
    if systolic is not None:
        components.append(
            {
                "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                "valueQuantity": quantity(systolic, "mm[Hg]"),
            }
        )
    if diastolic is not None:
        components.append(
            {
                "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                "valueQuantity": quantity(diastolic, "mm[Hg]"),
            }
        )
    return vital(patient, "85354-9", component=components, **overrides)


def create(fhir, body, status=201):
    response = fhir.post("/fhir/Observation", body)
    assert response.status_code == status, response.content
    resource = response.json()
    if status == 201:
        FhirObservation.model_validate(resource)
        assert response["Location"].endswith(f"/fhir/Observation/{resource['id']}")
    else:
        OperationOutcome.model_validate(resource)
    return resource


def search(fhir, **params):
    response = fhir.get("/fhir/Observation", params)
    assert response.status_code == 200, response.content
    bundle = response.json()
    Bundle.model_validate(bundle)
    for entry in bundle.get("entry", []):
        FhirObservation.model_validate(entry["resource"])
    return bundle


def ids(bundle):
    return [entry["resource"]["id"] for entry in bundle.get("entry", [])]


def test_blood_pressure_panel(fhir, patient, mat):
    resource = create(fhir, blood_pressure(patient, 142, 91))
    assert resource["meta"]["profile"] == [US_CORE + "us-core-blood-pressure"]
    assert resource["code"]["coding"][0]["code"] == "85354-9"
    assert resource["category"][0]["coding"][0]["code"] == "vital-signs"
    assert "valueQuantity" not in resource
    systolic, diastolic = resource["component"]
    assert systolic["code"]["coding"][0]["code"] == "8480-6"
    assert systolic["valueQuantity"] == {
        "value": 142,
        "unit": "mmHg",
        "system": UCUM,
        "code": "mm[Hg]",
    }
    assert diastolic["valueQuantity"]["value"] == 91
    assert systolic["interpretation"][0]["coding"][0]["code"] == "H"
    assert diastolic["interpretation"][0]["coding"][0]["code"] == "H"
    row = Observation.objects.get(pk=resource["id"])
    assert (row.value, row.value2, row.unit) == (Decimal(142), Decimal(91), "mm[Hg]")
    assert VitalSigns.objects.get().taken_by == mat
    read = fhir.get(f"/fhir/Observation/{resource['id']}")
    assert read.status_code == 200
    FhirObservation.model_validate(read.json())


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "stored", "profile"),
    [
        ("8867-4", 72, "/min", ("8867-4", Decimal(72), "/min"), "us-core-heart-rate"),
        ("9279-1", 16, "/min", ("9279-1", Decimal(16), "/min"), "us-core-respiratory-rate"),
        ("8310-5", 37.2, "Cel", ("8310-5", Decimal("37.2"), "Cel"), "us-core-body-temperature"),
        ("8310-5", 98.6, "[degF]", ("8310-5", Decimal("37.00"), "Cel"), "us-core-body-temperature"),
        ("29463-7", 154, "[lb_av]", ("29463-7", Decimal("69.853"), "kg"), "us-core-body-weight"),
        ("8302-2", 65, "[in_i]", ("8302-2", Decimal("165.1"), "cm"), "us-core-body-height"),
        ("59408-5", 97, "%", ("59408-5", Decimal(97), "%"), "us-core-pulse-oximetry"),
        ("2708-6", 97, "%", ("59408-5", Decimal(97), "%"), "us-core-pulse-oximetry"),
        ("72514-3", 4, "{score}", ("72514-3", Decimal(4), "{score}"), "us-core-vital-signs"),
    ],
)
def test_single_vitals_and_unit_conversion(fhir, patient, loinc, value, unit, stored, profile):
    resource = create(fhir, vital(patient, loinc, value, unit))
    row = Observation.objects.get(pk=resource["id"])
    assert (row.code, row.value, row.unit) == stored
    assert resource["meta"]["profile"] == [US_CORE + profile]
    assert resource["valueQuantity"]["system"] == UCUM
    assert resource["valueQuantity"]["code"] == stored[2]
    assert resource["interpretation"][0]["coding"][0]["code"] == "N"
    if stored[0] == "59408-5":
        assert {c["code"] for c in resource["code"]["coding"]} == {"59408-5", "2708-6"}


def test_pulse_oximetry_with_oxygen_flow(fhir, patient):
    body = vital(
        patient,
        "59408-5",
        95,
        "%",
        component=[
            {
                "code": {"coding": [{"system": LOINC, "code": "3151-8"}]},
                "valueQuantity": quantity(2, "L/min"),
            }
        ],
    )
    resource = create(fhir, body)
    assert resource["code"]["coding"][0]["code"] == "59408-5"
    assert Observation.objects.filter(code="3151-8", value=2).exists()


def test_impossible_values_name_the_element(fhir, patient):
    issue = create(fhir, vital(patient, "8867-4", 400, "/min"), status=422)["issue"][0]
    assert issue["expression"] == ["Observation.valueQuantity"]
    assert "not possible" in issue["diagnostics"]
    swapped = create(fhir, blood_pressure(patient, 70, 120), status=422)["issue"][0]
    assert swapped["expression"] == ["Observation.component[0].valueQuantity"]
    diastolic_first = blood_pressure(patient, 120, 250)
    diastolic_first["component"].reverse()
    issue = create(fhir, diastolic_first, status=422)["issue"]
    assert ["Observation.component[0].valueQuantity"] in [i["expression"] for i in issue]
    hot = create(fhir, vital(patient, "8310-5", 120, "[degF]"), status=422)["issue"][0]
    assert hot["expression"] == ["Observation.valueQuantity"] and "°F" in hot["diagnostics"]
    assert not Observation.objects.exists()


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        (lambda p: blood_pressure(p, diastolic=None), "Observation.component"),
        (lambda p: blood_pressure(p, systolic=None, diastolic=None), "Observation.component"),
        (lambda p: vital(p, "8867-4", 72, "/s"), "Observation.valueQuantity.code"),
        (lambda p: vital(p, "29463-7", 70, "g"), "Observation.valueQuantity.code"),
        (lambda p: vital(p, "8867-4"), "Observation.valueQuantity"),
        (lambda p: vital(p, "39156-5", 24, "kg/m2"), "Observation.code"),
        (lambda p: vital(p, "3151-8", 2, "L/min"), "Observation.code"),
        (lambda p: vital(p, "1234-5", 1, "1"), "Observation.code"),
        (
            lambda p: vital(
                p,
                "8867-4",
                72,
                "/min",
                category=[
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "laboratory",
                            }
                        ]
                    }
                ],
            ),
            "Observation.category",
        ),
        (lambda p: vital(p, "8867-4", 72, "/min", status="entered-in-error"), "Observation.status"),
        (
            lambda p: vital(p, "8867-4", 72, "/min", effectiveDateTime="2024-05-01"),
            "Observation.effectiveDateTime",
        ),
        (
            lambda p: vital(
                p,
                "8867-4",
                72,
                "/min",
                effectiveDateTime=(clock.now() + timedelta(hours=2)).isoformat(),
            ),
            "Observation.effectiveDateTime",
        ),
        (
            lambda p: vital(p, "8867-4", 72, "/min", encounter={"reference": "Encounter/999999"}),
            "Observation.encounter",
        ),
    ],
)
def test_refused_observations(fhir, patient, body, expression):
    outcome = create(fhir, body(patient), status=422)
    assert outcome["issue"][0]["expression"] == [expression]
    assert not Observation.objects.exists()


def test_critical_value_raises_the_alert_and_links_the_encounter(fhir, patient, mat):
    encounter = encounter_services.open_walk_in(actor=actor_for(mat), patient=patient)
    body = blood_pressure(patient, 190, 125, encounter={"reference": f"Encounter/{encounter.pk}"})
    resource = create(fhir, body)
    assert resource["encounter"] == {"reference": f"Encounter/{encounter.pk}"}
    assert resource["component"][0]["interpretation"][0]["coding"][0]["code"] == "HH"
    assert Alert.objects.filter(patient=patient, encounter=encounter).exists()
    other = make_patient(mat)
    wrong = vital(other, "8867-4", 72, "/min", encounter={"reference": f"Encounter/{encounter.pk}"})
    assert create(fhir, wrong, status=422)["issue"][0]["expression"] == ["Observation.encounter"]


def test_search_by_patient_category_code_and_date(fhir, patient, mat):
    entry = VitalsEntry(
        systolic=Decimal(120), diastolic=Decimal(78), heart_rate=Decimal(64), spo2=Decimal(98)
    )
    encounter_services.record_vitals(actor=actor_for(mat), patient=patient, entry=entry)
    rows = {row.code: str(row.pk) for row in Observation.objects.all()}
    everything = search(fhir, patient=f"Patient/{patient.pk}")
    assert sorted(ids(everything)) == sorted(rows.values())
    assert search(fhir, patient=patient.pk, category="vital-signs")["total"] == 3
    assert search(fhir, patient=patient.pk, category="laboratory")["total"] == 0
    assert ids(search(fhir, patient=patient.pk, code=f"{LOINC}|85354-9")) == [rows["85354-9"]]
    assert ids(search(fhir, patient=patient.pk, code="8480-6")) == [rows["85354-9"]]
    assert ids(search(fhir, patient=patient.pk, code="2708-6")) == [rows["59408-5"]]
    assert search(fhir, patient=patient.pk, code="8867-4,59408-5")["total"] == 2
    assert search(fhir, patient=patient.pk, code="urn:other|8867-4")["total"] == 0
    today = clock.now().date()
    for value, total in (
        (f"ge{today - timedelta(days=1)}", 3),
        (f"gt{today}", 0),
        (f"lt{today - timedelta(days=1)}", 0),
        (f"{today.year}", 3),
    ):
        assert search(fhir, patient=patient.pk, date=value)["total"] == total, value
    assert fhir.get("/fhir/Observation").status_code == 400
    assert fhir.get("/fhir/Observation", {"patient": patient.pk, "date": "soon"}).status_code == 400
    assert AuditEvent.objects.filter(
        action=Action.SEARCH, resource_type="Observation", patient_id=patient.pk
    ).exists()


def test_read_is_audited_and_voided_rows_are_gone(fhir, patient, mat):
    resource = create(fhir, vital(patient, "8867-4", 72, "/min"))
    assert fhir.get(f"/fhir/Observation/{resource['id']}").status_code == 200
    view = AuditEvent.objects.get(action=Action.VIEW, resource_type="Observation")
    assert (view.patient_id, view.resource_id, view.user_id) == (patient.pk, resource["id"], mat.pk)
    Observation.objects.filter(pk=resource["id"]).update(voided_at=clock.now())
    assert fhir.get(f"/fhir/Observation/{resource['id']}").status_code == 410
    assert search(fhir, patient=patient.pk)["total"] == 0


def test_other_organization_sees_nothing(fhir, other_fhir, patient, other_mat):
    resource = create(fhir, vital(patient, "8867-4", 72, "/min"))
    assert other_fhir.get(f"/fhir/Observation/{resource['id']}").status_code == 404
    assert search(other_fhir, patient=patient.pk)["total"] == 0
    refused = other_fhir.post("/fhir/Observation", vital(patient, "8867-4", 70, "/min"))
    assert refused.status_code == 422
    assert Observation.objects.count() == 1


def test_biller_may_not_record_vitals(biller, medtech, patient):
    client = FhirClient(token_for(biller))
    response = client.post("/fhir/Observation", vital(patient, "8867-4", 72, "/min"))
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, user_id=biller.pk).exists()
    assert client.get("/fhir/Observation", {"patient": patient.pk}).status_code == 403
    assert (
        FhirClient(token_for(medtech)).get("/fhir/Observation", {"patient": patient.pk}).status_code
        == 403
    )
    assert not Observation.objects.exists()
