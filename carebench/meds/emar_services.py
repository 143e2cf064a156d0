"""Writes for the eMAR in assisted-living and group homes: admitting and discharging residents,
absences, the home's pass times, prescribers' orders and refills, documenting each dose at the
med pass (holds, refusals, PRN doses and their effectiveness checks), controlled-substance count
sheets and the shift-change count, and assigning workers to homes.

Same rules as every service: keyword-only with the `Actor` first, one transaction, one audit
event, a `ValidationError` naming the field and the rule before anything is written, and
`PermissionError` for another organization's rows. Who may document a dose, and who may be
assigned where, comes from `accounts.scope`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from carebench.accounts import scope
from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.core.models import Facility
from carebench.patients.models import Patient
from carebench.staff.services import require_task

from . import medpass
from .emar_models import (
    ORAL_ROUTES,
    Absence,
    Assignment,
    CountEntry,
    CountSheet,
    DoseRecord,
    PassTime,
    Refill,
    Residency,
    ResidentOrder,
    ShiftCount,
    ShiftCountLine,
)

if TYPE_CHECKING:
    from carebench.accounts.models import User

HOME_KINDS = {Facility.Kind.ASSISTED_LIVING, Facility.Kind.GROUP_HOME}
PASS_WINDOW_MINUTES = 60  # a dose is on time within an hour either side of its time
PRN_CHECK_MINUTES = 60
PRN_EARLIEST_CHECK_MINUTES = 30  # a PRN's effect is judged 30-60 minutes after the dose
MAX_PHOTO_BYTES = 1_000_000
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def _user(actor: Actor) -> User:
    assert actor.user is not None, "med-pass work is credited to a user"
    return actor.user


def _roles(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def _audit(
    actor: Actor, action: str, row: Any, detail: dict[str, Any], patient_id: int | None
) -> None:
    audit.record_for_actor(
        actor,
        action=action,
        patient_id=patient_id,
        resource_type=type(row).__name__,
        resource_id=row.pk,
        detail=detail,
    )


def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def zone_of(facility: Facility) -> ZoneInfo:
    return ZoneInfo(facility.time_zone)


# --- pass times ---------------------------------------------------------------------------------


def pass_times(facility: Facility) -> dict[str, time]:
    """The home's standard pass times: its own where set, else the defaults."""
    times = dict(medpass.DEFAULT_PASS_TIMES)
    for row in PassTime.objects.filter(facility=facility):
        times[row.slot] = row.at
    return times


def set_pass_times(
    *, actor: Actor, facility: Facility, times: Mapping[str, time]
) -> dict[str, time]:
    actor.check_owns(facility, "facility")
    errors = FieldErrors()
    for slot in times:
        if slot not in medpass.DEFAULT_PASS_TIMES:
            errors.add(
                "times", f"unknown pass slot {slot!r}: use {', '.join(medpass.DEFAULT_PASS_TIMES)}"
            )
    errors.raise_if_any()
    with transaction.atomic():
        for slot, at in times.items():
            PassTime.objects.update_or_create(
                organization=actor.organization,
                facility=facility,
                slot=slot,
                defaults={"at": at, "created_by": actor.user},
            )
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            resource_type="PassTime",
            resource_id=facility.pk,
            detail={slot: at.strftime("%H:%M") for slot, at in times.items()},
        )
    return pass_times(facility)


# --- assignments --------------------------------------------------------------------------------


def assign_worker(
    *, actor: Actor, user: User, facility: Facility, starts_on: date | None = None
) -> Assignment:
    """Assign a worker to a home or clinic, if the scope rules allow it."""
    actor.check_owns(facility, "facility")
    if user.organization_id != actor.organization.pk:
        raise PermissionError("the worker belongs to another organization")
    # The organization's scope rules decide where it has assignment rules; else the pure rule.
    decision = require_task(actor=actor, task="assignment", facility=facility, worker=user)
    problem = None if decision.ruled else scope.assignment_problem(_roles(user), facility.kind)
    if problem is not None:
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            resource_type="Assignment",
            outcome="failure",
            detail={"user": user.username, "facility": facility.name, "refused": problem},
        )
        raise _error(
            "facility",
            f"{user.get_full_name() or user.username} cannot be assigned to {facility.name}: {problem}",
        )
    with transaction.atomic():
        row = Assignment.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            user=user,
            facility=facility,
            starts_on=starts_on or clock.today(facility.time_zone),
        )
        _audit(actor, Action.CREATE, row, {"user": user.username, "facility": facility.name}, None)
    return row


