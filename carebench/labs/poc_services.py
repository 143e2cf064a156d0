"""Writes for point-of-care testing: kit lots, devices, the daily quality-control runs, and a
point-of-care result entered against an in-house order item.

A patient result is refused on an expired or retired kit lot, a lot of another test, or when
the latest QC run of the day (on the kit lot; on the device for a meter test) is missing or
failed: a failed run after a pass blocks until a new pass. Values are checked by `poc` (pure)
against the patient's age and sex on the day, then stored by `result_services.store_results`
(flags, corrections, the critical alert). Conventions as in `services`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.staff.services import require_task, work_facility

from . import poc
from .models import (
    LabOrder,
    LabOrderItem,
    LabResult,
    LabTest,
    PocDevice,
    PocKitLot,
    QcRun,
    is_in_house,
)
from .result_services import ResultValue, store_results
from .selectors import day_bounds
from .services import _user

if TYPE_CHECKING:
    from carebench.core.models import Facility

POC_LAB = "In-house (POC)"


def zone_for(actor: Actor, order: LabOrder | None = None) -> str:
    """The facility's time zone: the order's visit, else the user's facility, else the first."""
    facility: Facility | None = None
    if order is not None and order.encounter_id is not None:
        facility = order.encounter.facility  # type: ignore[union-attr]
    facility = (
        facility
        or getattr(actor.user, "default_facility", None)
        or actor.organization.facilities.first()
    )
    return facility.time_zone if facility is not None else settings.CAREBENCH_DEFAULT_TIME_ZONE


def definition(test: LabTest | LabOrderItem) -> poc.PocTest | None:
    """The point-of-care definition of an in-house test (None for a reference-lab test)."""
    if not is_in_house(test.performed):
        return None
    return poc.TESTS.get(test.code)


def _date(value: date) -> str:
    return f"{value:%m/%d/%Y}"


def _text(errors: FieldErrors, field: str, value: str, limit: int, *, required: bool) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        errors.add(field, "is required")
    elif len(value) > limit:
        errors.add(field, f"must be {limit} characters or fewer")
    return value


# --- kit lots and devices ----------------------------------------------------------------------


def add_kit_lot(
    *,
    actor: Actor,
    test: LabTest,
    kit_name: str,
    lot_number: str,
    expires_on: date | None,
    manufacturer: str = "",
    received_on: date | None = None,
) -> PocKitLot:
    """Record a lot of kits or strips for an in-house test (an expired lot is refused)."""
    actor.check_owns(test, "test")
    errors = FieldErrors()
    if definition(test) is None:
        errors.add("test", f"{test.code} is not a point-of-care test")
    kit_name = _text(errors, "kit_name", kit_name, 100, required=True)
    manufacturer = _text(errors, "manufacturer", manufacturer, 100, required=False)
    lot_number = _text(errors, "lot_number", lot_number, 40, required=True).upper()
    today = clock.today(zone_for(actor))
    if expires_on is None:
        errors.add("expires_on", "is required")
    elif expires_on < today:
        errors.add("expires_on", f"the lot expired on {_date(expires_on)}: do not use it")
    if received_on is not None and received_on > today:
        errors.add("received_on", "cannot be in the future")
    if (
        lot_number
        and PocKitLot.objects.for_org(actor.organization)
        .filter(test=test, lot_number=lot_number)
        .exists()
    ):
        errors.add("lot_number", f"lot {lot_number} of {test.code} is already recorded")
    errors.raise_if_any()
    assert expires_on is not None
    with transaction.atomic():
        lot = PocKitLot.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            test=test,
            kit_name=kit_name,
            manufacturer=manufacturer,
            lot_number=lot_number,
            expires_on=expires_on,
            received_on=received_on,
        )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            resource_type="PocKitLot",
            resource_id=lot.pk,
            detail={"test": test.code, "lot": lot_number, "expires_on": expires_on.isoformat()},
        )
    return lot


def retire_kit_lot(*, actor: Actor, kit_lot: PocKitLot) -> PocKitLot:
    """Take a lot out of use (used up, recalled or expired); it stays on its results."""
    actor.check_owns(kit_lot, "kit lot")
    errors = FieldErrors()
    if not kit_lot.is_active:
        errors.add("kit_lot", f"lot {kit_lot.lot_number} is already retired")
    errors.raise_if_any()
    with transaction.atomic():
        PocKitLot.objects.filter(pk=kit_lot.pk).update(is_active=False, updated_at=clock.now())
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            resource_type="PocKitLot",
            resource_id=kit_lot.pk,
            detail={"lot": kit_lot.lot_number, "retired": True},
        )
    kit_lot.is_active = False
    return kit_lot


