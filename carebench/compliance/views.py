"""Pages for the compliance logs: the overview (equipment due, units missing a reading, open
excursions, recent autoclave cycles), the device list and a device's plans and service record,
a storage unit's temperatures with the chart, the reading form and the data-logger upload, an
excursion with its lots and the resolution, and the autoclave cycle log with a recall's list.

Thin views: forms parse, `services` write (a refused write comes back onto the form with 422),
`selectors` read. Another organization's row is not found (404).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carebench.accounts.permissions import require_perms
from carebench.audit.services import record_read
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.models import Facility
from carebench.labs.models import PocDevice
from carebench.meds import services as meds_services
from carebench.meds.models import StorageUnit
from carebench.patients.forms import apply_service_errors

from . import ranges, selectors, services
from .forms import (
    BiForm,
    CycleForm,
    DeviceForm,
    DeviceStatusForm,
    InstrumentSetForm,
    PlanForm,
    ReadingForm,
    RecallForm,
    ResolveForm,
    ServiceRecordForm,
    UploadForm,
)
from .models import Device, Excursion, InstrumentSet, SterilizerCycle

INVALID = 422
CHART_DAYS = 14
MAX_CHART_DAYS = 366


def _org(request: HttpRequest) -> Any:
    return request.organization  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request)


def _zone(request: HttpRequest) -> str:
    return meds_services.zone_for(_actor(request))


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render in the facility's time zone (times are stored in UTC)."""
    context.setdefault("zone", _zone(request))
    return render(request, template, context, status=status)


def _get(getter: Any, request: HttpRequest, pk: int, what: str) -> Any:
    """A row of the user's organization, or 404 (another organization's row is not found)."""
    try:
        return getter(_org(request), pk)
    except ObjectDoesNotExist:
        raise Http404(f"no such {what}") from None


# --- the overview -------------------------------------------------------------------------------