def is_assigned(user: User, facility: Facility, on: date) -> bool:
    return (
        Assignment.objects.filter(user=user, facility=facility, starts_on__lte=on)
        .exclude(ends_on__lt=on)
        .exists()
    )


# --- residents ----------------------------------------------------------------------------------


def admit_resident(
    *,
    actor: Actor,
    patient: Patient,
    facility: Facility,
    room: str,
    admitted_on: date,
    prescriber_name: str = "",
    pharmacy_name: str = "",
    pharmacy_phone: str = "",
    prescriber: Any = None,
) -> Residency:
    actor.check_owns(patient, "patient")
    actor.check_owns(facility, "facility")
    errors = FieldErrors()
    if facility.kind not in HOME_KINDS:
        errors.add("facility", f"{facility.name} is not an assisted-living or group home")
    if not room.strip():
        errors.add("room", "give the room")
    if admitted_on > clock.today(facility.time_zone) + timedelta(days=1):
        errors.add("admitted_on", "the admission date is in the future")
    current = Residency.objects.filter(
        patient=patient, status=Residency.Status.ACTIVE, voided_at__isnull=True
    ).first()
    if current is not None:
        errors.add(
            "patient",
            f"already living at {current.facility.name}, room {current.room}: discharge first",
        )
    if prescriber is None and not prescriber_name.strip():
        errors.add("prescriber_name", "name the resident's prescriber")
    errors.raise_if_any()
    with transaction.atomic():
        row = Residency.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            patient=patient,
            facility=facility,
            room=room.strip(),
            admitted_on=admitted_on,
            prescriber=prescriber,
            prescriber_name=prescriber_name.strip(),
            pharmacy_name=pharmacy_name.strip(),
            pharmacy_phone=pharmacy_phone.strip(),
        )
        _audit(actor, Action.CREATE, row, {"admitted": facility.name, "room": row.room}, patient.pk)
    return row


def discharge_resident(*, actor: Actor, residency: Residency, on: date, reason: str) -> Residency:
    """Discharge: passes stop; active orders are discontinued with the discharge."""
    actor.check_owns(residency, "resident")
    errors = FieldErrors()
    if residency.status != Residency.Status.ACTIVE:
        errors.add("__all__", "this resident is already discharged")
    if on < residency.admitted_on:
        errors.add("on", "the discharge date is before the admission")
    if not reason.strip():
        errors.add("reason", "say why (moved, hospital admission, death ...)")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        Residency.objects.filter(pk=residency.pk).update(
            status=Residency.Status.DISCHARGED,
            discharged_on=on,
            discharge_reason=reason.strip(),
            updated_at=now,
        )
        stopped = ResidentOrder.objects.filter(
            residency=residency, status=ResidentOrder.Status.ACTIVE
        ).update(
            status=ResidentOrder.Status.DISCONTINUED,
            discontinued_at=now,
            discontinued_by=actor.user,
            discontinue_reason=f"discharged: {reason.strip()}",
            updated_at=now,
        )
        residency.refresh_from_db()
        _audit(
            actor,
            Action.UPDATE,
            residency,
            {"discharged": on.isoformat(), "orders_stopped": stopped},
            residency.patient_id,
        )
    return residency


