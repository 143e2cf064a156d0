"""eMAR med-pass latency in a 120-resident assisted-living home (a benchmark, not a test).

    python bench/emar.py [--database-url URL] [--queries 300] [--warmup 20] [--seed-only]

Sets up its own database (default: SQLite file var/bench/emar.sqlite3; or e.g.
postgres://postgres@127.0.0.1:5432/carebench_bench_emar, created if missing), migrates it and
fills it once through the eMAR services: an organization, an assisted-living home with its nurse
and medication technician assigned, 120 residents admitted in rooms (each with a photo and an
allergy list), each with 10 scheduled orders (QD, BID, TID, QID, QHS; some with hold parameters,
a few controlled) and one or two PRN orders; half a year of documented doses (bulk, as
`record_dose` writes them), and the pass day's 08:00 pass half done (through `record_dose`).
Then it times, through Django's test Client signed in as the med tech (in process, full
middleware stack, audit writes included) and the selectors and services alone:

- the 08:00 med-pass page `GET /meds/homes/<id>/pass/?day=<pass day>&at=08:00` with the clock at
  08:30 that day, and `emar_selectors.pass_page` alone;
- documenting a dose `POST /meds/resident-orders/<pk>/record/` (outcome given, the scheduled
  time) and `emar_services.record_dose` alone, a different undocumented dose each call (the
  days before the pass day, going back: late but valid).

Prints p50/p95/p99/max and queries per call, and writes bench/results/emar-<vendor>.json in the
shape of the other results files. Targets (p95): pass list 50 ms, recording a dose 30 ms. An
operation that misses its target is profiled (queries and SQL time per call, the slowest
queries, the hottest functions).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
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
    measure,
    percentile,
    prepare_environment,
)

PASS_TARGET_MS = 50.0
RECORD_TARGET_MS = 30.0

ORG_SLUG = "bench-emar"
HOME_NAME = "Bench Oaks Assisted Living"
RESIDENTS = 120
ORDER_DAYS = 365  # every order started a year before the pass day
HISTORY_FROM, HISTORY_TO = 365, 181  # days before the pass day with documented doses (bulk)
POOL_DAYS = 180  # days before the pass day whose doses the timed calls document (D-1 back)
PASS_AT = dtime(8, 0)
CLOCK_AT = dtime(8, 30)  # the page is looked at half way through the 08:00 pass
HALF_DONE = RESIDENTS // 2  # residents whose 08:00 doses are documented on the pass day
AWAY = (7, 55, 99)  # residents (index in room order) on a leave of absence over the 08:00 pass
BATCH = 10_000
SEED = 9876
PRESCRIBER = "Samuel Chen, MD"
NORMAL_VITALS = {
    "pulse": Decimal(72),
    "systolic": Decimal(128),
    "diastolic": Decimal(78),
    "glucose": Decimal(142),
}

# drug, strength, form, dose, route, options (hold_text, instructions, controlled)
Drug = tuple[str, str, str, str, str, dict[str, Any]]
QD: list[Drug] = [
    ("Lisinopril", "10 mg", "tablet", "1 tablet", "oral", {"hold_text": "hold if systolic < 100"}),
    ("Amlodipine", "5 mg", "tablet", "1 tablet", "oral", {"hold_text": "hold if sbp < 100"}),
    ("Sertraline", "50 mg", "tablet", "1 tablet", "oral", {}),
    ("Furosemide", "20 mg", "tablet", "1 tablet", "oral", {"instructions": "weigh daily"}),
    ("Potassium chloride ER", "10 mEq", "tablet", "1 tablet", "oral", {}),
    ("Aspirin", "81 mg", "tablet", "1 tablet", "oral", {"instructions": "with food"}),
    ("Vitamin D3", "1000 unit", "tablet", "1 tablet", "oral", {}),
    ("Omeprazole", "20 mg", "capsule", "1 capsule", "oral", {"instructions": "before breakfast"}),
    ("Levothyroxine", "75 mcg", "tablet", "1 tablet", "oral", {"instructions": "empty stomach"}),
    ("Donepezil", "10 mg", "tablet", "1 tablet", "oral", {}),
    ("Fluticasone nasal spray", "50 mcg", "spray", "1 spray each nostril", "nasal", {}),
    ("Docusate", "100 mg", "capsule", "1 capsule", "oral", {}),
]
BID: list[Drug] = [
    (
        "Metoprolol tartrate",
        "25 mg",
        "tablet",
        "1 tablet",
        "oral",
        {"hold_text": "hold if pulse < 60"},
    ),
    (
        "Carvedilol",
        "6.25 mg",
        "tablet",
        "1 tablet",
        "oral",
        {"hold_text": "hold if pulse < 60 or systolic < 100"},
    ),
    ("Metformin", "500 mg", "tablet", "1 tablet", "oral", {"instructions": "with meals"}),
    ("Timolol 0.5% eye drops", "0.5%", "solution", "1 drop each eye", "ophthalmic", {}),
    ("Gabapentin", "300 mg", "capsule", "1 capsule", "oral", {}),
    ("Senna", "8.6 mg", "tablet", "2 tablets", "oral", {}),
    ("Polyethylene glycol", "17 g", "powder", "17 g in 8 oz water", "oral", {}),
    ("Glipizide", "5 mg", "tablet", "1 tablet", "oral", {"hold_text": "hold if glucose < 70"}),
]
TID: list[Drug] = [
    ("Carbidopa-levodopa", "25-100 mg", "tablet", "1 tablet", "oral", {}),
    ("Acetaminophen", "650 mg", "tablet", "2 tablets", "oral", {}),
    ("Calcium carbonate", "500 mg", "tablet", "1 tablet", "oral", {"instructions": "with meals"}),
]
QID: list[Drug] = [
    ("Artificial tears", "1%", "solution", "1 drop each eye", "ophthalmic", {}),
    ("Nystatin suspension", "100,000 unit/mL", "suspension", "5 mL swish and swallow", "oral", {}),
]
QHS: list[Drug] = [
    ("Atorvastatin", "20 mg", "tablet", "1 tablet", "oral", {}),
    ("Melatonin", "3 mg", "tablet", "1 tablet", "oral", {}),
    ("Mirtazapine", "15 mg", "tablet", "1 tablet", "oral", {}),
    ("Trazodone", "50 mg", "tablet", "1 tablet", "oral", {}),
    ("Latanoprost eye drops", "0.005%", "solution", "1 drop each eye", "ophthalmic", {}),
]
CONTROLLED_BID: Drug = (
    "Oxycodone ER",
    "10 mg",
    "tablet",
    "1 tablet",
    "oral",
    {"controlled": "II", "instructions": "do not crush"},
)
PRN_ORDERS = [
    ("Acetaminophen", "500 mg", "tablet", "2 tablets", "pain or fever", 360, 4, ""),
    ("Lorazepam", "0.5 mg", "tablet", "1 tablet", "anxiety", 480, 2, "IV"),
    ("Ondansetron ODT", "4 mg", "tablet", "1 tablet", "nausea", 480, 3, ""),
    ("Milk of magnesia", "400 mg/5 mL", "suspension", "30 mL", "constipation", 1440, 1, ""),
]
GIVEN = ["Ada", "Bea", "Cora", "Dora", "Edna", "Fay", "Gus", "Hal", "Ivy", "June", "Karl", "Lou"]
FAMILY = [
    "Oak",
    "Birch",
    "Cedar",
    "Elm",
    "Fir",
    "Hazel",
    "Larch",
    "Maple",
    "Pine",
    "Rowan",
    "Spruce",
    "Willow",
]


SUFFIX = ["", "wood", "field", "ridge", "brook", "well", "stone", "ford", "hill", "land"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--queries", type=int, default=300, help="timed calls per operation")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls per operation")
    parser.add_argument("--seed-only", action="store_true", help="fill the database and stop")
    parser.add_argument("--profile", action="store_true", help="profile every timed operation")
    parser.add_argument(
        "--only",
        default="",
        help="time only operations whose name contains one of these comma-separated words (no JSON)",
    )
    return parser.parse_args()


# --- seeding --------------------------------------------------------------------------------
# The home, its staff, residents, photos, allergies, orders, absences and the pass day's
# documented doses go through the real services (about 2,000 service calls, ~20-40 s). Only
# the half year of documented history (some 400,000 dose records) is bulk-inserted: rows as
# `record_dose` writes them, without its audit events or count-sheet entries.


@dataclass
class Home:
    org: Any
    facility: Any
    nurse: Any
    medtech: Any
    zone: ZoneInfo
    pass_day: date


def sqlite_param_limit(limit: int) -> None:
    """Bench seeding only: more rows per INSERT on SQLite (see schedule_vitals.py)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.features.max_query_params = limit


