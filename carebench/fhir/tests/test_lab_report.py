"""Lab reports as DiagnosticReports (category LAB, ids `lab-<order id>`): read, search."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from carebench.audit.models import Action, AuditEvent
from carebench.ekg import services as ekg_services
from carebench.ekg.tests.helpers import synthetic_csv
from carebench.fhir.appointment import zone_of
from carebench.labs.result_services import review_results, store_results
from carebench.labs.tests.conftest import order_for

from .conftest import FhirClient, token_for
from .lab_data import drawn_order, hemoglobin, resulted_order

V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"


@pytest.fixture
def resulted(lab):
    return resulted_order(lab)


def read(fhir, order):
    response = fhir.get(f"/fhir/DiagnosticReport/lab-{order.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    DiagnosticReport.model_validate(body)
    return body


def test_read_a_final_report(fhir, lab, resulted):
    body = read(fhir, resulted.order)
    assert body["id"] == f"lab-{resulted.order.pk}"
    assert body["status"] == "final"
    assert body["category"][0]["coding"][0] == {
        "system": V2_0074,
        "code": "LAB",
        "display": "Laboratory",
    }
    assert body["code"] == {"text": "Laboratory report"}  # two tests ordered
    assert [r["reference"] for r in body["result"]] == [
        f"Observation/lab-{r.pk}" for r in resulted.results
    ]
    assert {r["reference"] for r in body["basedOn"]} == {
        f"ServiceRequest/{item.pk}" for item in resulted.items.values()
    }
    assert body["specimen"] == [{"reference": f"Specimen/{resulted.specimens[0].pk}"}]
    assert body["subject"] == {"reference": f"Patient/{lab.patient.pk}"}
    assert body["performer"] == [{"display": "Quest Diagnostics"}]
    assert "resultsInterpreter" not in body


def test_single_test_report_has_the_tests_code(fhir, lab):
    drawn = drawn_order(lab, "CBC")
    store_results(
        actor=lab.mat,
        patient=lab.patient,
        values=[hemoglobin(drawn.items["CBC"], status="preliminary")],
        source="hl7",
        order=drawn.order,
    )
    body = read(fhir, drawn.order)
    assert body["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "58410-2",
        "display": "CBC without differential",
    }
    assert body["status"] == "preliminary"


def test_partial_then_corrected(fhir, lab):
    drawn = drawn_order(lab)
    store_results(
        actor=lab.mat,
        patient=lab.patient,
        values=[hemoglobin(drawn.items["CBC"])],
        source="hl7",
        order=drawn.order,
    )
    assert read(fhir, drawn.order)["status"] == "partial"  # the BMP is still to come
    resulted = resulted_order(lab)
    store_results(
        actor=lab.mat,
        patient=lab.patient,
        values=[hemoglobin(resulted.items["CBC"], "11.2")],
        source="hl7",
        order=resulted.order,
    )
    assert read(fhir, resulted.order)["status"] == "corrected"


def test_reviewed_report_names_the_interpreter(fhir, lab, resulted):
    review_results(actor=lab.doc, order=resulted.order, comment="Sodium high: recheck")
    body = read(fhir, resulted.order)
    assert body["resultsInterpreter"][0]["reference"] == f"Practitioner/{lab.provider.pk}"
    assert body["conclusion"] == "Sodium high: recheck"


def test_order_without_results_has_no_report(fhir, lab):
    order = order_for(lab, "CBC")
    response = fhir.get(f"/fhir/DiagnosticReport/lab-{order.pk}")
    assert response.status_code == 404
    OperationOutcome.model_validate(response.json())


def test_search_category_lab_with_include(fhir, lab, resulted):
    response = fhir.get(
        "/fhir/DiagnosticReport",
        {
            "patient": f"Patient/{lab.patient.pk}",
            "category": f"{V2_0074}|LAB",
            "_include": "DiagnosticReport:result",
        },
    )
    assert response.status_code == 200
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["total"] == 1
    matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    included = [e for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [e["resource"]["id"] for e in matches] == [f"lab-{resulted.order.pk}"]
    assert len(included) == 3
    for entry in included:
        Observation.model_validate(entry["resource"])


def test_search_without_category_finds_ekg_and_lab_reports(fhir, mat, lab, resulted):
    ekg = ekg_services.attach_ekg(
        actor=lab.mat, patient=lab.patient, filename="a.csv", data=synthetic_csv()
    )
    bundle = fhir.get("/fhir/DiagnosticReport", {"subject": f"Patient/{lab.patient.pk}"}).json()
    Bundle.model_validate(bundle)
    assert bundle["total"] == 2
    assert [e["resource"]["id"] for e in bundle["entry"]] == [
        str(ekg.pk),
        f"lab-{resulted.order.pk}",
    ]
    second = fhir.get(
        "/fhir/DiagnosticReport", {"patient": lab.patient.pk, "_count": 1, "_offset": 1}
    ).json()
    assert [e["resource"]["id"] for e in second["entry"]] == [f"lab-{resulted.order.pk}"]
    ekg_only = fhir.get("/fhir/DiagnosticReport", {"patient": lab.patient.pk, "category": "EC"})
    assert [e["resource"]["id"] for e in ekg_only.json()["entry"]] == [str(ekg.pk)]


def test_search_by_code_status_and_date(fhir, lab, resulted):
    def total(**params):
        query = {"patient": lab.patient.pk, "category": "LAB"}
        return fhir.get("/fhir/DiagnosticReport", {**query, **params}).json()["total"]

    assert total(code="http://loinc.org|24321-2") == 1  # the BMP is one of its tests
    assert total(code="urn:carebench:lab-test|TSH") == 0
    assert total(status="final") == 1 and total(status="partial,preliminary") == 0
    zone = zone_of(lab.org)  # date searches take days in the clinic's zone
    day = resulted.results[0].observed_at.astimezone(zone).date().isoformat()
    assert total(date=f"ge{day}") == 1 and total(date="lt2000-01-01") == 0


def test_another_organizations_report_is_404(other_fhir, lab, resulted):
    response = other_fhir.get(f"/fhir/DiagnosticReport/lab-{resulted.order.pk}")
    assert response.status_code == 404
    OperationOutcome.model_validate(response.json())
    search = other_fhir.get("/fhir/DiagnosticReport", {"patient": lab.patient.pk}).json()
    assert search["total"] == 0


def test_read_is_audited(fhir, lab, resulted):
    read(fhir, resulted.order)
    assert AuditEvent.objects.filter(
        action=Action.VIEW,
        resource_type="LabOrder",
        resource_id=str(resulted.order.pk),
        patient_id=lab.patient.pk,
        channel="api",
    ).exists()


def test_search_is_audited(fhir, lab, resulted):
    fhir.get("/fhir/DiagnosticReport", {"patient": lab.patient.pk, "category": "LAB"})
    event = AuditEvent.objects.filter(action=Action.SEARCH, resource_type="LabOrder").get()
    assert json.loads(event.detail)["ids"] == [resulted.order.pk]


def test_manager_without_ekg_permission_still_finds_lab_reports(manager, lab, resulted):
    client = FhirClient(token_for(manager))
    bundle = client.get("/fhir/DiagnosticReport", {"patient": lab.patient.pk}).json()
    assert bundle["total"] == 1
    assert client.get(f"/fhir/DiagnosticReport/lab-{resulted.order.pk}").status_code == 200


def test_front_desk_gets_no_lab_reports(frontdesk, lab, resulted):
    client = FhirClient(token_for(frontdesk))  # may see EKG reports and orders, not results
    assert client.get(f"/fhir/DiagnosticReport/lab-{resulted.order.pk}").status_code == 403
    search = client.get("/fhir/DiagnosticReport", {"patient": lab.patient.pk, "category": "LAB"})
    assert search.status_code == 403
    assert client.get("/fhir/DiagnosticReport", {"patient": lab.patient.pk}).json()["total"] == 0


def test_search_page_is_a_fixed_number_of_queries(fhir, lab, django_assert_max_num_queries):
    params = {"patient": lab.patient.pk, "category": "LAB", "_include": "DiagnosticReport:result"}
    resulted_order(lab)
    with django_assert_max_num_queries(11):
        assert fhir.get("/fhir/DiagnosticReport", params).json()["total"] == 1
    resulted_order(lab)
    resulted_order(lab)
    review_results(actor=lab.doc, order=resulted_order(lab).order)
    with django_assert_max_num_queries(11):
        assert fhir.get("/fhir/DiagnosticReport", params).json()["total"] == 4