def set_photo(*, actor: Actor, residency: Residency, data: bytes) -> Residency:
    """The resident's photo for identification at the med pass (JPEG or PNG, up to 1 MB)."""
    actor.check_owns(residency, "resident")
    kind = next((t for magic, t in PHOTO_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise _error("photo", "the photo must be a JPEG or PNG image")
    if len(data) > MAX_PHOTO_BYTES:
        raise _error("photo", "the photo is over 1 MB: take it smaller")
    with transaction.atomic():
        Residency.objects.filter(pk=residency.pk).update(
            photo=data, photo_type=kind, updated_at=clock.now()
        )
        _audit(
            actor,
            Action.UPDATE,
            residency,
            {"photo": kind, "bytes": len(data)},
            residency.patient_id,
        )
    residency.refresh_from_db()
    return residency


def start_absence(
    *, actor: Actor, residency: Residency, kind: str, starts_at: datetime, note: str = ""
) -> Absence:
    actor.check_owns(residency, "resident")
    errors = FieldErrors()
    if kind not in Absence.Kind.values:
        errors.add("kind", "choose leave of absence or hospital stay")
    if residency.status != Residency.Status.ACTIVE:
        errors.add("__all__", "this resident is discharged")
    if Absence.objects.filter(residency=residency, ends_at__isnull=True).exists():
        errors.add("__all__", "the resident is already away: record the return first")
    errors.raise_if_any()
    with transaction.atomic():
        row = Absence.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            residency=residency,
            kind=kind,
            starts_at=starts_at,
            note=note.strip(),
        )
        _audit(actor, Action.CREATE, row, {"away": kind}, residency.patient_id)
    return row


def end_absence(*, actor: Actor, absence: Absence, ends_at: datetime) -> Absence:
    actor.check_owns(absence, "absence")
    if absence.ends_at is not None:
        raise _error("__all__", "the resident is already back")
    if ends_at < absence.starts_at:
        raise _error("ends_at", "the return is before the leave")
    with transaction.atomic():
        Absence.objects.filter(pk=absence.pk).update(ends_at=ends_at, updated_at=clock.now())
        absence.ends_at = ends_at
        _audit(
            actor,
            Action.UPDATE,
            absence,
            {"back": ends_at.isoformat()},
            absence.residency.patient_id,
        )
    return absence


# --- orders and refills -------------------------------------------------------------------------


def add_order(
    *,
    actor: Actor,
    residency: Residency,
    drug_name: str,
    dose: str,
    route: str,
    frequency: str,
    start_date: date,
    prescriber: str,
    strength: str = "",
    form: str = "",
    ndc: str = "",
    custom_times: Sequence[time] = (),
    weekday: int | None = None,
    prn_indication: str = "",
    prn_min_interval_minutes: int | None = None,
    prn_max_per_day: int | None = None,
    stop_date: date | None = None,
    hold_text: str = "",
    instructions: str = "",
    controlled: str = "",
    quantity_on_hand: int = 0,
    reorder_at: int = 7,
) -> ResidentOrder:
    """A prescriber's order, transcribed; its times come from the frequency and the home's pass
    times (or the custom times written on the order)."""
    actor.check_owns(residency, "resident")
    errors = FieldErrors()
    frequency = " ".join(frequency.strip().upper().split())
    try:
        prn = medpass.lookup_frequency(frequency).repeat == medpass.AS_NEEDED
    except ValueError:
        prn = False  # the unknown frequency is named below
    times: tuple[time, ...] = ()
    if residency.status != Residency.Status.ACTIVE:
        errors.add("__all__", "this resident is discharged")
    if not drug_name.strip():
        errors.add("drug_name", "name the medication")
    if not dose.strip():
        errors.add("dose", "give the dose (e.g. 1 tablet)")
    if route not in ORAL_ROUTES:
        errors.add(
            "route",
            f"unknown route {route!r}: a medication technician gives {', '.join(ORAL_ROUTES)}",
        )
    if not prn:
        try:
            times = medpass.scheduled_times(frequency, pass_times(residency.facility), custom_times)
        except ValueError as exc:
            errors.add("frequency", str(exc))
        if frequency == "WEEKLY" and weekday is None:
            errors.add("weekday", "a weekly order needs its day of the week")
    else:
        if not prn_indication.strip():
            errors.add("prn_indication", "a PRN order says what it is for (e.g. pain, anxiety)")
        if not prn_min_interval_minutes:
            errors.add("prn_min_interval_minutes", "a PRN order needs its minimum interval")
        if not prn_max_per_day:
            errors.add("prn_max_per_day", "a PRN order needs its maximum doses per day")
    if stop_date is not None and stop_date < start_date:
        errors.add("stop_date", "the stop date is before the start date")
    rules: list[medpass.HoldRule] = []
    if hold_text.strip():
        try:
            rules = medpass.parse_hold(hold_text)
        except ValueError as exc:
            errors.add("hold_text", str(exc))
    if not prescriber.strip():
        errors.add("prescriber", "name the prescriber")
    if controlled and controlled not in {"II", "III", "IV", "V"}:
        errors.add("controlled", "schedule II, III, IV or V")
    if quantity_on_hand < 0:
        errors.add("quantity_on_hand", "cannot be negative")
    errors.raise_if_any()
    with transaction.atomic():
        order = ResidentOrder.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            residency=residency,
            patient_id=residency.patient_id,
            drug_name=drug_name.strip(),
            ndc=ndc.strip(),
            strength=strength.strip(),
            form=form.strip(),
            dose=dose.strip(),
            route=route,
            frequency=frequency,
            times=[t.strftime("%H:%M") for t in times],
            weekday=weekday,
            prn=prn,
            prn_indication=prn_indication.strip(),
            prn_min_interval_minutes=prn_min_interval_minutes,
            prn_max_per_day=prn_max_per_day,
            start_date=start_date,
            stop_date=stop_date,
            hold_text=hold_text.strip(),
            hold_rules=[{"vital": r.vital, "op": r.op, "value": str(r.value)} for r in rules],
            instructions=instructions.strip(),
            prescriber=prescriber.strip(),
            controlled=controlled,
            quantity_on_hand=quantity_on_hand,
            reorder_at=reorder_at,
        )
        if controlled and quantity_on_hand:
            _open_sheet(actor, order, "card 1", quantity_on_hand)
        _audit(
            actor,
            Action.CREATE,
            order,
            {"order": str(order), "times": order.times},
            residency.patient_id,
        )
    return order


