"""DocumentReference and Binary: the chart's documents over FHIR, bytes kept out of the JSON."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.documentreference import DocumentReference

from carebench.audit.models import AuditEvent
from carebench.patients import document_services
from carebench.testing import actor_for, make_patient

PDF = b"%PDF-1.4\n%test\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17


@pytest.fixture
def patient(mat):
    return make_patient(mat)


@pytest.fixture
def consult(mat, patient):
    return document_services.upload_document(
        actor=actor_for(mat),
        patient=patient,
        data=PDF,
        filename="consult.pdf",
        category="consult_note",
        title="Cardiology consult",
    )


def test_read_validates_and_points_at_the_binary(fhir, mat, patient, consult):
    response = fhir.get(f"/fhir/DocumentReference/{consult.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    DocumentReference.model_validate(body)
    assert body["status"] == "current"
    assert body["type"]["coding"][0]["code"] == "11488-4"
    assert body["category"][0]["coding"][0]["code"] == "clinical-note"
    attachment = body["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert attachment["url"].endswith(f"/fhir/Binary/{consult.pk}")
    assert "data" not in attachment and attachment["size"] == len(PDF)
    assert body["author"] == [{"display": mat.display_name}]
    binary = fhir.get(f"/fhir/Binary/{consult.pk}")
    assert binary.status_code == 200 and binary.content == PDF
    assert binary["Content-Type"] == "application/pdf"
    assert "no-store" in binary["Cache-Control"]
    assert AuditEvent.objects.filter(resource_type="Document", action="export").exists()


def test_search_by_patient_leaves_voided_out(fhir, mat, patient, consult):
    card = document_services.upload_document(
        actor=actor_for(mat), patient=patient, data=PNG, filename="c.png", category="insurance_card"
    )
    document_services.void_document(actor=actor_for(mat), document=consult, reason="wrong chart")
    body = fhir.get("/fhir/DocumentReference", {"patient": patient.pk}).json()
    Bundle.model_validate(body)
    assert [e["resource"]["id"] for e in body["entry"]] == [str(card.pk)]
    assert body["entry"][0]["resource"]["type"] == {"text": "Insurance card"}
    voided = fhir.get(f"/fhir/DocumentReference/{consult.pk}").json()
    assert voided["status"] == "entered-in-error"
    assert fhir.get(f"/fhir/Binary/{consult.pk}").status_code == 404


def test_another_organizations_documents_are_absent(other_fhir, patient, consult):
    assert other_fhir.get(f"/fhir/DocumentReference/{consult.pk}").status_code == 404
    assert other_fhir.get(f"/fhir/Binary/{consult.pk}").status_code == 404
    body = other_fhir.get("/fhir/DocumentReference", {"patient": patient.pk}).json()
    assert body["total"] == 0
