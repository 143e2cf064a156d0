"""Imaging and referral orders as ServiceRequest (ids `outside-<id>`), beside the lab tests."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.servicerequest import ServiceRequest

from carebench.audit.models import AuditEvent
from carebench.labs.tests.conftest import order_for
from carebench.patients import referral_services
from carebench.testing import actor_for


@pytest.fixture
def imaging(lab):
    return referral_services.place_order(
        actor=lab.mat,
        patient=lab.patient,
        kind="imaging",
        modality="xray",
        requested="Chest X-ray, 2 views",
        cpt_code="71046",
        diagnosis_codes=["I10"],
        ordering_provider=lab.provider,
        priority="urgent",
        destination_name="Valley Imaging",
        patient_instructions="No preparation needed.",
    )


@pytest.fixture
def referral(lab):
    return referral_services.place_order(
        actor=lab.mat,
        patient=lab.patient,
        kind="referral",
        specialty="Cardiology",
        requested="Dr. Lee: evaluate murmur",
        diagnosis_codes=["I10"],
        ordering_provider=lab.provider,
    )


def test_an_imaging_order_reads_as_a_valid_service_request(fhir, lab, imaging):
    response = fhir.get(f"/fhir/ServiceRequest/outside-{imaging.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    ServiceRequest.model_validate(body)
    assert body["id"] == f"outside-{imaging.pk}"
    assert body["category"][0]["coding"][0]["code"] == "363679005"
    assert body["code"]["coding"] == [{"system": "http://www.ama-assn.org/go/cpt", "code": "71046"}]
    assert body["reasonCode"][0]["coding"][0]["code"] == "I10"
    assert body["status"] == "active" and body["priority"] == "urgent"
    assert body["performer"] == [{"display": "Valley Imaging"}]
    assert body["requester"]["reference"] == f"Practitioner/{lab.provider.pk}"
    assert body["patientInstruction"] == "No preparation needed."
    event = AuditEvent.objects.filter(resource_type="OutsideOrder").latest("pk")
    assert event.patient_id == lab.patient.pk and event.action == "view"


def test_a_referral_has_its_category_and_specialty_and_statuses_map(fhir, lab, referral):
    referral_services.cancel_order(actor=lab.mat, order=referral, reason="patient declined")
    body = fhir.get(f"/fhir/ServiceRequest/outside-{referral.pk}").json()
    ServiceRequest.model_validate(body)
    assert body["category"][0]["coding"][0]["code"] == "3457005"
    assert body["performerType"] == {"text": "Cardiology"}
    assert body["status"] == "revoked"
    assert {"text": "Cancelled: patient declined"} in body["note"]


def test_a_plain_number_is_never_an_outside_order(fhir, imaging):
    assert fhir.get(f"/fhir/ServiceRequest/{imaging.pk}").status_code in (404,)
    assert fhir.get("/fhir/ServiceRequest/outside-x").status_code == 404


def test_search_by_patient_merges_lab_tests_and_outside_orders(fhir, lab, imaging, referral):
    order_for(lab, "CBC")
    response = fhir.get("/fhir/ServiceRequest", {"patient": f"Patient/{lab.patient.pk}"})
    body = response.json()
    Bundle.model_validate(body)
    ids = [e["resource"]["id"] for e in body["entry"]]
    assert body["total"] == 3
    assert f"outside-{imaging.pk}" in ids and f"outside-{referral.pk}" in ids
    only = fhir.get(
        "/fhir/ServiceRequest",
        {"patient": lab.patient.pk, "category": "http://snomed.info/sct|3457005"},
    ).json()
    assert [e["resource"]["id"] for e in only["entry"]] == [f"outside-{referral.pk}"]
    by_code = fhir.get("/fhir/ServiceRequest", {"patient": lab.patient.pk, "code": "71046"}).json()
    assert by_code["total"] == 1


def test_another_organizations_orders_are_absent(other_fhir, lab, imaging):
    assert other_fhir.get(f"/fhir/ServiceRequest/outside-{imaging.pk}").status_code == 404
    body = other_fhir.get("/fhir/ServiceRequest", {"patient": lab.patient.pk}).json()
    assert body["total"] == 0


def test_a_result_completes_the_request(fhir, lab, imaging):
    referral_services.receive_result(
        actor=actor_for(lab.mat.user), order=imaging, data=b"%PDF-1.4\n%%EOF\n", filename="r.pdf"
    )
    assert fhir.get(f"/fhir/ServiceRequest/outside-{imaging.pk}").json()["status"] == "completed"