def _open_sheet(actor: Actor, order: ResidentOrder, label: str, quantity: int) -> CountSheet:
    sheet = CountSheet.objects.create(
        organization=actor.organization,
        created_by=actor.user,
        order=order,
        label=label,
        balance=quantity,
        opened_on=clock.today(order.residency.facility.time_zone),
    )
    CountEntry.objects.create(
        organization=actor.organization,
        created_by=actor.user,
        sheet=sheet,
        kind=CountEntry.Kind.RECEIVED,
        change=quantity,
        balance=quantity,
    )
    return sheet


def discontinue_order(*, actor: Actor, order: ResidentOrder, reason: str) -> ResidentOrder:
    actor.check_owns(order, "order")
    if order.status != ResidentOrder.Status.ACTIVE:
        raise _error("__all__", "the order is already discontinued")
    if not reason.strip():
        raise _error("reason", "say why (the prescriber's order to stop, ...)")
    now = clock.now()
    with transaction.atomic():
        ResidentOrder.objects.filter(pk=order.pk).update(
            status=ResidentOrder.Status.DISCONTINUED,
            discontinued_at=now,
            discontinued_by=actor.user,
            discontinue_reason=reason.strip(),
            stop_date=clock.today(order.residency.facility.time_zone),
            updated_at=now,
        )
        order.refresh_from_db()
        _audit(actor, Action.UPDATE, order, {"discontinued": reason.strip()}, order.patient_id)
    return order


def receive_refill(
    *, actor: Actor, order: ResidentOrder, quantity: int, rx_number: str = "", card_label: str = ""
) -> Refill:
    """The pharmacy's delivery: doses on hand go up; a controlled drug gets a new count sheet."""
    actor.check_owns(order, "order")
    if not 1 <= quantity <= 1000:
        raise _error("quantity", "a refill is 1 to 1000 doses")
    if order.controlled and not card_label.strip():
        raise _error(
            "card_label", "a controlled drug's card or bottle needs its label for the count sheet"
        )
    with transaction.atomic():
        locked = ResidentOrder.objects.select_for_update().get(pk=order.pk)
        ResidentOrder.objects.filter(pk=order.pk).update(
            quantity_on_hand=locked.quantity_on_hand + quantity
        )
        refill = Refill.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            order=order,
            quantity=quantity,
            received_on=clock.today(order.residency.facility.time_zone),
            rx_number=rx_number.strip(),
        )
        if order.controlled:
            _open_sheet(actor, order, card_label.strip(), quantity)
        _audit(
            actor,
            Action.CREATE,
            refill,
            {"quantity": quantity, "order": order.drug_name},
            order.patient_id,
        )
    order.refresh_from_db()
    return refill


# --- the med pass -------------------------------------------------------------------------------