def photo_bytes(rng: random.Random) -> bytes:
    """A synthetic 320x320 JPEG (about 20 KB), the size of an ID photo taken for the MAR."""
    from PIL import Image, ImageDraw, ImageFilter

    image = Image.new("RGB", (320, 320), tuple(rng.randint(120, 200) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y, r = rng.randint(0, 320), rng.randint(0, 320), rng.randint(5, 80)
        draw.ellipse(
            (x - r, y - r, x + r, y + r), fill=tuple(rng.randint(0, 255) for _ in range(3))
        )
    noise = Image.effect_noise((320, 320), 24).convert("RGB")
    image = Image.blend(image.filter(ImageFilter.GaussianBlur(2)), noise, 0.15)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def room_of(index: int) -> str:
    """Rooms 101-160 (singles) and 201A/201B-230A/230B (shared)."""
    if index < 60:
        return str(101 + index)
    n = index - 60
    return f"{201 + n // 2}{'AB'[n % 2]}"


def ensure_home() -> Home:
    """The organization, the home, the nurse and the med tech assigned to it (once)."""
    from carebench.accounts.models import User
    from carebench.accounts.services import create_user
    from carebench.core import clock
    from carebench.core.actor import Actor
    from carebench.core.models import Facility, Organization
    from carebench.meds import emar_services as emar
    from carebench.meds.emar_models import Assignment, ResidentOrder

    org, _ = Organization.objects.get_or_create(
        slug=ORG_SLUG, defaults={"name": "Bench Senior Living"}
    )
    facility, _ = Facility.objects.get_or_create(
        organization=org,
        name=HOME_NAME,
        defaults={"state": "TX", "kind": Facility.Kind.ASSISTED_LIVING},
    )
    users = {}
    for username, role, first, last, title in (
        ("bench-emar-nurse", "nurse", "Nora", "Reyes", "LVN"),
        ("bench-emar-medtech", "medtech", "Marcus", "Tate", "CMA-AL"),
    ):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = create_user(
                actor=None,
                organization=org,
                username=username,
                password=None,
                roles=[role],
                first_name=first,
                last_name=last,
                title=title,
            )
        users[role] = user
    first_order = ResidentOrder.objects.filter(organization=org).order_by("start_date").first()
    pass_day = (
        first_order.start_date + timedelta(days=ORDER_DAYS)
        if first_order is not None
        else clock.today(facility.time_zone)
    )
    actor = Actor.system(org, user=users["nurse"])
    for user in users.values():
        if not Assignment.objects.filter(user=user, facility=facility).exists():
            emar.assign_worker(
                actor=actor,
                user=user,
                facility=facility,
                starts_on=pass_day - timedelta(days=ORDER_DAYS + 30),
            )
    return Home(
        org=org,
        facility=facility,
        nurse=users["nurse"],
        medtech=users["medtech"],
        zone=ZoneInfo(facility.time_zone),
        pass_day=pass_day,
    )


def resident_plan(index: int, rng: random.Random) -> list[tuple[str, Drug]]:
    """Ten scheduled orders: usually 3 QD, 3 BID, 1 TID, 1 QID, 2 QHS (8 at the 08:00 pass),
    with some residents on 4 QD instead of the QID or 3 BID instead of the TID; every tenth has
    a controlled BID (oxycodone ER, C-II) in place of one BID."""
    freqs = ["QD", "QD", "QD", "BID", "BID", "BID", "TID", "QID", "QHS", "QHS"]
    if index % 3 == 1:
        freqs[7] = "QD"
    if index % 4 == 2:
        freqs[6] = "BID"
    pools = {"QD": QD, "BID": BID, "TID": TID, "QID": QID, "QHS": QHS}
    picked: dict[str, list[Drug]] = {
        code: rng.sample(pool, freqs.count(code)) for code, pool in pools.items()
    }
    plan = [(code, picked[code].pop()) for code in freqs]
    if index % 10 == 0:
        plan[3] = ("BID", CONTROLLED_BID)
    return plan


def seed_residents(home: Home) -> float:
    """120 patients registered, admitted in rooms, with photos and allergies, and their orders,
    all through the services; three residents on leave over the pass day's 08:00 pass."""
    from carebench.core.actor import Actor
    from carebench.meds import emar_services as emar
    from carebench.meds.emar_models import Residency
    from carebench.patients import services as patient_services

    org, facility = home.org, home.facility
    have = Residency.objects.filter(organization=org, facility=facility).count()
    if have >= RESIDENTS:
        print(f"{have} residents already admitted")
        return 0.0
    if have:
        raise SystemExit(
            f"{have} residents present but fewer than {RESIDENTS}: an earlier seeding stopped "
            "half way; delete the bench database"
        )
    started = time.perf_counter()
    rng = random.Random(SEED)
    actor = Actor(user=home.nurse, organization=org, client_address="127.0.0.1", channel="web")
    day = home.pass_day
    start = day - timedelta(days=ORDER_DAYS)
    orders = 0
    for index in range(RESIDENTS):
        patient = patient_services.register_patient(
            actor=actor,
            details=patient_services.PatientDetails(
                family_name=FAMILY[index % len(FAMILY)] + SUFFIX[index // len(FAMILY) % 10],
                given_name=GIVEN[(index * 5) % len(GIVEN)],
                birth_date=date(1930 + index % 25, 1 + index % 12, 1 + index % 28),
                sex="female" if index % 3 else "male",
                state="TX",
            ),
        )
        if index % 3 == 0:
            patient_services.record_no_known_allergies(actor=actor, patient=patient)
        else:
            for substance, reaction in rng.sample(
                [("Penicillin", "Hives"), ("Sulfa drugs", "Rash"), ("Codeine", "Nausea")],
                1 + index % 2,
            ):
                patient_services.add_allergy(
                    actor=actor, patient=patient, substance=substance, reaction=reaction
                )
        residency = emar.admit_resident(
            actor=actor,
            patient=patient,
            facility=facility,
            room=room_of(index),
            admitted_on=start - timedelta(days=5 + (index * 7) % 400),
            prescriber_name=PRESCRIBER,
            pharmacy_name="Round Rock Long-Term Care Pharmacy",
            pharmacy_phone="5125550177",
        )
        emar.set_photo(actor=actor, residency=residency, data=photo_bytes(rng))
        for frequency, (drug, strength, form, dose, route, extra) in resident_plan(index, rng):
            options = dict(extra)
            quantity = 6 if rng.random() < 0.02 else 90  # a few cards to reorder
            emar.add_order(
                actor=actor,
                residency=residency,
                drug_name=drug,
                strength=strength,
                form=form,
                dose=dose,
                route=route,
                frequency=frequency,
                start_date=start,
                prescriber=PRESCRIBER,
                quantity_on_hand=quantity,
                **options,
            )
            orders += 1
        prns = PRN_ORDERS[:1] + ([PRN_ORDERS[1 + index % 3]] if index % 2 == 0 else [])
        for drug, strength, form, dose, indication, interval, per_day, controlled in prns:
            emar.add_order(
                actor=actor,
                residency=residency,
                drug_name=drug,
                strength=strength,
                form=form,
                dose=dose,
                route="oral",
                frequency="PRN",
                start_date=start,
                prescriber=PRESCRIBER,
                prn_indication=indication,
                prn_min_interval_minutes=interval,
                prn_max_per_day=per_day,
                controlled=controlled,
                quantity_on_hand=30,
            )
            orders += 1
        if index in AWAY:
            away = emar.start_absence(
                actor=actor,
                residency=residency,
                kind="leave",
                starts_at=datetime.combine(day, dtime(7), tzinfo=home.zone),
                note="Family outing",
            )
            emar.end_absence(
                actor=actor,
                absence=away,
                ends_at=datetime.combine(day, dtime(13), tzinfo=home.zone),
            )
        if (index + 1) % 20 == 0:
            print(
                f"  {index + 1}/{RESIDENTS} residents, {orders:,} orders "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    elapsed = time.perf_counter() - started
    print(f"admitted {RESIDENTS} residents with {orders:,} orders in {elapsed:.1f} s (services)")
    return elapsed


def schedule_of(order: Any) -> Any:
    from carebench.meds import medpass

    return medpass.OrderSchedule(
        order_id=order.pk,
        resident_id=order.residency_id,
        drug=order.drug_name,
        frequency=order.frequency,
        times=tuple(dtime.fromisoformat(t) for t in order.times),
        start=order.start_date,
        stop=order.stop_date,
        prn=order.prn,
        weekday=order.weekday,
    )


def seed_history(home: Home) -> float:
    """Documented doses for the days HISTORY_FROM..HISTORY_TO before the pass day (about half
    a year, 400,000 rows): given on time mostly, some refused, held by a vital or not
    available; PRN doses now and then with their effectiveness checks answered. Bulk-inserted
    with `core.bulk.bulk_insert` (the HL7 import's batch path), created_at set to the time
    documented."""
    from django.db import connection, transaction
    from django.db.models import F

    from carebench.core.bulk import bulk_insert
    from carebench.meds import medpass
    from carebench.meds.emar_models import DoseRecord, ResidentOrder

    org = home.org
    first = home.pass_day - timedelta(days=HISTORY_FROM)
    last = home.pass_day - timedelta(days=HISTORY_TO)
    zone_name = home.facility.time_zone
    if DoseRecord.objects.filter(
        organization=org, recorded_at__lt=datetime.combine(last, dtime(23, 59), tzinfo=home.zone)
    ).exists():
        print("documented history already present")
        return 0.0
    started = time.perf_counter()
    rng = random.Random(SEED + 1)
    orders = list(
        ResidentOrder.objects.filter(organization=org, residency__facility=home.facility).order_by(
            "pk"
        )
    )
    scheduled = [(o, schedule_of(o)) for o in orders if not o.prn]
    prn = [o for o in orders if o.prn]
    staff = [home.medtech.pk, home.medtech.pk, home.medtech.pk, home.nurse.pk]

    def rows() -> Iterator[Any]:
        day = first
        while day <= last:
            for order, schedule in scheduled:
                for at in medpass.doses_at(schedule, day, zone_name):
                    recorded = at + timedelta(minutes=rng.randint(-20, 45))
                    roll = rng.random()
                    outcome, reason, vital_name, vital_value = "given", "", "", None
                    vitals = {r["vital"]: str(NORMAL_VITALS[r["vital"]]) for r in order.hold_rules}
                    if roll < 0.025:
                        outcome, reason = "refused", "Resident declined"
                    elif roll < 0.03:
                        outcome, reason = "not_available", "Card empty; pharmacy called"
                    elif order.hold_rules and roll < 0.06:
                        rule = order.hold_rules[0]
                        low = Decimal(rule["value"]) - 4
                        outcome, vital_name, vital_value = "held", rule["vital"], low
                        vitals[rule["vital"]] = str(low)
                        reason = f"hold: {rule['vital']} {low} < {rule['value']}"
                    yield DoseRecord(
                        organization_id=org.pk,
                        created_by_id=rng.choice(staff),
                        order_id=order.pk,
                        residency_id=order.residency_id,
                        patient_id=order.patient_id,
                        scheduled_at=at,
                        recorded_at=recorded,
                        outcome=outcome,
                        reason=reason,
                        vital_name=vital_name,
                        vital_value=vital_value,
                        vitals=vitals,
                        late=recorded > at + timedelta(minutes=60),
                    )
            for order in prn:
                if rng.random() < 0.15:
                    at = datetime.combine(day, dtime(rng.randint(9, 19), rng.randint(0, 59)))
                    at = at.replace(tzinfo=home.zone)
                    yield DoseRecord(
                        organization_id=org.pk,
                        created_by_id=rng.choice(staff),
                        order_id=order.pk,
                        residency_id=order.residency_id,
                        patient_id=order.patient_id,
                        scheduled_at=None,
                        recorded_at=at,
                        outcome="given",
                        prn_reason=f"{order.prn_indication}: asked for it",
                        effectiveness_due_at=medpass.effectiveness_due(at, 60),
                        effectiveness="effective",
                        effectiveness_at=at + timedelta(minutes=45),
                        effectiveness_by_id=rng.choice(staff),
                    )
            day += timedelta(days=1)

    stream = rows()
    done = 0
    while batch := list(itertools.islice(stream, BATCH)):
        with transaction.atomic():
            created = bulk_insert(batch)
            DoseRecord.objects.filter(pk__gte=created[0].pk, pk__lte=created[-1].pk).update(
                created_at=F("recorded_at"), updated_at=F("recorded_at")
            )
        done += len(batch)
        if done % 100_000 < BATCH:
            print(f"  {done:,} dose records ({time.perf_counter() - started:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    elapsed = time.perf_counter() - started
    print(f"seeded {done:,} documented doses ({first} to {last}) in {elapsed:.1f} s (bulk)")
    return elapsed


def seed_pass_day(home: Home) -> float:
    """The pass day's 08:00 pass half done: the first 60 residents in room order, each dose
    through `record_dose` with the clock between 08:02 and 08:28 (some refused, some held by
    a pulse or a blood pressure taken at the cart)."""
    from carebench.core import clock
    from carebench.core.actor import Actor
    from carebench.meds import emar_selectors as selectors
    from carebench.meds import emar_services as emar
    from carebench.meds.emar_models import DoseRecord

    org, facility = home.org, home.facility
    middle = datetime.combine(home.pass_day, PASS_AT, tzinfo=home.zone)
    if DoseRecord.objects.filter(
        organization=org,
        scheduled_at__gte=middle - timedelta(hours=1),
        scheduled_at__lte=middle + timedelta(hours=1),
    ).exists():
        print(f"the {home.pass_day} 08:00 pass is already half done")
        return 0.0
    started = time.perf_counter()
    rng = random.Random(SEED + 2)
    actor = Actor(user=home.medtech, organization=org, client_address="127.0.0.1", channel="web")
    at = datetime.combine(home.pass_day, CLOCK_AT, tzinfo=home.zone)
    people = selectors.residents(org, facility)[:HALF_DONE]
    lines = [  # the page lists the doses of the resident open at the cart: one at a time
        line
        for person in people
        for line in selectors.pass_page(
            org, facility, day=home.pass_day, center=PASS_AT, now=at, open_residency=person.pk
        ).lines
    ]
    count = 0
    for n, line in enumerate(lines):
        if line.due.status == "away":
            continue
        order = line.order
        vitals = {r["vital"]: NORMAL_VITALS[r["vital"]] for r in order.hold_rules}
        roll = rng.random()
        options: dict[str, Any] = {"outcome": "given"}
        if roll < 0.04:
            options = {"outcome": "refused", "reason": "Resident declined, said later"}
        elif order.hold_rules and roll < 0.2:
            vitals[order.hold_rules[0]["vital"]] = Decimal(order.hold_rules[0]["value"]) - 6
            options = {"outcome": "held"}
        with clock.frozen(middle + timedelta(minutes=2 + n * 26 // (HALF_DONE * 8))):
            emar.record_dose(
                actor=actor,
                order=order,
                scheduled_at=line.due.scheduled_at,
                vitals=vitals,
                **options,
            )
        count += 1
    elapsed = time.perf_counter() - started
    print(f"documented {count} doses of the {home.pass_day} 08:00 pass in {elapsed:.1f} s")
    return elapsed


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Operation:
    name: str
    target: float | None
    run: Callable[[int], None]


def undocumented_doses(home: Home, wanted: int) -> list[tuple[Any, datetime]]:
    """`wanted` scheduled doses with no record, from the day before the pass day going back,
    in random order within each day (different orders and residents one after another)."""
    from carebench.meds import medpass
    from carebench.meds.emar_models import DoseRecord, ResidentOrder

    org = home.org
    oldest = home.pass_day - timedelta(days=POOL_DAYS)
    since = datetime.combine(oldest, dtime(0), tzinfo=home.zone)
    done = set(
        DoseRecord.objects.filter(
            organization=org, scheduled_at__gte=since, voided_at__isnull=True
        ).values_list("order_id", "scheduled_at")
    )
    orders = list(
        ResidentOrder.objects.filter(
            organization=org,
            residency__facility=home.facility,
            prn=False,
            status=ResidentOrder.Status.ACTIVE,
            voided_at__isnull=True,
        ).select_related("residency__facility", "residency__patient")
    )
    schedules = [(o, schedule_of(o)) for o in orders]
    rng = random.Random(SEED + 3)
    found: list[tuple[Any, datetime]] = []
    day = home.pass_day - timedelta(days=1)
    while len(found) < wanted and day >= oldest:
        today = [
            (order, at)
            for order, schedule in schedules
            for at in medpass.doses_at(schedule, day, home.facility.time_zone)
            if (order.pk, at) not in done
        ]
        rng.shuffle(today)
        found += today
        day -= timedelta(days=1)
    if len(found) < wanted:
        raise SystemExit(
            f"only {len(found)} undocumented doses left in the {POOL_DAYS} days before the pass "
            "day: delete the bench database to start afresh"
        )
    return found[:wanted]


def top_up(home: Home) -> None:
    """Refill cards running out (untimed), so that every timed dose can be given."""
    from carebench.core.actor import Actor
    from carebench.meds import emar_services as emar
    from carebench.meds.emar_models import ResidentOrder

    actor = Actor(user=home.nurse, organization=home.org, client_address="127.0.0.1")
    low = ResidentOrder.objects.filter(
        organization=home.org, prn=False, quantity_on_hand__lt=4
    ).select_related("residency__facility")
    for n, order in enumerate(low):
        emar.receive_refill(
            actor=actor,
            order=order,
            quantity=90,
            rx_number=f"RX{order.pk:06d}",
            card_label=f"card {n + 2}" if order.controlled else "",
        )


def build_operations(
    home: Home, args: argparse.Namespace, posted: list[tuple[int, datetime]]
) -> tuple[list[Operation], int]:
    from django.test import Client
    from django.urls import reverse

    from carebench.core import clock
    from carebench.core.actor import Actor
    from carebench.meds import emar_selectors as selectors
    from carebench.meds import emar_services as emar

    org, facility = home.org, home.facility
    looked_at = datetime.combine(home.pass_day, CLOCK_AT, tzinfo=home.zone)
    pass_url = reverse("meds:pass", args=[facility.pk])
    query = {"day": home.pass_day.isoformat(), "at": PASS_AT.strftime("%H:%M")}
    # The med tech works at the cart one resident at a time: the page lists every resident on
    # the pass with counts, and shows the doses of the one open (scanned or chosen).
    with clock.frozen(looked_at):
        summary = selectors.pass_page(
            org, facility, day=home.pass_day, center=PASS_AT, now=looked_at
        )
        first = summary.summaries[0].residency.pk
        page = selectors.pass_page(
            org, facility, day=home.pass_day, center=PASS_AT, now=looked_at, open_residency=first
        )
        pass_client = Client(HTTP_HOST="127.0.0.1")
        pass_client.force_login(home.medtech)
        response = pass_client.get(pass_url, {**query, "resident": first})
    if response.status_code != 200:
        raise SystemExit(f"pass page: HTTP {response.status_code}; is the page working?")
    rows = response.content.count(b"data-order=")
    if rows != len(page.lines):
        raise SystemExit(f"pass page shows {rows} doses, the selector {len(page.lines)}")
    lines = sum(s.total for s in summary.summaries)
    residents_on_pass = len(summary.summaries)
    ops: list[Operation] = []

    def pass_page(i: int) -> None:
        resident = summary.summaries[i % residents_on_pass].residency.pk
        with clock.frozen(looked_at):
            got = pass_client.get(pass_url, {**query, "resident": resident})
        if got.status_code != 200:
            raise SystemExit(f"pass page: HTTP {got.status_code}")

    def pass_summary_page(i: int) -> None:
        with clock.frozen(looked_at):
            got = pass_client.get(pass_url, query)
        if got.status_code != 200:
            raise SystemExit(f"pass page: HTTP {got.status_code}")

    def pass_selector(i: int) -> None:
        selectors.pass_page(
            org,
            facility,
            day=home.pass_day,
            center=PASS_AT,
            now=looked_at,
            open_residency=summary.summaries[i % residents_on_pass].residency.pk,
        )

    ops.append(
        Operation(
            f"med pass page, one resident open ({RESIDENTS} residents, {lines} doses on the pass)",
            PASS_TARGET_MS,
            pass_page,
        )
    )
    ops.append(
        Operation("  med pass page, the list of residents only", PASS_TARGET_MS, pass_summary_page)
    )
    ops.append(Operation("  pass_page selector alone", PASS_TARGET_MS, pass_selector))

    # Documenting doses: each call a different undocumented dose (the days before the pass day,
    # going back), given, with the vitals its hold parameters ask for.
    per_op = args.queries + args.warmup + 5 + 41  # + query counting + profiling
    top_up(home)
    doses = iter(undocumented_doses(home, 2 * per_op))
    actor = Actor(user=home.medtech, organization=org, client_address="127.0.0.1", channel="web")

    def vitals_for(order: Any) -> dict[str, Decimal]:
        return {r["vital"]: NORMAL_VITALS[r["vital"]] for r in order.hold_rules}

    def record_service(i: int) -> None:
        order, at = next(doses)
        emar.record_dose(
            actor=actor, order=order, outcome="given", scheduled_at=at, vitals=vitals_for(order)
        )

    ops.append(
        Operation(
            "record dose: record_dose (service, given, scheduled)",
            RECORD_TARGET_MS,
            record_service,
        )
    )
    record_client = Client(HTTP_HOST="127.0.0.1")
    record_client.force_login(home.medtech)
    back = f"{pass_url}?day={home.pass_day.isoformat()}&at=08:00"

    def record_page(i: int) -> None:
        order, at = next(doses)
        data = {
            "outcome": "given",
            "scheduled_at": at.astimezone(home.zone).isoformat(),
            "reason": "",
            "back": back,
        }
        for name, value in vitals_for(order).items():
            data[f"vital_{name}"] = str(value)
        got = record_client.post(reverse("meds:record", args=[order.pk]), data)
        if got.status_code != 302:
            raise SystemExit(f"record page: HTTP {got.status_code} (wanted 302)")
        posted.append((order.pk, at))
        # A browser follows the redirect to the pass page, which shows the message and clears
        # the messages cookie; without this the cookie grows with every POST until it spills
        # into the session (a second write per request).
        record_client.cookies.pop("messages", None)

    ops.append(
        Operation(
            "record dose page POST /meds/resident-orders/<pk>/record/",
            RECORD_TARGET_MS,
            record_page,
        )
    )
    return ops, lines


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
    """The queries of one call (the slowest three), then cProfile over `calls` calls: the
    hottest functions by own time, and by cumulative time in carebench and the template engine."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        func(start)
    # Read them now: the next request clears the connection's query log.
    queries = list(ctx.captured_queries)
    sql_ms = sum(float(q.get("time") or 0) for q in queries) * 1000
    slowest = sorted(queries, key=lambda q: -float(q.get("time") or 0))[:3]
    profiler = cProfile.Profile()
    wall = time.perf_counter()
    profiler.enable()
    for i in range(calls):
        func(start + 1 + i)
    profiler.disable()
    wall = (time.perf_counter() - wall) * 1000 / calls
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(16)
    stats.sort_stats("cumulative").print_stats(r"carebench|django/template/(base|defaulttags)", 22)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    text = (
        f"  one call: {len(queries)} queries, {sql_ms:.1f} ms SQL; "
        f"under the profiler {wall:.1f} ms/call\n"
    )
    text += "\n".join(lines)
    text += "\n  slowest queries of one call:\n" + "\n".join(
        f"    {float(q['time']) * 1000:.1f} ms  {q['sql'][:300]}" for q in slowest
    )
    return text


def main() -> None:
    args = parse_args()
    if not args.database_url:
        path = ROOT / "var" / "bench" / "emar.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        args.database_url = f"sqlite:///{path}"
    prepare_environment(args)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from rich.console import Console
    from rich.table import Table

    from carebench.meds.emar_models import DoseRecord, Residency, ResidentOrder

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    console = Console(width=max(130, Console().width))
    call_command("migrate", interactive=False, verbosity=0)
    seeding: dict[str, float] = {}
    home = ensure_home()
    seeding["residents and orders (services)"] = seed_residents(home)
    sqlite_param_limit(32_000)
    seeding["documented history (bulk)"] = seed_history(home)
    sqlite_param_limit(999)
    seeding["pass day (record_dose)"] = seed_pass_day(home)
    if args.seed_only:
        return
    vendor, label = database_label()
    org = home.org
    residents = Residency.objects.filter(organization=org, status="active").count()
    orders = ResidentOrder.objects.filter(organization=org, voided_at__isnull=True)
    scheduled, prn = orders.filter(prn=False).count(), orders.filter(prn=True).count()
    records_before = DoseRecord.objects.filter(organization=org).count()
    posted: list[tuple[int, datetime]] = []
    ops, lines = build_operations(home, args, posted)
    console.print(
        f"[bold]{label}[/]: {residents} residents, {scheduled:,} scheduled and {prn} PRN orders, "
        f"{records_before:,} dose records; pass {home.pass_day:%a %Y-%m-%d} 08:00 "
        f"({lines} doses in the window, clock at 08:30); {args.queries} timed calls each"
    )

    table = Table(title=f"eMAR med pass, {label} (server time in process, ms)")
    for column in ("operation", "p50", "p95", "p99", "max", "queries", "target p95", "ok"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    results: list[dict[str, Any]] = []
    misses: list[tuple[Operation, bool, str]] = []
    for op in ops:
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
                    "residents": residents,
                    "scheduled_orders": scheduled,
                    "prn_orders": prn,
                    "doses_on_pass": lines,
                    "dose_records": records_before,
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
            misses.append((op, passed, profile(op.run, 40, args.queries + args.warmup + 10)))
    if posted:  # the page redirects on a refused dose too: check that every POST wrote its row
        keys = {(order_id, at) for order_id, at in posted}
        found = {
            (o, a)
            for o, a in DoseRecord.objects.filter(
                organization=org, order_id__in={k[0] for k in keys}, voided_at__isnull=True
            ).values_list("order_id", "scheduled_at")
        }
        missing = keys - found
        if missing:
            raise SystemExit(f"{len(missing)} of {len(keys)} posted doses were not recorded")
    console.print(table)
    for name, value in seeding.items():
        if value:
            console.print(f"seeding {name}: {value:.1f} s")
    for op, passed, text in misses:
        console.rule(op.name.strip() if passed else f"[red]missed[/] {op.name.strip()}")
        console.print(text, markup=False, highlight=False)
    if args.only:
        return
    out = ROOT / "bench" / "results" / f"emar-{vendor}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
