"""Procedure and Consent over FHIR (the procedure room's rows, built directly here: these tests
are about the mapping, not the workflow)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.procedure import Procedure as FhirProcedure

from carebench.core import clock
from carebench.encounters import services as enc
from carebench.encounters.procedure_models import Procedure, ProcedureConsent, ProcedureTemplate
from carebench.scheduling.models import Provider
from carebench.testing import UserFactory, actor_for, make_patient

from .conftest import FhirClient, token_for

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17


def _client(org, username):
    user = UserFactory(organization=org, username=username, roles=["mat"])
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="encounters",
            codename__in=["view_procedure", "view_procedureconsent"],
        )
    )
    return user, FhirClient(token_for(user))


@pytest.fixture
def room(org, mat):
    user, client = _client(org, "proc-reader")
    patient = make_patient(mat)
    encounter = enc.open_walk_in(actor=actor_for(mat), patient=patient)
    doctor = Provider.objects.create(
        organization=org, family_name="Okafor", given_name="Grace", npi="1234567893"
    )
    template = ProcedureTemplate.objects.create(
        organization=org,
        key="laceration-repair",
        name="Laceration repair",
        codes=[{"code": "12001", "label": "Simple repair, 2.5 cm or less"}],
    )
    now = clock.now()
    procedure = Procedure.objects.create(
        organization=org,
        created_by=mat,
        patient=patient,
        encounter=encounter,
        template=template,
        name="Laceration repair",
        site="left forearm, volar",
        side="left",
        status="completed",
        performed_by=doctor,
        timeout_at=now - timedelta(minutes=40),
        started_at=now - timedelta(minutes=35),
        completed_at=now,
        complications="none",
    )
    procedure.assistants.add(mat)
    consent = ProcedureConsent.objects.create(
        organization=org,
        procedure=procedure,
        method="drawn",
        signer_name="Alex Testperson",
        relationship="self",
        signed_at=now - timedelta(minutes=45),
        witness=mat,
        consent_text="I agree.",
        image=PNG,
        image_type="image/png",
    )
    return type(
        "Room",
        (),
        {
            "client": client,
            "patient": patient,
            "procedure": procedure,
            "consent": consent,
            "doctor": doctor,
        },
    )


def test_procedure_reads_as_us_core_procedure(room):
    response = room.client.get(f"/fhir/Procedure/{room.procedure.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirProcedure.model_validate(body)
    assert body["status"] == "completed"
    assert body["code"]["coding"][0] == {
        "system": "http://www.ama-assn.org/go/cpt",
        "code": "12001",
        "display": "Simple repair, 2.5 cm or less",
    }
    assert body["performer"][0]["actor"]["reference"] == f"Practitioner/{room.doctor.pk}"
    assert body["performer"][1]["function"] == {"text": "Assistant"}
    assert body["bodySite"] == [{"text": "left forearm, volar (left)"}]
    assert set(body["performedPeriod"]) == {"start", "end"}
    assert body["outcome"] == {"text": "Completed"} and "complication" not in body


def test_consent_reads_with_the_signature_as_a_binary_reference(room):
    body = room.client.get(f"/fhir/Consent/{room.consent.pk}").json()
    Consent.model_validate(body)
    assert body["status"] == "active" and body["scope"]["coding"][0]["code"] == "treatment"
    assert body["patient"] == {"reference": f"Patient/{room.patient.pk}"}
    url = body["sourceAttachment"]["url"]
    assert url.endswith(f"/fhir/Binary/consent-{room.consent.pk}")
    assert "data" not in body["sourceAttachment"]
    image = room.client.get(f"/fhir/Binary/consent-{room.consent.pk}")
    assert image.status_code == 200 and image.content == PNG


def test_search_by_patient_and_tenancy(room, other_org):
    for kind in ("Procedure", "Consent"):
        body = room.client.get(f"/fhir/{kind}", {"patient": room.patient.pk}).json()
        Bundle.model_validate(body)
        assert body["total"] == 1
    _, other = _client(other_org, "other-proc-reader")
    assert other.get(f"/fhir/Procedure/{room.procedure.pk}").status_code == 404
    assert other.get(f"/fhir/Consent/{room.consent.pk}").status_code == 404
    assert other.get(f"/fhir/Binary/consent-{room.consent.pk}").status_code == 404
    assert other.get("/fhir/Procedure", {"patient": room.patient.pk}).json()["total"] == 0


def test_without_the_permission_it_is_403(org, room):
    nobody = UserFactory(organization=org, username="no-proc", roles=[])
    client = FhirClient(token_for(nobody))
    assert client.get(f"/fhir/Procedure/{room.procedure.pk}").status_code == 403
