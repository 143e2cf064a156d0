"""Specimen over FHIR: the tubes of lab orders (read, search by patient)."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.specimen import Specimen as FhirSpecimen

from carebench.audit.models import Action, AuditEvent
from carebench.labs import services

from .conftest import FhirClient, token_for
from .lab_data import drawn_order

V2_0487 = "http://terminology.hl7.org/CodeSystem/v2-0487"


@pytest.fixture
def drawn(lab):
    return drawn_order(lab, "CBC")


def test_read_a_collected_tube(fhir, lab, drawn):
    specimen = drawn.specimens[0]
    response = fhir.get(f"/fhir/Specimen/{specimen.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirSpecimen.model_validate(body)
    assert body["accessionIdentifier"]["value"] == specimen.accession
    assert body["status"] == "available"
    assert body["type"]["coding"][0] == {"system": V2_0487, "code": "BLD", "display": "Whole blood"}
    assert body["subject"] == {"reference": f"Patient/{lab.patient.pk}"}
    assert body["request"] == [{"reference": f"ServiceRequest/{drawn.items['CBC'].pk}"}]
    assert body["collection"]["collectedDateTime"] == specimen.collected_at.isoformat()
    assert body["collection"]["bodySite"] == {"text": "left antecubital"}
    assert "collector" not in body["collection"]  # a medical assistant drew it
    assert body["container"][0]["type"]["text"].startswith("Lavender top")


def test_collector_is_the_practitioner_when_a_provider_draws(fhir, lab):
    drawn = drawn_order(lab, "BMP", collector=lab.doc)
    body = fhir.get(f"/fhir/Specimen/{drawn.specimens[0].pk}").json()
    FhirSpecimen.model_validate(body)
    assert body["collection"]["collector"]["reference"] == f"Practitioner/{lab.provider.pk}"
    assert body["type"]["coding"][0]["code"] == "SER"


def test_pending_tube_has_no_status_or_collection(fhir, lab):
    from carebench.labs.tests.conftest import order_for

    order = order_for(lab, "CBC")
    (tube,) = services.create_specimens(actor=lab.mat, order=order)
    body = fhir.get(f"/fhir/Specimen/{tube.pk}").json()
    FhirSpecimen.model_validate(body)
    assert "status" not in body and "collection" not in body


def test_processed_tube_lists_its_processing(fhir, lab):
    drawn = drawn_order(lab, "BMP")
    services.process_specimen(
        actor=lab.mat, specimen=drawn.specimens[0], centrifuged=True, aliquoted=False
    )
    body = fhir.get(f"/fhir/Specimen/{drawn.specimens[0].pk}").json()
    FhirSpecimen.model_validate(body)
    assert body["processing"] == [{"description": "Centrifuged"}]


def test_rejected_tube_is_unsatisfactory_with_the_reason(fhir, lab, drawn):
    specimen = drawn.specimens[0]
    again = services.reject_specimen(
        actor=lab.mat, specimen=specimen, reason="hemolyzed", note="pink serum"
    )
    body = fhir.get(f"/fhir/Specimen/{specimen.pk}").json()
    FhirSpecimen.model_validate(body)
    assert body["status"] == "unsatisfactory"
    assert body["condition"][0]["coding"][0]["code"] == "HEM"
    assert {"text": "Rejected: pink serum"} in body["note"]
    recollection = fhir.get(f"/fhir/Specimen/{again.pk}").json()
    assert {"text": f"Re-collection of {specimen.accession}"} in recollection["note"]


def test_search_by_patient_with_paging(fhir, lab):
    drawn_order(lab, "CBC", "BMP", "PTINR")  # three tubes: lavender, gold, light blue
    response = fhir.get("/fhir/Specimen", {"patient": f"Patient/{lab.patient.pk}", "_count": 2})
    assert response.status_code == 200
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["total"] == 3 and len(bundle["entry"]) == 2
    assert "next" in {link["relation"] for link in bundle["link"]}
    for entry in bundle["entry"]:
        FhirSpecimen.model_validate(entry["resource"])


def test_search_by_accession_and_status(fhir, lab, drawn):
    accession = drawn.specimens[0].accession
    found = fhir.get("/fhir/Specimen", {"subject": lab.patient.pk, "accession": accession}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [str(drawn.specimens[0].pk)]
    rejected = fhir.get("/fhir/Specimen", {"patient": lab.patient.pk, "status": "unsatisfactory"})
    assert rejected.json()["total"] == 0


def test_another_organizations_specimen_is_404(other_fhir, lab, drawn):
    response = other_fhir.get(f"/fhir/Specimen/{drawn.specimens[0].pk}")
    assert response.status_code == 404
    OperationOutcome.model_validate(response.json())
    assert other_fhir.get("/fhir/Specimen", {"patient": lab.patient.pk}).json()["total"] == 0


def test_read_is_audited(fhir, lab, drawn):
    specimen = drawn.specimens[0]
    fhir.get(f"/fhir/Specimen/{specimen.pk}")
    assert AuditEvent.objects.filter(
        action=Action.VIEW,
        resource_type="Specimen",
        resource_id=str(specimen.pk),
        patient_id=lab.patient.pk,
        channel="api",
    ).exists()


def test_without_permission_is_403(medtech, lab, drawn):
    response = FhirClient(token_for(medtech)).get(f"/fhir/Specimen/{drawn.specimens[0].pk}")
    assert response.status_code == 403


def test_search_page_is_a_fixed_number_of_queries(fhir, lab, django_assert_max_num_queries):
    drawn_order(lab, "CBC")
    with django_assert_max_num_queries(9):
        assert fhir.get("/fhir/Specimen", {"patient": lab.patient.pk}).json()["total"] == 1
    drawn_order(lab, "BMP", "PTINR", "UA", "GLUF", collector=lab.doc)
    with django_assert_max_num_queries(9):
        assert fhir.get("/fhir/Specimen", {"patient": lab.patient.pk}).json()["total"] == 5
