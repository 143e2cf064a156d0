"""Writes for scheduling: providers, rooms, types, availability, booking and the patient flow.

Booking is race-safe: inside one transaction it locks the provider's row and then the patient's
row (always in that order, so two bookings cannot deadlock), checks for overlaps, and inserts.
On PostgreSQL the locks are row locks; on SQLite the IMMEDIATE transaction already holds the
database's write lock. Exactly one of many concurrent attempts at the same slot wins; the others
get `BookingConflict`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors, full_clean
from carebench.core.models import Facility
from carebench.core.npi import validate_npi
from carebench.patients.models import Patient

from . import availability as av
from .models import (
    ACTIVE_STATUSES,
    FLOW_ORDER,
    Appointment,
    AppointmentSeries,
    AppointmentStep,
    AppointmentType,
    AvailabilityRule,
    Provider,
    Resource,
    Status,
    overlap_filter,
)

if TYPE_CHECKING:
    from carebench.accounts.models import User


class BookingConflict(Exception):
    """The slot was taken: by another appointment of the provider or of the patient."""

    def __init__(self, message: str, *, field: str = "start") -> None:
        super().__init__(message)
        self.field = field


def _same_org(actor: Actor, errors: FieldErrors, **objects: object) -> None:
    for name, obj in objects.items():
        if obj is not None and getattr(obj, "organization_id", None) != actor.organization.pk:
            errors.add(name, "was not found in this organization")


def create_provider(
    *,
    actor: Actor,
    family_name: str,
    given_name: str,
    npi: str,
    facilities: list[Facility],
    credentials: str = "",
    specialty: str = "",
    user: User | None = None,
    color: str = "#2f6f8f",
) -> Provider:
    errors = FieldErrors()
    errors.check("npi", validate_npi, npi)
    for facility in facilities:
        _same_org(actor, errors, facilities=facility)
    if Provider.objects.filter(organization=actor.organization, npi=npi.strip()).exists():
        errors.add("npi", "another provider of this organization has this NPI")
    provider = Provider(
        organization=actor.organization,
        created_by=actor.user,
        family_name=family_name.strip(),
        given_name=given_name.strip(),
        npi=npi.strip(),
        credentials=credentials.strip(),
        specialty=specialty.strip(),
        user=user,
        color=color,
    )
    full_clean(provider, errors, exclude=["organization", "created_by", "user", "facilities"])
    errors.raise_if_any()
    with transaction.atomic():
        provider.save()
        provider.facilities.set(facilities)
        audit.record_for_actor(
            actor, action=Action.CREATE, resource_type="Provider", resource_id=provider.pk
        )
    return provider


def create_resource(
    *,
    actor: Actor,
    facility: Facility,
    name: str,
    kind: str = Resource.Kind.ROOM,
    room_type: str = "",
    sort_order: int = 0,
) -> Resource:
    errors = FieldErrors()
    _same_org(actor, errors, facility=facility)
    resource = Resource(
        organization=actor.organization,
        created_by=actor.user,
        facility=facility,
        name=name.strip(),
        kind=kind,
        room_type=room_type,
        sort_order=sort_order,
        status_changed_at=clock.now(),
    )
    full_clean(resource, errors, exclude=["organization", "created_by", "facility"])
    errors.raise_if_any()
    with transaction.atomic():
        resource.save()
        audit.record_for_actor(
            actor, action=Action.CREATE, resource_type="Resource", resource_id=resource.pk
        )
    return resource


def create_appointment_type(
    *,
    actor: Actor,
    name: str,
    duration_minutes: int,
    color: str = "#4a7fb0",
    room_type: str = "",
    allow_overbook: bool = False,
    procedure_codes: str = "",
) -> AppointmentType:
    errors = FieldErrors()
    if not 5 <= duration_minutes <= 480:
        errors.add("duration_minutes", "must be between 5 and 480 minutes")
    codes = procedure_codes.upper().replace(",", " ").split()
    for code in codes:
        if not re.fullmatch(r"\d{4}[0-9FTU]|[A-V]\d{4}", code):
            errors.add("procedure_codes", f"'{code}' is not a CPT or HCPCS code")
    kind = AppointmentType(
        organization=actor.organization,
        created_by=actor.user,
        name=name.strip(),
        duration_minutes=duration_minutes,
        color=color,
        room_type=room_type,
        allow_overbook=allow_overbook,
        procedure_codes=" ".join(codes),
    )
    full_clean(kind, errors, exclude=["organization", "created_by"])
    errors.raise_if_any()
    with transaction.atomic():
        kind.save()
        audit.record_for_actor(
            actor, action=Action.CREATE, resource_type="AppointmentType", resource_id=kind.pk
        )
    return kind


def rule_of(rule: AvailabilityRule) -> av.Rule:
    return av.Rule(
        rrule=rule.rrule,
        start_time=rule.start_time,
        end_time=rule.end_time,
        starts_on=rule.starts_on,
        ends_on=rule.ends_on,
        zone=rule.facility.time_zone,
        blocked=rule.kind == AvailabilityRule.Kind.BLOCKED,
        key=rule.pk or 0,
    )


def add_availability_rule(
    *,
    actor: Actor,
    provider: Provider,
    facility: Facility,
    rrule: str,
    start_time: time,
    end_time: time,
    starts_on: date,
    ends_on: date | None = None,
    kind: str = AvailabilityRule.Kind.AVAILABLE,
    reason: str = "",
) -> AvailabilityRule:
    """Add a weekly (or any RRULE) template, or a blocked period such as a holiday or leave.

    Two `available` rules of one provider may not overlap; blocked rules may overlap anything.
    """
    errors = FieldErrors()
    _same_org(actor, errors, provider=provider, facility=facility)
    try:
        av.parse_rrule(rrule, starts_on)
    except av.RuleError as exc:
        errors.add("rrule", str(exc))
    if ends_on and ends_on < starts_on:
        errors.add("ends_on", "cannot be before the start date")
    if kind == AvailabilityRule.Kind.AVAILABLE and end_time <= start_time:
        errors.add("end_time", "must be after the start time")
    rule = AvailabilityRule(
        organization=actor.organization,
        created_by=actor.user,
        provider=provider,
        facility=facility,
        kind=kind,
        rrule=rrule.strip().removeprefix("RRULE:"),
        start_time=start_time,
        end_time=end_time,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason.strip(),
    )
    full_clean(rule, errors, exclude=["organization", "created_by", "provider", "facility"])
    errors.raise_if_any()
    if kind == AvailabilityRule.Kind.AVAILABLE:
        new = rule_of(rule)
        existing = AvailabilityRule.objects.filter(
            provider=provider, kind=AvailabilityRule.Kind.AVAILABLE, is_active=True
        ).select_related("facility")
        for other in existing:
            hit = av.rules_overlap(new, rule_of(other))
            if hit:
                errors.add(
                    "rrule",
                    f"overlaps the provider's existing template "
                    f"'{other.rrule} {other.start_time:%H:%M}-"
                    f"{other.end_time:%H:%M}' on {hit[0]:%Y-%m-%d %H:%M}",
                )
                break
    errors.raise_if_any()
    with transaction.atomic():
        rule.save()
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            resource_type="AvailabilityRule",
            resource_id=rule.pk,
            detail={"provider": provider.pk, "kind": kind, "rrule": rule.rrule},
        )
    return rule


def working_intervals_for(provider: Provider, start: datetime, end: datetime) -> list[av.Interval]:
    rules = [
        rule_of(r)
        for r in AvailabilityRule.objects.filter(provider=provider, is_active=True).select_related(
            "facility"
        )
    ]
    return av.working_intervals(
        rules, (start - timedelta(days=1)).date(), (end + timedelta(days=1)).date()
    )


@dataclass(frozen=True)
class BookingRequest:
    patient: Patient
    provider: Provider
    appointment_type: AppointmentType
    start: datetime
    facility: Facility
    room: Resource | None = None
    reason: str = ""
    note: str = ""


def _validate_booking(
    actor: Actor, req: BookingRequest, errors: FieldErrors, *, override_availability: bool
) -> datetime:
    _same_org(
        actor,
        errors,
        patient=req.patient,
        provider=req.provider,
        appointment_type=req.appointment_type,
        facility=req.facility,
        room=req.room,
    )
    if errors.errors:
        errors.raise_if_any()
    if req.patient.voided_at is not None:
        errors.add("patient", "this registration was voided")
    if not req.appointment_type.is_active:
        errors.add("appointment_type", "this appointment type is no longer offered")
    if not req.provider.is_active:
        errors.add("provider", "this provider no longer takes appointments")
    if req.start.tzinfo is None:
        errors.add("start", "must include a time zone")
        errors.raise_if_any()
    if req.start < clock.now() - timedelta(minutes=5):
        errors.add("start", "is in the past")
    if req.room is not None and req.room.facility_id != req.facility.pk:
        errors.add("room", "is not in this facility")
    end = req.start + timedelta(minutes=req.appointment_type.duration_minutes)
    if not override_availability and not errors.errors:
        working = working_intervals_for(req.provider, req.start, end)
        if not av.covered(working, req.start, end):
            errors.add(
                "start",
                f"{req.provider.display_name} is not available then "
                "(outside their template, or blocked)",
            )
    errors.raise_if_any()
    return end


def _check_conflicts(
    req: BookingRequest, start: datetime, end: datetime, *, exclude_id: int | None = None
) -> None:
    active = Appointment.objects.filter(overlap_filter(start, end), status__in=ACTIVE_STATUSES)
    if exclude_id:
        active = active.exclude(pk=exclude_id)
    clashes = Q(patient=req.patient)
    if not req.appointment_type.allow_overbook:
        clashes |= Q(provider=req.provider) & Q(appointment_type__allow_overbook=False)
    # One query for both rules; the provider's clash is reported first.
    found = list(
        active.filter(clashes).values_list(
            "provider_id", "patient_id", "start", "appointment_type__allow_overbook"
        )[:10]
    )
    provider_hits = [
        when
        for provider_id, _, when, overbook in found
        if provider_id == req.provider.pk
        and not overbook
        and not req.appointment_type.allow_overbook
    ]
    patient_hits = [when for _, patient_id, when, _ in found if patient_id == req.patient.pk]
    if provider_hits:
        raise BookingConflict(
            f"{req.provider.display_name} already has an appointment at "
            f"{provider_hits[0]:%Y-%m-%d %H:%M} UTC that overlaps this time",
            field="start",
        )
    if patient_hits:
        raise BookingConflict(
            f"the patient already has an appointment at {patient_hits[0]:%Y-%m-%d %H:%M} UTC "
            "that overlaps this time",
            field="patient",
        )


def _lock(req: BookingRequest) -> None:
    # NO KEY UPDATE: still one booking at a time, but a writer whose (deferred) foreign key to
    # this patient is checked at its COMMIT, after it took the audit chain's head, is not
    # blocked (with FOR UPDATE the two deadlocked on PostgreSQL).
    Provider.objects.select_for_update(no_key=True).only("id").get(pk=req.provider.pk)
    Patient.objects.select_for_update(no_key=True).only("id").get(pk=req.patient.pk)


def book_appointment(
    *,
    actor: Actor,
    request: BookingRequest,
    override_availability: bool = False,
    series: AppointmentSeries | None = None,
) -> Appointment:
    errors = FieldErrors()
    end = _validate_booking(actor, request, errors, override_availability=override_availability)
    with transaction.atomic():
        _lock(request)
        _check_conflicts(request, request.start, end)
        now = clock.now()
        appointment = Appointment.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            patient=request.patient,
            provider=request.provider,
            facility=request.facility,
            appointment_type=request.appointment_type,
            room=request.room,
            series=series,
            start=request.start,
            end=end,
            status=Status.BOOKED,
            status_changed_at=now,
            reason=request.reason.strip(),
            note=request.note.strip(),
            overbooked=request.appointment_type.allow_overbook,
        )
        AppointmentStep.objects.create(
            organization=actor.organization,
            appointment=appointment,
            status=Status.BOOKED,
            at=now,
            by=actor.user,
        )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=request.patient.pk,
            resource_type="Appointment",
            resource_id=appointment.pk,
            detail={"start": request.start.isoformat(), "provider": request.provider.pk},
        )
    return appointment


def book_series(
    *, actor: Actor, request: BookingRequest, rrule: str, count: int, note: str = ""
) -> list[Appointment]:
    """Book a recurring series all or nothing; a conflict names each date that fails."""
    errors = FieldErrors()
    if not 1 <= count <= 52:
        errors.add("count", "a series has 1 to 52 visits")
    try:
        av.parse_rrule(rrule, request.start.date())
    except av.RuleError as exc:
        errors.add("rrule", str(exc))
    errors.raise_if_any()
    from dateutil.rrule import rrulestr

    local = request.start
    starts = list(
        rrulestr(rrule.removeprefix("RRULE:"), dtstart=local.replace(tzinfo=None)).xafter(
            local.replace(tzinfo=None) - timedelta(seconds=1), count=count, inc=True
        )
    )
    starts = [s.replace(tzinfo=local.tzinfo) for s in starts]
    booked: list[Appointment] = []
    problems: list[str] = []
    with transaction.atomic():
        series = AppointmentSeries.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            rrule=rrule.removeprefix("RRULE:"),
            note=note,
        )
        for start in starts:
            req = BookingRequest(**{**request.__dict__, "start": start})
            try:
                with transaction.atomic():
                    booked.append(book_appointment(actor=actor, request=req, series=series))
            except BookingConflict as exc:
                problems.append(f"{start:%Y-%m-%d %H:%M}: {exc}")
            except Exception as exc:  # ValidationError: keep collecting
                messages = getattr(exc, "message_dict", {"start": [str(exc)]})
                problems.append(
                    f"{start:%Y-%m-%d %H:%M}: "
                    + "; ".join(f"{k} {', '.join(v)}" for k, v in messages.items())
                )
        if problems:
            transaction.set_rollback(True)
            errors.add("rrule", "these visits cannot be booked: " + " | ".join(problems))
            errors.raise_if_any()
    return booked


def reschedule_appointment(
    *,
    actor: Actor,
    appointment: Appointment,
    start: datetime,
    provider: Provider | None = None,
    override_availability: bool = False,
) -> Appointment:
    errors = FieldErrors()
    if appointment.status != Status.BOOKED:
        errors.add("status", "only a scheduled appointment (not yet arrived) can be moved")
    errors.raise_if_any()
    req = BookingRequest(
        patient=appointment.patient,
        provider=provider or appointment.provider,
        appointment_type=appointment.appointment_type,
        start=start,
        facility=appointment.facility,
        room=appointment.room,
    )
    end = _validate_booking(actor, req, errors, override_availability=override_availability)
    with transaction.atomic():
        _lock(req)
        _check_conflicts(req, start, end, exclude_id=appointment.pk)
        old = {"start": appointment.start.isoformat(), "provider": appointment.provider_id}
        Appointment.objects.filter(pk=appointment.pk).update(
            start=start, end=end, updated_at=clock.now(), provider=req.provider
        )
        appointment.refresh_from_db()
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            patient_id=appointment.patient_id,
            resource_type="Appointment",
            resource_id=appointment.pk,
            detail={
                "rescheduled": {
                    "old": old,
                    "new": {"start": start.isoformat(), "provider": req.provider.pk},
                }
            },
        )
    return appointment


def _set_status(
    actor: Actor,
    appointment: Appointment,
    status: str,
    *,
    note: str = "",
    room: Resource | None = None,
    **fields: object,
) -> Appointment:
    now = clock.now()
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if locked.status != appointment.status:
            raise BookingConflict(
                f"the appointment moved to '{locked.get_status_display()}' meanwhile; reload",
                field="status",
            )
        updates: dict[str, object] = {
            "status": status,
            "status_changed_at": now,
            "updated_at": now,
            **fields,
        }
        if room is not None:
            updates["room"] = room
        Appointment.objects.filter(pk=appointment.pk).update(**updates)
        AppointmentStep.objects.create(
            organization=actor.organization,
            appointment=appointment,
            status=status,
            at=now,
            by=actor.user,
            room=room,
            note=note[:200],
        )
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            patient_id=appointment.patient_id,
            resource_type="Appointment",
            resource_id=appointment.pk,
            detail={
                "status": status,
                "from": appointment.status,
                **({"note": note} if note else {}),
            },
        )
    appointment.refresh_from_db()
    return appointment


def cancel_appointment(*, actor: Actor, appointment: Appointment, reason: str) -> Appointment:
    errors = FieldErrors()
    reason = " ".join(reason.split())
    if not reason:
        errors.add("cancel_reason", "is required: say why the visit is cancelled")
    if appointment.status not in (Status.BOOKED, Status.ARRIVED):
        errors.add(
            "status", f"a visit that is '{appointment.get_status_display()}' cannot be cancelled"
        )
    errors.raise_if_any()
    return _set_status(actor, appointment, Status.CANCELLED, note=reason, cancel_reason=reason)


def mark_no_show(*, actor: Actor, appointment: Appointment) -> Appointment:
    errors = FieldErrors()
    if appointment.status != Status.BOOKED:
        errors.add("status", "only a scheduled visit that never arrived can be a no-show")
    if appointment.start > clock.now():
        errors.add("status", "the visit has not started yet")
    errors.raise_if_any()
    return _set_status(actor, appointment, Status.NO_SHOW)


NEXT_STEP = {FLOW_ORDER[i]: FLOW_ORDER[i + 1] for i in range(len(FLOW_ORDER) - 1)}


def advance_flow(
    *,
    actor: Actor,
    appointment: Appointment,
    to: str,
    room: Resource | None = None,
    copay_amount: Decimal | None = None,
    copay_collected: bool = False,
) -> Appointment:
    """Move a visit one step along the flow (arrived, roomed, ready, with provider ...).

    Arriving opens the encounter; rooming needs a room, which becomes occupied; done frees the
    room for turnover.
    """
    from carebench.encounters import services as encounter_services

    errors = FieldErrors()
    if appointment.organization_id != actor.organization.pk:
        raise PermissionError("appointment belongs to another organization")
    allowed = NEXT_STEP.get(Status(appointment.status))
    if to != allowed:
        errors.add(
            "status",
            f"from '{appointment.get_status_display()}' the next step is "
            f"'{Status(allowed).label if allowed else 'none'}', not '{to}'",
        )
    if to == Status.ROOMED:
        if room is None:
            errors.add("room", "choose the room the patient is taken to")
        elif (
            room.organization_id != actor.organization.pk
            or room.facility_id != appointment.facility_id
        ):
            errors.add("room", "is not a room of this facility")
        elif room.status == Resource.RoomStatus.OCCUPIED:
            errors.add("room", f"{room.name} is occupied")
    if copay_amount is not None and copay_amount < 0:
        errors.add("copay_amount", "cannot be negative")
    errors.raise_if_any()
    fields: dict[str, Any] = {}
    if to == Status.ARRIVED:
        fields = {"copay_amount": copay_amount, "copay_collected": copay_collected}
    with transaction.atomic():
        appointment = _set_status(actor, appointment, to, room=room, **fields)
        now = clock.now()
        if to == Status.ARRIVED:
            encounter_services.open_encounter(actor=actor, appointment=appointment)
        if to == Status.ROOMED and room is not None:
            Resource.objects.filter(pk=room.pk).update(
                status=Resource.RoomStatus.OCCUPIED, status_changed_at=now
            )
        if to == Status.CHECKOUT and appointment.room_id:
            Resource.objects.filter(pk=appointment.room_id).update(
                status=Resource.RoomStatus.NEEDS_TURNOVER, status_changed_at=now
            )
        if to == Status.DONE:
            encounter_services.close_encounter_for(actor=actor, appointment=appointment)
    return appointment


def set_room_status(*, actor: Actor, room: Resource, status: str) -> Resource:
    errors = FieldErrors()
    if room.organization_id != actor.organization.pk:
        raise PermissionError("room belongs to another organization")
    if status not in Resource.RoomStatus.values:
        errors.add("status", f"must be one of {', '.join(Resource.RoomStatus.values)}")
    errors.raise_if_any()
    with transaction.atomic():
        Resource.objects.filter(pk=room.pk).update(status=status, status_changed_at=clock.now())
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            resource_type="Resource",
            resource_id=room.pk,
            detail={"status": status},
        )
    room.refresh_from_db()
    return room


def _reminder_text(appointment: Appointment) -> tuple[str, str]:
    from zoneinfo import ZoneInfo

    local = appointment.start.astimezone(ZoneInfo(appointment.facility.time_zone))
    when = local.strftime("%A %B %-d at %-I:%M %p")
    from carebench.patients.validation import format_phone

    phone = format_phone(appointment.facility.phone)
    subject = f"Appointment reminder: {when}"
    body = (
        f"Reminder from {appointment.facility.name}: your {appointment.appointment_type.name}"
        f" visit with {appointment.provider.display_name} is on {when}."
        + (f" To change it, call {phone}." if phone else "")
    )
    return subject, body


def send_due_reminders(*, now: datetime | None = None) -> dict[str, int]:
    """Send every reminder that is due now (idempotent: one per visit, channel and lead time).

    A visit booked after a lead time had passed gets no reminder for that lead. Patients who
    opted out, or have no email or mobile number, are recorded as skipped.
    """
    from django.conf import settings

    from .models import Reminder
    from .reminders import send_email, send_sms

    now = now or clock.now()
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    # Nearest lead first: when a worker was down and several leads fall due together, only the
    # nearest is sent and the earlier ones are recorded as superseded.
    for lead in sorted(settings.CAREBENCH_REMINDER_LEAD_HOURS):
        window_end = now + timedelta(hours=lead)
        due = (
            Appointment.objects.filter(status=Status.BOOKED, start__gt=now, start__lte=window_end)
            .exclude(reminders__lead_hours=lead)
            .select_related("patient", "provider", "facility", "appointment_type")
        )
        for appt in due:
            if appt.created_at > appt.start - timedelta(hours=lead):
                continue  # booked inside the lead time: no reminder for this lead
            patient = appt.patient
            channel, destination = Reminder.Channel.EMAIL, patient.email
            superseded = Reminder.objects.filter(appointment=appt, lead_hours__lt=lead).exists()
            if patient.phone_mobile:
                channel, destination = Reminder.Channel.SMS, patient.phone_mobile
            outcome, detail = Reminder.Outcome.SENT, ""
            if superseded:
                outcome, detail, destination = (
                    Reminder.Outcome.SKIPPED,
                    "superseded by a nearer reminder",
                    "",
                )
            elif patient.reminders_opt_out:
                outcome, detail, destination = Reminder.Outcome.SKIPPED, "opted out", ""
            elif not destination:
                outcome, detail = Reminder.Outcome.SKIPPED, "no email or mobile number"
            else:
                subject, body = _reminder_text(appt)
                try:
                    if channel == Reminder.Channel.SMS:
                        send_sms(to=destination, body=body)
                    else:
                        send_email(to=destination, subject=subject, body=body)
                except Exception as exc:  # noqa: BLE001 - a gateway failure is recorded
                    outcome, detail = Reminder.Outcome.FAILED, str(exc)[:300]
            with transaction.atomic():
                Reminder.objects.create(
                    organization_id=appt.organization_id,
                    appointment=appt,
                    channel=channel,
                    lead_hours=lead,
                    sent_at=now,
                    outcome=outcome,
                    destination=destination,
                    detail=detail,
                )
                audit.record(
                    action=Action.NOTIFY,
                    organization_id=appt.organization_id,
                    patient_id=patient.pk,
                    resource_type="Reminder",
                    resource_id=appt.pk,
                    channel="system",
                    username="reminders",
                    detail={"lead_hours": lead, "channel": channel, "outcome": outcome},
                )
            counts[str(outcome)] += 1
    return counts
