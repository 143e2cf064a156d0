"""A real FHIR client (fhirpy) against a live server: create, search and read a Patient."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound

from carebench.testing import make_patient

from .conftest import token_for


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_fhirpy_create_search_read(live_server, mat, other_mat):
    make_patient(other_mat, family_name="Livingstone")  # another organization: never seen
    client = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {token_for(mat)}")

    created = client.resource(
        "Patient",
        name=[{"family": "Livingstone", "given": ["David"]}],
        gender="male",
        birthDate="1913-03-19",
    )
    created.save()
    assert created.id

    found = client.resources("Patient").search(family="livingst").fetch()
    assert [p.id for p in found] == [created.id]
    assert client.resources("Patient").search(family="livingst").count() == 1

    read = client.reference("Patient", created.id).to_resource()
    FhirPatient.model_validate(read.serialize())
    assert read["name"][0]["family"] == "Livingstone"
    assert read["identifier"][0]["type"]["coding"][0]["code"] == "MR"

    with pytest.raises(ResourceNotFound):
        client.reference("Patient", "999999").to_resource()
