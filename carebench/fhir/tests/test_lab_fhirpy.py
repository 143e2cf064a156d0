"""A real FHIR client (fhirpy) against a live server: the lab resources, searched and read."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.specimen import Specimen
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound

from .conftest import token_for
from .lab_data import resulted_order


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_fhirpy_reads_and_searches_lab_resources(live_server, mat, other_mat, lab):
    resulted = resulted_order(lab)
    client = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {token_for(mat)}")
    patient = f"Patient/{lab.patient.pk}"

    requests = client.resources("ServiceRequest").search(patient=patient).fetch_all()
    assert {r.id for r in requests} == {str(i.pk) for i in resulted.items.values()}
    specimens = client.resources("Specimen").search(subject=patient).fetch_all()
    assert {s.id for s in specimens} == {str(s.pk) for s in resulted.specimens}
    results = (
        client.resources("Observation").search(patient=patient, category="laboratory").fetch_all()
    )
    assert len(results) == 3 and all(o.id.startswith("lab-") for o in results)
    reports = client.resources("DiagnosticReport").search(patient=patient, category="LAB").fetch()
    assert [r.id for r in reports] == [f"lab-{resulted.order.pk}"]

    for kind, model, ident in (
        ("ServiceRequest", ServiceRequest, requests[0].id),
        ("Specimen", Specimen, specimens[0].id),
        ("Observation", Observation, results[0].id),
        ("DiagnosticReport", DiagnosticReport, reports[0].id),
    ):
        read = client.reference(kind, ident).to_resource()
        model.model_validate(read.serialize())

    other = SyncFHIRClient(
        f"{live_server.url}/fhir", authorization=f"Bearer {token_for(other_mat)}"
    )
    with pytest.raises(ResourceNotFound):
        other.reference("DiagnosticReport", f"lab-{resulted.order.pk}").to_resource()
