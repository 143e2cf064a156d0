"""Reads for the eMAR: the homes a worker passes in, the residents in room order, the pass list
for a time window, what the supervisor must see (late and missed doses, PRN checks due, cards
running low, a count discrepancy), and a resident's month for the MAR.

The pass list is built in a fixed number of queries (residents, orders, absences, records) and
handed to the pure engine `medpass.pass_list`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from django.db import models
from django.db.models.functions import Cast

from carebench.accounts.roles import ROLE_LABELS
from carebench.core.bulk import fast_values

from . import mar, medpass
from .emar_models import Absence, DoseRecord, Residency, ResidentOrder, ShiftCount
from .emar_services import HOME_KINDS, PASS_WINDOW_MINUTES, _schedule

if TYPE_CHECKING:
    from carebench.accounts.models import User
from carebench.core.models import Facility, Organization


def room_key(room: str) -> tuple[object, ...]:
    """Natural order of room labels: 2 before 10, 101A before 101B."""
    return tuple(
        int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", room) if part
    )


def homes_for(organization: Organization, user: User) -> list[Facility]:
    """The assisted-living and group homes this worker passes in (a med tech: where assigned)."""
    from carebench.core.models import Facility

    homes = Facility.objects.filter(organization=organization, kind__in=HOME_KINDS, is_active=True)
    roles = set(user.groups.values_list("name", flat=True))
    if roles & {"nurse", "manager", "admin", "provider"}:
        return list(homes.order_by("name"))
    return list(homes.filter(pk__in=user.assignments.values("facility")).order_by("name"))


def get_home(organization: Organization, pk: int) -> Facility:
    from carebench.core.models import Facility

    return Facility.objects.get(organization=organization, kind__in=HOME_KINDS, pk=pk)


# What the pass and the supervisor show of each resident (not the photo: it is served apart).
RESIDENT_FIELDS = (
    "id",
    "organization_id",
    "facility_id",
    "room",
    "status",
    "photo_type",
    "prescriber_name",
    "patient__id",
    "patient__mrn",
    "patient__family_name",
    "patient__given_name",
    "patient__preferred_name",
    "patient__birth_date",
)


def residents(organization: Organization, facility: Facility) -> list[Residency]:
    rows = list(
        Residency.objects.filter(
            organization=organization,
            facility=facility,
            status=Residency.Status.ACTIVE,
            voided_at__isnull=True,
        )
        .select_related("patient")
        .only(*RESIDENT_FIELDS)
    )
    rows.sort(key=lambda r: (room_key(r.room), r.patient.family_name, r.patient.given_name))
    return rows


def get_residency(organization: Organization, pk: int) -> Residency:
    return Residency.objects.select_related("patient", "facility", "prescriber").get(
        organization=organization, pk=pk
    )


@dataclass(frozen=True)
class PassLine:
    due: medpass.DueDose
    order: ResidentOrder
    residency: Residency
    record: DoseRecord | None


@dataclass
class ResidentSummary:
    """One resident's line on the pass: how many doses are due, late, done and away."""

    residency: Residency
    due: int = 0
    late: int = 0
    done: int = 0
    away: int = 0
    upcoming: int = 0

    @property
    def total(self) -> int:
        return self.due + self.late + self.done + self.away + self.upcoming

    @property
    def open(self) -> int:
        return self.due + self.late + self.upcoming


@dataclass(frozen=True)
class PassPage:
    summaries: list[ResidentSummary]  # every resident with a dose in the window, room order
    lines: list[PassLine]  # the open resident's doses (empty when none is open)
    prn_orders: list[ResidentOrder]  # the open resident's PRN orders
    window_start: datetime
    window_end: datetime


# The columns a schedule needs: the page loads whole orders only for the resident it shows.
SCHEDULE_FIELDS = (
    "id",
    "residency_id",
    "drug_name",
    "frequency",
    "times",
    "weekday",
    "prn",
    "start_date",
    "stop_date",
)


