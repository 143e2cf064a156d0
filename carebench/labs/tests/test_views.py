"""Lab pages: permissions, tenancy, the draw guide, specimen actions, scanning, query counts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.encounters import services as enc
from carebench.labs import services
from carebench.labs.models import LabOrder, Manifest, Specimen
from carebench.testing import make_patient

from .conftest import order_for


def _no_inline_code(html: str) -> None:
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " onclick=" not in html and " onchange=" not in html


def test_worklist_has_the_scan_box_and_lab_nav(lab, mat):
    order_for(lab, "CBC")
    response = signed_in(mat).get(reverse("labs:worklist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="code"' in html and "data-scan-box" in html
    assert ">Lab</a>" in html
    assert "carebench/labs.js" in html
    _no_inline_code(html)


def test_roles(lab, frontdesk, medtech, mat):
    assert signed_in(frontdesk).get(reverse("labs:worklist")).status_code == 200
    assert signed_in(medtech).get(reverse("labs:worklist")).status_code == 403
    url = reverse("labs:new_order", args=[lab.patient.pk])
    assert signed_in(frontdesk).get(url).status_code == 403
    assert signed_in(mat).get(reverse("labs:cosign_queue")).status_code == 403
    assert ">Lab</a>" not in signed_in(medtech).get(reverse("core:home")).content.decode()


def test_mat_orders_from_the_visit_under_a_standing_order(lab, mat):
    visit = enc.open_walk_in(actor=lab.mat, patient=lab.patient)
    client = signed_in(mat)
    url = reverse("labs:new_order_for_encounter", args=[visit.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="provider"' not in html  # a MAT may not enter a provider order
    assert "patient-banner" in html
    _no_inline_code(html)
    response = client.post(
        url,
        {
            "tests": [lab.tests["CBC"].pk, lab.tests["CMP"].pk],
            "ordering_provider": lab.provider.pk,
            "basis": "standing",
            "diagnosis_codes": "E11.9, I10",
            "priority": "routine",
            "fasting_confirmed": "yes",
        },
    )
    order = LabOrder.objects.get()
    assert response.status_code == 302 and response.url == reverse("labs:order", args=[order.pk])
    assert order.encounter == visit and order.fasting_confirmed is True
    assert order.diagnosis_codes == ["E11.9", "I10"] and order.needs_cosign
    enc_page = client.get(reverse("encounters:encounter", args=[visit.pk])).content.decode()
    assert url in enc_page


def test_order_form_shows_service_errors(lab, mat):
    response = signed_in(mat).post(
        reverse("labs:new_order", args=[lab.patient.pk]),
        {
            "tests": [lab.tests["CBC"].pk],
            "ordering_provider": lab.provider.pk,
            "basis": "standing",
            "diagnosis_codes": "E11",
            "priority": "routine",
        },
    )
    assert response.status_code == 422
    assert "E11 is a category" in response.content.decode()
    assert not LabOrder.objects.exists()


def test_provider_cosigns_from_the_queue(lab, provider):
    order = order_for(lab, "CBC", basis="verbal")
    client = signed_in(provider)
    queue = client.get(reverse("labs:cosign_queue"))
    assert order.number in queue.content.decode()
    response = client.post(reverse("labs:cosign", args=[order.pk]), {"next": "queue"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.cosigned_by == provider
    cosign_url = reverse("labs:cosign", args=[order.pk])
    assert cosign_url not in client.get(reverse("labs:cosign_queue")).content.decode()


def test_draw_guide_lists_tubes_in_order_and_makes_labels(lab, mat, frontdesk):
    order = order_for(lab, "CBC", "CMP", "LIPID", "A1C", "PTINR", "UA")
    url = reverse("labs:draw", args=[order.pk])
    client = signed_in(mat)
    html = client.get(url + "?winged=1").content.decode()
    _no_inline_code(html)
    positions = [html.index(f"cap-{colour}") for colour in ("light-blue", "gold", "lavender")]
    assert positions == sorted(positions)
    assert "Discard tube first" in html
    assert "Fasting required" in html and "LIPID" in html
    assert "Other specimens" in html and "urine" in html.lower()
    assert signed_in(frontdesk).post(url).status_code == 403
    assert client.post(url, {"winged": "1"}).status_code == 302
    assert Specimen.objects.filter(order=order).count() == 4
    html = client.get(url).content.decode()
    assert "S000001" in html and reverse("labs:order_labels", args=[order.pk, "pdf"]) in html
    pdf = client.get(reverse("labs:order_labels", args=[order.pk, "pdf"]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert b"S000004" in pdf.content
    zpl = client.get(reverse("labs:order_labels", args=[order.pk, "zpl"]))
    assert zpl.content.decode().count("^XA") == 4
    assert client.get(reverse("labs:order_labels", args=[order.pk, "txt"])).status_code == 404
    assert AuditEvent.objects.filter(resource_type="SpecimenLabel").count() == 2


def test_requisition_pdf(lab, mat):
    order = order_for(lab, "A1C")
    response = signed_in(mat).get(reverse("labs:requisition", args=[order.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert order.number.encode() in response.content
    assert lab.provider.npi.encode() in response.content
    assert b"E11.9" in response.content


def _specimen(lab):
    order = order_for(lab, "CBC")
    return services.create_specimens(actor=lab.mat, order=order)[0]


def test_specimen_page_actions_and_timeline(lab, mat):
    specimen = _specimen(lab)
    client = signed_in(mat)
    url = reverse("labs:specimen", args=[specimen.pk])
    html = client.get(url).content.decode()
    _no_inline_code(html)
    assert "Record collection" in html and "Chain of custody" in html
    assert "Received by the lab" not in html.split("Next step")[1].split("</section>")[0]
    refused = client.post(reverse("labs:specimen_action", args=[specimen.pk, "receive"]), {})
    assert refused.status_code == 422
    assert "never collected" in refused.content.decode()
    collect = reverse("labs:specimen_action", args=[specimen.pk, "collect"])
    response = client.post(
        collect, {"site": "left antecubital", "attempts": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="specimen-panel"' in body and "<html" not in body
    specimen.refresh_from_db()
    assert specimen.status == "collected"
    assert AuditEvent.objects.filter(resource_type="Specimen", action="view").exists()


def test_reject_opens_the_recollection(lab, mat):
    specimen = _specimen(lab)
    services.collect_specimen(actor=lab.mat, specimen=specimen, site="right hand")
    client = signed_in(mat)
    response = client.post(
        reverse("labs:specimen_action", args=[specimen.pk, "reject"]), {"reason": "hemolyzed"}
    )
    again = Specimen.objects.get(recollect_of=specimen)
    assert response.status_code == 302 and response.url == reverse("labs:specimen", args=[again.pk])
    html = client.get(response.url).content.decode()
    assert "Re-collection of" in html and specimen.accession in html


def test_unknown_action_is_404(lab, mat):
    specimen = _specimen(lab)
    url = reverse("labs:specimen_action", args=[specimen.pk, "explode"])
    assert signed_in(mat).post(url, {}).status_code == 404


def test_scan_opens_the_specimen_or_says_no_such_specimen(lab, mat, other_mat):
    specimen = _specimen(lab)
    client = signed_in(mat)
    found = client.get(reverse("labs:scan"), {"code": specimen.accession.lower()})
    assert found.status_code == 302 and found.url == reverse("labs:specimen", args=[specimen.pk])
    missing = client.get(reverse("labs:scan"), {"code": "S424242"}, follow=True)
    assert "No such specimen: S424242" in missing.content.decode()
    other = signed_in(other_mat).get(reverse("labs:scan"), {"code": specimen.accession})
    assert other.status_code == 302 and other.url == reverse("labs:worklist")


def test_other_organizations_rows_are_404(lab, other_mat):
    specimen = _specimen(lab)
    client = signed_in(other_mat)
    assert client.get(reverse("labs:specimen", args=[specimen.pk])).status_code == 404
    assert client.get(reverse("labs:order", args=[specimen.order_id])).status_code == 404
    assert client.get(reverse("labs:draw", args=[specimen.order_id])).status_code == 404


def test_manifest_pack_and_pickup(lab, mat):
    specimen = _specimen(lab)
    services.collect_specimen(actor=lab.mat, specimen=specimen, site="left antecubital")
    client = signed_in(mat)
    page = client.get(reverse("labs:manifests"))
    assert specimen.accession in page.content.decode()
    bad = client.post(reverse("labs:manifests"), {"courier": "", "specimens": [specimen.pk]})
    assert bad.status_code == 422
    response = client.post(
        reverse("labs:manifests"),
        {"courier": "Lab Express", "destination": "Reference lab", "specimens": [specimen.pk]},
    )
    manifest = Manifest.objects.get()
    assert response.status_code == 302
    assert specimen.accession in client.get(response.url).content.decode()
    client.post(reverse("labs:manifest_pickup", args=[manifest.pk]))
    specimen.refresh_from_db()
    assert specimen.status == "in_transit"


def test_catalog_upload(org, mat, manager):
    text = (
        "code,name,loinc,specimen_type,container,min_volume_ml,fasting,performed\n"
        "TSH,TSH,3016-3,serum,gold_sst,1,no,Lab\n"
        "CBC,CBC,58410-9,whole blood,lavender,1,no,Lab\n"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(client, body):
        return client.post(
            reverse("labs:catalog"), {"file": SimpleUploadedFile("c.csv", body.encode())}
        )

    assert upload(signed_in(mat), text).status_code == 403
    client = signed_in(manager)
    bad = upload(client, text)
    assert bad.status_code == 422
    assert "row 3, column loinc" in bad.content.decode()
    good = upload(client, text.replace("58410-9", "58410-2"))
    assert good.status_code == 302
    assert "TSH" in client.get(reverse("labs:catalog")).content.decode()


@pytest.mark.parametrize("orders", [2, 6])
def test_worklist_query_count_does_not_grow(lab, mat, orders, django_assert_max_num_queries):
    for n in range(orders):
        patient = make_patient(mat) if n % 2 else lab.patient
        order = order_for(lab, "CBC", "CMP", "UA", patient=patient)
        made = services.create_specimens(actor=lab.mat, order=order)
        services.collect_specimen(actor=lab.mat, specimen=made[0], site="left antecubital")
    order_for(lab, "TSH")  # one still to draw
    client = signed_in(mat)
    client.get(reverse("labs:worklist"))
    with django_assert_max_num_queries(16):
        response = client.get(reverse("labs:worklist"))
    assert response.status_code == 200
    assert response.content.decode().count("labs/specimens/") >= orders * 3


def test_order_form_reason_has_the_icd10_typeahead(lab, mat):
    html = signed_in(mat).get(reverse("labs:new_order", args=[lab.patient.pk])).content.decode()
    assert f'hx-get="{reverse("patients:icd10_search")}"' in html
    assert 'id="id_diagnosis_codes_options"' in html
