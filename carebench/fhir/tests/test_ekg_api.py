"""EKG over FHIR: DiagnosticReport (read, search by patient, _include) and its Observations."""

from __future__ import annotations

import base64

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.audit.models import Action, AuditEvent
from carebench.ekg import services
from carebench.ekg.tests.helpers import synthetic_csv
from carebench.testing import actor_for, make_patient

from .conftest import FhirClient, token_for

LOINC = "http://loinc.org"


@pytest.fixture
def patient(mat):
    return make_patient(mat, family_name="Cardio")


@pytest.fixture
def ekg(mat, patient):
    return services.attach_ekg(
        actor=actor_for(mat), patient=patient, filename="a.csv", data=synthetic_csv()
    )


def codes(resource: dict) -> set[str]:
    return {c["code"] for c in resource["code"]["coding"]}


def test_read_report_preliminary_with_pdf_and_results(fhir, ekg):
    response = fhir.get(f"/fhir/DiagnosticReport/{ekg.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    DiagnosticReport.model_validate(body)
    assert body["status"] == "preliminary" and "11524-6" in codes(body)
    assert body["subject"] == {"reference": f"Patient/{ekg.patient_id}"}
    assert body["conclusion"] == "Computer-measured, unconfirmed"
    form = body["presentedForm"][0]
    assert form["contentType"] == "application/pdf"
    assert base64.b64decode(form["data"]).startswith(b"%PDF")
    refs = [r["reference"] for r in body["result"]]
    assert f"Observation/ekg-{ekg.pk}-waveform" in refs and f"Observation/ekg-{ekg.pk}-qt" in refs
    assert AuditEvent.objects.filter(
        action=Action.VIEW, resource_type="EkgRecording", resource_id=str(ekg.pk), channel="api"
    ).exists()


@pytest.mark.parametrize(
    "part,loinc,unit",
    [
        ("hr", "76282-3", "/min"),
        ("pr", "8625-6", "ms"),
        ("qrs", "8633-0", "ms"),
        ("qt", "8634-8", "ms"),
        ("qtcb", "8636-3", "ms"),
        ("qtcf", "8636-3", "ms"),
        ("axis", "8632-2", "deg"),
    ],
)
def test_measurement_observations(fhir, ekg, part, loinc, unit):
    body = fhir.get(f"/fhir/Observation/ekg-{ekg.pk}-{part}").json()
    Observation.model_validate(body)
    assert loinc in codes(body) and body["valueQuantity"]["code"] == unit
    assert body["status"] == "preliminary"
    assert body["note"][0]["text"] == "Computer-measured, unconfirmed"


def test_waveform_observation_has_sampled_data_per_lead(fhir, ekg):
    body = fhir.get(f"/fhir/Observation/ekg-{ekg.pk}-waveform").json()
    Observation.model_validate(body)
    assert "11524-6" in codes(body)
    leads = {c["code"]["text"]: c["valueSampledData"] for c in body["component"]}
    assert set(leads) == {f"Lead {n}" for n in ("I", "II", "III", "aVR", "aVL", "aVF")}
    lead_ii = leads["Lead II"]
    assert lead_ii["period"] == 2.0 and lead_ii["factor"] == 0.001 and lead_ii["dimensions"] == 1
    values = [int(v) for v in lead_ii["data"].split()]
    assert len(values) == 5000 and max(values) > 800  # R waves of ~1.2 mV, in microvolts
    mdc = {c["code"]["coding"][0]["code"] for c in body["component"]}
    assert "131330" in mdc  # MDC_ECG_ELEC_POTL_II


def test_signed_report_is_final_with_the_providers_values(fhir, provider, ekg):
    services.confirm_and_sign(
        actor=actor_for(provider),
        recording=ekg,
        corrections={"qt_ms": 430},
        interpretation="Sinus rhythm. Normal EKG.",
    )
    body = fhir.get(f"/fhir/DiagnosticReport/{ekg.pk}").json()
    DiagnosticReport.model_validate(body)
    assert body["status"] == "final" and body["conclusion"] == "Sinus rhythm. Normal EKG."
    assert body["resultsInterpreter"][0]["display"]
    qt = fhir.get(f"/fhir/Observation/ekg-{ekg.pk}-qt").json()
    assert qt["status"] == "final" and qt["valueQuantity"]["value"] == 430
    assert "Corrected" in qt["note"][0]["text"]


def test_search_by_patient_with_include(fhir, mat, patient, ekg):
    other = make_patient(mat, family_name="Elsewhere")
    services.attach_ekg(
        actor=actor_for(mat), patient=other, filename="b.csv", data=synthetic_csv(seed=7)
    )
    response = fhir.get(
        "/fhir/DiagnosticReport",
        {"patient": f"Patient/{patient.pk}", "_include": "DiagnosticReport:result"},
    )
    assert response.status_code == 200
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["total"] == 1
    matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    included = [e for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [e["resource"]["id"] for e in matches] == [str(ekg.pk)]
    assert {e["resource"]["resourceType"] for e in included} == {"Observation"}
    assert len(included) >= 7
    assert (
        fhir.get("/fhir/DiagnosticReport", {"patient": patient.pk, "status": "final"}).json()[
            "total"
        ]
        == 0
    )
    assert (
        fhir.get(
            "/fhir/DiagnosticReport", {"patient": patient.pk, "code": f"{LOINC}|11524-6"}
        ).json()["total"]
        == 1
    )
    assert AuditEvent.objects.filter(action=Action.SEARCH, resource_type="EkgRecording").exists()


def test_another_organizations_ekg_is_404(other_fhir, ekg):
    for path in (
        f"/fhir/DiagnosticReport/{ekg.pk}",
        f"/fhir/Observation/ekg-{ekg.pk}-qt",
        f"/fhir/Observation/ekg-{ekg.pk}-waveform",
    ):
        response = other_fhir.get(path)
        assert response.status_code == 404, path
        OperationOutcome.model_validate(response.json())
    search = other_fhir.get("/fhir/DiagnosticReport", {"patient": ekg.patient_id}).json()
    assert search["total"] == 0


def test_without_permission_is_403(medtech, ekg):
    client = FhirClient(token_for(medtech))
    response = client.get(f"/fhir/DiagnosticReport/{ekg.pk}")
    assert response.status_code == 403
    OperationOutcome.model_validate(response.json())


def test_voided_is_gone_and_unknown_parts_are_404(fhir, mat, ekg):
    assert fhir.get(f"/fhir/Observation/ekg-{ekg.pk}-nope").status_code == 404
    services.void_ekg(actor=actor_for(mat), recording=ekg, reason="wrong patient")
    assert fhir.get(f"/fhir/DiagnosticReport/{ekg.pk}").status_code == 410


def test_vital_sign_observations_still_work(fhir, ekg):
    # the vitals read route sits beside the EKG one
    assert fhir.get("/fhir/Observation/999999").status_code == 404


def test_metadata_lists_diagnostic_report(anonymous):
    body = anonymous.get("/fhir/metadata").json()
    types = {r["type"] for r in body["rest"][0]["resource"]}
    assert "DiagnosticReport" in types


def test_observation_search_by_patient_finds_ekg_measurements(fhir, mat, patient, ekg):
    other = make_patient(mat, family_name="Elsewhere")
    services.attach_ekg(
        actor=actor_for(mat), patient=other, filename="b.csv", data=synthetic_csv(seed=7)
    )
    response = fhir.get(
        "/fhir/Observation", {"patient": f"Patient/{patient.pk}", "category": "procedure"}
    )
    assert response.status_code == 200
    bundle = response.json()
    Bundle.model_validate(bundle)
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert ids and all(i.startswith(f"ekg-{ekg.pk}-") for i in ids)
    assert bundle["total"] == len(ids)
    for entry in bundle["entry"]:
        Observation.model_validate(entry["resource"])
    vitals = fhir.get("/fhir/Observation", {"patient": patient.pk}).json()
    assert all(not e["resource"]["id"].startswith("ekg-") for e in vitals.get("entry", []))
