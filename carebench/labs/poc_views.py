"""Point-of-care and results pages: the QC page (kit lots, devices, today's QC, recording a run),
entering a point-of-care result for an in-house test, the provider's review, cancelling an
order, and a patient's results with a trend per analyte.

Thin views as in `views`: forms parse, `poc_services` / `result_services` write (a refused write
comes back onto the form with 422), `result_selectors` read, patient data is audited as a read.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import messages_of
from carebench.encounters import charts
from carebench.patients import selectors as patient_selectors
from carebench.patients.forms import apply_service_errors

from . import poc, poc_services, result_selectors, result_services
from .models import LabOrderItem, LabResult, LabTest, PocDevice, PocKitLot
from .poc_forms import DeviceForm, KitLotForm, PocResultForm, QcRunForm, device_label, lot_label
from .views import INVALID, _banner, _order, _org, _patient, _zone

# result flag -> the CSS class the vitals tables use for the same meaning
FLAG_CLASS = {
    "N": "",
    "L": "flag-low",
    "H": "flag-high",
    "A": "flag-high",
    "LL": "flag-critical_low",
    "HH": "flag-critical_high",
    "AA": "flag-critical_high",
}


def mark_flags(rows: list[LabResult]) -> list[LabResult]:
    for row in rows:
        row.flag_class = FLAG_CLASS.get(row.flag, "")  # type: ignore[attr-defined]
    return rows


# --- the QC page -------------------------------------------------------------------------------


def _qc_page(
    request: HttpRequest,
    *,
    lot_form: KitLotForm | None = None,
    device_form: DeviceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    org = _org(request)
    zone = _zone(request)
    today = clock.today(zone)
    tests = result_selectors.poc_tests(org)
    test_ids = [t.pk for t in tests]
    qc = result_selectors.qc_today(org, day=today, zone=zone)
    lots = [(lot, lot.expires_on < today, qc.lot(lot.pk)) for lot in result_selectors.kit_lots(org)]
    devices = [
        (device, [(test, qc.device(device.pk, test.pk)) for test in device.tests.all()])
        for device in result_selectors.devices(org)
    ]
    meter_tests = [t for t in tests if poc.TESTS[t.code].meter]
    queryset = LabTest.objects.for_org(org).filter(pk__in=test_ids)
    return render(
        request,
        "labs/qc.html",
        {
            "lots": lots,
            "devices": devices,
            "runs": result_selectors.recent_qc_runs(org),
            "lot_form": lot_form or KitLotForm(tests=queryset),
            "device_form": device_form
            or DeviceForm(tests=queryset.filter(pk__in=[t.pk for t in meter_tests])),
            "today": today,
            "zone": zone,
        },
        status=status,
    )


@require_GET
@require_perms("labs.view_qcrun")
def qc(request: HttpRequest) -> HttpResponse:
    """Kit lots with their expiry and today's QC, devices, recent runs; add a lot or a device."""
    return _qc_page(request)


def _poc_test_queryset(request: HttpRequest) -> Any:
    org = _org(request)
    return LabTest.objects.for_org(org).filter(
        pk__in=[t.pk for t in result_selectors.poc_tests(org)]
    )