@require_GET
@require_perms("compliance.view_device")
def home(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    today = clock.today(_zone(request))
    return _render(
        request,
        "compliance/home.html",
        {
            "today": today,
            "overdue": selectors.plans_overdue(org, today=today),
            "due_soon": selectors.plans_due_soon(org, today=today),
            "missing": selectors.units_missing_readings(org),
            "excursions": selectors.open_excursions(org),
            "units": [
                (unit, selectors.latest_reading(unit)) for unit in selectors.monitored_units(org)
            ],
            "awaiting_bi": selectors.cycles_awaiting_bi(org),
            "cycles": selectors.cycles(org, limit=10),
        },
    )


# --- equipment ----------------------------------------------------------------------------------


def _device_form(request: HttpRequest, data: Any = None) -> DeviceForm:
    org = _org(request)
    return DeviceForm(
        data,
        facilities=Facility.objects.filter(organization=org, is_active=True),
        poc_devices=PocDevice.objects.for_org(org).filter(is_active=True),
        storage_units=StorageUnit.objects.for_org(org).filter(is_active=True),
    )


def _devices_page(
    request: HttpRequest, *, form: DeviceForm | None = None, status: int = 200
) -> HttpResponse:
    org = _org(request)
    today = clock.today(_zone(request))
    rows = selectors.devices(org)
    return _render(
        request,
        "compliance/devices.html",
        {
            "rows": [
                (d, selectors.device_warnings(device=d, today=today), list(d.plans.all()))
                for d in rows
            ],
            "form": form or _device_form(request),
            "today": today,
        },
        status=status,
    )


@require_GET
@require_perms("compliance.view_device")
def devices(request: HttpRequest) -> HttpResponse:
    return _devices_page(request)


@require_POST
@require_perms("compliance.add_device")
def add_device(request: HttpRequest) -> HttpResponse:
    form = _device_form(request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            device = services.add_device(actor=_actor(request), **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{device.name} added.")
            return redirect("compliance:device", pk=device.pk)
    return _devices_page(request, form=form, status=INVALID)


def _device_page(
    request: HttpRequest,
    device: Device,
    *,
    plan_form: PlanForm | None = None,
    service_form: ServiceRecordForm | None = None,
    status_form: DeviceStatusForm | None = None,
    status: int = 200,
) -> HttpResponse:
    today = clock.today(device.facility.time_zone)
    return _render(
        request,
        "compliance/device.html",
        {
            "device": device,
            "today": today,
            "warnings": selectors.device_warnings(device=device, today=today),
            "plans": list(device.plans.all()),
            "records": list(device.service_records.all()),
            "plan_form": plan_form or PlanForm(initial={"next_due": today}),
            "service_form": service_form
            or ServiceRecordForm(
                plans=device.plans.filter(is_active=True), initial={"done_on": today}
            ),
            "status_form": status_form or DeviceStatusForm(initial={"status": device.status}),
        },
        status=status,
    )


@require_GET
@require_perms("compliance.view_device")
def device(request: HttpRequest, pk: int) -> HttpResponse:
    return _device_page(request, _get(selectors.get_device, request, pk, "device"))


@require_POST
@require_perms("compliance.add_maintenanceplan")
def add_plan(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(selectors.get_device, request, pk, "device")
    form = PlanForm(request.POST)
    if form.is_valid():
        try:
            plan = services.add_plan(actor=_actor(request), device=row, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{plan.get_kind_display()} every {plan.interval_days} days.")
            return redirect("compliance:device", pk=row.pk)
    return _device_page(request, row, plan_form=form, status=INVALID)


@require_POST
@require_perms("compliance.add_servicerecord")
def record_service(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(selectors.get_device, request, pk, "device")
    form = ServiceRecordForm(request.POST, plans=row.plans.filter(is_active=True))
    if form.is_valid():
        try:
            record = services.record_service(actor=_actor(request), device=row, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            text = f"{record.get_result_display()} recorded for {row.name}."
            if record.plan is not None and record.result == "pass":
                text += f" Next due {record.plan.next_due:%m/%d/%Y}."
            if record.result == "fail":
                messages.warning(request, f"{text} The device is out of service.")
            else:
                messages.success(request, text)
            return redirect("compliance:device", pk=row.pk)
    return _device_page(request, row, service_form=form, status=INVALID)


@require_POST
@require_perms("compliance.change_device")
def device_status(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(selectors.get_device, request, pk, "device")
    form = DeviceStatusForm(request.POST)
    if form.is_valid():
        try:
            services.set_device_status(actor=_actor(request), device=row, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{row.name} is {row.get_status_display().lower()}.")
            return redirect("compliance:device", pk=row.pk)
    return _device_page(request, row, status_form=form, status=INVALID)


# --- temperatures -------------------------------------------------------------------------------


def _range(request: HttpRequest, zone: ZoneInfo) -> tuple[datetime, datetime, Any, Any]:
    """The chart's dates from ?start=&end= (the facility's days), two weeks by default."""
    today = clock.now().astimezone(zone).date()
    try:
        end_day = datetime.strptime(request.GET["end"], "%Y-%m-%d").date()
    except (KeyError, ValueError):
        end_day = today
    try:
        start_day = datetime.strptime(request.GET["start"], "%Y-%m-%d").date()
    except (KeyError, ValueError):
        start_day = end_day - timedelta(days=CHART_DAYS - 1)
    if start_day > end_day:
        start_day, end_day = end_day, start_day
    start_day = max(start_day, end_day - timedelta(days=MAX_CHART_DAYS))
    start = datetime.combine(start_day, time(0), tzinfo=zone)
    end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end, start_day, end_day


def _unit_page(
    request: HttpRequest,
    unit: StorageUnit,
    *,
    reading_form: ReadingForm | None = None,
    upload_form: UploadForm | None = None,
    status: int = 200,
) -> HttpResponse:
    org = _org(request)
    zone = ZoneInfo(unit.facility.time_zone)
    start, end, start_day, end_day = _range(request, zone)
    rows = selectors.readings(org, unit, start, end)
    excursions = selectors.excursions_of(org, unit)
    return _render(
        request,
        "compliance/unit.html",
        {
            "unit": unit,
            "band": ranges.describe(unit.kind),
            "rows": [(r, selectors.is_out_of_range(unit, r)) for r in rows],
            "chart": selectors.unit_chart(unit, rows, start, end),
            "start_day": start_day,
            "end_day": end_day,
            "open_excursion": next((e for e in excursions if e.is_open), None),
            "excursions": excursions,
            "missing": [m for m in selectors.units_missing_readings(org) if m.unit.pk == unit.pk],
            "warnings": selectors.device_warnings(storage_unit=unit),
            "reading_form": reading_form or ReadingForm(),
            "upload_form": upload_form or UploadForm(),
            "zone": unit.facility.time_zone,
        },
        status=status,
    )


@require_GET
@require_perms("compliance.view_temperaturereading")
def storage_unit(request: HttpRequest, pk: int) -> HttpResponse:
    return _unit_page(request, _get(selectors.get_storage_unit, request, pk, "storage unit"))


@require_POST
@require_perms("compliance.add_temperaturereading")
def add_reading(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _get(selectors.get_storage_unit, request, pk, "storage unit")
    form = ReadingForm(request.POST)
    with timezone.override(ZoneInfo(unit.facility.time_zone)):
        valid = form.is_valid()
    if valid:
        try:
            reading = services.record_reading(
                actor=_actor(request), storage_unit=unit, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if reading.excursion_id:
                held = reading.excursion.held_lots.count() if reading.excursion else 0
                messages.error(
                    request,
                    f"Out of range ({ranges.describe(unit.kind)}): temperature excursion. "
                    f"{held} lot(s) in {unit.name} are quarantined: do not use them until the "
                    "excursion is resolved.",
                )
            else:
                messages.success(request, f"Reading recorded: {reading.current_c} °C.")
            return redirect("compliance:storage_unit", pk=unit.pk)
    return _unit_page(request, unit, reading_form=form, status=INVALID)


@require_POST
@require_perms("compliance.add_temperaturereading")
def upload_readings(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _get(selectors.get_storage_unit, request, pk, "storage unit")
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.import_logger_csv(
                actor=_actor(request),
                storage_unit=unit,
                data=upload.read(services.MAX_LOGGER_FILE_BYTES + 1),  # over it is refused
                unit=form.cleaned_data["unit"],
                filename=upload.name or "",
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            text = f"{result.created} reading(s) imported"
            if result.skipped:
                text += f", {result.skipped} already on record"
            if result.out_of_range:
                messages.error(
                    request,
                    f"{text}; {result.out_of_range} out of range: temperature excursion, the "
                    f"lots in {unit.name} are quarantined.",
                )
            else:
                messages.success(request, f"{text}.")
            return redirect("compliance:storage_unit", pk=unit.pk)
    return _unit_page(request, unit, upload_form=form, status=INVALID)


def _excursion_page(
    request: HttpRequest,
    excursion: Excursion,
    *,
    form: ResolveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    held = list(excursion.held_lots.all())
    unit = excursion.storage_unit
    readings = list(excursion.readings.select_related("recorded_by").order_by("taken_at"))
    return _render(
        request,
        "compliance/excursion.html",
        {
            "excursion": excursion,
            "unit": unit,
            "band": ranges.describe(unit.kind),
            "held": held,
            "readings": readings,
            "latest": selectors.latest_reading(unit),
            "form": form or ResolveForm(held=held),
            "zone": unit.facility.time_zone,
        },
        status=status,
    )


@require_GET
@require_perms("compliance.view_excursion")
def excursion(request: HttpRequest, pk: int) -> HttpResponse:
    return _excursion_page(request, _get(selectors.get_excursion, request, pk, "excursion"))


@require_POST
@require_perms("compliance.change_excursion")
def resolve_excursion(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(selectors.get_excursion, request, pk, "excursion")
    held = list(row.held_lots.all())
    form = ResolveForm(request.POST, held=held)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.resolve_excursion(
                actor=_actor(request),
                excursion=row,
                contacted=data["contacted"],
                contact_name=data["contact_name"],
                answer=data["answer"],
                action=data["action"],
                decisions=form.decisions(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Excursion resolved; each lot released or discarded.")
            return redirect("compliance:excursion", pk=row.pk)
    return _excursion_page(request, row, form=form, status=INVALID)


# --- sterilization ------------------------------------------------------------------------------


def _cycles_page(
    request: HttpRequest, *, set_form: InstrumentSetForm | None = None, status: int = 200
) -> HttpResponse:
    org = _org(request)
    return _render(
        request,
        "compliance/cycles.html",
        {
            "cycles": selectors.cycles(org),
            "sets": selectors.instrument_sets(org),
            "set_form": set_form or InstrumentSetForm(),
        },
        status=status,
    )


@require_GET
@require_perms("compliance.view_sterilizercycle")
def cycles(request: HttpRequest) -> HttpResponse:
    return _cycles_page(request)


@require_POST
@require_perms("compliance.add_instrumentset")
def add_instrument_set(request: HttpRequest) -> HttpResponse:
    form = InstrumentSetForm(request.POST)
    if form.is_valid():
        try:
            row = services.add_instrument_set(actor=_actor(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"{row.name} added.")
            return redirect("compliance:cycles")
    return _cycles_page(request, set_form=form, status=INVALID)


def _cycle_form(request: HttpRequest, data: Any = None) -> CycleForm:
    org = _org(request)
    return CycleForm(
        data,
        autoclaves=Device.objects.for_org(org).filter(
            kind=Device.Kind.AUTOCLAVE, status=Device.Status.IN_SERVICE
        ),
        sets=InstrumentSet.objects.for_org(org).filter(is_active=True),
        initial={"run_at": clock.now().astimezone(ZoneInfo(_zone(request)))},
    )


@require_http_methods(["GET", "POST"])
@require_perms("compliance.add_sterilizercycle")
def new_cycle(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render(request, "compliance/new_cycle.html", {"form": _cycle_form(request)})
    form = _cycle_form(request, request.POST)
    with timezone.override(ZoneInfo(_zone(request))):
        valid = form.is_valid()
    if valid:
        data = dict(form.cleaned_data)
        data["instrument_sets"] = list(data["instrument_sets"])
        try:
            cycle = services.record_cycle(actor=_actor(request), **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            text = f"Cycle {cycle.cycle_number}: {cycle.get_status_display().lower()}."
            if cycle.status == SterilizerCycle.Status.RECALLED:
                messages.error(request, f"{text} Do not use the load; see who it was used on.")
            else:
                messages.success(request, text)
            return redirect("compliance:cycle", pk=cycle.pk)
    return _render(request, "compliance/new_cycle.html", {"form": form}, status=INVALID)


def _cycle_page(
    request: HttpRequest,
    cycle: SterilizerCycle,
    *,
    bi_form: BiForm | None = None,
    recall_form: RecallForm | None = None,
    status: int = 200,
) -> HttpResponse:
    recall = (
        selectors.recall_list(_org(request), cycle)
        if cycle.status == SterilizerCycle.Status.RECALLED
        else []
    )
    if cycle.status == SterilizerCycle.Status.RECALLED:  # the recall list names patients
        record_read(
            request,
            patient_id=None,
            resource_type="InstrumentSetUse",
            detail={"page": "recall list", "cycle": cycle.cycle_number},
        )
    return _render(
        request,
        "compliance/cycle.html",
        {
            "cycle": cycle,
            "sets": list(cycle.instrument_sets.all()),
            "recall": recall,
            "patients_to_notify": len({u.patient_id for line in recall for u in line.uses}),
            "bi_form": bi_form or BiForm(),
            "recall_form": recall_form or RecallForm(),
            "zone": _zone(request),
        },
        status=status,
    )


@require_GET
@require_perms("compliance.view_sterilizercycle")
def cycle(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(selectors.get_cycle, request, pk, "cycle")
    return _cycle_page(request, row)


@require_POST
@require_perms("compliance.change_sterilizercycle")
def read_bi(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(selectors.get_cycle, request, pk, "cycle")
    form = BiForm(request.POST)
    with timezone.override(ZoneInfo(_zone(request))):
        valid = form.is_valid()
    if valid:
        try:
            services.read_biological_indicator(
                actor=_actor(request),
                cycle=row,
                result=form.cleaned_data["result"],
                read_at=form.cleaned_data["read_at"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if row.status == SterilizerCycle.Status.RECALLED:
                messages.error(
                    request, "BI failed: the load is recalled. Notify the patients below."
                )
            else:
                messages.success(request, "BI passed: the load is released.")
            return redirect("compliance:cycle", pk=row.pk)
    return _cycle_page(request, row, bi_form=form, status=INVALID)


@require_POST
@require_perms("compliance.change_sterilizercycle")
def recall_cycle(request: HttpRequest, pk: int) -> HttpResponse:
    row = _get(selectors.get_cycle, request, pk, "cycle")
    form = RecallForm(request.POST)
    if form.is_valid():
        try:
            services.recall_cycle(
                actor=_actor(request), cycle=row, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.error(request, f"Load {row.cycle_number} recalled.")
            return redirect("compliance:cycle", pk=row.pk)
    return _cycle_page(request, row, recall_form=form, status=INVALID)
