"""Schedule, flow board, booking and vital-signs latency at a busy clinic (a benchmark, not a test).

    python bench/schedule_vitals.py [--database-url URL] [--queries 1000]

Sets up its own database (default: SQLite file var/bench/schedule.sqlite3; or e.g.
postgres://postgres@127.0.0.1:5432/carebench_bench_sched, created if missing), migrates it and
fills it once: 20,000 patients, one facility with 40 providers (weekday 8-12 and 13-17 templates),
60 rooms, the demo's visit types, 200,000 appointments over two years of history and four months
ahead (one future weekday holds exactly 1,000: 25 per provider), and 1,000,000 vital-sign
observations in 125,000 sets. Then it times the real pages through Django's test Client (in
process, signed-in MAT session, full middleware stack, audit writes included) and the real
selectors and services, and prints p50/p95/p99/max per operation. Results go to
bench/results/schedule_vitals-<vendor>.json in the same shape as patient_search's.

Targets (p95): day view 50 ms, next open slots 50 ms, saving a set of vitals 30 ms, booking 30 ms.
An operation that misses its target is profiled (queries per call, SQL time, hottest functions).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from patient_search import (  # noqa: E402  (bench/ is a plain folder, not a package)
    ROOT,
    database_label,
    ensure_org_and_user,
    measure,
    percentile,
    prepare_environment,
    seed_patients,
)

DAY_TARGET_MS = 50.0
SLOTS_TARGET_MS = 50.0
VITALS_TARGET_MS = 30.0
BOOK_TARGET_MS = 30.0

PATIENTS = 20_000
PROVIDERS = 40
ROOMS = 60
APPOINTMENTS = 200_000
FULL_DAY_PER_PROVIDER = 25  # x 40 providers = 1,000 on the chosen day
VITAL_SETS = 125_000
OBS_PER_SET = 8  # BP panel, pulse, temperature, RR, SpO2, height, weight, pain
HEAVY_PATIENTS = 10  # patients with daily vitals for years (a group-home resident, say)
HEAVY_SETS_EACH = 600
HISTORY_DAYS = 730
FUTURE_DAYS = 120
BATCH = 10_000
SEED = 4321

GIVEN = [
    "Amelia",
    "Benjamin",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Isabel",
    "Jamal",
    "Keiko",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Pedro",
    "Quinn",
    "Rosa",
    "Samuel",
    "Tara",
]
FAMILY = [
    "Nguyen",
    "Okafor",
    "Patel",
    "Reyes",
    "Schmidt",
    "Tanaka",
    "Underwood",
    "Vargas",
    "Walsh",
    "Young",
    "Zimmerman",
    "Abbott",
    "Brennan",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ivanova",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--queries", type=int, default=1000, help="timed calls per operation")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls per operation")
    parser.add_argument("--seed-only", action="store_true", help="fill the database and stop")
    parser.add_argument("--profile", action="store_true", help="profile every timed operation")
    parser.add_argument(
        "--only",
        default="",
        help="time only operations whose name contains one of these comma-separated words (no JSON)",
    )
    return parser.parse_args()


# --- seeding --------------------------------------------------------------------------------
# Everything below writes rows directly with bulk_create (batches of 10,000, one transaction per
# batch) because booking 200,000 visits or saving 125,000 vital-sign sets one service call at a
# time would take hours. This is a seeding shortcut only: the application never does it, and
# every timed operation further down goes through the real pages, selectors and services.
# The small setup (providers, their 80 availability rules, rooms, visit types) does use the
# services.


@dataclass
class Clinic:
    org: Any
    user: Any
    facility: Any
    zone: ZoneInfo
    providers: list[Any]
    rooms: list[Any]
    types: dict[str, Any]
    history_start: date
    chosen: date


def weekdays(first: date, last: date) -> list[date]:
    return [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if (first + timedelta(days=n)).weekday() < 5
    ]


def history_start_for(today: date) -> date:
    start = today - timedelta(days=HISTORY_DAYS)
    while start.weekday() >= 5:
        start += timedelta(days=1)
    return start


def chosen_day_for(history_start: date) -> date:
    """The full day: the first Wednesday at least a week after the seeding day."""
    chosen = history_start + timedelta(days=HISTORY_DAYS + 8)
    while chosen.weekday() != 2:
        chosen += timedelta(days=1)
    return chosen


def ensure_clinic(org: Any, user: Any) -> Clinic:
    """Providers, availability rules, rooms and visit types, through the services (once)."""
    from carebench.core import clock
    from carebench.core.actor import Actor
    from carebench.core.models import Facility
    from carebench.core.npi import npi_check_digit
    from carebench.scheduling import services as sched
    from carebench.scheduling.demo import VISIT_TYPES
    from carebench.scheduling.models import Appointment, AppointmentType, Provider, Resource

    facility = Facility.objects.get(organization=org, name="Bench Clinic")
    zone = ZoneInfo(facility.time_zone)
    first = Appointment.objects.filter(organization=org).order_by("start").first()
    # Seeded earlier: the dates follow from the first visit (bookings never go into the past).
    history_start = (
        first.start.astimezone(zone).date()
        if first is not None
        else history_start_for(clock.today(facility.time_zone))
    )
    actor = Actor.system(org, user=user)
    if not Provider.objects.filter(organization=org).exists():
        started = time.perf_counter()
        for n in range(PROVIDERS):
            body = f"1{770000 + n:08d}"
            provider = sched.create_provider(
                actor=actor,
                family_name=FAMILY[n % len(FAMILY)],
                given_name=GIVEN[(n * 7) % len(GIVEN)],
                credentials=["MD", "DO", "NP", "PA-C"][n % 4],
                npi=body + str(npi_check_digit(body)),
                facilities=[facility],
            )
            for begin, end in ((dtime(8), dtime(12)), (dtime(13), dtime(17))):
                # The templates start when the clinic's history starts (two years back).
                sched.add_availability_rule(
                    actor=actor,
                    provider=provider,
                    facility=facility,
                    rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                    start_time=begin,
                    end_time=end,
                    starts_on=history_start,
                )
        for n in range(ROOMS):
            kind = "exam" if n < 48 else ["procedure", "lab", "ekg"][n % 3]
            sched.create_resource(
                actor=actor,
                facility=facility,
                name=f"Room {n + 1:02d}",
                room_type=kind,
                sort_order=n,
            )
        for name, minutes, colour, room_type, overbook in VISIT_TYPES:
            sched.create_appointment_type(
                actor=actor,
                name=name,
                duration_minutes=minutes,
                color=colour,
                room_type=room_type,
                allow_overbook=overbook,
            )
        print(f"clinic set up through the services in {time.perf_counter() - started:.1f} s")
    return Clinic(
        org=org,
        user=user,
        facility=facility,
        zone=zone,
        providers=list(Provider.objects.filter(organization=org).order_by("id")),
        rooms=list(Resource.objects.filter(organization=org, facility=facility).order_by("id")),
        types={t.name: t for t in AppointmentType.objects.filter(organization=org)},
        history_start=history_start,
        chosen=chosen_day_for(history_start),
    )


def sqlite_param_limit(limit: int) -> None:
    """Bench seeding only: let bulk_create send ~30x more rows per INSERT on SQLite (3.32+
    allows 32,766 variables; Django assumes 999). Put back to 999 before timing."""
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.features.max_query_params = limit


def cell_start(day: date, cell: int, zone: ZoneInfo) -> datetime:
    """The 24 twenty-minute cells of a clinic day: 8:00-12:00 and 13:00-17:00."""
    hour, index = (8, cell) if cell < 12 else (13, cell - 12)
    return datetime.combine(day, dtime(hour), tzinfo=zone) + timedelta(minutes=20 * index)


def seed_appointments(clinic: Clinic) -> float:
    """199,000 visits spread over the weekdays of two years back and four months ahead, plus a
    full chosen day (25 per provider, flow steps and encounters as at 10:30 that day)."""
    from django.db import connection, transaction

    from carebench.core import clock
    from carebench.encounters.models import Encounter
    from carebench.patients.models import Patient
    from carebench.scheduling.demo import REASONS
    from carebench.scheduling.models import Appointment, AppointmentStep, Status

    org = clinic.org
    have = Appointment.objects.filter(organization=org).count()
    if have >= APPOINTMENTS:
        print(f"{have:,} appointments already present")
        return 0.0
    if have:
        raise SystemExit(
            f"{have:,} appointments present but fewer than {APPOINTMENTS:,}: "
            "an earlier seeding stopped half way; delete the bench database"
        )
    started = time.perf_counter()
    rng = random.Random(SEED)
    zone = clinic.zone
    now = clock.now()
    patient_ids = list(Patient.objects.filter(organization=org).values_list("id", flat=True))
    types = clinic.types
    short = [
        types["Follow-up"],
        types["Follow-up"],
        types["Sick visit"],
        types["Follow-up"],
        types["EKG"],
        types["Injection / nurse visit"],
    ]
    long_ = [types["New patient"], types["Annual physical"]]
    exam_rooms = [r.pk for r in clinic.rooms if r.room_type == "exam"]
    days = [
        d
        for d in weekdays(
            clinic.history_start, clinic.history_start + timedelta(days=HISTORY_DAYS + FUTURE_DAYS)
        )
        if d != clinic.chosen
    ]
    today = clinic.history_start + timedelta(days=HISTORY_DAYS)

    # How many of the 24 cells each provider-day holds: past days ~35% full, the near future
    # busier than the far future; then nudge counts so the total is exact.
    wanted = APPOINTMENTS - PROVIDERS * FULL_DAY_PER_PROVIDER
    weights = []
    for day in days:
        ahead = (day - today).days
        weights.append(1.0 if ahead <= 0 else max(0.15, 1.0 - ahead / FUTURE_DAYS))
    scale = wanted / (sum(weights) * PROVIDERS)
    counts = {
        (d, p): min(24, max(0, round(rng.gauss(w * scale, 2))))
        for d, w in zip(days, weights, strict=True)
        for p in range(PROVIDERS)
    }
    keys = list(counts)
    while (total := sum(counts.values())) != wanted:
        key = rng.choice(keys)
        if total < wanted and counts[key] < 24:
            counts[key] += 1
        elif total > wanted and counts[key] > 0:
            counts[key] -= 1

    def make(
        provider_id: int,
        kind: Any,
        start: datetime,
        patient_id: int,
        status: str,
        room_id: int | None,
        changed: datetime,
    ) -> Any:
        return Appointment(
            organization_id=org.pk,
            created_by_id=clinic.user.pk,
            patient_id=patient_id,
            provider_id=provider_id,
            facility_id=clinic.facility.pk,
            appointment_type_id=kind.pk,
            room_id=room_id,
            start=start,
            end=start + timedelta(minutes=kind.duration_minutes),
            status=status,
            status_changed_at=changed,
            reason=rng.choice(REASONS),
            overbooked=kind.allow_overbook,
        )

    def rows() -> Any:
        for (day, p_index), count in counts.items():
            provider_id = clinic.providers[p_index].pk
            cells = sorted(rng.sample(range(24), count))
            taken = set(cells)
            for cell in cells:
                start = cell_start(day, cell, zone)
                kind = rng.choice(short)
                if rng.random() < 0.2 and cell % 12 != 11 and cell + 1 not in taken:
                    kind = rng.choice(long_)
                    taken.add(cell + 1)
                roll = rng.random()
                if start < now:
                    status = (
                        Status.DONE
                        if roll < 0.84
                        else Status.NO_SHOW
                        if roll < 0.90
                        else Status.CANCELLED
                    )
                    room = rng.choice(exam_rooms) if status == Status.DONE else None
                    changed = start + timedelta(minutes=45)
                else:
                    status = Status.BOOKED if roll < 0.93 else Status.CANCELLED
                    room, changed = None, now - timedelta(days=rng.randint(1, 60))
                yield make(provider_id, kind, start, rng.choice(patient_ids), status, room, changed)

    stream = rows()
    done = 0
    while batch := list(itertools.islice(stream, BATCH)):
        with transaction.atomic():
            Appointment.objects.bulk_create(batch)
        done += len(batch)
        if done % 50_000 < BATCH:
            print(
                f"  {done:,}/{wanted:,} appointments ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )

    # The chosen day: 25 visits per provider (13 in the morning: eleven 20-minute visits and
    # two 10-minute lab draws; 12 in the afternoon), each with a distinct patient, moved along
    # the flow as they would be at 10:30 that morning (steps, rooms, encounters).
    board_at = datetime.combine(clinic.chosen, dtime(10, 30), tzinfo=zone)
    pool = rng.sample(patient_ids, PROVIDERS * FULL_DAY_PER_PROVIDER)
    twenty = [types["Follow-up"], types["Sick visit"]]
    full: list[Any] = []
    for p_index, provider in enumerate(clinic.providers):
        starts = [(cell_start(clinic.chosen, c, zone), rng.choice(twenty)) for c in range(11)]
        starts += [
            (datetime.combine(clinic.chosen, dtime(11, m), tzinfo=zone), types["Lab draw"])
            for m in (40, 50)
        ]
        starts += [(cell_start(clinic.chosen, c, zone), rng.choice(twenty)) for c in range(12, 24)]
        for n, (start, kind) in enumerate(starts):
            full.append(
                make(
                    provider.pk,
                    kind,
                    start,
                    pool[p_index * FULL_DAY_PER_PROVIDER + n],
                    Status.BOOKED,
                    None,
                    start - timedelta(days=3),
                )
            )
    plan = [
        (Status.ARRIVED, -8, -10),
        (Status.ROOMED, 6, 5),
        (Status.READY, 13, 14),
        (Status.WITH_PROVIDER, 20, 22),
        (Status.CHECKOUT, 42, 45),
        (Status.DONE, 48, 45),
    ]
    trails = []
    for n, appt in enumerate(full):
        age = (board_at - appt.start).total_seconds() / 60
        trail = [(Status.BOOKED, appt.start - timedelta(days=3))]
        trail += [
            (status, appt.start + timedelta(minutes=offset))
            for status, offset, after in plan
            if age > after
        ]
        appt.status, appt.status_changed_at = trail[-1]
        appt.room_id = clinic.rooms[n % len(clinic.rooms)].pk if len(trail) > 2 else None
        trails.append(trail)
    with transaction.atomic():
        created = Appointment.objects.bulk_create(full)
        steps, encounters = [], []
        for appt, trail in zip(created, trails, strict=True):
            steps += [
                AppointmentStep(
                    organization_id=org.pk,
                    appointment_id=appt.pk,
                    status=s,
                    at=at,
                    by_id=clinic.user.pk,
                    room_id=appt.room_id if s == Status.ROOMED else None,
                )
                for s, at in trail
            ]
            if len(trail) > 1:
                encounters.append(
                    Encounter(
                        organization_id=org.pk,
                        created_by_id=clinic.user.pk,
                        patient_id=appt.patient_id,
                        appointment_id=appt.pk,
                        facility_id=clinic.facility.pk,
                        provider_id=appt.provider_id,
                        started_at=trail[1][1],
                        chief_complaint=appt.reason,
                        status=Encounter.Status.FINISHED
                        if appt.status == Status.DONE
                        else Encounter.Status.IN_PROGRESS,
                    )
                )
        AppointmentStep.objects.bulk_create(steps)
        Encounter.objects.bulk_create(encounters)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    elapsed = time.perf_counter() - started
    print(
        f"seeded {wanted + len(full):,} appointments in {elapsed:.1f} s "
        f"(chosen day {clinic.chosen:%a %Y-%m-%d}: {len(full):,})"
    )
    return elapsed


def seed_vitals(clinic: Clinic) -> float:
    """125,000 vital-sign sets of 8 observations each (1,000,000 rows) since 2015, over many
    patients; ten patients have 600 sets each (daily vitals for years)."""
    from django.db import connection, transaction

    from carebench.core import clock
    from carebench.encounters import vitals as rules
    from carebench.encounters.models import Observation, VitalSigns
    from carebench.patients.models import Patient

    org = clinic.org
    have = VitalSigns.objects.filter(organization=org).count()
    if have >= VITAL_SETS:
        print(f"{have:,} vital-sign sets already present")
        return 0.0
    if have:
        raise SystemExit(
            f"{have:,} vital-sign sets present but fewer than {VITAL_SETS:,}: "
            "an earlier seeding stopped half way; delete the bench database"
        )
    started = time.perf_counter()
    rng = random.Random(SEED + 1)
    patients = list(
        Patient.objects.filter(organization=org).order_by("id").values_list("id", "birth_date")
    )
    heavy = patients[:HEAVY_PATIENTS]
    now = clock.now()
    epoch = datetime(2015, 1, 1, tzinfo=ZoneInfo("UTC"))
    kinds = rules.KINDS
    units = {"temperature": "F", "weight": "lb", "height": "cm", "head_circumference": "cm"}

    def sets() -> Any:
        for n in range(VITAL_SETS):
            if n < HEAVY_PATIENTS * HEAVY_SETS_EACH:
                patient_id, born = heavy[n % HEAVY_PATIENTS]
                taken = now - timedelta(days=n // HEAVY_PATIENTS + 1, minutes=rng.randint(0, 600))
            else:
                patient_id, born = rng.choice(patients)
                first = max(epoch, datetime.combine(born, dtime(12), tzinfo=ZoneInfo("UTC")))
                span = max(int((now - first).total_seconds()), 3600)
                taken = first + timedelta(seconds=rng.randint(0, span - 60))
            yield patient_id, taken

    def observations(vital_set: Any) -> list[Any]:
        common = {
            "organization_id": org.pk,
            "created_by_id": clinic.user.pk,
            "patient_id": vital_set.patient_id,
            "vital_signs_id": vital_set.pk,
            "effective_at": vital_set.taken_at,
        }
        systolic = rng.randint(100, 165)
        values = [
            ("heart_rate", Decimal(rng.randint(55, 100))),
            ("temperature", Decimal(f"{rng.uniform(36.3, 37.6):.1f}")),
            ("respiratory_rate", Decimal(rng.randint(12, 20))),
            ("spo2", Decimal(rng.randint(94, 100))),
            ("height", Decimal(f"{rng.uniform(150, 192):.1f}")),
            ("weight", Decimal(f"{rng.uniform(50, 115):.1f}")),
            ("pain", Decimal(rng.choice([0, 0, 0, 1, 2, 3, 5]))),
        ]
        rows = [
            Observation(
                code=rules.BP_PANEL_LOINC,
                name="blood_pressure",
                value=Decimal(systolic),
                value2=Decimal(int(systolic * 0.63)),
                unit="mm[Hg]",
                flag="high" if systolic >= 140 else "normal",
                flag2="normal",
                **common,
            )
        ]
        rows += [
            Observation(
                code=kinds[name].loinc, name=name, value=value, unit=kinds[name].unit, **common
            )
            for name, value in values
        ]
        return rows

    stream = sets()
    per_batch = BATCH // OBS_PER_SET
    done = 0
    while chunk := list(itertools.islice(stream, per_batch)):
        with transaction.atomic():
            created = VitalSigns.objects.bulk_create(
                [
                    VitalSigns(
                        organization_id=org.pk,
                        created_by_id=clinic.user.pk,
                        patient_id=patient_id,
                        taken_at=taken,
                        taken_by_id=clinic.user.pk,
                        bp_position="sitting",
                        bp_arm="left",
                        bp_cuff_size="adult",
                        temperature_route="oral",
                        units=units,
                    )
                    for patient_id, taken in chunk
                ]
            )
            Observation.objects.bulk_create(
                [row for vital_set in created for row in observations(vital_set)]
            )
        done += len(chunk)
        if done % 25_000 < per_batch:
            print(
                f"  {done:,}/{VITAL_SETS:,} vital-sign sets, {done * OBS_PER_SET:,} "
                f"observations ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    elapsed = time.perf_counter() - started
    print(
        f"seeded {VITAL_SETS:,} vital-sign sets ({VITAL_SETS * OBS_PER_SET:,} observations) "
        f"in {elapsed:.1f} s"
    )
    return elapsed


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Operation:
    name: str
    target: float | None
    run: Callable[[int], None]


def free_cells(
    clinic: Clinic, first: date, last: date, count: int, rng: random.Random
) -> list[tuple[Any, datetime]]:
    """Free 20-minute cells (provider, start) between two dates, away from the chosen day, in
    random order: each timed booking goes into a different one so that it can succeed."""
    from carebench.scheduling.models import ACTIVE_STATUSES, Appointment

    zone = clinic.zone
    begin = datetime.combine(first, dtime(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), dtime(0), tzinfo=zone)
    busy: dict[int, list[tuple[datetime, datetime]]] = {}
    for provider_id, start, finish in Appointment.objects.filter(
        organization=clinic.org, start__lt=end, end__gt=begin, status__in=ACTIVE_STATUSES
    ).values_list("provider_id", "start", "end"):
        busy.setdefault(provider_id, []).append((start, finish))
    found = []
    for day in weekdays(first, last):
        if day == clinic.chosen:
            continue
        for provider in clinic.providers:
            taken = busy.get(provider.pk, [])
            for cell in range(24):
                start = cell_start(day, cell, zone)
                finish = start + timedelta(minutes=20)
                if not any(s < finish and start < e for s, e in taken):
                    found.append((provider, start))
    rng.shuffle(found)
    if len(found) < count:
        raise SystemExit(f"only {len(found)} free cells left for the booking runs")
    return found[:count]


def build_operations(
    clinic: Clinic, args: argparse.Namespace, conflicts: dict[str, int]
) -> list[Operation]:
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from carebench.core import clock
    from carebench.core.actor import Actor
    from carebench.encounters import selectors as enc_selectors
    from carebench.encounters import services as enc_services
    from carebench.encounters.models import Encounter, Observation
    from carebench.encounters.vitals import VitalsEntry
    from carebench.patients.models import Patient
    from carebench.scheduling import selectors, services
    from carebench.scheduling.forms import slot_value

    org, user, facility = clinic.org, clinic.user, clinic.facility
    rng = random.Random(SEED + 2)
    actor = Actor(user=user, organization=org, client_address="127.0.0.1", channel="web")
    today = clock.today(facility.time_zone)
    adult_cutoff = today - timedelta(days=19 * 365)
    adults = list(
        Patient.objects.filter(
            organization=org, birth_date__lte=adult_cutoff, voided_at__isnull=True
        ).order_by("?")[:2000]
    )
    per_op = args.queries + args.warmup + 60  # + the profiling passes
    follow_up, new_patient = clinic.types["Follow-up"], clinic.types["New patient"]

    def url(name: str, *params: Any) -> str | None:
        try:
            return reverse(name, args=list(params))
        except NoReverseMatch:
            return None

    def client() -> Client:
        c = Client(HTTP_HOST="127.0.0.1")
        c.force_login(user)
        return c

    def expect(response: Any, status: int, what: str) -> None:
        if response.status_code != status:
            raise SystemExit(
                f"{what}: HTTP {response.status_code} (wanted {status}); is the page working?"
            )

    ops: list[Operation] = []

    # Day view: 40 provider columns, 1,000 visits.
    day_url = url("scheduling:day")
    if day_url:
        day_client = client()
        query = {"facility": facility.pk, "date": clinic.chosen.isoformat()}
        ops.append(
            Operation(
                f"day view page {day_url} (40 providers, 1,000 visits)",
                DAY_TARGET_MS,
                lambda i: expect(day_client.get(day_url, query), 200, "day view"),
            )
        )
    ops.append(
        Operation(
            "day view (selector only: day_view)" if not day_url else "  day_view selector alone",
            DAY_TARGET_MS,
            lambda i: selectors.day_view(org, facility, clinic.chosen),
        )
    )

    # Next open slots over 30 days across the 40 providers.
    def slots(i: int) -> None:
        first = today + timedelta(days=1 + i % 10)
        kind = follow_up if i % 2 else new_patient
        selectors.next_open_slots(
            org,
            kind,
            date_from=first,
            date_to=first + timedelta(days=30),
            facility=facility,
            limit=20,
        )

    ops.append(
        Operation("next open slots, 40 providers x 30 days (selector)", SLOTS_TARGET_MS, slots)
    )
    slots_url = url("scheduling:slots")
    if slots_url:
        slots_client = client()

        def slots_page(i: int) -> None:
            first = today + timedelta(days=1 + i % 10)
            kind = follow_up if i % 2 else new_patient
            expect(
                slots_client.get(
                    slots_url,
                    {
                        "appointment_type": kind.pk,
                        "facility": facility.pk,
                        "date": first.isoformat(),
                    },
                    HTTP_HX_REQUEST="true",
                ),
                200,
                "slots partial",
            )

        ops.append(
            Operation(
                f"open slots partial {slots_url} (page: 14 days, 24 slots)",
                SLOTS_TARGET_MS,
                slots_page,
            )
        )

    # Saving a full set of vitals (9 observations with the computed BMI), varying patients.
    def entry(i: int) -> VitalsEntry:
        systolic = 108 + i % 40
        return VitalsEntry(
            systolic=Decimal(systolic),
            diastolic=Decimal(64 + i % 20),
            bp_position="sitting",
            bp_arm="left",
            bp_cuff_size="adult",
            heart_rate=Decimal(60 + i % 30),
            respiratory_rate=Decimal(14 + i % 5),
            temperature=Decimal("98.4"),
            temperature_unit="F",
            temperature_route="oral",
            spo2=Decimal(95 + i % 5),
            height=Decimal(160 + i % 25),
            height_unit="cm",
            weight=Decimal(140 + i % 80),
            weight_unit="lb",
            pain=i % 4,
        )

    vitals_counter = itertools.count()
    ops.append(
        Operation(
            "save vitals: record_vitals (service, full set)",
            VITALS_TARGET_MS,
            lambda i: enc_services.record_vitals(
                actor=actor, patient=adults[next(vitals_counter) % len(adults)], entry=entry(i)
            ),
        )
    )
    if url("encounters:record_vitals", 1):
        visits = list(
            Encounter.objects.filter(
                organization=org, appointment__isnull=True, status=Encounter.Status.IN_PROGRESS
            )[:200]
        )
        for patient in adults[len(visits) : 200]:  # walk-in visits to post vitals to (untimed)
            visits.append(enc_services.open_walk_in(actor=actor, patient=patient))
        vitals_client = client()
        post_counter = itertools.count()

        def vitals_page(i: int) -> None:
            visit = visits[next(post_counter) % len(visits)]
            e = entry(i)
            data = {
                "systolic": e.systolic,
                "diastolic": e.diastolic,
                "bp_position": "sitting",
                "bp_arm": "left",
                "bp_cuff_size": "adult",
                "heart_rate": e.heart_rate,
                "respiratory_rate": e.respiratory_rate,
                "temperature": e.temperature,
                "temperature_unit": "F",
                "temperature_route": "oral",
                "spo2": e.spo2,
                "height": e.height,
                "weight": e.weight,
                "weight_unit": "lb",
                "pain": e.pain,
            }
            expect(
                vitals_client.post(reverse("encounters:record_vitals", args=[visit.pk]), data),
                302,
                "save vitals page",
            )
            # A browser follows the redirect, which shows the message and clears the messages
            # cookie; without this the cookie grows with every POST until it spills into the
            # session (a second write per request, timed as if it were the page's).
            vitals_client.cookies.pop("messages", None)

        ops.append(
            Operation("save vitals page POST /visits/<id>/vitals/", VITALS_TARGET_MS, vitals_page)
        )

    # Booking into free cells 3 to 12 weeks ahead (never the chosen day).
    cells = free_cells(
        clinic, today + timedelta(days=21), today + timedelta(days=84), 2 * per_op, rng
    )
    book_counter = itertools.count()

    def book(i: int) -> None:
        n = next(book_counter)
        provider, start = cells[n]
        try:
            services.book_appointment(
                actor=actor,
                request=services.BookingRequest(
                    patient=adults[(n * 7) % len(adults)],
                    provider=provider,
                    appointment_type=follow_up,
                    start=start,
                    facility=facility,
                    reason="Medication refill",
                ),
            )
        except services.BookingConflict:
            conflicts["book_appointment"] = conflicts.get("book_appointment", 0) + 1

    ops.append(Operation("book: book_appointment (service, free slot)", BOOK_TARGET_MS, book))
    book_url = url("scheduling:book")
    if book_url:
        book_client = client()

        def book_page(i: int) -> None:
            n = next(book_counter)
            provider, start = cells[n]
            response = book_client.post(
                book_url,
                {
                    "patient": adults[(n * 7) % len(adults)].pk,
                    "appointment_type": follow_up.pk,
                    "facility": facility.pk,
                    "provider": provider.pk,
                    "date": start.date().isoformat(),
                    "slot": slot_value(provider.pk, start),
                    "reason": "Knee pain",
                },
            )
            if response.status_code == 409:
                conflicts["book page"] = conflicts.get("book page", 0) + 1
            else:
                expect(response, 302, "book page")
            book_client.cookies.pop("messages", None)  # as after the browser's redirect

        ops.append(Operation(f"book page POST {book_url}", BOOK_TARGET_MS, book_page))

    # Flow board of the full day, as at 10:30 that morning (the page shows "today", so the
    # clock is frozen there; the board's session is signed in at that moment too).
    board_at = datetime.combine(clinic.chosen, dtime(10, 30), tzinfo=clinic.zone)
    board_url = url("scheduling:board")
    if board_url:
        with clock.frozen(board_at):
            board_client = client()

        def board(i: int) -> None:
            with clock.frozen(board_at):
                expect(board_client.get(board_url, {"facility": facility.pk}), 200, "flow board")

        ops.append(
            Operation(f"flow board page {board_url} (1,000 visits, clock at 10:30)", None, board)
        )

    def board_selector(i: int) -> None:
        with clock.frozen(board_at):
            selectors.flow_board(org, facility, clinic.chosen)

    ops.append(
        Operation(
            "flow board (selector)" if not board_url else "  flow_board selector alone",
            None,
            board_selector,
        )
    )

    # Vitals trend for the patients with the most observations.
    heavy = list(
        Observation.objects.filter(organization=org, code="85354-9")
        .values_list("patient_id", flat=True)
        .order_by("patient_id")
        .distinct()[:HEAVY_PATIENTS]
    )
    names = [
        "blood_pressure",
        "heart_rate",
        "temperature",
        "respiratory_rate",
        "spo2",
        "weight",
        "height",
        "pain",
    ]
    ops.append(
        Operation(
            "vitals trend: encounters.selectors.trend (600-set patient)",
            None,
            lambda i: enc_selectors.trend(org, heavy[i % len(heavy)], names[i % len(names)]),
        )
    )
    if url("encounters:vitals_history", 1):
        history_client = client()
        ops.append(
            Operation(
                "vitals history page /visits/patients/<id>/vitals/ (600 sets)",
                None,
                lambda i: expect(
                    history_client.get(
                        reverse("encounters:vitals_history", args=[heavy[i % len(heavy)]])
                    ),
                    200,
                    "vitals history",
                ),
            )
        )
    return ops


def count_queries(func: Callable[[int], None], calls: int, start: int) -> tuple[float, float]:
    """Queries per call and SQL time per call (ms) as Django records them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        for i in range(calls):
            func(start + i)
    sql_ms = sum(float(q.get("time") or 0) for q in ctx.captured_queries) * 1000
    return len(ctx.captured_queries) / calls, sql_ms / calls


