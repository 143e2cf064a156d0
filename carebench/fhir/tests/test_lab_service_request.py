"""ServiceRequest over FHIR: one per ordered lab test (read, search by patient)."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.servicerequest import ServiceRequest

from carebench.audit.models import Action, AuditEvent
from carebench.labs.models import LabOrder
from carebench.labs.result_services import cancel_order
from carebench.labs.tests.conftest import order_for

from .conftest import FhirClient, token_for
from .lab_data import drawn_order, resulted_order

LOINC = "http://loinc.org"


@pytest.fixture
def order(lab):
    return order_for(lab, "CBC", priority="stat")


def test_read_maps_the_ordered_test(fhir, lab, order):
    item = order.items.get()
    response = fhir.get(f"/fhir/ServiceRequest/{item.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    ServiceRequest.model_validate(body)
    assert body["status"] == "active" and body["intent"] == "order"
    assert body["priority"] == "stat"
    assert body["code"]["coding"] == [
        {"system": LOINC, "code": "58410-2", "display": "CBC without differential"},
        {
            "system": "urn:carebench:lab-test",
            "code": "CBC",
            "display": "CBC without differential",
        },
    ]
    assert body["requisition"]["value"] == order.number
    assert body["requisition"]["type"]["coding"][0]["code"] == "PLAC"
    assert body["subject"] == {"reference": f"Patient/{lab.patient.pk}"}
    assert body["requester"]["reference"] == f"Practitioner/{lab.provider.pk}"
    assert body["reasonCode"][0]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10-cm",
        "code": "E11.9",
    }
    assert body["authoredOn"] == order.ordered_at.isoformat()
    assert body["performer"] == [{"display": "Reference lab"}]


def test_read_lists_the_specimens_drawn_for_the_test(fhir, lab):
    drawn = drawn_order(lab, "CBC")
    body = fhir.get(f"/fhir/ServiceRequest/{drawn.items['CBC'].pk}").json()
    assert body["specimen"] == [{"reference": f"Specimen/{s.pk}"} for s in drawn.specimens]


def test_completed_and_cancelled_orders(fhir, lab, order):
    resulted = resulted_order(lab)
    assert resulted.order.status == LabOrder.Status.COMPLETED
    done = fhir.get(f"/fhir/ServiceRequest/{resulted.items['CBC'].pk}").json()
    assert done["status"] == "completed"
    cancel_order(actor=lab.mat, order=order, reason="duplicate")
    body = fhir.get(f"/fhir/ServiceRequest/{order.items.get().pk}").json()
    ServiceRequest.model_validate(body)
    assert body["status"] == "revoked"


def test_voided_order_reads_entered_in_error_and_leaves_searches(fhir, lab, order):
    LabOrder.objects.filter(pk=order.pk).update(voided_at=order.ordered_at)
    body = fhir.get(f"/fhir/ServiceRequest/{order.items.get().pk}").json()
    assert body["status"] == "entered-in-error"
    search = fhir.get("/fhir/ServiceRequest", {"patient": lab.patient.pk}).json()
    assert search["total"] == 0


def test_search_by_patient_or_subject(fhir, lab, order):
    order_for(lab, "BMP", "TSH")
    for params in ({"patient": lab.patient.pk}, {"subject": f"Patient/{lab.patient.pk}"}):
        response = fhir.get("/fhir/ServiceRequest", params)
        assert response.status_code == 200
        bundle = response.json()
        Bundle.model_validate(bundle)
        assert bundle["total"] == 3
        for entry in bundle["entry"]:
            ServiceRequest.model_validate(entry["resource"])


def test_search_needs_the_patient(fhir, lab):
    response = fhir.get("/fhir/ServiceRequest")
    assert response.status_code == 400
    OperationOutcome.model_validate(response.json())


def test_search_by_code_and_status(fhir, lab, order):
    order_for(lab, "BMP")
    by_loinc = fhir.get(
        "/fhir/ServiceRequest", {"patient": lab.patient.pk, "code": f"{LOINC}|24321-2"}
    ).json()
    assert [e["resource"]["code"]["text"] for e in by_loinc["entry"]] == ["Basic metabolic panel"]
    by_local = fhir.get(
        "/fhir/ServiceRequest", {"patient": lab.patient.pk, "code": "urn:carebench:lab-test|CBC"}
    ).json()
    assert by_local["total"] == 1
    assert (
        fhir.get("/fhir/ServiceRequest", {"patient": lab.patient.pk, "status": "completed"}).json()[
            "total"
        ]
        == 0
    )


def test_paging(fhir, lab):
    order_for(lab, "CBC", "BMP", "TSH")
    bundle = fhir.get("/fhir/ServiceRequest", {"patient": lab.patient.pk, "_count": 2}).json()
    assert bundle["total"] == 3 and len(bundle["entry"]) == 2
    assert "next" in {link["relation"] for link in bundle["link"]}
    page2 = fhir.get(
        "/fhir/ServiceRequest", {"patient": lab.patient.pk, "_count": 2, "_offset": 2}
    ).json()
    assert len(page2["entry"]) == 1


def test_another_organizations_request_is_404(other_fhir, lab, order):
    response = other_fhir.get(f"/fhir/ServiceRequest/{order.items.get().pk}")
    assert response.status_code == 404
    OperationOutcome.model_validate(response.json())
    search = other_fhir.get("/fhir/ServiceRequest", {"patient": lab.patient.pk}).json()
    assert search["total"] == 0


def test_read_is_audited(fhir, lab, order):
    item = order.items.get()
    fhir.get(f"/fhir/ServiceRequest/{item.pk}")
    assert AuditEvent.objects.filter(
        action=Action.VIEW,
        resource_type="LabOrderItem",
        resource_id=str(item.pk),
        patient_id=lab.patient.pk,
        channel="api",
    ).exists()


def test_without_permission_is_403(medtech, lab, order):
    client = FhirClient(token_for(medtech))
    response = client.get(f"/fhir/ServiceRequest/{order.items.get().pk}")
    assert response.status_code == 403


def test_search_page_is_a_fixed_number_of_queries(fhir, lab, django_assert_max_num_queries):
    drawn_order(lab, "CBC", "BMP", "TSH")
    with django_assert_max_num_queries(9):
        bundle = fhir.get("/fhir/ServiceRequest", {"patient": lab.patient.pk}).json()
    assert bundle["total"] == 3
    drawn_order(lab, "CMP", "LIPID", "A1C", "PSA")
    with django_assert_max_num_queries(9):
        bundle = fhir.get("/fhir/ServiceRequest", {"patient": lab.patient.pk}).json()
    assert bundle["total"] == 7
