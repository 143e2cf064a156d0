"""Writes for the compliance logs: devices, maintenance plans and service records; storage
temperatures (by hand or from a data logger's CSV) and the excursions they open; instrument
sets, autoclave cycles, their biological indicators and recalls, and where a set was used.

Every function is keyword-only with the `Actor` first, runs in one transaction and writes one
audit event (quarantining, releasing or discarding a lot goes through `meds.services`, which
audits each lot as well). Bad input raises a `ValidationError` naming the field and the rule
(nothing is written); a row of another organization raises `PermissionError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.core.models import Facility
from carebench.meds import services as meds
from carebench.meds.models import StockLot, StockMovement, StorageUnit

from . import logger_csv, ranges
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
    from carebench.accounts.models import User
    from carebench.encounters.models import Encounter
    from carebench.labs.models import PocDevice
    from carebench.patients.models import Patient

MAX_INTERVAL_DAYS = 3660
MAX_LOGGER_FILE_BYTES = 5 * 1024 * 1024  # a data logger's CSV (50,000 readings fit in 2 MB)
FUTURE_SLACK = timedelta(minutes=5)
# Steam sterilization: gravity cycles run 121 °C, pre-vacuum 132-135 °C; a log entry far off
# those is a typing slip.
CYCLE_TEMPERATURE_C = (Decimal(100), Decimal(150))
CYCLE_PRESSURE_PSI = (Decimal(0), Decimal(60))


def _user(actor: Actor) -> User:
    assert actor.user is not None, "compliance logs are signed by a user, never the system alone"
    return actor.user


def _audit(actor: Actor, action: str, row: Any, detail: dict[str, Any]) -> None:
    audit.record_for_actor(
        actor,
        action=action,
        resource_type=type(row).__name__,
        resource_id=row.pk,
        detail=detail,
    )


def zone_of(facility: Facility) -> ZoneInfo:
    return ZoneInfo(facility.time_zone)


# --- equipment ----------------------------------------------------------------------------------


def add_device(
    *,
    actor: Actor,
    facility: Facility,
    kind: str,
    name: str,
    serial_number: str,
    make: str = "",
    model_name: str = "",
    location: str = "",
    poc_device: PocDevice | None = None,
    storage_unit: StorageUnit | None = None,
) -> Device:
    actor.check_owns(facility, "facility")
    if poc_device is not None:
        actor.check_owns(poc_device, "point-of-care device")
    if storage_unit is not None:
        actor.check_owns(storage_unit, "storage unit")
    name, serial_number = name.strip(), serial_number.strip().upper()
    errors = FieldErrors()
    if kind not in Device.Kind.values:
        errors.add("kind", f"unknown kind {kind!r}")
    if not name:
        errors.add("name", "name the device as staff know it (e.g. Glucometer room 3)")
    if not serial_number:
        errors.add("serial_number", "give the serial number on the device's label")
    elif (
        Device.objects.for_org(actor.organization)
        .filter(kind=kind, serial_number=serial_number)
        .exists()
    ):
        errors.add(
            "serial_number",
            f"a {kind.replace('_', ' ')} with serial {serial_number} is on the list",
        )
    if storage_unit is not None and kind not in (Device.Kind.REFRIGERATOR, Device.Kind.FREEZER):
        errors.add("storage_unit", "only a refrigerator or freezer is a storage unit")
    errors.raise_if_any()
    with transaction.atomic():
        device = Device.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            facility=facility,
            kind=kind,
            name=name,
            serial_number=serial_number,
            make=make.strip(),
            model_name=model_name.strip(),
            location=location.strip(),
            poc_device=poc_device,
            storage_unit=storage_unit,
        )
        _audit(actor, Action.CREATE, device, {"name": name, "serial": serial_number})
    return device


def set_device_status(*, actor: Actor, device: Device, status: str, reason: str = "") -> Device:
    """Take a device out of service (broken, failed calibration), back in, or retire it."""
    actor.check_owns(device, "device")
    errors = FieldErrors()
    if status not in Device.Status.values:
        errors.add("status", f"unknown status {status!r}")
    if status != Device.Status.IN_SERVICE and not reason.strip():
        errors.add("reason", "say why (for example: failed calibration; screen cracked)")
    if device.status == Device.Status.RETIRED:
        errors.add("status", "a retired device stays retired")
    errors.raise_if_any()
    with transaction.atomic():
        before = device.status
        Device.objects.filter(pk=device.pk).update(
            status=status, status_reason=reason.strip(), updated_at=clock.now()
        )
        device.status, device.status_reason = status, reason.strip()
        _audit(actor, Action.UPDATE, device, {"status": [before, status], "reason": reason})
    return device


def add_plan(
    *,
    actor: Actor,
    device: Device,
    kind: str,
    interval_days: int,
    next_due: date,
    instructions: str = "",
) -> MaintenancePlan:
    """A recurring duty: calibrate, maintain or inspect the device every N days."""
    actor.check_owns(device, "device")
    errors = FieldErrors()
    if kind not in MaintenancePlan.Kind.values:
        errors.add("kind", f"unknown kind {kind!r}")
    elif device.plans.filter(kind=kind).exists():
        errors.add("kind", f"{device.name} already has a {kind} plan: change that one")
    if interval_days is None or not 1 <= interval_days <= MAX_INTERVAL_DAYS:
        errors.add("interval_days", f"every 1 to {MAX_INTERVAL_DAYS} days")
    if next_due is None:
        errors.add("next_due", "give the date it is next due")
    if device.status == Device.Status.RETIRED:
        errors.add("device", f"{device.name} is retired")
    errors.raise_if_any()
    with transaction.atomic():
        plan = MaintenancePlan.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            device=device,
            kind=kind,
            interval_days=interval_days,
            next_due=next_due,
            instructions=instructions.strip(),
        )
        _audit(
            actor,
            Action.CREATE,
            plan,
            {"device": device.name, "kind": kind, "every_days": interval_days},
        )
    return plan


def record_service(
    *,
    actor: Actor,
    device: Device,
    done_on: date,
    result: str,
    plan: MaintenancePlan | None = None,
    performed_by: User | None = None,
    vendor: str = "",
    notes: str = "",
) -> ServiceRecord:
    """A calibration, maintenance or inspection done. A pass moves the plan's next due date to
    `done_on` + its interval; a fail leaves the plan due and takes the device out of service
    (until someone puts it back after a passing check)."""
    actor.check_owns(device, "device")
    if plan is not None:
        actor.check_owns(plan, "plan")
    if performed_by is not None:
        actor.check_owns(performed_by, "user")
    elif not vendor.strip():
        performed_by = actor.user
    today = clock.today(device.facility.time_zone)
    errors = FieldErrors()
    if plan is not None and plan.device_id != device.pk:
        errors.add("plan", f"that plan is for another device, not {device.name}")
    if result not in ServiceRecord.Result.values:
        errors.add("result", "choose pass or fail")
    if done_on is None:
        errors.add("done_on", "give the date it was done")
    elif done_on > today:
        errors.add("done_on", "the date cannot be in the future")
    if result == ServiceRecord.Result.FAIL and not notes.strip():
        errors.add("notes", "say what failed and what was done about it")
    if performed_by is None and not vendor.strip():
        errors.add("vendor", "say who did it: a user or the vendor")
    if device.status == Device.Status.RETIRED:
        errors.add("device", f"{device.name} is retired")
    errors.raise_if_any()
    with transaction.atomic():
        record = ServiceRecord.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            device=device,
            plan=plan,
            done_on=done_on,
            performed_by=performed_by,
            vendor=vendor.strip(),
            result=result,
            notes=notes.strip(),
        )
        detail: dict[str, Any] = {"device": device.name, "result": result, "on": str(done_on)}
        if plan is not None and result == ServiceRecord.Result.PASS:
            next_due = done_on + timedelta(days=plan.interval_days)
            if next_due > plan.next_due:
                MaintenancePlan.objects.filter(pk=plan.pk).update(
                    next_due=next_due, updated_at=clock.now()
                )
                detail["next_due"] = [str(plan.next_due), str(next_due)]
                plan.next_due = next_due
        if result == ServiceRecord.Result.FAIL and device.status == Device.Status.IN_SERVICE:
            reason = f"failed {plan.duty if plan else 'service'} on {done_on:%m/%d/%Y}"
            Device.objects.filter(pk=device.pk).update(
                status=Device.Status.OUT_OF_SERVICE, status_reason=reason, updated_at=clock.now()
            )
            device.status, device.status_reason = Device.Status.OUT_OF_SERVICE, reason
            detail["status"] = [Device.Status.IN_SERVICE, Device.Status.OUT_OF_SERVICE]
        _audit(actor, Action.CREATE, record, detail)
    return record


# --- temperatures -------------------------------------------------------------------------------


def _excursion_reason(unit: StorageUnit, reading: TemperatureReading, found: list[str]) -> str:
    when = reading.taken_at.astimezone(zone_of(unit.facility))
    text = (
        f"temperature excursion: {unit.name} {', '.join(found)} on {when:%m/%d/%Y %H:%M} "
        f"(range {ranges.describe(unit.kind)})"
    )
    return text[:300]


def _apply_excursion(
    actor: Actor, unit: StorageUnit, readings: list[tuple[TemperatureReading, list[str]]]
) -> Excursion | None:
    """Inside the caller's transaction: out-of-range readings open the unit's excursion (or
    join the open one) and every available lot with doses in the unit is quarantined."""
    bad = [(r, found) for r, found in readings if found]
    if not bad:
        return None
    # One open excursion per unit, even when two readings arrive at once: lock the unit row
    # (PostgreSQL; SQLite's IMMEDIATE transaction already holds the write lock).
    StorageUnit.objects.select_for_update().filter(pk=unit.pk).first()
    values = [v for r, _ in bad for v in (r.current_c, r.min_c, r.max_c) if v is not None]
    excursion = Excursion.objects.filter(storage_unit=unit, status=Excursion.Status.OPEN).first()
    if excursion is None:
        excursion = Excursion.objects.create(
            organization=unit.organization,
            created_by=actor.user,
            storage_unit=unit,
            opened_at=min(r.taken_at for r, _ in bad),
            lowest_c=min(values),
            highest_c=max(values),
        )
    else:
        excursion.lowest_c = min([excursion.lowest_c, *values])
        excursion.highest_c = max([excursion.highest_c, *values])
        excursion.opened_at = min([excursion.opened_at, *(r.taken_at for r, _ in bad)])
        Excursion.objects.filter(pk=excursion.pk).update(
            lowest_c=excursion.lowest_c,
            highest_c=excursion.highest_c,
            opened_at=excursion.opened_at,
            updated_at=clock.now(),
        )
    TemperatureReading.objects.filter(pk__in=[r.pk for r, _ in bad]).update(excursion=excursion)
    for r, _ in bad:
        r.excursion = excursion
    first, found = bad[0]
    reason = _excursion_reason(unit, first, found)
    lots = StockLot.objects.filter(
        storage_unit=unit, status=StockLot.Status.AVAILABLE, doses_on_hand__gt=0
    ).order_by("pk")
    for lot in lots:
        meds.set_lot_status(actor=actor, lot=lot, status=StockLot.Status.QUARANTINED, reason=reason)
        ExcursionLot.objects.get_or_create(
            excursion=excursion,
            lot=lot,
            defaults={
                "organization": unit.organization,
                "created_by": actor.user,
                "doses_held": lot.doses_on_hand,
            },
        )
    return excursion


def _check_unit(actor: Actor, storage_unit: StorageUnit, errors: FieldErrors) -> None:
    actor.check_owns(storage_unit, "storage unit")
    if not storage_unit.is_active:
        errors.add("storage_unit", f"{storage_unit.name} is out of service")


def record_reading(
    *,
    actor: Actor,
    storage_unit: StorageUnit,
    current_c: Decimal,
    min_c: Decimal | None = None,
    max_c: Decimal | None = None,
    taken_at: datetime | None = None,
    note: str = "",
) -> TemperatureReading:
    """A reading of the unit's thermometer (current, and the min/max since the last reset).
    Any value outside the unit's range opens an excursion (or joins the open one) and
    quarantines the unit's available lots, in the same transaction."""
    user = _user(actor)
    now = clock.now()
    taken_at = taken_at or now
    errors = FieldErrors()
    _check_unit(actor, storage_unit, errors)
    low, high = ranges.PLAUSIBLE
    for field, value in (("current_c", current_c), ("min_c", min_c), ("max_c", max_c)):
        if field == "current_c" and value is None:
            errors.add(field, "give the temperature the display shows now")
        elif value is not None and not low <= value <= high:
            errors.add(field, f"{value} °C is not a storage temperature: check the display")
    if min_c is not None and max_c is not None and min_c > max_c:
        errors.add("min_c", "the minimum cannot be above the maximum")
    elif current_c is not None and min_c is not None and current_c < min_c:
        errors.add("min_c", "the minimum cannot be above the current temperature")
    elif current_c is not None and max_c is not None and current_c > max_c:
        errors.add("max_c", "the maximum cannot be below the current temperature")
    if taken_at > now + FUTURE_SLACK:
        errors.add("taken_at", "the time cannot be in the future")
    elif now - taken_at > timedelta(days=7):
        errors.add("taken_at", "more than a week ago: import the data logger's file instead")
    elif TemperatureReading.objects.filter(
        storage_unit=storage_unit, taken_at=taken_at, source=TemperatureReading.Source.MANUAL
    ).exists():
        errors.add("taken_at", "a reading at this time is already on record")
    errors.raise_if_any()
    found = ranges.out_of_range(storage_unit.kind, current_c, min_c, max_c)
    with transaction.atomic():
        reading = TemperatureReading.objects.create(
            organization=actor.organization,
            created_by=user,
            storage_unit=storage_unit,
            taken_at=taken_at,
            current_c=current_c,
            min_c=min_c,
            max_c=max_c,
            source=TemperatureReading.Source.MANUAL,
            recorded_by=user,
            note=note.strip(),
        )
        excursion = _apply_excursion(actor, storage_unit, [(reading, found)])
        _audit(
            actor,
            Action.CREATE,
            reading,
            {
                "unit": storage_unit.name,
                "current": str(current_c),
                "min": str(min_c) if min_c is not None else None,
                "max": str(max_c) if max_c is not None else None,
                "out_of_range": found,
                "excursion": excursion.pk if excursion else None,
            },
        )
    return reading


