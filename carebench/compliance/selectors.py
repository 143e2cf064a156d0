"""Reads for the compliance logs: plans due and overdue, the warnings to show when a device is
used, storage units missing a reading, readings and their chart, open excursions, sterilizer
cycles and a recalled load's list of sets and patients. Each takes the organization first
(`device_warnings` takes the device, which carries it) and loads related rows up front."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet

from carebench.core import clock
from carebench.meds.models import StorageUnit

from . import chart, ranges
from .models import (
    Device,
    Excursion,
    ExcursionLot,
    InstrumentSet,
    InstrumentSetUse,
    MaintenancePlan,
    ServiceRecord,
    SterilizerCycle,
    TemperatureReading,
)

if TYPE_CHECKING:
    from carebench.core.models import Organization
    from carebench.labs.models import PocDevice

DUE_SOON_DAYS = 14
# Twice a day: the morning reading is missing from 10:00, the afternoon one from 16:00
# (the facility's local time); a morning reading is one taken before noon.
MORNING_BY = time(10, 0)
AFTERNOON_BY = time(16, 0)
NOON = time(12, 0)
MONITORED_KINDS = tuple(ranges.RANGES)


# --- equipment ----------------------------------------------------------------------------------


def _plans(organization: Organization) -> QuerySet[MaintenancePlan]:
    return (
        MaintenancePlan.objects.for_org(organization)
        .filter(is_active=True)
        .exclude(device__status=Device.Status.RETIRED)
        .select_related("device__facility")
        .order_by("next_due", "device__name")
    )


def plans_overdue(organization: Organization, *, today: date) -> list[MaintenancePlan]:
    return list(_plans(organization).filter(next_due__lt=today))


def plans_due_soon(
    organization: Organization, *, today: date, days: int = DUE_SOON_DAYS
) -> list[MaintenancePlan]:
    """Plans due today or in the next `days` days (not those already overdue)."""
    return list(
        _plans(organization).filter(next_due__gte=today, next_due__lte=today + timedelta(days=days))
    )


def devices(organization: Organization) -> list[Device]:
    return list(
        Device.objects.for_org(organization)
        .select_related("facility", "poc_device", "storage_unit")
        .prefetch_related(
            Prefetch("plans", queryset=MaintenancePlan.objects.filter(is_active=True))
        )
        .order_by("status", "name")
    )


def get_device(organization: Organization, pk: int) -> Device:
    return (
        Device.objects.for_org(organization)
        .select_related("facility", "poc_device", "storage_unit")
        .prefetch_related(
            "plans",
            Prefetch(
                "service_records",
                queryset=ServiceRecord.objects.select_related("plan", "performed_by").order_by(
                    "-done_on", "-pk"
                ),
            ),
        )
        .get(pk=pk)
    )


def autoclaves(organization: Organization) -> list[Device]:
    return list(
        Device.objects.for_org(organization).filter(
            kind=Device.Kind.AUTOCLAVE, status=Device.Status.IN_SERVICE
        )
    )


def device_warnings(
    *,
    poc_device: PocDevice | None = None,
    storage_unit: StorageUnit | None = None,
    device: Device | None = None,
    today: date | None = None,
) -> list[str]:
    """What to tell the person about to use a device: out of service, retired, or overdue for
    calibration, maintenance or inspection ("Glucometer room 3 (CN-20417) is overdue for
    calibration since 11/02/2026"). Pass the device, or the point-of-care device or storage
    unit it is linked to; no device on record means no warnings."""
    rows: list[Device] = []
    if device is not None:
        rows = [device]
    else:
        query = Device.objects.none()
        if poc_device is not None:
            query = Device.objects.filter(organization_id=poc_device.organization_id).filter(
                poc_device=poc_device
            )
        elif storage_unit is not None:
            query = Device.objects.filter(organization_id=storage_unit.organization_id).filter(
                storage_unit=storage_unit
            )
        rows = list(query.select_related("facility"))
    warnings: list[str] = []
    for row in rows:
        label = f"{row.name} ({row.serial_number})"
        if row.status == Device.Status.RETIRED:
            warnings.append(f"{label} is retired: do not use it")
            continue
        if row.status == Device.Status.OUT_OF_SERVICE:
            because = f" ({row.status_reason})" if row.status_reason else ""
            warnings.append(f"{label} is out of service{because}: do not use it")
        on = today or clock.today(row.facility.time_zone)
        for plan in row.plans.filter(is_active=True, next_due__lt=on).order_by("next_due"):
            warnings.append(f"{label} is overdue for {plan.duty} since {plan.next_due:%m/%d/%Y}")
    return warnings


# --- temperatures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MissingReading:
    unit: StorageUnit
    slot: str  # "morning" or "afternoon"
    day: date

    @property
    def text(self) -> str:
        return f"{self.unit.name}: no {self.slot} reading on {self.day:%m/%d/%Y}"


def monitored_units(organization: Organization) -> list[StorageUnit]:
    return list(
        StorageUnit.objects.for_org(organization)
        .filter(is_active=True, kind__in=MONITORED_KINDS)
        .select_related("facility")
        .order_by("facility__name", "name")
    )


def units_missing_readings(
    organization: Organization, *, at: datetime | None = None
) -> list[MissingReading]:
    """Refrigerators and freezers without this morning's reading (from 10:00) or this
    afternoon's (from 16:00), each in its facility's time zone. Readings by staff count; a
    data logger's rows do not replace the twice-daily check."""
    at = at or clock.now()
    units = monitored_units(organization)
    if not units:
        return []
    windows: dict[int, tuple[datetime, datetime, datetime, date]] = {}
    for unit in units:
        zone = ZoneInfo(unit.facility.time_zone)
        local = at.astimezone(zone)
        day = local.date()
        start = datetime.combine(day, time(0), tzinfo=zone)
        windows[unit.pk] = (start, datetime.combine(day, NOON, tzinfo=zone), local, day)
    earliest = min(w[0] for w in windows.values())
    taken = list(
        TemperatureReading.objects.filter(
            storage_unit__in=units,
            source=TemperatureReading.Source.MANUAL,
            taken_at__gte=earliest,
            taken_at__lte=at + timedelta(minutes=5),
        ).values_list("storage_unit_id", "taken_at")
    )
    missing: list[MissingReading] = []
    for unit in units:
        start, noon, local, day = windows[unit.pk]
        mine = [t for unit_id, t in taken if unit_id == unit.pk and t >= start]
        if local.time() >= MORNING_BY and not any(t < noon for t in mine):
            missing.append(MissingReading(unit=unit, slot="morning", day=day))
        if local.time() >= AFTERNOON_BY and not any(t >= noon for t in mine):
            missing.append(MissingReading(unit=unit, slot="afternoon", day=day))
    return missing


def get_storage_unit(organization: Organization, pk: int) -> StorageUnit:
    return StorageUnit.objects.for_org(organization).select_related("facility").get(pk=pk)


def readings(
    organization: Organization, unit: StorageUnit, start: datetime, end: datetime
) -> list[TemperatureReading]:
    """The unit's readings between `start` and `end`, newest first."""
    return list(
        TemperatureReading.objects.for_org(organization)
        .filter(storage_unit=unit, taken_at__gte=start, taken_at__lte=end)
        .select_related("recorded_by")
        .order_by("-taken_at", "-pk")
    )


def latest_reading(unit: StorageUnit) -> TemperatureReading | None:
    return TemperatureReading.objects.filter(storage_unit=unit).order_by("-taken_at").first()


def is_out_of_range(unit: StorageUnit, reading: TemperatureReading) -> bool:
    return bool(ranges.out_of_range(unit.kind, reading.current_c, reading.min_c, reading.max_c))


def unit_chart(
    unit: StorageUnit, rows: list[TemperatureReading], start: datetime, end: datetime
) -> str:
    points = [
        chart.ChartPoint(
            at=r.taken_at,
            value=r.current_c,
            minimum=r.min_c,
            maximum=r.max_c,
            out_of_range=is_out_of_range(unit, r),
        )
        for r in rows
    ]
    return chart.temperature_svg(
        unit.name,
        points,
        start=start,
        end=end,
        band=ranges.range_for(unit.kind),
        zone=ZoneInfo(unit.facility.time_zone),
    )


def _excursions(organization: Organization) -> QuerySet[Excursion]:
    return (
        Excursion.objects.for_org(organization)
        .select_related("storage_unit__facility", "resolved_by")
        .prefetch_related(
            Prefetch(
                "held_lots",
                queryset=ExcursionLot.objects.select_related("lot__product").order_by("pk"),
            )
        )
    )


def open_excursions(organization: Organization) -> list[Excursion]:
    """Every excursion not yet resolved, oldest first (the dashboard lists them)."""
    return list(
        _excursions(organization).filter(status=Excursion.Status.OPEN).order_by("opened_at")
    )


def excursions_of(organization: Organization, unit: StorageUnit) -> list[Excursion]:
    return list(_excursions(organization).filter(storage_unit=unit).order_by("-opened_at"))


def get_excursion(organization: Organization, pk: int) -> Excursion:
    return _excursions(organization).get(pk=pk)


# --- sterilization ------------------------------------------------------------------------------


def instrument_sets(
    organization: Organization, *, active_only: bool = False
) -> list[InstrumentSet]:
    query = InstrumentSet.objects.for_org(organization)
    if active_only:
        query = query.filter(is_active=True)
    return list(query.order_by("name"))


def cycles(organization: Organization, *, limit: int = 100) -> list[SterilizerCycle]:
    return list(
        SterilizerCycle.objects.for_org(organization)
        .select_related("autoclave", "operator")
        .prefetch_related("instrument_sets")
        .order_by("-run_at", "-pk")[:limit]
    )


def cycles_awaiting_bi(organization: Organization) -> list[SterilizerCycle]:
    return list(
        SterilizerCycle.objects.for_org(organization)
        .filter(status=SterilizerCycle.Status.QUARANTINED)
        .select_related("autoclave")
        .order_by("run_at")
    )


def get_cycle(organization: Organization, pk: int) -> SterilizerCycle:
    return (
        SterilizerCycle.objects.for_org(organization)
        .select_related("autoclave", "operator", "bi_read_by", "recalled_with")
        .prefetch_related("instrument_sets")
        .get(pk=pk)
    )


@dataclass(frozen=True)
class RecallLine:
    """One set of a recalled load, and the patients it was used on after that load."""

    cycle: SterilizerCycle
    instrument_set: InstrumentSet
    uses: list[InstrumentSetUse]


def recall_list(organization: Organization, cycle: SterilizerCycle) -> list[RecallLine]:
    """For a recalled load (and the loads recalled with it): each instrument set and every
    patient it was used on from that load, with the dates, so the clinic can notify them."""
    loads = [cycle]
    if cycle.status == SterilizerCycle.Status.RECALLED:
        loads += list(
            SterilizerCycle.objects.for_org(organization)
            .filter(recalled_with=cycle)
            .order_by("run_at")
        )
    ids = [c.pk for c in loads]
    uses = list(
        InstrumentSetUse.objects.for_org(organization)
        .filter(cycle_id__in=ids)
        .select_related("patient", "used_by", "encounter")
        .order_by("used_at", "pk")
    )
    sets = {
        load.pk: list(load.instrument_sets.order_by("name"))
        for load in SterilizerCycle.objects.filter(pk__in=ids).prefetch_related("instrument_sets")
    }
    by_load = {load.pk: load for load in loads}
    lines: list[RecallLine] = []
    for load_id in ids:
        for row in sets.get(load_id, []):
            lines.append(
                RecallLine(
                    cycle=by_load[load_id],
                    instrument_set=row,
                    uses=[
                        u for u in uses if u.cycle_id == load_id and u.instrument_set_id == row.pk
                    ],
                )
            )
    return lines