def add_device(
    *,
    actor: Actor,
    name: str,
    serial_number: str,
    tests: list[LabTest],
    model_name: str = "",
) -> PocDevice:
    """Record a meter or analyser and the in-house tests it reads."""
    errors = FieldErrors()
    name = _text(errors, "name", name, 100, required=True)
    model_name = _text(errors, "model_name", model_name, 100, required=False)
    serial_number = _text(errors, "serial_number", serial_number, 60, required=True).upper()
    if not tests:
        errors.add("tests", "choose the test(s) the device reads")
    for test in tests:
        actor.check_owns(test, "test")
        found = definition(test)
        if found is None or not found.meter:
            errors.add("tests", f"{test.code} is not read on a device")
    if (
        serial_number
        and PocDevice.objects.for_org(actor.organization)
        .filter(serial_number=serial_number)
        .exists()
    ):
        errors.add("serial_number", f"a device with serial number {serial_number} is recorded")
    errors.raise_if_any()
    with transaction.atomic():
        device = PocDevice.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            name=name,
            model_name=model_name,
            serial_number=serial_number,
        )
        device.tests.set(tests)
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            resource_type="PocDevice",
            resource_id=device.pk,
            detail={"serial": serial_number, "tests": [t.code for t in tests]},
        )
    return device


# --- quality control ---------------------------------------------------------------------------


def _lot_problem(lot: PocKitLot, today: date) -> str | None:
    if not lot.is_active:
        return f"lot {lot.lot_number} is retired"
    if lot.expires_on < today:
        return f"lot {lot.lot_number} expired on {_date(lot.expires_on)}: use another lot"
    return None


def _device_problem(device: PocDevice, test: LabTest | LabOrderItem, test_id: int) -> str | None:
    if not device.is_active:
        return f"{device.name} is out of service"
    if not device.tests.filter(pk=test_id).exists():
        return f"{device.name} does not read {test.code}"
    return None


def record_qc_run(
    *,
    actor: Actor,
    test: LabTest,
    levels: list[poc.QcLevel],
    kit_lot: PocKitLot | None = None,
    device: PocDevice | None = None,
    note: str = "",
) -> QcRun:
    """Record today's controls on a kit lot (or a meter): it passes only if every level does."""
    actor.check_owns(test, "test")
    errors = FieldErrors()
    found = definition(test)
    today = clock.today(zone_for(actor))
    if found is None:
        errors.add("test", f"{test.code} is not a point-of-care test")
    if kit_lot is not None:
        actor.check_owns(kit_lot, "kit lot")
        if kit_lot.test_id != test.pk:
            errors.add("kit_lot", f"lot {kit_lot.lot_number} is not a lot of {test.code}")
        elif problem := _lot_problem(kit_lot, today):
            errors.add("kit_lot", problem)
    if device is not None:
        actor.check_owns(device, "device")
        if problem := _device_problem(device, test, test.pk):
            errors.add("device", problem)
    if found is not None and found.meter and device is None:
        errors.add("device", f"{test.code} is read on a meter: choose the device")
    if found is not None and not found.meter and kit_lot is None:
        errors.add("kit_lot", "choose the kit lot the controls were run on")
    note = _text(errors, "note", note, 300, required=False)
    rows, passed, level_errors = poc.check_qc(levels)
    for field, messages in level_errors.items():
        for message in messages:
            errors.add(field, message)
    errors.raise_if_any()
    with transaction.atomic():
        run = QcRun.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            test=test,
            kit_lot=kit_lot,
            device=device,
            run_at=clock.now(),
            performed_by=_user(actor),
            levels=rows,
            passed=passed,
            note=note,
        )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            resource_type="QcRun",
            resource_id=run.pk,
            detail={
                "test": test.code,
                "lot": kit_lot.lot_number if kit_lot else None,
                "device": device.serial_number if device else None,
                "passed": passed,
            },
        )
    return run


def latest_qc_today(
    *,
    test_id: int,
    kit_lot: PocKitLot | None,
    device: PocDevice | None,
    meter: bool,
    day: date,
    zone: str,
) -> QcRun | None:
    """The day's latest QC run: on the device for a meter test, else on the kit lot."""
    start, end = day_bounds(day, zone)
    runs = QcRun.objects.filter(test_id=test_id, run_at__gte=start, run_at__lt=end)
    if meter:
        if device is None:
            return None
        runs = runs.filter(device=device)
    else:
        if kit_lot is None:
            return None
        runs = runs.filter(kit_lot=kit_lot)
    return runs.order_by("-run_at", "-pk").first()