@dataclass(frozen=True)
class LoggerImport:
    created: int
    skipped: int  # already on record (the same file, or an overlapping one, imported before)
    out_of_range: int
    excursion: Excursion | None


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def import_logger_csv(
    *, actor: Actor, storage_unit: StorageUnit, data: bytes, unit: str = "", filename: str = ""
) -> LoggerImport:
    """A data logger's CSV export: every row becomes a reading (times without an offset are
    the facility's local time; °F is converted). A bad row refuses the whole file, naming the
    line and column. Readings already on record are skipped; out-of-range ones open (or join)
    the unit's excursion as a reading by hand would."""
    _user(actor)
    errors = FieldErrors()
    _check_unit(actor, storage_unit, errors)
    parsed = None
    if len(data) > MAX_LOGGER_FILE_BYTES:
        errors.add(
            "file",
            f"the file is {len(data) / 1_048_576:.1f} MB; the limit is 5 MB "
            f"({logger_csv.MAX_ROWS} readings): split it",
        )
    else:
        try:
            parsed = logger_csv.parse_logger_csv(decode(data), unit=unit or None)
        except logger_csv.LoggerCsvError as exc:
            for problem in exc.problems:
                errors.add("file", problem)
    zone = zone_of(storage_unit.facility)
    now = clock.now()
    stamped: list[tuple[datetime, logger_csv.LoggerRow]] = []
    if parsed is not None:
        for row in parsed.rows:
            at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=zone)
            if at > now + FUTURE_SLACK:
                errors.add("file", f"line {row.line}: {row.at:%m/%d/%Y %H:%M} is in the future")
                break
            stamped.append((at, row))
    errors.raise_if_any()
    existing = set(
        TemperatureReading.objects.filter(
            storage_unit=storage_unit,
            source=TemperatureReading.Source.LOGGER,
            taken_at__in=[at for at, _ in stamped],
        ).values_list("taken_at", flat=True)
    )
    new = [(at, row) for at, row in stamped if at not in existing]
    with transaction.atomic():
        created = TemperatureReading.objects.bulk_create(
            [
                TemperatureReading(
                    organization=actor.organization,
                    created_by=actor.user,
                    storage_unit=storage_unit,
                    taken_at=at,
                    current_c=row.celsius,
                    source=TemperatureReading.Source.LOGGER,
                    note=f"{filename[:200]} line {row.line}" if filename else f"line {row.line}",
                )
                for at, row in new
            ]
        )
        if created and created[0].pk is None:  # backends that do not return ids
            created = list(
                TemperatureReading.objects.filter(
                    storage_unit=storage_unit,
                    source=TemperatureReading.Source.LOGGER,
                    taken_at__in=[at for at, _ in new],
                ).order_by("taken_at")
            )
        checked = [
            (r, ranges.out_of_range(storage_unit.kind, r.current_c))
            for r in sorted(created, key=lambda r: r.taken_at)
        ]
        excursion = _apply_excursion(actor, storage_unit, checked)
        out = sum(1 for _, found in checked if found)
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            resource_type="TemperatureReading",
            resource_id="",
            detail={
                "unit": storage_unit.name,
                "file": filename[:200],
                "created": len(created),
                "skipped": len(stamped) - len(new),
                "out_of_range": out,
                "excursion": excursion.pk if excursion else None,
            },
        )
    return LoggerImport(
        created=len(created),
        skipped=len(stamped) - len(new),
        out_of_range=out,
        excursion=excursion,
    )


