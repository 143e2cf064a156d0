"""Reads for scheduling: day and week views, open slots, the flow board, the room board."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from carebench.core import clock
from carebench.core.bulk import fast_values
from carebench.core.models import Facility, Organization

from . import availability as av
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStep,
    AppointmentType,
    AvailabilityRule,
    Provider,
    Resource,
    Status,
    overlap_filter,
)
from .services import rule_of


def _day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def providers_for(organization: Organization | int) -> QuerySet[Provider]:
    return Provider.objects.for_org(organization).filter(is_active=True)


def appointments_between(
    organization: Organization | int,
    start: datetime,
    end: datetime,
    *,
    facility: Facility | None = None,
    provider: Provider | None = None,
    include_cancelled: bool = False,
) -> list[Appointment]:
    """Appointments overlapping [start, end) with patient, provider, type and room: 1 query."""
    qs = (
        Appointment.objects.for_org(organization)
        .filter(overlap_filter(start, end))
        .select_related("patient", "provider", "appointment_type", "room")
        .order_by("start", "provider__family_name")
    )
    if facility is not None:
        qs = qs.filter(facility=facility)
    if provider is not None:
        qs = qs.filter(provider=provider)
    if not include_cancelled:
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    return list(qs)


@dataclass(frozen=True)
class DayVisit:
    """What the day grid shows of one visit: plain values, no model instances (a facility's day
    can hold a thousand visits, and building four model objects per row costs more than the
    query)."""

    pk: int
    start: datetime
    end: datetime
    status: str
    overbooked: bool
    provider_id: int
    family_name: str
    given_name: str
    birth_date: date
    type_name: str
    type_color: str
    room_name: str | None


DAY_VISIT_COLUMNS = (
    "pk",
    "start",
    "end",
    "status",
    "overbooked",
    "provider_id",
    "patient__family_name",
    "patient__given_name",
    "patient__birth_date",
    "appointment_type__name",
    "appointment_type__color",
    "room__name",
)


@dataclass
class DayColumn:
    provider: Provider
    appointments: list[DayVisit]


def day_view(
    organization: Organization | int,
    facility: Facility,
    day: date,
    *,
    provider: Provider | None = None,
    providers: list[Provider] | None = None,
) -> list[DayColumn]:
    """One column per provider working (or booked) that day at the facility (`providers`: the
    facility's providers when the caller has them already)."""
    start, end = _day_bounds(day, facility.time_zone)
    rows = (
        Appointment.objects.for_org(organization)
        .filter(overlap_filter(start, end), facility=facility)
        .order_by("start", "pk")  # columns come from the providers list: no join to sort by
    )
    if provider is not None:
        rows = rows.filter(provider=provider)
    appointments = [
        DayVisit(*row) for row in fast_values(rows, DAY_VISIT_COLUMNS, datetimes=("start", "end"))
    ]
    if provider is not None:
        providers = [provider]
    elif providers is None:
        providers = list(
            providers_for(organization)
            .filter(facilities=facility)
            .order_by("family_name", "given_name")
        )
    by_provider: dict[int, list[DayVisit]] = {p.pk: [] for p in providers}
    for appt in appointments:
        by_provider.setdefault(appt.provider_id, []).append(appt)
    return [DayColumn(p, by_provider.get(p.pk, [])) for p in providers]


def week_view(
    organization: Organization | int,
    facility: Facility,
    week_of: date,
    *,
    provider: Provider | None = None,
) -> dict[date, list[Appointment]]:
    monday = week_of - timedelta(days=week_of.weekday())
    start, _ = _day_bounds(monday, facility.time_zone)
    _, end = _day_bounds(monday + timedelta(days=6), facility.time_zone)
    tz = ZoneInfo(facility.time_zone)
    days: dict[date, list[Appointment]] = {monday + timedelta(days=i): [] for i in range(7)}
    for appt in appointments_between(
        organization, start, end, facility=facility, provider=provider
    ):
        days.setdefault(appt.start.astimezone(tz).date(), []).append(appt)
    return days


@dataclass(frozen=True)
class OpenSlot:
    provider: Provider
    start: datetime
    end: datetime


def next_open_slots(
    organization: Organization | int,
    appointment_type: AppointmentType,
    *,
    date_from: date,
    date_to: date,
    providers: list[Provider] | None = None,
    facility: Facility | None = None,
    limit: int = 20,
) -> list[OpenSlot]:
    """The earliest open slots for this visit type across the providers, in time order.

    Queries: the providers, their rules, and their booked time for each few days looked at.
    """
    provider_list = (
        providers
        if providers is not None
        else list(
            providers_for(organization).filter(facilities=facility)
            if facility
            else providers_for(organization)
        )
    )
    if not provider_list:
        return []
    by_id = {p.pk: p for p in provider_list}
    rules: dict[int, list[av.Rule]] = {pk: [] for pk in by_id}
    rule_qs = AvailabilityRule.objects.filter(provider_id__in=by_id, is_active=True)
    if facility is not None:
        rule_qs = rule_qs.filter(facility=facility)
    for rule in rule_qs.select_related("facility"):
        rules[rule.provider_id].append(rule_of(rule))
    zone = facility.time_zone if facility else "UTC"
    range_start, _ = _day_bounds(date_from, zone)
    _, range_end = _day_bounds(date_to, zone)
    duration = timedelta(minutes=appointment_type.duration_minutes)
    not_before = max(clock.now(), range_start)
    found: list[OpenSlot] = []
    # A few days at a time, earliest first: the next open slots are usually in the first days,
    # and once a whole chunk has given `limit` slots no later day can beat them.
    day = max(date_from, not_before.astimezone(ZoneInfo(zone)).date())
    while day <= date_to and len(found) < limit:
        last = min(day + timedelta(days=SLOT_CHUNK_DAYS - 1), date_to)
        busy = _busy(by_id, _day_bounds(day, zone)[0], _day_bounds(last, zone)[1])
        for provider_id, provider_rules in rules.items():
            free = av.free_intervals(provider_rules, busy[provider_id], day, last)
            for count, (start, end) in enumerate(
                av.slots(free, duration, not_before=not_before), 1
            ):
                if start >= range_end:
                    break
                found.append(OpenSlot(by_id[provider_id], start, end))
                if count >= limit:
                    break
        day = last + timedelta(days=1)
    found.sort(key=lambda s: (s.start, s.provider.family_name))
    return found[:limit]


SLOT_CHUNK_DAYS = 3


def _busy(
    providers: dict[int, Provider], start: datetime, end: datetime
) -> dict[int, list[av.Interval]]:
    """The providers' booked time overlapping [start, end) (visits that may overlap others,
    such as a nurse visit, do not take the provider's time)."""
    busy: dict[int, list[av.Interval]] = {pk: [] for pk in providers}
    for provider_id, begins, ends in (
        Appointment.objects.filter(
            overlap_filter(start, end),
            provider_id__in=providers,
            status__in=ACTIVE_STATUSES,
        )
        .exclude(appointment_type__allow_overbook=True)
        .values_list("provider_id", "start", "end")
    ):
        busy[provider_id].append((begins, ends))
    return busy


@dataclass(frozen=True)
class BoardVisit:
    """What the flow board shows of one visit: plain values, no model instances (the board is
    polled every 15 seconds by every MAT's browser, and a busy day holds a thousand visits)."""

    pk: int
    status: str
    start: datetime
    status_changed_at: datetime
    family_name: str
    given_name: str
    birth_date: date
    provider_name: str
    type_name: str
    type_color: str
    room_name: str | None


BOARD_COLUMNS = (
    "pk",
    "status",
    "start",
    "status_changed_at",
    "patient__family_name",
    "patient__given_name",
    "patient__birth_date",
    "provider__given_name",
    "provider__family_name",
    "provider__credentials",
    "appointment_type__name",
    "appointment_type__color",
    "room__name",
)


@dataclass
class BoardRow:
    appointment: BoardVisit
    step_times: dict[str, datetime]
    minutes_in_step: int
    overdue: bool
    alerts: list[str]
    encounter_id: int | None = None


WAIT_THRESHOLDS = {  # minutes in a step (or late, when not arrived) before the row is highlighted
    Status.BOOKED: 15,
    Status.ARRIVED: 15,
    Status.ROOMED: 15,
    Status.READY: 10,
    Status.WITH_PROVIDER: 40,
    Status.CHECKOUT: 10,
}


def flow_board(
    organization: Organization | int, facility: Facility, day: date | None = None
) -> list[BoardRow]:
    """Today's visits with the time of each step, minutes in the current one, and alerts.

    Four queries: the visits (with patient, provider, type and room, as plain values), their
    steps, their encounters' ids, and the open alerts of those encounters.
    """
    from carebench.encounters.models import Alert, Encounter

    day = day or clock.today(facility.time_zone)
    start, end = _day_bounds(day, facility.time_zone)
    visits = [
        BoardVisit(*(*row[:7], Provider.name_of(*row[7:10]), *row[10:]))  # name from 3 columns
        for row in fast_values(
            Appointment.objects.for_org(organization)
            .filter(facility=facility, start__gte=start, start__lt=end)
            .exclude(status=Status.CANCELLED)
            .order_by("start", "pk"),
            BOARD_COLUMNS,
            datetimes=("start", "status_changed_at"),
        )
    ]
    ids = [visit.pk for visit in visits]
    step_times: dict[int, dict[str, datetime]] = {}
    for appointment_id, status, at in (
        AppointmentStep.objects.filter(appointment_id__in=ids)
        .order_by("at")
        .values_list("appointment_id", "status", "at")
    ):
        step_times.setdefault(appointment_id, {})[status] = at
    encounters = dict(
        Encounter.objects.filter(appointment_id__in=ids).values_list("appointment_id", "pk")
    )
    alerts: dict[int, list[str]] = {}
    if encounters:
        for encounter_id, message in Alert.objects.filter(
            encounter_id__in=list(encounters.values()), acknowledged_at__isnull=True
        ).values_list("encounter_id", "message"):
            alerts.setdefault(encounter_id, []).append(message)
    now = clock.now()
    rows = []
    for visit in visits:
        if visit.status == Status.BOOKED:
            # not here yet: what counts is how late the patient is for their start time
            minutes = int((now - visit.start).total_seconds() // 60)
        else:
            minutes = int((now - visit.status_changed_at).total_seconds() // 60)
        threshold = WAIT_THRESHOLDS.get(Status(visit.status))
        encounter = encounters.get(visit.pk)
        rows.append(
            BoardRow(
                appointment=visit,
                step_times=step_times.get(visit.pk, {}),
                minutes_in_step=max(minutes, 0),
                overdue=threshold is not None and minutes >= threshold,
                alerts=alerts.get(encounter, []) if encounter else [],
                encounter_id=encounter,
            )
        )
    return rows


def room_board(organization: Organization | int, facility: Facility) -> list[Resource]:
    """Rooms of the facility with their status and, when occupied, who is in them (found through
    the (room, status) index: a room has thousands of past visits)."""
    rooms = list(
        Resource.objects.for_org(organization)
        .filter(facility=facility, kind=Resource.Kind.ROOM, is_active=True)
        .order_by("sort_order", "name")
    )
    occupied = {
        appt.room_id: appt
        for appt in Appointment.objects.for_org(organization)
        .filter(room__in=rooms, status__in=[Status.ROOMED, Status.READY, Status.WITH_PROVIDER])
        .select_related("patient")
        .only("room_id", "status", "patient__family_name", "patient__given_name")
        .order_by("status_changed_at", "pk")  # the latest to enter a room shows
    }
    for room in rooms:
        room.current_appointment = occupied.get(room.pk)  # type: ignore[attr-defined]
    return rooms