def _qc_problem(run: QcRun | None, what: str, zone: str) -> str | None:
    if run is None:
        return f"no quality control today on {what}: run QC and pass it before testing patients"
    if not run.passed:
        at = run.run_at.astimezone(ZoneInfo(zone))
        return (
            f"the last QC today on {what} failed ({at:%H:%M}): "
            "run QC again and pass it before testing patients"
        )
    return None


# --- the patient result ------------------------------------------------------------------------


def record_poc_result(
    *,
    actor: Actor,
    order_item: LabOrderItem,
    kit_lot: PocKitLot | None,
    entries: dict[str, str],
    device: PocDevice | None = None,
    fasting: bool | None = None,
    note: str = "",
    observed_at: datetime | None = None,
) -> list[LabResult]:
    """Enter a point-of-care result for an in-house order item (every analyte of the test).

    `entries` maps each analyte's LOINC code to what was read. Errors name the field (`kit_lot`,
    `device`, or the analyte's code) and the rule; nothing is written when any is refused."""
    actor.check_owns(order_item, "order item")
    errors = FieldErrors()
    order = LabOrder.objects.select_related(
        "patient", "encounter__facility", "ordering_provider__user"
    ).get(pk=order_item.order_id)
    patient = order.patient
    require_task(
        actor=actor,
        task="poc_test",
        facility=work_facility(actor, order.encounter),
        patient_id=patient.pk,
    )
    zone = zone_for(actor, order)
    today = clock.today(zone)
    found = definition(order_item)
    note = _text(errors, "note", note, 500, required=False)
    if order.status == LabOrder.Status.CANCELLED:
        errors.add("__all__", f"order {order.number} was cancelled")
    if found is None:
        errors.add("order_item", f"{order_item.code} is not a point-of-care test")
        errors.raise_if_any()
    assert found is not None
    if kit_lot is None:
        errors.add("kit_lot", "choose the kit lot used")
    else:
        actor.check_owns(kit_lot, "kit lot")
        if kit_lot.test_id != order_item.test_id:
            errors.add("kit_lot", f"lot {kit_lot.lot_number} is not a lot of {order_item.code}")
        elif problem := _lot_problem(kit_lot, today):
            errors.add("kit_lot", problem)
    if device is not None:
        actor.check_owns(device, "device")
        if problem := _device_problem(device, order_item, order_item.test_id):
            errors.add("device", problem)
    elif found.meter:
        errors.add("device", f"{order_item.code} is read on a meter: choose the device")
    age = poc.age_on(patient.birth_date, today)
    if fasting is None:
        fasting = order.fasting_confirmed is True
    checked, value_errors = poc.check_entry(
        found, entries, sex=patient.sex, age=age, fasting=fasting
    )
    for field, messages in value_errors.items():
        for message in messages:
            errors.add(field, message)
    with transaction.atomic():
        qc = None
        if "kit_lot" not in errors.errors and "device" not in errors.errors:
            qc = latest_qc_today(
                test_id=order_item.test_id,
                kit_lot=kit_lot,
                device=device,
                meter=found.meter,
                day=today,
                zone=zone,
            )
            if found.meter and device is not None:
                what, field = device.name, "device"
            else:
                what, field = f"lot {kit_lot.lot_number if kit_lot else ''}", "kit_lot"
            if problem := _qc_problem(qc, what, zone):
                errors.add(field, problem)
        errors.raise_if_any()
        values = [
            ResultValue(
                code=c.analyte.code,
                name=c.analyte.name,
                value=c.value,
                text=c.text,
                comparator=c.comparator,
                unit=c.analyte.unit,
                reference_low=c.reference_low,
                reference_high=c.reference_high,
                reference_text=c.reference_text,
                flag=c.flag,
                observed_at=observed_at,
                note=note,
                order_item=order_item,
            )
            for c in checked
        ]
        return store_results(
            actor=actor,
            patient=patient,
            values=values,
            source=LabResult.Source.POC,
            order=order,
            kit_lot=kit_lot,
            device=device,
            qc_run=qc,
            performed_by=actor.user,
            performing_lab=POC_LAB,
        )