def resolve_excursion(
    *,
    actor: Actor,
    excursion: Excursion,
    contacted: str,
    contact_name: str,
    answer: str,
    action: str,
    decisions: dict[int, str],
) -> Excursion:
    """Record what was done about an excursion (who was contacted, their answer, the action)
    and, for each lot it held (`decisions`: lot id → "release" or "discard"), put it back in
    stock or waste and retire it. The unit's latest reading must be back in range."""
    user = _user(actor)
    actor.check_owns(excursion, "excursion")
    unit = excursion.storage_unit
    held = list(excursion.held_lots.select_related("lot__product").order_by("pk"))
    errors = FieldErrors()
    if excursion.status != Excursion.Status.OPEN:
        errors.add("excursion", "this excursion was already resolved")
    if contacted not in Excursion.Contacted.values:
        errors.add("contacted", "say whom you contacted (the manufacturer, the state VFC program)")
    if contacted == Excursion.Contacted.OTHER and not contact_name.strip():
        errors.add("contact_name", "say whom you contacted")
    if not answer.strip():
        errors.add("answer", "write down what they said (their reference number if given)")
    if not action.strip():
        errors.add("action", "say what was done (for example: thermostat reset, unit replaced)")
    for entry in held:
        decision = decisions.get(entry.lot_id, "")
        if decision not in ExcursionLot.Decision.values:
            errors.add(f"lot_{entry.lot_id}", f"lot {entry.lot.lot_number}: release or discard?")
    unknown = set(decisions) - {entry.lot_id for entry in held}
    if unknown:
        errors.add("lots", "decisions given for lots this excursion did not hold")
    latest = TemperatureReading.objects.filter(storage_unit=unit).order_by("-taken_at").first()
    if latest is not None and ranges.out_of_range(
        unit.kind, latest.current_c, latest.min_c, latest.max_c
    ):
        errors.add(
            "excursion",
            f"the latest reading ({latest.current_c} °C) is still out of range: "
            "record a reading in range (reset the min/max) before resolving",
        )
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        if not Excursion.objects.filter(pk=excursion.pk, status=Excursion.Status.OPEN).update(
            status=Excursion.Status.RESOLVED,
            contacted=contacted,
            contact_name=contact_name.strip(),
            answer=answer.strip(),
            action=action.strip(),
            resolved_by=user,
            resolved_at=now,
            updated_at=now,
        ):
            raise ValidationError(
                {"excursion": ["this excursion was just resolved by someone else"]}
            )
        outcome: dict[str, str] = {}
        for entry in held:
            decision = decisions[entry.lot_id]
            lot = StockLot.objects.get(pk=entry.lot_id)
            note = f"excursion of {unit.name} resolved: {answer.strip()}"[:300]
            if decision == ExcursionLot.Decision.RELEASE:
                if lot.status == StockLot.Status.QUARANTINED:
                    meds.set_lot_status(
                        actor=actor, lot=lot, status=StockLot.Status.AVAILABLE, reason=note
                    )
            elif lot.status != StockLot.Status.RETIRED:
                remaining = lot.doses_on_hand
                while remaining > 0:
                    chunk = min(remaining, meds.MAX_ADJUSTMENT)
                    lot = meds.adjust_stock(
                        actor=actor,
                        lot=lot,
                        kind=StockMovement.Kind.WASTED,
                        doses=-chunk,
                        reason=note,
                    )
                    remaining -= chunk
                meds.set_lot_status(
                    actor=actor, lot=lot, status=StockLot.Status.RETIRED, reason=note
                )
            ExcursionLot.objects.filter(pk=entry.pk).update(decision=decision, updated_at=now)
            outcome[lot.lot_number] = decision
        excursion.refresh_from_db()
        _audit(
            actor,
            Action.UPDATE,
            excursion,
            {
                "unit": unit.name,
                "status": ["open", "resolved"],
                "contacted": contacted,
                "lots": outcome,
            },
        )
    return excursion