def _active_orders(
    organization: Organization, residencies: list[Residency], day: date, *, full: bool = False
) -> list[ResidentOrder]:
    query = (
        ResidentOrder.objects.filter(
            organization=organization,
            residency__in=[r.pk for r in residencies],
            status=ResidentOrder.Status.ACTIVE,
            voided_at__isnull=True,
            start_date__lte=day,
        )
        .exclude(stop_date__lt=day)
        .order_by()
    )
    return list(query if full else query.only(*SCHEDULE_FIELDS))


@lru_cache(maxsize=512)
def _clock_times(raw: str) -> tuple[time, ...]:
    """An order's `times` from its JSON text: a home's orders share a handful of lists, so each
    is decoded once per process rather than once per row."""
    return tuple(time.fromisoformat(t) for t in json.loads(raw))


def _schedules(
    organization: Organization, facility: Facility, day: date
) -> list[medpass.OrderSchedule]:
    """The scheduled (not PRN) orders of the home's residents in effect on `day`, read as plain
    rows (no models: a 120-resident home has over a thousand). Residents are joined, not listed
    by id: a thousand-id IN list costs more to build than the query takes."""
    rows = (
        ResidentOrder.objects.filter(
            organization=organization,
            residency__facility=facility,
            residency__status=Residency.Status.ACTIVE,
            residency__voided_at__isnull=True,
            status=ResidentOrder.Status.ACTIVE,
            voided_at__isnull=True,
            prn=False,
            start_date__lte=day,
        )
        .exclude(stop_date__lt=day)
        .order_by()
        .annotate(times_text=Cast("times", models.TextField()))
    )
    fields = tuple(f if f != "times" else "times_text" for f in SCHEDULE_FIELDS)
    return [
        medpass.OrderSchedule(
            order_id=pk,
            resident_id=residency_id,
            drug=drug,
            frequency=frequency,
            times=_clock_times(times),
            start=start,
            stop=stop,
            prn=prn,
            weekday=weekday,
        )
        for pk, residency_id, drug, frequency, times, weekday, prn, start, stop in fast_values(
            rows, fields, dates=("start_date", "stop_date")
        )
    ]


def pass_page(
    organization: Organization,
    facility: Facility,
    *,
    day: date,
    center: time,
    now: datetime,
    open_residency: int | None = None,
) -> PassPage:
    """The doses due in the window center ± 60 minutes: a summary per resident in room order,
    and the doses (with what is recorded) of the one resident open at the cart."""
    from zoneinfo import ZoneInfo

    zone = facility.time_zone
    people = residents(organization, facility)
    by_id = {r.pk: r for r in people}
    schedules = _schedules(organization, facility, day)
    middle = datetime.combine(day, center, tzinfo=ZoneInfo(zone))
    start = middle - timedelta(minutes=PASS_WINDOW_MINUTES)
    end = middle + timedelta(minutes=PASS_WINDOW_MINUTES)
    records = [
        medpass.DoseRecordInfo(order_id, scheduled_at, outcome, recorded_at)
        for order_id, scheduled_at, outcome, recorded_at in fast_values(
            DoseRecord.objects.filter(
                organization=organization,
                residency__facility=facility,
                scheduled_at__gte=start,
                scheduled_at__lte=end,
                voided_at__isnull=True,
            ).order_by(),
            ("order_id", "scheduled_at", "outcome", "recorded_at"),
            datetimes=("scheduled_at", "recorded_at"),
        )
    ]
    absences = [
        medpass.Absence(residency_id, starts_at, ends_at)
        for residency_id, starts_at, ends_at in fast_values(
            Absence.objects.filter(
                organization=organization, residency__facility=facility, starts_at__lte=end
            )
            .exclude(ends_at__lt=start)
            .order_by(),
            ("residency_id", "starts_at", "ends_at"),
            datetimes=("starts_at", "ends_at"),
        )
    ]
    due = medpass.pass_list(
        schedules,
        residents=[medpass.ResidentInfo(r.pk, r.patient.display_name, r.room) for r in people],
        day=day,
        center=center,
        window_minutes=PASS_WINDOW_MINUTES,
        now=now,
        records=records,
        absences=absences,
        zone=zone,
    )
    summaries: dict[int, ResidentSummary] = {}
    for dose in due:
        summary = summaries.get(dose.resident_id)
        if summary is None:
            summary = summaries[dose.resident_id] = ResidentSummary(by_id[dose.resident_id])
        status = str(dose.status)
        setattr(summary, status, getattr(summary, status) + 1)
    lines: list[PassLine] = []
    prn: list[ResidentOrder] = []
    if open_residency is not None and open_residency in by_id:
        shown = by_id[open_residency]
        full = {o.pk: o for o in _active_orders(organization, [shown], day, full=True)}
        for order in full.values():
            order.residency = shown
        documented = {
            (r.order_id, r.scheduled_at): r
            for r in DoseRecord.objects.filter(
                organization=organization,
                order_id__in=list(full),
                scheduled_at__gte=start,
                scheduled_at__lte=end,
                voided_at__isnull=True,
            ).order_by()
        }
        lines = [
            PassLine(
                due=d,
                order=full[d.order_id],
                residency=shown,
                record=documented.get((d.order_id, d.scheduled_at)),
            )
            for d in due
            if d.resident_id == open_residency
        ]
        prn = sorted((o for o in full.values() if o.prn), key=lambda o: o.drug_name)
    return PassPage(
        summaries=list(summaries.values()),
        lines=lines,
        prn_orders=prn,
        window_start=start,
        window_end=end,
    )


