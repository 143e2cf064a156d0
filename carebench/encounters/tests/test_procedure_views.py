"""The procedure pages: start from a template, walk the steps, refusals on their fields (422),
the consent image and the aftercare handout."""

from __future__ import annotations

import base64
from io import BytesIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PdfReader

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.encounters import procedure_services as services
from carebench.encounters.handouts_procedure import AftercareInput, aftercare_lines
from carebench.encounters.procedure_models import Procedure
from carebench.encounters.tests.test_procedure_services import (
    make_procedure_clinic,
    planned,
    prepared,
    signature_png,
    started,
)


@pytest.fixture
def clinic(mat: Any, provider: Any) -> SimpleNamespace:
    return make_procedure_clinic(mat, provider)


def _step(clinic: SimpleNamespace, procedure: Procedure, step: str) -> str:
    return reverse("encounters:procedure_step", args=[procedure.pk, step])


def test_starting_a_procedure_from_a_template(mat: Any, clinic: SimpleNamespace) -> None:
    client = signed_in(mat)
    url = reverse("encounters:procedures", args=[clinic.encounter.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"Laceration repair" in page.content
    template = clinic.templates["laceration-repair"]
    response = client.post(url, {"template": template.pk, "site": "left forearm", "side": "left"})
    procedure = Procedure.objects.get(encounter=clinic.encounter)
    assert response.status_code == 302 and response.url.endswith(f"/procedures/{procedure.pk}/")


def test_a_procedure_without_a_site_is_refused(mat: Any, clinic: SimpleNamespace) -> None:
    url = reverse("encounters:procedures", args=[clinic.encounter.pk])
    template = clinic.templates["laceration-repair"]
    response = signed_in(mat).post(url, {"template": template.pk, "site": "", "side": "left"})
    assert response.status_code == 422 and not Procedure.objects.exists()


def test_the_setup_step_refuses_an_unknown_barcode(mat: Any, clinic: SimpleNamespace) -> None:
    procedure = planned(clinic)
    response = signed_in(mat).post(
        _step(clinic, procedure, "setup"),
        {"performed_by": clinic.provider.pk, "instrument_set": "NOPE-9"},
    )
    assert response.status_code == 422
    assert b"No instrument set has the barcode NOPE-9" in response.content


def test_a_drawn_signature_posted_from_the_page(mat: Any, clinic: SimpleNamespace) -> None:
    procedure = prepared(clinic)
    data_url = "data:image/png;base64," + base64.b64encode(signature_png()).decode()
    client = signed_in(mat)
    response = client.post(
        _step(clinic, procedure, "consent"),
        {
            "method": "drawn",
            "signer_name": "Ada Okonkwo",
            "relationship": "self",
            "signature": data_url,
        },
    )
    assert response.status_code == 302
    consent = procedure.consents.get()
    image = client.get(reverse("encounters:consent_image", args=[procedure.pk, consent.pk]))
    assert image["Content-Type"] == "image/png" and "no-store" in image["Cache-Control"]


def test_an_empty_signature_comes_back_on_its_field(mat: Any, clinic: SimpleNamespace) -> None:
    procedure = prepared(clinic)
    response = signed_in(mat).post(
        _step(clinic, procedure, "consent"),
        {"method": "drawn", "signer_name": "Ada Okonkwo", "relationship": "self"},
    )
    assert response.status_code == 422 and b"Signature:" in response.content


def test_starting_before_the_time_out_is_refused_on_the_page(
    mat: Any, clinic: SimpleNamespace
) -> None:
    procedure = prepared(clinic)
    response = signed_in(mat).post(_step(clinic, procedure, "start"))
    assert response.status_code == 422
    assert b"do the time-out before the procedure starts" in response.content


def test_another_organizations_consent_image_is_not_found(
    clinic: SimpleNamespace, other_mat: Any
) -> None:
    procedure = prepared(clinic)
    consent = services.record_consent(
        actor=clinic.actor,
        procedure=procedure,
        method="drawn",
        signer_name="Ada",
        relationship="self",
        image=signature_png(),
    )
    url = reverse("encounters:consent_image", args=[procedure.pk, consent.pk])
    assert signed_in(other_mat).get(url).status_code == 404


def test_the_handout_pdf_has_the_aftercare_text(mat: Any, clinic: SimpleNamespace) -> None:
    procedure = started(clinic)
    services.complete_procedure(actor=clinic.actor, procedure=procedure, complications="none")
    client = signed_in(mat)
    response = client.get(reverse("encounters:procedure_handout", args=[procedure.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Aftercare: Laceration repair" in text
    assert "Stitches come out in 5 to 14 days" in text
    assert "Okonkwo" in text
    assert AuditEvent.objects.filter(
        resource_type="Procedure", action="export", patient_id=clinic.patient.pk
    ).exists()


def test_the_handout_in_spanish(mat: Any, clinic: SimpleNamespace) -> None:
    procedure = started(clinic)
    response = signed_in(mat).get(
        reverse("encounters:procedure_handout", args=[procedure.pk]) + "?language=es"
    )
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(response.content)).pages)
    assert "Los puntos se quitan" in " ".join(text.split())


def test_handout_lines_bullets_and_the_specimen_note() -> None:
    from datetime import date

    lines = aftercare_lines(
        AftercareInput(
            language="es-MX",
            clinic_name="Clínica",
            clinic_phone="555-0100",
            patient_name="Ada Okonkwo",
            birth_date=date(1980, 5, 17),
            done_on=date(2026, 3, 1),
            procedure_name="Biopsia",
            site="brazo",
            provider_name="Dr. Okafor",
            aftercare_text="Primero.\n- Segundo.",
            specimen_sent=True,
        )
    )
    assert "Fecha del procedimiento: 1 de marzo de 2026" in lines
    assert "Segundo." in lines and any("laboratorio" in line for line in lines)
    assert lines[-1] == "¿Preguntas? Llame al 555-0100"


def test_a_reader_without_the_permission_is_refused(
    frontdesk: Any, clinic: SimpleNamespace
) -> None:
    procedure = planned(clinic)
    response = signed_in(frontdesk).get(reverse("encounters:procedure", args=[procedure.pk]))
    assert response.status_code == 403