def _away_at(residency: Residency, at: datetime) -> Absence | None:
    for absence in Absence.objects.filter(residency=residency, starts_at__lte=at):
        if absence.ends_at is None or absence.ends_at > at:
            return absence
    return None


def _hold_rules(order: ResidentOrder) -> list[medpass.HoldRule]:
    return [medpass.HoldRule(r["vital"], r["op"], Decimal(r["value"])) for r in order.hold_rules]


def handoff_blocked(facility: Facility) -> ShiftCount | None:
    """The home's unresolved count discrepancy, if any."""
    return ShiftCount.objects.filter(
        facility=facility, status=ShiftCount.Status.DISCREPANCY
    ).first()


def record_dose(
    *,
    actor: Actor,
    order: ResidentOrder,
    outcome: str,
    scheduled_at: datetime | None = None,
    reason: str = "",
    vitals: Mapping[str, Decimal] | None = None,
    prn_reason: str = "",
    at: datetime | None = None,
) -> DoseRecord:
    """Document one dose at the pass. A scheduled dose names its time; a PRN dose does not."""
    actor.check_owns(order, "order")
    user = _user(actor)
    residency = order.residency
    facility = residency.facility
    require_task(actor=actor, task="med_pass", facility=facility, patient_id=residency.patient_id)
    zone = zone_of(facility)
    now = clock.now()
    at = at or now
    vitals = {k: Decimal(v) for k, v in (vitals or {}).items()}
    errors = FieldErrors()
    if not scope.may_document_med_pass(_roles(user)):
        errors.add("__all__", "only medication technicians and nurses document med passes")
    elif "nurse" not in _roles(user) and not is_assigned(
        user, facility, at.astimezone(zone).date()
    ):
        errors.add("__all__", f"you are not assigned to {facility.name}")
    if outcome not in DoseRecord.Outcome.values:
        errors.add("outcome", f"unknown outcome {outcome!r}")
    if residency.status != Residency.Status.ACTIVE:
        errors.add("__all__", "this resident is discharged")
    if order.status != ResidentOrder.Status.ACTIVE or order.voided_at is not None:
        errors.add("order", "the order is discontinued")
    if at > now + timedelta(minutes=5):
        errors.add("at", "the time cannot be in the future")
    late = False
    if order.prn:
        if scheduled_at is not None:
            errors.add("scheduled_at", "a PRN dose has no scheduled time")
        if outcome == DoseRecord.Outcome.GIVEN:
            if not prn_reason.strip():
                errors.add("prn_reason", f"say why it is needed now ({order.prn_indication})")
            previous = list(
                DoseRecord.objects.filter(
                    order=order,
                    outcome=DoseRecord.Outcome.GIVEN,
                    voided_at__isnull=True,
                    recorded_at__gte=at - timedelta(days=2),
                ).values_list("recorded_at", flat=True)
            )
            check = medpass.prn_check(
                min_interval=timedelta(minutes=order.prn_min_interval_minutes or 0) or None,
                max_per_day=order.prn_max_per_day,
                previous=previous,
                at=at,
                zone=facility.time_zone,
            )
            if not check.allowed:
                errors.add("__all__", check.reason)
    else:
        if scheduled_at is None:
            errors.add("scheduled_at", "which scheduled time is this dose for?")
        else:
            local = scheduled_at.astimezone(zone)
            due = medpass.doses_at(_schedule(order), local.date(), facility.time_zone)
            if scheduled_at not in due:
                errors.add(
                    "scheduled_at",
                    f"{order.drug_name} is not scheduled at {local:%H:%M} on {local:%m/%d}",
                )
            late = at > scheduled_at + timedelta(minutes=PASS_WINDOW_MINUTES)
            if (
                at < scheduled_at - timedelta(minutes=PASS_WINDOW_MINUTES)
                and outcome == DoseRecord.Outcome.GIVEN
            ):
                errors.add(
                    "at",
                    f"too early: this dose may be given from {(scheduled_at - timedelta(minutes=PASS_WINDOW_MINUTES)).astimezone(zone):%H:%M}",
                )
    away = _away_at(residency, scheduled_at or at)
    if outcome == DoseRecord.Outcome.GIVEN and away is not None:
        errors.add(
            "outcome",
            f"the resident is away ({away.get_kind_display().lower()}): record it as away",
        )
    if outcome == DoseRecord.Outcome.AWAY and away is None and not reason.strip():
        errors.add("reason", "the resident is not on leave: say where they are")
    vital_name, vital_value = "", None
    if outcome == DoseRecord.Outcome.GIVEN:
        hold = medpass.check_holds(_hold_rules(order), vitals)
        if hold.required_vitals:
            errors.add(
                "vitals",
                f"take the {', '.join(hold.required_vitals)} first: this order has hold parameters",
            )
        elif hold.triggered:
            errors.add("outcome", f"{hold.message}: record the dose as held")
        if order.quantity_on_hand < 1:
            errors.add(
                "outcome",
                "no doses on hand on record: count the card, record a refill, or record not available",
            )
        if order.controlled and handoff_blocked(facility) is not None:
            errors.add(
                "__all__",
                "the controlled-substance count has a discrepancy: a supervisor must resolve it before controlled doses are given",
            )
    elif outcome == DoseRecord.Outcome.HELD:
        hold = medpass.check_holds(_hold_rules(order), vitals)
        if hold.triggered:
            rule, value = hold.triggered[0]
            vital_name, vital_value = rule.vital, value
            reason = reason.strip() or hold.message.removeprefix("hold: ")
        elif not reason.strip():
            errors.add(
                "reason", "say why the dose is held (or record the vital that triggers the hold)"
            )
    elif (
        outcome in (DoseRecord.Outcome.REFUSED, DoseRecord.Outcome.NOT_AVAILABLE)
        and not reason.strip()
    ):
        errors.add(
            "reason", "say what happened (what the resident said; what is missing and who was told)"
        )
    errors.raise_if_any()
    try:
        with transaction.atomic():
            record = DoseRecord.objects.create(
                organization=actor.organization,
                created_by=user,
                order=order,
                residency=residency,
                patient_id=order.patient_id,
                scheduled_at=scheduled_at,
                recorded_at=at,
                outcome=outcome,
                reason=reason.strip(),
                vital_name=vital_name,
                vital_value=vital_value,
                vitals={k: str(v) for k, v in vitals.items()},
                late=late,
                prn_reason=prn_reason.strip(),
                effectiveness_due_at=(
                    medpass.effectiveness_due(at, PRN_CHECK_MINUTES)
                    if order.prn and outcome == DoseRecord.Outcome.GIVEN
                    else None
                ),
            )
            if outcome == DoseRecord.Outcome.GIVEN:
                _take_dose(actor, order, record)
            _audit(
                actor,
                Action.CREATE,
                record,
                {
                    "order": order.drug_name,
                    "outcome": outcome,
                    "scheduled": scheduled_at.isoformat() if scheduled_at else None,
                    "late": late,
                },
                order.patient_id,
            )
    except IntegrityError:
        raise _error(
            "scheduled_at", "this dose is already documented (by someone else just now?)"
        ) from None
    return record


