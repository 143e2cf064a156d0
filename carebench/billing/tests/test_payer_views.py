"""The eligibility, prior-authorization, file-upload and denial pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from carebench.billing.models import BillingProfile, Claim, EligibilityCheck, PriorAuth
from carebench.billing.tests.test_elig_services import ACTIVE, answer
from carebench.billing.tests.test_remit_services import Clp, Svc, write_835
from carebench.conftest import signed_in
from carebench.testing import make_billing_clinic, make_claim

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"


@pytest.fixture
def clinic(biller: Any, icd10: Any, tmp_path: Path) -> Any:
    clinic = make_billing_clinic(biller)
    for name in ("outbox", "inbox"):
        (tmp_path / name).mkdir()
    BillingProfile.objects.filter(pk=clinic.profile.pk).update(
        clearinghouse_outbox=str(tmp_path / "outbox"), clearinghouse_inbox=str(tmp_path / "inbox")
    )
    clinic.outbox = tmp_path / "outbox"
    return clinic


def test_the_front_desk_checks_a_patients_eligibility(clinic: Any, frontdesk: Any) -> None:
    client = signed_in(frontdesk)
    url = reverse("billing:patient_eligibility", args=[clinic.patient.pk])
    response = client.post(url, {"coverage": clinic.coverage.pk})
    assert response.status_code == 302
    check = EligibilityCheck.objects.get()
    assert [p.name for p in clinic.outbox.iterdir()] and check.status == "sent"


def test_an_uploaded_271_shows_in_plain_words_on_the_patients_page(
    clinic: Any, frontdesk: Any, biller: Any
) -> None:
    signed_in(frontdesk).post(
        reverse("billing:patient_eligibility", args=[clinic.patient.pk]),
        {"coverage": clinic.coverage.pk},
    )
    check = EligibilityCheck.objects.get()
    upload = SimpleUploadedFile("answer.271", answer(ACTIVE, check).encode())
    response = signed_in(biller).post(reverse("billing:files"), {"file": upload})
    assert response.status_code == 302
    page = signed_in(frontdesk).get(
        reverse("billing:patient_eligibility", args=[clinic.patient.pk])
    )
    assert "Coverage active" in page.content.decode()


def test_a_truncated_835_is_refused_naming_the_segment(clinic: Any, biller: Any) -> None:
    claim = make_claim(clinic)
    text = write_835(
        [Clp(claim.number, "140.00", "100.00", lines=[Svc("99213", "110.00", "100.00")])]
    )
    upload = SimpleUploadedFile("cut.835", text[: len(text) // 2].encode())
    response = signed_in(biller).post(reverse("billing:files"), {"file": upload})
    assert response.status_code == 422
    assert "segment" in response.content.decode() and "truncated" in response.content.decode()


def test_a_mat_cannot_post_a_remittance(clinic: Any, mat: Any) -> None:
    upload = SimpleUploadedFile("x.835", b"ISA")
    assert signed_in(mat).post(reverse("billing:files"), {"file": upload}).status_code == 403


def test_the_denial_worklist_explains_the_reason_code(clinic: Any, biller: Any) -> None:
    claim = make_claim(clinic, lines=[("99213", "110.00")])
    text = write_835(
        [
            Clp(
                claim.number,
                "110.00",
                "0.00",
                status="4",
                lines=[Svc("99213", "110.00", "0.00", cas=[("CO", "197", "110.00")])],
            )
        ]
    )
    signed_in(biller).post(
        reverse("billing:files"), {"file": SimpleUploadedFile("d.835", text.encode())}
    )
    assert Claim.objects.get(pk=claim.pk).status == "denied"
    page = signed_in(biller).get(reverse("billing:denials")).content.decode()
    assert claim.number in page and "CO-197" in page and "authorization" in page.lower()


def test_a_mat_requests_a_prior_authorization_and_the_biller_records_approval(
    clinic: Any, mat: Any, biller: Any
) -> None:
    response = signed_in(mat).post(
        reverse("billing:new_prior_auth", args=[clinic.patient.pk]),
        {"coverage": clinic.coverage.pk, "codes": "72148", "diagnosis_codes": "I10"},
    )
    auth = PriorAuth.objects.get()
    assert response.status_code == 302 and auth.status == "submitted"
    url = reverse("billing:prior_auth", args=[auth.pk])
    refused = signed_in(biller).post(url, {"status": "approved", "start_date": "2026-11-01"})
    assert refused.status_code == 422 and "number" in refused.content.decode().lower()
    signed_in(biller).post(
        url,
        {"status": "approved", "number": "PA-778", "start_date": "2026-11-01", "units_approved": 1},
    )
    auth.refresh_from_db()
    assert (auth.status, auth.number) == ("approved", "PA-778")


def test_the_manager_adds_a_rule_and_the_claim_check_holds_the_service(
    clinic: Any, manager: Any
) -> None:
    from carebench.billing import services
    from carebench.core import clock

    signed_in(manager).post(reverse("billing:add_rule"), {"code_from": "96372", "note": "test"})
    claim = make_claim(clinic, status="draft", service_date=clock.today())
    problems = services.mark_ready(actor=clinic.actor, claim=claim)
    assert [p.field for p in problems] == ["prior authorization"]


def test_the_appointment_page_warns_of_a_missing_prior_authorization(
    clinic: Any, frontdesk: Any, manager: Any
) -> None:
    from carebench.billing import auth_services
    from carebench.scheduling import services as sched
    from carebench.scheduling.models import AppointmentType
    from carebench.testing import make_schedule, next_weekday_at

    setup = make_schedule(frontdesk, npi="1003000126")
    AppointmentType.objects.filter(pk=setup.visit.pk).update(procedure_codes="72148")
    auth_services.add_rule(actor=clinic.actor, code_from="72148", note="MRI lumbar")
    appt = sched.book_appointment(
        actor=setup.actor,
        request=sched.BookingRequest(
            patient=clinic.patient,
            provider=setup.provider,
            appointment_type=AppointmentType.objects.get(pk=setup.visit.pk),
            start=next_weekday_at(10),
            facility=setup.facility,
        ),
    )
    page = signed_in(frontdesk).get(reverse("scheduling:appointment", args=[appt.pk]))
    text = page.content.decode()
    assert "72148 needs a prior authorization" in text and "Acme Health" in text
    assert "Eligibility not checked yet" in text
