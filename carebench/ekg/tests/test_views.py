"""EKG pages: upload, the review queue, the EKG page, reports, sign, tenancy and permissions."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from carebench.audit.models import Action, AuditEvent
from carebench.conftest import signed_in
from carebench.ekg import services
from carebench.ekg.models import EkgRecording
from carebench.encounters import services as enc
from carebench.testing import actor_for, make_patient

from .helpers import synthetic_csv


@pytest.fixture
def patient(mat):
    return make_patient(mat, family_name="Tracing", given_name="Pat")


@pytest.fixture
def ekg(mat, patient):
    return services.attach_ekg(
        actor=actor_for(mat), patient=patient, filename="a.csv", data=synthetic_csv()
    )


def upload(client, patient, data, name="ekg.csv", **extra):
    return client.post(
        reverse("ekg:upload", args=[patient.pk]),
        {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **extra},
    )


def test_encounter_page_links_to_attach(mat, mat_client, patient):
    visit = enc.open_walk_in(actor=actor_for(mat), patient=patient)
    page = mat_client.get(reverse("encounters:encounter", args=[visit.pk]))
    link = reverse("ekg:patient", args=[patient.pk]) + f"?encounter={visit.pk}"
    assert "Attach EKG" in page.content.decode() and link in page.content.decode()
    form_page = mat_client.get(link)
    assert form_page.status_code == 200
    assert f'value="{visit.pk}"' in form_page.content.decode()


def test_upload_attaches_and_opens_the_ekg(mat, mat_client, patient):
    visit = enc.open_walk_in(actor=actor_for(mat), patient=patient)
    response = upload(mat_client, patient, synthetic_csv(), encounter=visit.pk)
    row = EkgRecording.objects.get()
    assert response.status_code == 302 and response.url == reverse("ekg:ekg", args=[row.pk])
    assert row.encounter_id == visit.pk and row.uploaded_by == mat
    page = mat_client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Computer-measured, unconfirmed" in html
    assert "Tracing, Pat" in html and patient.mrn in html and "05/17/1980" in html
    assert reverse("ekg:report", args=[row.pk, "svg"]) in html
    assert "carebench/ekg.js" in html and "data-px-per-mm" in html
    assert "<script>" not in html and " style=" not in html  # CSP: no inline script or style
    assert "Confirm and sign" not in html  # a MAT does not sign
    assert AuditEvent.objects.filter(
        action=Action.VIEW, resource_type="EkgRecording", resource_id=str(row.pk)
    ).exists()


def test_bad_upload_is_422_on_the_file_field_and_nothing_stored(mat_client, patient):
    response = upload(mat_client, patient, b"\x00\x01 not an ekg", name="junk.bin")
    assert response.status_code == 422
    assert "junk.bin" in response.content.decode()
    assert not EkgRecording.objects.exists()


def test_duplicate_upload_is_refused(mat_client, patient):
    data = synthetic_csv(seed=9)
    assert upload(mat_client, patient, data).status_code == 302
    again = upload(mat_client, patient, data)
    assert again.status_code == 422 and "already attached" in again.content.decode()
    assert EkgRecording.objects.count() == 1


def test_front_desk_may_view_but_not_upload(frontdesk, patient, ekg):
    client = signed_in(frontdesk)
    assert upload(client, patient, synthetic_csv(seed=5)).status_code == 403
    assert client.get(reverse("ekg:ekg", args=[ekg.pk])).status_code == 200
    assert EkgRecording.objects.count() == 1


def test_review_queue_lists_unsigned_oldest_first(mat, provider, patient):
    from datetime import timedelta

    from carebench.core import clock

    later = services.attach_ekg(
        actor=actor_for(mat), patient=patient, filename="b.csv", data=synthetic_csv(seed=1)
    )
    earlier = services.attach_ekg(
        actor=actor_for(mat), patient=patient, filename="c.csv", data=synthetic_csv(seed=2)
    )
    EkgRecording.objects.filter(pk=earlier.pk).update(acquired_at=clock.now() - timedelta(hours=2))
    signed = services.attach_ekg(
        actor=actor_for(mat), patient=patient, filename="d.csv", data=synthetic_csv(seed=4)
    )
    services.confirm_and_sign(
        actor=actor_for(provider), recording=signed, corrections={}, interpretation="Normal"
    )
    client = signed_in(provider)
    page = client.get(reverse("ekg:review"))
    html = page.content.decode()
    assert page.status_code == 200 and "EKG review" in html
    first = html.index(reverse("ekg:ekg", args=[earlier.pk]))
    second = html.index(reverse("ekg:ekg", args=[later.pk]))
    assert first < second
    assert reverse("ekg:ekg", args=[signed.pk]) not in html


def test_provider_signs_with_a_correction(provider, ekg):
    client = signed_in(provider)
    page = client.get(reverse("ekg:ekg", args=[ekg.pk]))
    assert "Confirm and sign" in page.content.decode()
    missing = client.post(reverse("ekg:sign", args=[ekg.pk]), {"billing_code": "93000"})
    assert missing.status_code == 422 and "Interpretation" in missing.content.decode()
    impossible = client.post(
        reverse("ekg:sign", args=[ekg.pk]),
        {"qt_ms": "5000", "interpretation": "x", "billing_code": "93000"},
    )
    assert impossible.status_code == 422 and "not possible" in impossible.content.decode()
    done = client.post(
        reverse("ekg:sign", args=[ekg.pk]),
        {"qt_ms": "440", "interpretation": "Sinus rhythm, normal EKG.", "billing_code": "93000"},
    )
    assert done.status_code == 302
    ekg.refresh_from_db()
    assert ekg.is_signed and ekg.confirmed_measurements["qt_ms"] == 440
    html = client.get(reverse("ekg:ekg", args=[ekg.pk])).content.decode()
    assert "Confirmed and signed by" in html and "unconfirmed" not in html.split("Tracing")[0]


def test_sign_with_htmx_answers_the_partial(provider, ekg):
    client = signed_in(provider)
    response = client.post(
        reverse("ekg:sign", args=[ekg.pk]),
        {"interpretation": "Normal", "billing_code": "93000"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="ekg-review"') and "<html" not in html


def test_mat_cannot_sign(mat_client, ekg):
    response = mat_client.post(
        reverse("ekg:sign", args=[ekg.pk]), {"interpretation": "x", "billing_code": "93000"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "fmt,content_type", [("svg", "image/svg+xml"), ("pdf", "application/pdf"), ("png", "image/png")]
)
def test_reports_are_served_with_permission_and_audited(mat_client, ekg, fmt, content_type):
    response = mat_client.get(reverse("ekg:report", args=[ekg.pk, fmt]))
    assert response.status_code == 200 and response["Content-Type"] == content_type
    assert (
        response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    )
    body = response.content
    assert {"svg": b"<svg", "pdf": b"%PDF", "png": b"\x89PNG"}[fmt] in body[:400]
    action = Action.VIEW if fmt == "svg" else Action.EXPORT
    assert AuditEvent.objects.filter(action=action, resource_id=str(ekg.pk)).exists()


def test_original_file_download(mat_client, ekg):
    response = mat_client.get(reverse("ekg:original", args=[ekg.pk]))
    assert response.status_code == 200 and response.content == synthetic_csv()
    assert AuditEvent.objects.filter(action=Action.EXPORT, resource_id=str(ekg.pk)).exists()


def test_medtech_without_ekg_permission_gets_403(medtech, ekg):
    client = signed_in(medtech)
    assert client.get(reverse("ekg:report", args=[ekg.pk, "svg"])).status_code == 403


def test_another_organizations_ekg_is_404_everywhere(other_mat, ekg, patient):
    client = signed_in(other_mat)
    for url in (
        reverse("ekg:ekg", args=[ekg.pk]),
        reverse("ekg:report", args=[ekg.pk, "svg"]),
        reverse("ekg:report", args=[ekg.pk, "pdf"]),
        reverse("ekg:original", args=[ekg.pk]),
        reverse("ekg:patient", args=[patient.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("ekg:void", args=[ekg.pk]), {"reason": "x"}).status_code == 404
    assert (
        reverse("ekg:ekg", args=[ekg.pk]) not in client.get(reverse("ekg:review")).content.decode()
    )


def test_void_from_the_page(mat_client, ekg, patient):
    missing = mat_client.post(reverse("ekg:void", args=[ekg.pk]), {"reason": ""})
    assert missing.status_code == 422
    done = mat_client.post(reverse("ekg:void", args=[ekg.pk]), {"reason": "wrong patient"})
    assert done.status_code == 302
    ekg.refresh_from_db()
    assert ekg.voided_at is not None
    listing = mat_client.get(reverse("ekg:patient", args=[patient.pk])).content.decode()
    assert "Voided" in listing and "wrong patient" in listing


def test_provider_sees_the_review_link(provider, mat_client):
    assert "EKG review" in signed_in(provider).get(reverse("core:home")).content.decode()
    assert reverse("ekg:review") not in mat_client.get(reverse("core:home")).content.decode()
