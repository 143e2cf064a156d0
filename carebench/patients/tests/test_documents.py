"""Documents: content-checked uploads, the size limit, voiding, and the download's checks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.patients import document_selectors, document_services
from carebench.patients.document_models import Document
from carebench.testing import actor_for, make_patient

from .test_filetypes import EXE, PDF, PNG


def _upload(user, patient, data=PDF, filename="scan.pdf", **kwargs):
    kwargs.setdefault("category", "outside_records")
    return document_services.upload_document(
        actor=actor_for(user), patient=patient, data=data, filename=filename, **kwargs
    )


@pytest.fixture
def patient(mat):
    return make_patient(mat)


def test_an_exe_named_pdf_is_refused_naming_the_file(mat, patient):
    with pytest.raises(ValidationError) as caught:
        _upload(mat, patient, data=EXE, filename="report.pdf")
    assert "a Windows program" in caught.value.message_dict["file"][0]
    assert not Document.objects.exists()


def test_a_png_named_pdf_is_kept_as_a_png(mat, patient):
    document = _upload(mat, patient, data=PNG, filename="card.pdf", category="insurance_card")
    assert document.content_type == "image/png"
    assert document_selectors.content_of(document) == PNG
    assert document.created_by == mat and document.size == len(PNG)
    event = AuditEvent.objects.filter(resource_type="Document").latest("pk")
    assert event.patient_id == patient.pk and event.action == "create"


def test_a_file_over_the_limit_is_refused(mat, patient, settings):
    settings.CAREBENCH_MAX_DOCUMENT_BYTES = len(PDF) - 1
    with pytest.raises(ValidationError) as caught:
        _upload(mat, patient)
    assert "the limit is" in caught.value.message_dict["file"][0]


def test_the_default_limit_is_20_mb():
    assert document_services.MAX_DOCUMENT_BYTES == 20 * 1024 * 1024


def test_voiding_keeps_the_document_with_the_reason_and_hides_it(mat, patient):
    document = _upload(mat, patient)
    with pytest.raises(ValidationError) as caught:
        document_services.void_document(actor=actor_for(mat), document=document, reason=" ")
    assert "reason" in caught.value.message_dict
    document_services.void_document(actor=actor_for(mat), document=document, reason="wrong chart")
    document.refresh_from_db()
    assert document.void_reason == "wrong chart" and document.voided_by == mat
    assert document_selectors.documents_for(patient.organization, patient) == []
    with pytest.raises(PermissionError):
        document.delete()


def test_download_serves_the_bytes_inline_uncached(mat, patient):
    document = _upload(mat, patient, filename="Outside records.pdf")
    response = signed_in(mat).get(reverse("patients:document_file", args=[document.pk]))
    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="Outside records.pdf"'
    assert "no-store" in response["Cache-Control"]
    download = signed_in(mat).get(
        reverse("patients:document_file", args=[document.pk]), {"download": "1"}
    )
    assert download["Content-Disposition"].startswith("attachment;")


def test_download_needs_the_permission_and_the_organization(mat, other_mat, patient, org):
    document = _upload(mat, patient)
    url = reverse("patients:document_file", args=[document.pk])
    assert signed_in(other_mat).get(url).status_code == 404
    from carebench.testing import UserFactory

    nobody = UserFactory(organization=org, username="no-roles", roles=[])
    assert signed_in(nobody).get(url).status_code == 403


def test_upload_page_refuses_a_bad_file_with_422_and_files_a_good_one(mat, patient):
    client = signed_in(mat)
    url = reverse("patients:upload_document", args=[patient.pk])
    bad = client.post(
        url,
        {"file": SimpleUploadedFile("x.pdf", EXE, "application/pdf"), "category": "other"},
    )
    assert bad.status_code == 422
    assert "only PDF, JPEG, PNG or TIFF" in bad.content.decode()
    good = client.post(
        url,
        {
            "file": SimpleUploadedFile("card.jpg", PNG, "image/jpeg"),
            "category": "insurance_card",
            "title": "Acme card",
        },
    )
    assert good.status_code == 302
    recent = client.get(reverse("patients:recent_documents", args=[patient.pk]))
    assert "Acme card" in recent.content.decode()
