"""Point-of-care and result pages: QC, result entry, the order's results, review, cancel,
trends, the chart's recent results, query counts and tenancy."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.encounters.models import Alert
from carebench.labs import demo, poc, poc_services
from carebench.labs.models import LabOrder, LabResult, PocKitLot, QcRun, ResultReview
from carebench.labs.tests.conftest import order_for

pytestmark = pytest.mark.django_db

PASS = [
    poc.QcLevel("Positive control", "Positive", "Positive"),
    poc.QcLevel("Negative control", "Negative", "Negative"),
]
UA_NORMAL = {a.code: (a.choice_values[0] if a.choices else "") for a in poc.TESTS["UADIP"].analytes}
UA_NORMAL.update({"5811-5": "1.015", "5803-2": "6.0"})


def _lot(lab: SimpleNamespace, code: str, number: str = "", days: int = 90) -> PocKitLot:
    return poc_services.add_kit_lot(
        actor=lab.mat,
        test=lab.tests[code],
        kit_name=f"{code} kit",
        lot_number=number or f"{code}-A",
        expires_on=clock.today() + timedelta(days=days),
    )


def _ua_qc(lab: SimpleNamespace, lot: PocKitLot) -> QcRun:
    return poc_services.record_qc_run(
        actor=lab.mat,
        test=lot.test,
        kit_lot=lot,
        levels=[
            poc.QcLevel("Negative control", "Within range", "Within range"),
            poc.QcLevel("Positive control", "Within range", "Within range"),
        ],
    )


def _meter(lab: SimpleNamespace) -> SimpleNamespace:
    lot = _lot(lab, "GLUPOC")
    device = poc_services.add_device(
        actor=lab.mat, name="Glucometer room 3", serial_number="GM-1", tests=[lab.tests["GLUPOC"]]
    )
    poc_services.record_qc_run(
        actor=lab.mat,
        test=lab.tests["GLUPOC"],
        device=device,
        levels=[poc.QcLevel("Level 1", "36-60", "50"), poc.QcLevel("Level 2", "250-350", "300")],
    )
    return SimpleNamespace(lot=lot, device=device)


def _no_inline_code(html: str) -> None:
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


# --- QC page -----------------------------------------------------------------------------------


def test_qc_page_lists_lots_with_expiry_and_todays_qc(lab: SimpleNamespace, mat: Any) -> None:
    good = _lot(lab, "RSTREP")
    _lot(lab, "UHCG")
    poc_services.record_qc_run(actor=lab.mat, test=good.test, kit_lot=good, levels=PASS)
    html = signed_in(mat).get(reverse("labs:qc")).content.decode()
    _no_inline_code(html)
    assert ">QC and kits</a>" in html
    row = html.split('data-lot="RSTREP-A"')[1].split("</tr>")[0]
    assert "passed" in row
    assert "no QC today" in html.split('data-lot="UHCG-A"')[1].split("</tr>")[0]
    assert 'for="id_lot-lot_number"' in html and "Add kit lot" in html


def test_record_qc_from_the_form(lab: SimpleNamespace, mat: Any) -> None:
    lot = _lot(lab, "RSTREP")
    client = signed_in(mat)
    url = reverse("labs:qc_run") + f"?kit_lot={lot.pk}"
    page = client.get(url).content.decode()
    assert "Positive control: observed" in page and "Record QC" in page
    response = client.post(
        url, {"level_0_observed": "Positive", "level_1_observed": "Negative", "note": ""}
    )
    assert response.status_code == 302
    run = QcRun.objects.get()
    assert run.passed and run.levels[0]["expected"] == "Positive"


def test_failed_qc_from_the_form_says_do_not_test(lab: SimpleNamespace, mat: Any) -> None:
    lot = _lot(lab, "RSTREP")
    client = signed_in(mat)
    url = reverse("labs:qc_run") + f"?kit_lot={lot.pk}"
    response = client.post(
        url, {"level_0_observed": "Negative", "level_1_observed": "Negative"}, follow=True
    )
    assert "QC FAILED" in response.content.decode()
    assert not QcRun.objects.get().passed


def test_meter_qc_form_needs_the_expected_range(lab: SimpleNamespace, mat: Any) -> None:
    device = poc_services.add_device(
        actor=lab.mat, name="Glucometer", serial_number="GM-9", tests=[lab.tests["GLUPOC"]]
    )
    url = reverse("labs:qc_run") + f"?device={device.pk}&test={lab.tests['GLUPOC'].pk}"
    response = signed_in(mat).post(url, {"level_0_observed": "48", "level_1_observed": "300"})
    assert response.status_code == 422
    assert "Level 1 (low): expected range: is required" in response.content.decode()
    assert not QcRun.objects.exists()


def test_add_expired_kit_lot_from_the_form_is_refused(lab: SimpleNamespace, mat: Any) -> None:
    response = signed_in(mat).post(
        reverse("labs:add_kit_lot"),
        {
            "lot-test": lab.tests["RSTREP"].pk,
            "lot-kit_name": "QuickVue",
            "lot-lot_number": "Q1",
            "lot-expires_on": (clock.today() - timedelta(days=2)).isoformat(),
        },
    )
    assert response.status_code == 422
    assert "the lot expired on" in response.content.decode()
    assert not PocKitLot.objects.exists()


def test_add_device_and_retire_lot(lab: SimpleNamespace, mat: Any) -> None:
    client = signed_in(mat)
    response = client.post(
        reverse("labs:add_device"),
        {
            "device-name": "HemoCue",
            "device-serial_number": "hc-1",
            "device-tests": [lab.tests["HGBPOC"].pk],
        },
    )
    assert response.status_code == 302
    lot = _lot(lab, "RSTREP")
    assert client.post(reverse("labs:retire_kit_lot", args=[lot.pk])).status_code == 302
    lot.refresh_from_db()
    assert not lot.is_active


def test_qc_permissions(lab: SimpleNamespace, frontdesk: Any, medtech: Any) -> None:
    assert signed_in(frontdesk).get(reverse("labs:qc")).status_code == 403
    assert signed_in(medtech).get(reverse("labs:qc")).status_code == 200
    assert signed_in(medtech).post(reverse("labs:add_kit_lot"), {}).status_code == 403


def test_another_organizations_kit_lot_is_not_found(lab: SimpleNamespace, other_mat: Any) -> None:
    lot = _lot(lab, "RSTREP")
    client = signed_in(other_mat)
    assert client.get(reverse("labs:qc_run") + f"?kit_lot={lot.pk}").status_code == 404
    assert client.post(reverse("labs:retire_kit_lot", args=[lot.pk])).status_code == 404


# --- result entry ------------------------------------------------------------------------------


def test_order_page_has_enter_result_for_in_house_tests_only(
    lab: SimpleNamespace, mat: Any
) -> None:
    order = order_for(lab, "CBC", "UADIP")
    html = signed_in(mat).get(reverse("labs:order", args=[order.pk])).content.decode()
    ua = order.items.get(code="UADIP")
    assert reverse("labs:poc_entry", args=[ua.pk]) in html
    assert html.count(">Enter result</a>") == 1
    cbc = order.items.get(code="CBC")
    response = signed_in(mat).get(reverse("labs:poc_entry", args=[cbc.pk]))
    assert response.status_code == 302


def test_entry_page_lists_pads_and_only_unexpired_lots(lab: SimpleNamespace, mat: Any) -> None:
    good = _lot(lab, "UADIP", "GOOD-1")
    _ua_qc(lab, good)
    _lot(lab, "UADIP", "NOQC-1")
    old = _lot(lab, "UADIP", "OLD-1")
    PocKitLot.objects.filter(pk=old.pk).update(expires_on=clock.today() - timedelta(days=1))
    order = order_for(lab, "UADIP")
    html = signed_in(mat).get(reverse("labs:poc_entry", args=[order.items.get().pk])).content
    page = html.decode()
    _no_inline_code(page)
    assert "lot GOOD-1" in page and "QC passed today" in page
    assert "lot NOQC-1" in page and "no QC today" in page
    assert "OLD-1" not in page
    assert '<label for="id_5802-4">Urine nitrite (dipstick)</label>' in page
    assert '<select name="5802-4"' in page and 'name="5811-5"' in page
    assert "Save result" in page


def test_enter_urinalysis_on_a_kit_that_passed_qc(lab: SimpleNamespace, mat: Any) -> None:
    lot = _lot(lab, "UADIP")
    _ua_qc(lab, lot)
    order = order_for(lab, "UADIP")
    client = signed_in(mat)
    url = reverse("labs:poc_entry", args=[order.items.get().pk])
    response = client.post(url, {"kit_lot": lot.pk, **UA_NORMAL, "5799-2": "Small (1+)"})
    assert response.status_code == 302
    assert LabResult.objects.filter(order=order).count() == 10
    html = client.get(reverse("labs:order", args=[order.pk])).content.decode()
    assert "Urine leukocyte esterase (dipstick)" in html and "Small (1+)" in html
    assert 'class="flag-high"' in html and ">Abnormal</span>" in html


def test_entry_without_qc_today_is_refused_on_the_kit_lot(lab: SimpleNamespace, mat: Any) -> None:
    lot = _lot(lab, "UADIP")
    order = order_for(lab, "UADIP")
    response = signed_in(mat).post(
        reverse("labs:poc_entry", args=[order.items.get().pk]), {"kit_lot": lot.pk, **UA_NORMAL}
    )
    assert response.status_code == 422
    assert "no quality control today" in response.content.decode()
    assert not LabResult.objects.exists()


def test_impossible_value_on_the_page_names_the_pad(lab: SimpleNamespace, mat: Any) -> None:
    lot = _lot(lab, "UADIP")
    _ua_qc(lab, lot)
    order = order_for(lab, "UADIP")
    response = signed_in(mat).post(
        reverse("labs:poc_entry", args=[order.items.get().pk]),
        {"kit_lot": lot.pk, **UA_NORMAL, "5803-2": "14"},
    )
    assert response.status_code == 422
    assert "Urine pH (dipstick): 14 is not a possible value" in response.content.decode()
    assert not LabResult.objects.exists()


def test_critical_glucose_on_the_page_alerts_and_shows_red(lab: SimpleNamespace, mat: Any) -> None:
    meter = _meter(lab)
    order = order_for(lab, "GLUPOC")
    client = signed_in(mat)
    response = client.post(
        reverse("labs:poc_entry", args=[order.items.get().pk]),
        {"kit_lot": meter.lot.pk, "device": meter.device.pk, "41653-7": "38"},
        follow=True,
    )
    html = response.content.decode()
    assert "CRITICAL: Glucose, fingerstick (meter) 38 mg/dL" in html
    assert 'class="flag-critical_low"' in html and ">Critical low</span>" in html
    assert Alert.objects.filter(recipient=lab.provider.user).count() == 1


# --- review and cancel -------------------------------------------------------------------------


def _resulted(lab: SimpleNamespace) -> LabOrder:
    lot = _lot(lab, "RSTREP")
    poc_services.record_qc_run(actor=lab.mat, test=lot.test, kit_lot=lot, levels=PASS)
    order = order_for(lab, "RSTREP")
    poc_services.record_poc_result(
        actor=lab.mat, order_item=order.items.get(), kit_lot=lot, entries={"78012-2": "Positive"}
    )
    return order


def test_provider_reviews_and_signs(lab: SimpleNamespace, mat: Any, provider: Any) -> None:
    order = _resulted(lab)
    url = reverse("labs:order", args=[order.pk])
    assert "Review and sign" not in signed_in(mat).get(url).content.decode()
    client = signed_in(provider)
    assert "Review and sign" in client.get(url).content.decode()
    response = client.post(reverse("labs:review", args=[order.pk]), {"comment": "call patient"})
    assert response.status_code == 302
    review = ResultReview.objects.get()
    assert review.reviewed_by == provider and review.comment == "call patient"
    html = client.get(url).content.decode()
    assert "Reviewed and signed by" in html and "call patient" in html
    assert signed_in(mat).post(reverse("labs:review", args=[order.pk])).status_code == 403


def test_cancel_order_from_the_page(lab: SimpleNamespace, mat: Any) -> None:
    order = order_for(lab, "TSH")
    client = signed_in(mat)
    url = reverse("labs:order", args=[order.pk])
    assert "Cancel order" in client.get(url).content.decode()
    refused = client.post(
        reverse("labs:cancel_order", args=[order.pk]), {"reason": ""}, follow=True
    )
    assert "Not cancelled" in refused.content.decode()
    client.post(reverse("labs:cancel_order", args=[order.pk]), {"reason": "duplicate"})
    order.refresh_from_db()
    assert order.status == "cancelled" and order.cancel_reason == "duplicate"
    assert "duplicate" in client.get(url).content.decode()


def test_order_page_queries_do_not_grow_with_results(
    lab: SimpleNamespace, provider: Any, django_assert_max_num_queries: Any
) -> None:
    lot = _lot(lab, "UADIP")
    _ua_qc(lab, lot)
    order = order_for(lab, "UADIP", "CBC", "CMP")
    poc_services.record_poc_result(
        actor=lab.mat, order_item=order.items.get(code="UADIP"), kit_lot=lot, entries=UA_NORMAL
    )
    client = signed_in(provider)
    url = reverse("labs:order", args=[order.pk])
    client.get(url)
    with django_assert_max_num_queries(24):
        response = client.get(url)
    assert response.content.decode().count("<tr") >= 10 + 3


# --- trends and the chart ----------------------------------------------------------------------


def test_trend_per_analyte_has_a_table_and_a_chart(lab: SimpleNamespace, mat: Any) -> None:
    meter = _meter(lab)
    start = clock.now()
    for days, value in ((2, "101"), (1, "150"), (0, "95")):
        order = order_for(lab, "GLUPOC")
        poc_services.record_poc_result(
            actor=lab.mat,
            order_item=order.items.get(),
            kit_lot=meter.lot,
            device=meter.device,
            entries={"41653-7": value},
            observed_at=start - timedelta(days=days),
        )
    client = signed_in(mat)
    response = client.get(reverse("labs:results", args=[lab.patient.pk]) + "?code=41653-7")
    html = response.content.decode()
    _no_inline_code(html)
    assert response.status_code == 200
    assert "<svg" in html and "Glucose, fingerstick (meter) trend (mg/dL)" in html
    table = html.split("<table")[1]  # newest first
    assert table.index("95 mg/dL") < table.index("150 mg/dL") < table.index("101 mg/dL")
    assert html.count("<circle") == 3
    assert AuditEvent.objects.filter(resource_type="LabResult", action="view").exists()


def test_chart_has_order_labs_and_recent_results(lab: SimpleNamespace, mat: Any) -> None:
    order = _resulted(lab)
    client = signed_in(mat)
    chart = client.get(reverse("patients:chart", args=[lab.patient.pk])).content.decode()
    assert reverse("labs:new_order", args=[lab.patient.pk]) in chart
    recent_url = reverse("labs:recent_results", args=[lab.patient.pk])
    assert f'hx-get="{recent_url}"' in chart
    recent = client.get(recent_url, HTTP_HX_REQUEST="true").content.decode()
    assert "Strep A antigen (rapid)" in recent and order.number in recent
    assert "<html" not in recent


def test_demo_kits_and_qc_work_on_any_day(lab: SimpleNamespace, mat: Any) -> None:
    made = demo.ensure_poc_today(lab.org)
    assert made >= 8
    assert demo.ensure_poc_today(lab.org) == 0  # already passed today
    assert PocKitLot.objects.filter(lot_number=demo.EXPIRED_LOT).get().expires_on < clock.today()
    with clock.frozen(clock.now() + timedelta(days=1)):
        assert demo.ensure_poc_today(lab.org) == made