def _take_dose(actor: Actor, order: ResidentOrder, record: DoseRecord) -> None:
    locked = ResidentOrder.objects.select_for_update().get(pk=order.pk)
    ResidentOrder.objects.filter(pk=order.pk).update(quantity_on_hand=locked.quantity_on_hand - 1)
    order.quantity_on_hand = locked.quantity_on_hand - 1
    if not order.controlled:
        return
    sheet = (
        CountSheet.objects.select_for_update()
        .filter(order=order, closed_on__isnull=True, balance__gt=0)
        .order_by("opened_on", "pk")
        .first()
    )
    if sheet is None:
        raise _error(
            "outcome", "no open count sheet with doses: the count must be reconciled first"
        )
    sheet.balance -= 1
    CountSheet.objects.filter(pk=sheet.pk).update(balance=sheet.balance)
    CountEntry.objects.create(
        organization=actor.organization,
        created_by=actor.user,
        sheet=sheet,
        kind=CountEntry.Kind.DOSE,
        change=-1,
        balance=sheet.balance,
        dose=record,
    )


def _schedule(order: ResidentOrder) -> medpass.OrderSchedule:
    return medpass.OrderSchedule(
        order_id=order.pk,
        resident_id=order.residency_id,
        drug=order.drug_name,
        frequency=order.frequency,
        times=tuple(time.fromisoformat(t) for t in order.times),
        start=order.start_date,
        stop=order.stop_date,
        prn=order.prn,
        weekday=order.weekday,
    )