@dataclass(frozen=True)
class SupervisorView:
    missed: list[PassLine]
    prn_checks: list[DoseRecord]
    reorders: list[ResidentOrder]
    discrepancy: ShiftCount | None
    refusals_and_holds: list[DoseRecord]


def supervisor_view(
    organization: Organization, facility: Facility, *, now: datetime
) -> SupervisorView:
    """Since midnight: doses late or never documented, PRN effectiveness checks due, cards
    running low, refusals and holds, and an unresolved count discrepancy."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(facility.time_zone)
    since = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    people = residents(organization, facility)
    by_id = {r.pk: r for r in people}
    orders = _active_orders(organization, people, now.astimezone(zone).date(), full=True)
    for order in orders:
        order.residency = by_id[order.residency_id]
    scheduled = [o for o in orders if not o.prn]
    records = list(
        DoseRecord.objects.filter(
            organization=organization,
            order__in=scheduled,
            scheduled_at__gte=since,
            voided_at__isnull=True,
        )
    )
    absences = list(
        Absence.objects.filter(organization=organization, residency__in=people).exclude(
            ends_at__lt=since
        )
    )
    missed = medpass.missed_doses(
        [_schedule(o) for o in scheduled],
        [medpass.ResidentInfo(r.pk, r.patient.display_name, r.room) for r in people],
        [
            medpass.DoseRecordInfo(r.order_id, r.scheduled_at, r.outcome, r.recorded_at)
            for r in records
        ],
        [medpass.Absence(a.residency_id, a.starts_at, a.ends_at) for a in absences],
        since=since,
        now=now,
        window_minutes=PASS_WINDOW_MINUTES,
        zone=facility.time_zone,
    )
    order_by_id = {o.pk: o for o in scheduled}
    prn_checks = list(
        DoseRecord.objects.filter(
            organization=organization,
            residency__facility=facility,
            effectiveness_due_at__isnull=False,
            effectiveness="",
            voided_at__isnull=True,
        )
        .select_related("order", "patient", "created_by")
        .order_by("effectiveness_due_at")
    )
    refusals = list(
        DoseRecord.objects.filter(
            organization=organization,
            residency__facility=facility,
            recorded_at__gte=since,
            outcome__in=[
                DoseRecord.Outcome.REFUSED,
                DoseRecord.Outcome.HELD,
                DoseRecord.Outcome.NOT_AVAILABLE,
            ],
            voided_at__isnull=True,
        )
        .select_related("order", "patient", "created_by")
        .order_by("recorded_at")
    )
    return SupervisorView(
        missed=[PassLine(d, order_by_id[d.order_id], by_id[d.resident_id], None) for d in missed],
        prn_checks=prn_checks,
        reorders=[o for o in orders if o.needs_reorder],
        discrepancy=ShiftCount.objects.filter(
            facility=facility, status=ShiftCount.Status.DISCREPANCY
        )
        .prefetch_related("lines__sheet__order")
        .first(),
        refusals_and_holds=refusals,
    )


def resident_orders(organization: Organization, residency: Residency) -> list[ResidentOrder]:
    return list(
        ResidentOrder.objects.filter(
            organization=organization, residency=residency, voided_at__isnull=True
        )
        .prefetch_related("count_sheets")
        .order_by("status", "prn", "drug_name")
    )


def recent_doses(
    organization: Organization, residency: Residency, limit: int = 50
) -> list[DoseRecord]:
    return list(
        DoseRecord.objects.filter(organization=organization, residency=residency)
        .select_related("order", "created_by", "effectiveness_by")
        .order_by("-recorded_at")[:limit]
    )


def month_doses(
    organization: Organization, residency: Residency, first: date, last: date, zone: str
) -> list[DoseRecord]:
    from zoneinfo import ZoneInfo

    start = datetime.combine(first, time(0), tzinfo=ZoneInfo(zone))
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))
    return list(
        DoseRecord.objects.filter(
            organization=organization,
            residency=residency,
            recorded_at__gte=start - timedelta(hours=2),
            recorded_at__lt=end + timedelta(hours=2),
            voided_at__isnull=True,
        )
        .select_related("order", "created_by")
        .order_by("recorded_at")
    )


def _initials(user: User) -> str:
    first, last = (user.first_name or "").strip(), (user.last_name or "").strip()
    return ((first[:1] + last[:1]) or user.username[:2]).upper()


def _mar_code(record: DoseRecord) -> str:
    return {
        DoseRecord.Outcome.GIVEN: "given",
        DoseRecord.Outcome.REFUSED: "R",
        DoseRecord.Outcome.HELD: "H",
        DoseRecord.Outcome.AWAY: "A",
        DoseRecord.Outcome.NOT_AVAILABLE: "N",
    }[DoseRecord.Outcome(record.outcome)]


def _mar_note(record: DoseRecord) -> str:
    note = record.reason
    if record.vital_name and record.vital_value is not None:
        note = note or f"{record.vital_name} {record.vital_value.normalize()}"
    return note


def mar_input(organization: Organization, residency: Residency, month: date) -> mar.MarInput:
    """One resident's month, as the MAR shows it: every order in effect that month, each
    scheduled dose's outcome and who documented it, the PRN doses, and the initials legend."""
    from zoneinfo import ZoneInfo

    from carebench.patients.models import Allergy

    facility = residency.facility
    zone = ZoneInfo(facility.time_zone)
    first = month.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    orders = list(
        ResidentOrder.objects.filter(
            organization=organization,
            residency=residency,
            voided_at__isnull=True,
            start_date__lte=last,
        )
        .exclude(stop_date__lt=first)
        .order_by("prn", "drug_name")
    )
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    records = list(
        DoseRecord.objects.filter(
            organization=organization, residency=residency, voided_at__isnull=True
        )
        .filter(
            models.Q(scheduled_at__gte=start, scheduled_at__lt=end)
            | models.Q(scheduled_at__isnull=True, recorded_at__gte=start, recorded_at__lt=end)
        )
        .select_related("created_by", "effectiveness_by")
        .order_by("recorded_at")
    )
    staff: dict[int, mar.StaffInitials] = {}
    for record in records:
        user = record.created_by
        if user is not None and user.pk not in staff:
            roles = [
                ROLE_LABELS.get(g, g).split(":")[0]
                for g in user.groups.values_list("name", flat=True)
            ]
            title = getattr(user, "title", "")
            role = ", ".join([title, *roles] if title else roles)
            staff[user.pk] = mar.StaffInitials(
                _initials(user), user.get_full_name() or user.username, role
            )
    by_order: dict[int, list[DoseRecord]] = {}
    for record in records:
        by_order.setdefault(record.order_id, []).append(record)
    mar_orders = []
    prn_doses = []
    for order in orders:
        rows = by_order.get(order.pk, [])
        times = tuple(time.fromisoformat(t) for t in order.times)
        cells: dict[tuple[int, time], mar.MarCell] = {}
        for record in rows:
            if record.scheduled_at is None:
                continue
            local = record.scheduled_at.astimezone(zone)
            cells[(local.day, local.time().replace(second=0, microsecond=0))] = mar.MarCell(
                code=_mar_code(record),
                initials=staff[record.created_by_id].initials
                if record.created_by_id in staff
                else "",
                late=record.late,
                note=_mar_note(record),
            )
        scheduled_days = None
        if not order.prn and order.frequency.upper() not in {
            "QD",
            "DAILY",
            "BID",
            "TID",
            "QID",
            "QHS",
            "QAM",
            "QPM",
        }:
            schedule = _schedule(order)
            days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
            scheduled_days = frozenset(d.day for d in days if medpass.doses_on(schedule, d))
        mar_orders.append(
            mar.MarOrder(
                order_id=order.pk,
                drug=order.drug_name,
                strength=order.strength,
                form=order.form,
                dose=order.dose,
                route=order.get_route_display(),
                frequency=order.frequency + (f" for {order.prn_indication}" if order.prn else ""),
                instructions=order.instructions,
                hold_text=order.hold_text,
                start=order.start_date,
                stop=order.stop_date,
                prn=order.prn,
                times=times if not order.prn else (),
                cells=cells,
                scheduled_days=scheduled_days,
            )
        )
        if order.prn:
            for record in rows:
                if record.outcome != DoseRecord.Outcome.GIVEN:
                    continue
                prn_doses.append(
                    mar.PrnDose(
                        order_id=order.pk,
                        drug=f"{order.drug_name} {order.strength}".strip(),
                        given_at=record.recorded_at.astimezone(zone).replace(tzinfo=None),
                        dose=order.dose,
                        reason=record.prn_reason,
                        effectiveness=record.get_effectiveness_display()
                        if record.effectiveness
                        else "",
                        effectiveness_at=(
                            record.effectiveness_at.astimezone(zone).replace(tzinfo=None)
                            if record.effectiveness_at
                            else None
                        ),
                        initials=staff[record.created_by_id].initials
                        if record.created_by_id in staff
                        else "",
                    )
                )
    allergies = list(
        Allergy.objects.filter(
            patient_id=residency.patient_id, voided_at__isnull=True, status="active"
        )
    )
    if any(a.kind == Allergy.Kind.NO_KNOWN for a in allergies):
        allergy_text = "NKA"
    else:
        allergy_text = ", ".join(
            a.substance + (f" ({a.reaction})" if a.reaction else "") for a in allergies
        )
    from carebench.core import clock

    patient = residency.patient
    return mar.MarInput(
        home_name=facility.name,
        month=first,
        resident_name=f"{patient.family_name}, {patient.given_name}",
        room=residency.room,
        birth_date=patient.birth_date,
        allergies=allergy_text,
        prescribers=residency.prescriber_display
        or ", ".join(sorted({o.prescriber for o in orders})),
        pharmacy=" ".join(p for p in (residency.pharmacy_name, residency.pharmacy_phone) if p),
        orders=mar_orders,
        prn_doses=prn_doses,
        staff=list(staff.values()),
        generated_at=clock.now().astimezone(zone).replace(tzinfo=None),
    )