# --- sterilization ------------------------------------------------------------------------------


def add_instrument_set(
    *, actor: Actor, name: str, barcode: str, contents: str = ""
) -> InstrumentSet:
    name, barcode = name.strip(), barcode.strip().upper()
    errors = FieldErrors()
    if not name:
        errors.add("name", "name the set (e.g. Suture removal kit 2)")
    if not barcode:
        errors.add("barcode", "give the barcode on the tray's tag")
    elif InstrumentSet.objects.for_org(actor.organization).filter(barcode=barcode).exists():
        errors.add("barcode", f"barcode {barcode} is already another set's")
    errors.raise_if_any()
    with transaction.atomic():
        row = InstrumentSet.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            name=name,
            barcode=barcode,
            contents=contents.strip(),
        )
        _audit(actor, Action.CREATE, row, {"name": name, "barcode": barcode})
    return row


def _recall(
    cycle: SterilizerCycle, reason: str, now: datetime, source: SterilizerCycle | None = None
) -> None:
    SterilizerCycle.objects.filter(pk=cycle.pk).update(
        status=SterilizerCycle.Status.RECALLED,
        recall_reason=reason[:300],
        recalled_at=now,
        recalled_with=source,
        updated_at=now,
    )
    cycle.status, cycle.recall_reason, cycle.recalled_at = (
        SterilizerCycle.Status.RECALLED,
        reason[:300],
        now,
    )
    cycle.recalled_with = source