@require_POST
@require_perms("labs.add_pockitlot")
def add_kit_lot(request: HttpRequest) -> HttpResponse:
    form = KitLotForm(request.POST, tests=_poc_test_queryset(request))
    if form.is_valid():
        data = form.cleaned_data
        try:
            lot = poc_services.add_kit_lot(
                actor=Actor.from_request(request),
                test=data["test"],
                kit_name=data["kit_name"],
                manufacturer=data["manufacturer"],
                lot_number=data["lot_number"],
                expires_on=data["expires_on"],
                received_on=data["received_on"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Kit lot {lot.lot_number} added: run QC before use.")
            return redirect("labs:qc")
    return _qc_page(request, lot_form=form, status=INVALID)


@require_POST
@require_perms("labs.change_pockitlot")
def retire_kit_lot(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        lot = PocKitLot.objects.for_org(_org(request)).get(pk=pk)
    except PocKitLot.DoesNotExist:
        raise Http404("no such kit lot") from None
    try:
        poc_services.retire_kit_lot(actor=Actor.from_request(request), kit_lot=lot)
    except ValidationError as exc:
        messages.error(request, f"Not retired: {messages_of(exc)}")
    else:
        messages.success(request, f"Kit lot {lot.lot_number} retired.")
    return redirect("labs:qc")


@require_POST
@require_perms("labs.add_pocdevice")
def add_device(request: HttpRequest) -> HttpResponse:
    form = DeviceForm(request.POST, tests=_poc_test_queryset(request))
    if form.is_valid():
        data = form.cleaned_data
        try:
            device = poc_services.add_device(
                actor=Actor.from_request(request),
                name=data["name"],
                model_name=data["model_name"],
                serial_number=data["serial_number"],
                tests=list(data["tests"]),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Device {device.name} added: run QC before use.")
            return redirect("labs:qc")
    return _qc_page(request, device_form=form, status=INVALID)


def _qc_target(request: HttpRequest) -> tuple[LabTest, PocKitLot | None, PocDevice | None]:
    """The test, kit lot and device a QC run is for, from ?kit_lot= or ?device=&test=."""
    org = _org(request)
    source = request.GET
    try:
        if source.get("kit_lot"):
            lot = (
                PocKitLot.objects.for_org(org).select_related("test").get(pk=int(source["kit_lot"]))
            )
            return lot.test, lot, None
        device = PocDevice.objects.for_org(org).get(pk=int(source.get("device", "")))
    except (ValueError, PocKitLot.DoesNotExist, PocDevice.DoesNotExist):
        raise Http404("choose a kit lot or a device") from None
    test = (
        device.tests.filter(pk=source.get("test", "") or 0).first()
        if source.get("test", "").isdigit()
        else None
    )
    if test is None:
        raise Http404("the device does not read that test")
    return test, None, device


@require_http_methods(["GET", "POST"])
@require_perms("labs.add_qcrun")
def qc_run(request: HttpRequest) -> HttpResponse:
    """Record today's controls on a kit lot, or on a meter for one of its tests."""
    test, lot, device = _qc_target(request)
    definition = poc_services.definition(test)
    if definition is None:
        raise Http404("not a point-of-care test")
    form = QcRunForm(request.POST or None, definition=definition)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                run = poc_services.record_qc_run(
                    actor=Actor.from_request(request),
                    test=test,
                    kit_lot=lot,
                    device=device,
                    levels=form.qc_levels(),
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                what = f"lot {lot.lot_number}" if lot else f"{device.name if device else ''}"
                if run.passed:
                    messages.success(request, f"QC passed on {what} ({test.code}).")
                else:
                    messages.error(
                        request,
                        f"QC FAILED on {what} ({test.code}): do not test patients on it "
                        "until a new run passes.",
                    )
                return redirect("labs:qc")
        status = INVALID
    return render(
        request,
        "labs/qc_run.html",
        {
            "form": form,
            "test": test,
            "lot": lot,
            "device": device,
            "action": request.get_full_path(),
        },
        status=status,
    )


# --- point-of-care result entry ----------------------------------------------------------------


def _entry_form(
    request: HttpRequest, item: LabOrderItem, definition: poc.PocTest, data: Any = None
) -> PocResultForm:
    org = _org(request)
    zone = _zone(request)
    today = clock.today(zone)
    qc = result_selectors.qc_today(org, day=today, zone=zone)
    lots = [
        (lot.pk, lot_label(lot, qc.lot(lot.pk), with_qc=not definition.meter))
        for lot in result_selectors.kit_lots(org, test_id=item.test_id)
        if lot.expires_on >= today
    ]
    devices = None
    if definition.meter:
        devices = [
            (d.pk, device_label(d, qc.device(d.pk, item.test_id)))
            for d in result_selectors.devices(org, test_id=item.test_id)
        ]
    patient = item.order.patient
    age = poc.age_on(patient.birth_date, today)
    fasting = item.order.fasting_confirmed is True
    reference = {}
    for analyte in definition.analytes:
        if analyte.kind == poc.CHOICE:
            reference[analyte.code] = ", ".join(analyte.normal)
        else:
            found = analyte.reference_for(patient.sex, age, fasting=fasting)
            unit = f" {analyte.unit}" if analyte.unit else ""
            reference[analyte.code] = f"{found.text}{unit}" if found and found.text else ""
    return PocResultForm(
        data, definition=definition, lots=lots, devices=devices, reference=reference
    )


@require_http_methods(["GET", "POST"])
@require_perms("labs.add_labresult", "labs.view_laborder", "patients.view_patient")
def poc_entry(request: HttpRequest, pk: int) -> HttpResponse:
    """Enter an in-house test's result: kit lot (and device), then every analyte."""
    try:
        item = (
            LabOrderItem.objects.for_org(_org(request))
            .select_related("order__patient", "order__ordering_provider")
            .get(pk=pk)
        )
    except LabOrderItem.DoesNotExist:
        raise Http404("no such ordered test") from None
    definition = poc_services.definition(item)
    if definition is None:
        messages.error(
            request,
            f"{item.code} is sent to {item.performed or 'the lab'}: its results come from the lab.",
        )
        return redirect("labs:order", pk=item.order_id)
    form = _entry_form(request, item, definition, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            org = _org(request)
            data = form.cleaned_data
            lot = PocKitLot.objects.for_org(org).filter(pk=data["kit_lot"]).first()
            device = None
            if data.get("device"):
                device = PocDevice.objects.for_org(org).filter(pk=data["device"]).first()
            try:
                rows = poc_services.record_poc_result(
                    actor=Actor.from_request(request),
                    order_item=item,
                    kit_lot=lot,
                    device=device,
                    entries=form.entries(),
                    fasting=form.fasting(),
                    note=data["note"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                critical = [r for r in rows if r.is_critical]
                if critical:
                    messages.error(
                        request,
                        "CRITICAL: "
                        + "; ".join(f"{r.name} {r.display_value}" for r in critical)
                        + f". {item.order.ordering_provider.display_name} has been alerted: "
                        "tell the provider now.",
                    )
                messages.success(request, f"{item.code} result saved ({len(rows)} value(s)).")
                for warning in _device_warnings([device] if device is not None else []):
                    messages.warning(request, warning)
                return redirect(reverse("labs:order", args=[item.order_id]) + "#h-results")
        status = INVALID
    chart = patient_selectors.get_chart(_org(request), item.order.patient_id)
    record_read(
        request,
        patient_id=item.order.patient_id,
        resource_type="LabOrder",
        resource_id=item.order_id,
        detail={"page": "poc entry", "test": item.code},
    )
    devices = PocDevice.objects.for_org(_org(request)).filter(tests=item.test_id)
    return render(
        request,
        "labs/poc_entry.html",
        {
            **_banner(chart),
            "item": item,
            "order": item.order,
            "form": form,
            "test": definition,
            "device_warnings": _device_warnings(list(devices)),
        },
        status=status,
    )


def _device_warnings(devices: list[PocDevice]) -> list[str]:
    """Calibration or maintenance overdue on the devices (from the compliance log): a warning,
    not a refusal; the QC run of the day is what blocks a result."""
    from carebench.compliance.selectors import device_warnings

    return [w for device in devices for w in device_warnings(poc_device=device)]


# --- review, cancel ----------------------------------------------------------------------------


@require_POST
@require_perms("labs.sign_laborder", "labs.view_labresult")
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """The provider reviews and signs the order's results."""
    lab_order = _order(request, pk)
    try:
        result_services.review_results(
            actor=Actor.from_request(request),
            order=lab_order,
            comment=request.POST.get("comment", ""),
        )
    except ValidationError as exc:
        messages.error(request, f"Not signed: {messages_of(exc)}")
    else:
        messages.success(request, f"Results of {lab_order.number} reviewed and signed.")
    return redirect(reverse("labs:order", args=[pk]) + "#h-results")


@require_POST
@require_perms("labs.add_laborder")
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    lab_order = _order(request, pk)
    try:
        result_services.cancel_order(
            actor=Actor.from_request(request),
            order=lab_order,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, f"Not cancelled: {messages_of(exc)}")
    else:
        messages.success(request, f"Order {lab_order.number} cancelled.")
    return redirect("labs:order", pk=pk)


# --- a patient's results and trends ------------------------------------------------------------


@require_GET
@require_perms("labs.view_labresult", "patients.view_patient")
def patient_results(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Every analyte's results over time: a table and a line chart (numbers) per analyte."""
    patient = _patient(request, patient_id)
    code = " ".join(request.GET.get("code", "").split())[:20]
    trends = result_selectors.patient_trends(_org(request), patient.pk, code=code)
    sections = []
    for trend in trends:
        mark_flags(trend.results)
        svg = ""
        if trend.numeric:
            svg = charts.trend_svg(
                trend.name,
                trend.unit or "value",
                [
                    charts.Series(
                        trend.name,
                        [
                            charts.Point(r.observed_at, r.value_numeric, r.is_abnormal)
                            for r in trend.results
                            if r.value_numeric is not None
                        ],
                    )
                ],
                band=trend.band,
            )
        sections.append((trend, svg))
    record_read(
        request,
        patient_id=patient.pk,
        resource_type="LabResult",
        detail={"page": "trends", "code": code or None, "analytes": len(trends)},
    )
    chart = patient_selectors.get_chart(_org(request), patient.pk)
    return render(
        request,
        "labs/results.html",
        {**_banner(chart), "sections": sections, "code": code, "zone": _zone(request)},
    )


@require_GET
@require_perms("labs.view_labresult", "patients.view_patient")
def recent_results(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The chart's short list of recent results (loaded into the chart by htmx)."""
    patient = _patient(request, patient_id)
    rows = mark_flags(result_selectors.recent_results(_org(request), patient.pk))
    record_read(
        request,
        patient_id=patient.pk,
        resource_type="LabResult",
        detail={"page": "chart recent", "results": len(rows)},
    )
    return render(
        request,
        "labs/_recent_results.html",
        {"patient": patient, "results": rows, "zone": _zone(request)},
    )