def profile(func: Callable[[int], None], calls: int, start: int) -> str:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        func(start)
    slowest = sorted(ctx.captured_queries, key=lambda q: -float(q.get("time") or 0))[
        : int(os.environ.get("BENCH_QUERIES_SHOWN", "3"))
    ]
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(calls):
        func(start + 1 + i)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(14)
    stats.sort_stats("cumulative").print_stats(r"carebench|dateutil", 16)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    text = "\n".join(lines)
    text += "\n  slowest queries of one call:\n" + "\n".join(
        f"    {float(q['time']) * 1000:.1f} ms  {q['sql'][:300]}" for q in slowest
    )
    return text


def main() -> None:
    args = parse_args()
    if not args.database_url:
        path = ROOT / "var" / "bench" / "schedule.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        args.database_url = f"sqlite:///{path}"
    prepare_environment(args)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from rich.console import Console
    from rich.table import Table

    from carebench.encounters.models import Observation
    from carebench.patients.models import Patient
    from carebench.scheduling.models import Appointment

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    console = Console(width=max(130, Console().width))
    call_command("migrate", interactive=False, verbosity=0)
    sqlite_param_limit(32_000)
    seeding: dict[str, float] = {}
    started = time.perf_counter()
    org, user = ensure_org_and_user()
    seed_patients(org, PATIENTS)
    seeding["patients"] = time.perf_counter() - started
    clinic = ensure_clinic(org, user)
    seeding["appointments"] = seed_appointments(clinic)
    seeding["vitals"] = seed_vitals(clinic)
    sqlite_param_limit(999)
    if args.seed_only:
        return
    vendor, label = database_label()
    patients = Patient.objects.filter(organization=org).count()
    appointments = Appointment.objects.filter(organization=org).count()
    on_day = Appointment.objects.filter(
        organization=org,
        facility=clinic.facility,
        start__gte=datetime.combine(clinic.chosen, dtime(0), tzinfo=clinic.zone),
        start__lt=datetime.combine(clinic.chosen + timedelta(days=1), dtime(0), tzinfo=clinic.zone),
    ).count()
    observations = Observation.objects.filter(organization=org).count()
    console.print(
        f"[bold]{label}[/]: {patients:,} patients, {len(clinic.providers)} providers, "
        f"{appointments:,} appointments ({on_day:,} on {clinic.chosen:%a %Y-%m-%d}), "
        f"{observations:,} observations; {args.queries} timed calls each"
    )

    conflicts: dict[str, int] = {}
    table = Table(title=f"Schedule and vitals, {label} (server time in process, ms)")
    for column in ("operation", "p50", "p95", "p99", "max", "queries", "target p95", "ok"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    results: list[dict[str, Any]] = []
    misses: list[tuple[Operation, str]] = []
    for op in build_operations(clinic, args, conflicts):
        if args.only and not any(part in op.name for part in args.only.split(",")):
            continue
        timings = measure(op.run, args.queries, args.warmup)
        per_call, sql_ms = count_queries(op.run, 5, args.queries + args.warmup)
        stats = {
            "p50": percentile(timings, 50),
            "p95": percentile(timings, 95),
            "p99": percentile(timings, 99),
            "max": timings[-1],
        }
        passed = op.target is None or stats["p95"] <= op.target
        table.add_row(
            op.name,
            *(f"{stats[k]:.1f}" for k in ("p50", "p95", "p99", "max")),
            f"{per_call:.0f}",
            f"<= {op.target:.0f}" if op.target else "-",
            "-" if op.target is None else "[green]yes[/]" if passed else "[red]NO[/]",
        )
        for key, value in stats.items():
            results.append(
                {
                    "name": f"{op.name.strip()} {key}",
                    "database": label,
                    "unit": "ms",
                    "value": round(value, 3),
                    "target": op.target if key == "p95" else None,
                    "patients": patients,
                    "appointments": appointments,
                    "observations": observations,
                    "samples": len(timings),
                    "mean": round(statistics.fmean(timings), 3),
                    "queries_per_call": round(per_call, 1),
                    "sql_ms_per_call": round(sql_ms, 2),
                }
            )
        console.print(
            f"  {op.name.strip()}: p95 {stats['p95']:.1f} ms, {per_call:.0f} queries, "
            f"SQL {sql_ms:.1f} ms/call"
        )
        if not passed or args.profile:
            misses.append((op, profile(op.run, 40, args.queries + args.warmup + 10)))
    console.print(table)
    for name, value in seeding.items():
        if value:
            console.print(f"seeding {name}: {value:.1f} s")
    if conflicts:
        console.print(f"booking conflicts (not counted as failures): {conflicts}")
    for op, text in misses:
        console.rule(f"[red]missed[/] {op.name.strip()}")
        console.print(text, markup=False, highlight=False)
    if args.only:
        return
    out = ROOT / "bench" / "results" / f"schedule_vitals-{vendor}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