def _recall_for_failed_bi(cycle: SterilizerCycle, now: datetime) -> list[str]:
    """A failed BI recalls this load and every released load of the same autoclave since its
    last passing BI (CDC: items processed since the last negative BI are suspect)."""
    last_pass = (
        SterilizerCycle.objects.filter(
            autoclave=cycle.autoclave,
            biological_indicator=SterilizerCycle.Biological.PASS,
            run_at__lt=cycle.run_at,
        )
        .order_by("-run_at")
        .values_list("run_at", flat=True)
        .first()
    )
    suspects = SterilizerCycle.objects.filter(
        autoclave=cycle.autoclave, run_at__lt=cycle.run_at
    ).exclude(status=SterilizerCycle.Status.RECALLED)
    if last_pass is not None:
        suspects = suspects.filter(run_at__gt=last_pass)
    numbers = []
    for other in suspects:
        _recall(
            other,
            f"biological indicator failed in cycle {cycle.cycle_number} of "
            f"{cycle.autoclave.name}: loads since the last passing BI are suspect",
            now,
            source=cycle,
        )
        numbers.append(other.cycle_number)
    _recall(cycle, "biological indicator failed (growth)", now)
    return numbers


def record_cycle(
    *,
    actor: Actor,
    autoclave: Device,
    cycle_number: str,
    run_at: datetime,
    instrument_sets: list[InstrumentSet],
    duration_minutes: int,
    temperature_c: Decimal,
    pressure_psi: Decimal,
    chemical_indicator: str,
    biological_indicator: str,
    load_notes: str = "",
) -> SterilizerCycle:
    """An autoclave run and its load. A failed chemical indicator recalls the load at once;
    a BI still incubating quarantines it until read; otherwise it is released."""
    user = _user(actor)
    actor.check_owns(autoclave, "autoclave")
    for row in instrument_sets:
        actor.check_owns(row, "instrument set")
    now = clock.now()
    cycle_number = cycle_number.strip()
    errors = FieldErrors()
    if autoclave.kind != Device.Kind.AUTOCLAVE:
        errors.add("autoclave", f"{autoclave.name} is not an autoclave")
    elif autoclave.status != Device.Status.IN_SERVICE:
        errors.add("autoclave", f"{autoclave.name} is {autoclave.get_status_display().lower()}")
    if not cycle_number:
        errors.add("cycle_number", "give the cycle number from the printout")
    elif SterilizerCycle.objects.filter(autoclave=autoclave, cycle_number=cycle_number).exists():
        errors.add("cycle_number", f"cycle {cycle_number} of {autoclave.name} is already logged")
    if run_at is None:
        errors.add("run_at", "give the time the cycle ran")
    elif run_at > now + FUTURE_SLACK:
        errors.add("run_at", "the time cannot be in the future")
    if not instrument_sets and not load_notes.strip():
        errors.add("instrument_sets", "say what was in the load")
    if duration_minutes is None or not 1 <= duration_minutes <= 240:
        errors.add("duration_minutes", "the exposure time is 1 to 240 minutes")
    if (
        temperature_c is None
        or not CYCLE_TEMPERATURE_C[0] <= temperature_c <= CYCLE_TEMPERATURE_C[1]
    ):
        errors.add("temperature_c", "a steam cycle runs at 100 to 150 °C: check the printout")
    if pressure_psi is None or not CYCLE_PRESSURE_PSI[0] <= pressure_psi <= CYCLE_PRESSURE_PSI[1]:
        errors.add("pressure_psi", "the pressure is 0 to 60 psi: check the printout")
    if chemical_indicator not in SterilizerCycle.Indicator.values:
        errors.add("chemical_indicator", "read the chemical indicator: pass or fail")
    if biological_indicator not in SterilizerCycle.Biological.values:
        errors.add("biological_indicator", "choose: no BI, pending, pass or fail")
    for row in instrument_sets:
        if not row.is_active:
            errors.add("instrument_sets", f"{row.name} is retired")
    errors.raise_if_any()
    Bio = SterilizerCycle.Biological
    if chemical_indicator == SterilizerCycle.Indicator.FAIL or biological_indicator == Bio.FAIL:
        status = SterilizerCycle.Status.RECALLED
    elif biological_indicator == Bio.PENDING:
        status = SterilizerCycle.Status.QUARANTINED
    else:
        status = SterilizerCycle.Status.RELEASED
    with transaction.atomic():
        cycle = SterilizerCycle.objects.create(
            organization=actor.organization,
            created_by=user,
            autoclave=autoclave,
            cycle_number=cycle_number,
            run_at=run_at,
            load_notes=load_notes.strip(),
            duration_minutes=duration_minutes,
            temperature_c=temperature_c,
            pressure_psi=pressure_psi,
            chemical_indicator=chemical_indicator,
            biological_indicator=biological_indicator,
            bi_read_at=now if biological_indicator in (Bio.PASS, Bio.FAIL) else None,
            bi_read_by=user if biological_indicator in (Bio.PASS, Bio.FAIL) else None,
            operator=user,
            status=status,
        )
        cycle.instrument_sets.set(instrument_sets)
        also: list[str] = []
        if biological_indicator == Bio.FAIL:
            also = _recall_for_failed_bi(cycle, now)
        elif chemical_indicator == SterilizerCycle.Indicator.FAIL:
            _recall(cycle, "chemical indicator failed", now)
        _audit(
            actor,
            Action.CREATE,
            cycle,
            {
                "autoclave": autoclave.name,
                "cycle": cycle_number,
                "sets": [row.barcode for row in instrument_sets],
                "ci": chemical_indicator,
                "bi": biological_indicator,
                "status": cycle.status,
                "also_recalled": also,
            },
        )
    return cycle