def record_effectiveness(
    *, actor: Actor, dose: DoseRecord, result: str, note: str = ""
) -> DoseRecord:
    """The PRN effectiveness check: did it work?"""
    actor.check_owns(dose, "dose")
    errors = FieldErrors()
    if dose.effectiveness_due_at is None:
        errors.add("__all__", "this dose has no effectiveness check")
    elif dose.effectiveness:
        errors.add("__all__", "the check is already recorded")
    if result not in DoseRecord.Effect.values:
        errors.add("result", "choose effective, partly effective or not effective")
    earliest = dose.recorded_at + timedelta(minutes=PRN_EARLIEST_CHECK_MINUTES)
    if dose.effectiveness_due_at is not None and clock.now() < earliest:
        local = earliest.astimezone(zone_of(dose.residency.facility))
        errors.add("__all__", f"too early to judge: check from {local:%H:%M}")
    if result == DoseRecord.Effect.NOT_EFFECTIVE and not note.strip():
        errors.add("note", "not effective: say what you saw and who you told")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        DoseRecord.objects.filter(pk=dose.pk).update(
            effectiveness=result,
            effectiveness_note=note.strip(),
            effectiveness_at=now,
            effectiveness_by=actor.user,
            updated_at=now,
        )
        dose.refresh_from_db()
        _audit(actor, Action.UPDATE, dose, {"effectiveness": result}, dose.patient_id)
    return dose


# --- controlled substances ----------------------------------------------------------------------


def open_sheets(facility: Facility) -> list[CountSheet]:
    return list(
        CountSheet.objects.filter(
            order__residency__facility=facility,
            order__residency__status=Residency.Status.ACTIVE,
            closed_on__isnull=True,
        )
        .select_related("order__residency__patient")
        .order_by("order__residency__room", "order__drug_name", "pk")
    )


def count_shift(
    *, actor: Actor, facility: Facility, incoming: User, counts: Mapping[int, int]
) -> ShiftCount:
    """The shift-change count: the outgoing worker (the actor) and the incoming one count every
    open card and bottle together. Any difference is a discrepancy that blocks the hand-off."""
    actor.check_owns(facility, "facility")
    outgoing = _user(actor)
    errors = FieldErrors()
    if incoming.pk == outgoing.pk:
        errors.add("incoming", "the count is done by two people: choose the incoming worker")
    if incoming.organization_id != actor.organization.pk:
        raise PermissionError("the incoming worker belongs to another organization")
    for user in (outgoing, incoming):
        if not scope.may_document_med_pass(_roles(user)):
            errors.add(
                "incoming",
                f"{user.get_full_name() or user.username} is not a medication technician or nurse",
            )
    if handoff_blocked(facility) is not None:
        errors.add(
            "__all__",
            "the last count's discrepancy is not resolved: a supervisor must resolve it first",
        )
    sheets = open_sheets(facility)
    for sheet in sheets:
        if sheet.pk not in counts:
            errors.add("counts", f"count {sheet}")
        elif counts[sheet.pk] < 0:
            errors.add("counts", f"{sheet}: a count cannot be negative")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        locked = {
            s.pk: s
            for s in CountSheet.objects.select_for_update().filter(pk__in=[s.pk for s in sheets])
        }
        mismatched = [pk for pk, sheet in locked.items() if sheet.balance != counts[pk]]
        row = ShiftCount.objects.create(
            organization=actor.organization,
            created_by=outgoing,
            facility=facility,
            counted_at=now,
            outgoing=outgoing,
            incoming=incoming,
            status=ShiftCount.Status.DISCREPANCY if mismatched else ShiftCount.Status.MATCHED,
        )
        ShiftCountLine.objects.bulk_create(
            [
                ShiftCountLine(
                    organization=actor.organization,
                    created_by=outgoing,
                    shift_count=row,
                    sheet=sheet,
                    expected=sheet.balance,
                    counted=counts[pk],
                )
                for pk, sheet in locked.items()
            ]
        )
        _audit(
            actor,
            Action.CREATE,
            row,
            {
                "status": row.status,
                "sheets": len(locked),
                "mismatched": mismatched,
                "incoming": incoming.username,
            },
            None,
        )
    return row