def read_biological_indicator(
    *, actor: Actor, cycle: SterilizerCycle, result: str, read_at: datetime | None = None
) -> SterilizerCycle:
    """The incubated BI is read: a pass releases the load; a fail recalls it (and the loads
    run since the autoclave's last passing BI)."""
    user = _user(actor)
    actor.check_owns(cycle, "cycle")
    now = clock.now()
    read_at = read_at or now
    errors = FieldErrors()
    if cycle.biological_indicator != SterilizerCycle.Biological.PENDING:
        errors.add(
            "result",
            f"this load's BI is {cycle.get_biological_indicator_display().lower()}, not pending",
        )
    if result not in (SterilizerCycle.Biological.PASS, SterilizerCycle.Biological.FAIL):
        errors.add("result", "choose pass (no growth) or fail (growth)")
    if read_at > now + FUTURE_SLACK:
        errors.add("read_at", "the time cannot be in the future")
    elif read_at < cycle.run_at:
        errors.add("read_at", "the BI cannot be read before the cycle ran")
    errors.raise_if_any()
    with transaction.atomic():
        if not SterilizerCycle.objects.filter(
            pk=cycle.pk, biological_indicator=SterilizerCycle.Biological.PENDING
        ).update(biological_indicator=result, bi_read_at=read_at, bi_read_by=user, updated_at=now):
            raise ValidationError({"result": ["this BI was just read by someone else"]})
        cycle.biological_indicator, cycle.bi_read_at, cycle.bi_read_by = result, read_at, user
        also: list[str] = []
        if result == SterilizerCycle.Biological.FAIL:
            also = _recall_for_failed_bi(cycle, now)
        elif cycle.status == SterilizerCycle.Status.QUARANTINED:
            SterilizerCycle.objects.filter(pk=cycle.pk).update(
                status=SterilizerCycle.Status.RELEASED
            )
            cycle.status = SterilizerCycle.Status.RELEASED
        _audit(
            actor,
            Action.UPDATE,
            cycle,
            {"bi": ["pending", result], "status": cycle.status, "also_recalled": also},
        )
    return cycle