def resolve_discrepancy(
    *, actor: Actor, shift_count: ShiftCount, resolution: str, correct_counts: bool
) -> ShiftCount:
    """A supervisor (nurse) resolves a count discrepancy: what was found, and whether the sheets
    are corrected to the counted numbers. Then the hand-off goes ahead."""
    actor.check_owns(shift_count, "count")
    user = _user(actor)
    errors = FieldErrors()
    if shift_count.status != ShiftCount.Status.DISCREPANCY:
        errors.add("__all__", "this count has no open discrepancy")
    if "nurse" not in _roles(user) and not user.has_perm("meds.change_shiftcount"):
        errors.add("__all__", "only a supervisor resolves a count discrepancy")
    if user.pk in (shift_count.outgoing_id, shift_count.incoming_id):
        errors.add("__all__", "someone other than the two who counted must resolve it")
    if len(resolution.strip()) < 10:
        errors.add("resolution", "say what was found and done (who was told, the incident report)")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        if correct_counts:
            for line in shift_count.lines.select_related("sheet"):
                if line.matches:
                    continue
                sheet = CountSheet.objects.select_for_update().get(pk=line.sheet_id)
                change = line.counted - sheet.balance
                CountSheet.objects.filter(pk=sheet.pk).update(balance=line.counted)
                CountEntry.objects.create(
                    organization=actor.organization,
                    created_by=user,
                    sheet=sheet,
                    kind=CountEntry.Kind.CORRECTION,
                    change=change,
                    balance=line.counted,
                    witness=shift_count.incoming,
                    note=resolution.strip()[:300],
                )
                ResidentOrder.objects.filter(pk=sheet.order_id).update(
                    quantity_on_hand=sheet.order.quantity_on_hand + change
                )
        ShiftCount.objects.filter(pk=shift_count.pk).update(
            status=ShiftCount.Status.RESOLVED,
            resolved_by=user,
            resolved_at=now,
            resolution=resolution.strip(),
            updated_at=now,
        )
        shift_count.refresh_from_db()
        _audit(
            actor,
            Action.UPDATE,
            shift_count,
            {"resolved": resolution.strip(), "corrected": correct_counts},
            None,
        )
    return shift_count


def void_dose(*, actor: Actor, dose: DoseRecord, reason: str) -> DoseRecord:
    """A dose documented in error (wrong resident, wrong time): voided, kept, and the dose put
    back on the card (and its count sheet) when it had been taken off."""
    actor.check_owns(dose, "dose")
    user = _user(actor)
    errors = FieldErrors()
    if dose.voided_at is not None:
        errors.add("__all__", "already voided")
    if not reason.strip():
        errors.add("reason", "say why the entry is wrong")
    if "nurse" not in _roles(user) and not user.has_perm("meds.void_doserecord"):
        errors.add("__all__", "only a nurse voids a documented dose")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        if not DoseRecord.objects.filter(pk=dose.pk, voided_at__isnull=True).update(
            voided_at=now, voided_by=user, void_reason=reason.strip(), updated_at=now
        ):
            raise _error("__all__", "already voided")
        if dose.outcome == DoseRecord.Outcome.GIVEN:
            order = ResidentOrder.objects.select_for_update().get(pk=dose.order_id)
            ResidentOrder.objects.filter(pk=order.pk).update(
                quantity_on_hand=order.quantity_on_hand + 1
            )
            taken = CountEntry.objects.filter(dose=dose).select_related("sheet").first()
            if taken is not None:
                sheet = CountSheet.objects.select_for_update().get(pk=taken.sheet_id)
                CountSheet.objects.filter(pk=sheet.pk).update(balance=sheet.balance + 1)
                CountEntry.objects.create(
                    organization=actor.organization,
                    created_by=user,
                    sheet=sheet,
                    kind=CountEntry.Kind.CORRECTION,
                    change=1,
                    balance=sheet.balance + 1,
                    note=f"dose entry voided: {reason.strip()}"[:300],
                )
        dose.refresh_from_db()
        _audit(actor, Action.VOID, dose, {"reason": reason.strip()}, dose.patient_id)
    return dose