def recall_cycle(*, actor: Actor, cycle: SterilizerCycle, reason: str) -> SterilizerCycle:
    """Recall a load by hand (a printout out of range, a wet pack, a torn wrap)."""
    actor.check_owns(cycle, "cycle")
    errors = FieldErrors()
    if cycle.status == SterilizerCycle.Status.RECALLED:
        errors.add("reason", "this load is already recalled")
    if not reason.strip():
        errors.add("reason", "say why the load is recalled")
    errors.raise_if_any()
    with transaction.atomic():
        before = cycle.status
        _recall(cycle, reason.strip(), clock.now())
        _audit(actor, Action.UPDATE, cycle, {"status": [before, "recalled"], "reason": reason})
    return cycle


def latest_cycle_of(instrument_set: InstrumentSet) -> SterilizerCycle | None:
    return instrument_set.cycles.order_by("-run_at", "-pk").first()


def record_set_use(
    *,
    actor: Actor,
    instrument_set: InstrumentSet,
    patient: Patient,
    encounter: Encounter | None = None,
    used_at: datetime | None = None,
) -> InstrumentSetUse:
    """A sterilized set opened for a patient: it must come from a released load (its latest
    one), not yet opened since. The use links the patient to the load for any recall."""
    user = _user(actor)
    actor.check_owns(instrument_set, "instrument set")
    actor.check_owns(patient, "patient")
    if encounter is not None:
        actor.check_owns(encounter, "encounter")
    now = clock.now()
    used_at = used_at or now
    cycle = latest_cycle_of(instrument_set)
    errors = FieldErrors()
    if encounter is not None and encounter.patient_id != patient.pk:
        errors.add("encounter", "that visit is another patient's")
    if cycle is None:
        errors.add(
            "instrument_set",
            f"{instrument_set.name} has no sterilizer cycle on record: do not use it",
        )
    elif cycle.status == SterilizerCycle.Status.RECALLED:
        errors.add(
            "instrument_set",
            f"{instrument_set.name} is from recalled load {cycle.cycle_number} of "
            f"{cycle.autoclave.name} ({cycle.recall_reason}): do not use it; reprocess it",
        )
    elif cycle.status == SterilizerCycle.Status.QUARANTINED:
        errors.add(
            "instrument_set",
            f"{instrument_set.name} is from load {cycle.cycle_number}, quarantined until its "
            "biological indicator is read: do not use it yet",
        )
    elif InstrumentSetUse.objects.filter(instrument_set=instrument_set, cycle=cycle).exists():
        errors.add(
            "instrument_set",
            f"{instrument_set.name} was already opened since load {cycle.cycle_number}: "
            "it must be cleaned and sterilized again",
        )
    if used_at > now + FUTURE_SLACK:
        errors.add("used_at", "the time cannot be in the future")
    elif cycle is not None and used_at < cycle.run_at:
        errors.add("used_at", "the set cannot be used before its cycle ran")
    errors.raise_if_any()
    assert cycle is not None
    with transaction.atomic():
        use = InstrumentSetUse.objects.create(
            organization=actor.organization,
            created_by=user,
            instrument_set=instrument_set,
            cycle=cycle,
            patient=patient,
            encounter=encounter,
            used_at=used_at,
            used_by=user,
        )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=patient.pk,
            resource_type="InstrumentSetUse",
            resource_id=use.pk,
            detail={"set": instrument_set.barcode, "cycle": cycle.cycle_number},
        )
    return use
