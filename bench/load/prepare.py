"""The untimed set-up of a live-server benchmark, run inside Django before the server starts.

    python bench/load/prepare.py --organization SLUG --mat USER --out PLAN.json [options]

Reads the database named by DATABASE_URL and writes a JSON plan the load clients follow:

- the organization, its first facility, the day with the most visits booked from today on
  (the seeded busy day), a visit type for booking, and the data's size;
- a random sample of adult patients (id, MRN, date of birth, names) to search for and open;
- walk-in visits opened for some of them through `encounters.services.open_walk_in` (as the
  MAT), so that the timed vitals POSTs have visits to go to;
- free slots from `scheduling.selectors.next_open_slots` three to twelve weeks ahead (never the
  busy day), each for a different patient, so that every timed booking can succeed;
- with --lab-orders N: N CBC orders placed (`labs.services.place_order`, by a provider who signs
  in) with a labelled specimen each, and the ORU^R01 message with five results for each
  (written to --messages-out), for the HL7 listener;
- a bearer token for the MAT (`carebench token create`), valid one day.

The visits, orders and token stay in the database; each run adds its own.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organization", required=True, help="the organization's slug")
    parser.add_argument("--mat", required=True, help="the MAT's username (walk-ins, token)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--patients", type=int, default=2000, help="patients in the sample")
    parser.add_argument("--walk-ins", type=int, default=200)
    parser.add_argument("--slots", type=int, default=0, help="free slots to book into")
    parser.add_argument("--lab-orders", type=int, default=0)
    parser.add_argument("--messages-out", type=Path, default=None)
    parser.add_argument("--busy-day", default="", help="YYYY-MM-DD; default: found in the data")
    return parser.parse_args()


def busiest_day(org: Any, facility: Any, zone: ZoneInfo, today: date) -> tuple[date, int]:
    """The local day, from today on, with the most active visits at the facility."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from carebench.scheduling.models import ACTIVE_STATUSES, Appointment

    begin = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    row = (
        Appointment.objects.filter(
            organization=org, facility=facility, start__gte=begin, status__in=ACTIVE_STATUSES
        )
        .annotate(day=TruncDate("start", tzinfo=zone))
        .values("day")
        .annotate(visits=Count("id"))
        .order_by("-visits", "day")
        .first()
    )
    if row is None:
        return today, 0
    return row["day"], int(row["visits"])


def visits_on(org: Any, facility: Any, zone: ZoneInfo, day: date) -> int:
    from carebench.scheduling.models import ACTIVE_STATUSES, Appointment

    begin = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    return Appointment.objects.filter(
        organization=org,
        facility=facility,
        start__gte=begin,
        start__lt=begin + timedelta(days=1),
        status__in=ACTIVE_STATUSES,
    ).count()


def adults_sample(org: Any, count: int, today: date) -> list[dict[str, Any]]:
    from carebench.patients.models import Patient

    eighteen = today.replace(year=today.year - 18)
    rows = (
        Patient.objects.filter(organization=org, voided_at__isnull=True, birth_date__lte=eighteen)
        .order_by("?")
        .values("id", "mrn", "birth_date", "family_name", "given_name")[:count]
    )
    return [
        {
            "id": row["id"],
            "mrn": row["mrn"],
            "dob": row["birth_date"].strftime("%m/%d/%Y"),
            "family": row["family_name"],
            "given": row["given_name"],
        }
        for row in rows
    ]


def booking_type(org: Any) -> Any:
    from carebench.scheduling.models import AppointmentType

    types = list(AppointmentType.objects.filter(organization=org, is_active=True))
    if not types:
        raise SystemExit("the organization has no active visit type to book")
    for kind in types:
        if kind.name.lower().replace("-", " ") == "follow up":
            return kind
    return min(types, key=lambda kind: (kind.duration_minutes < 15, kind.duration_minutes))


def free_slots(
    org: Any, facility: Any, kind: Any, count: int, today: date, busy: date, zone: ZoneInfo
) -> list[dict[str, Any]]:
    from carebench.scheduling import selectors
    from carebench.scheduling.forms import slot_value

    found = selectors.next_open_slots(
        org,
        kind,
        date_from=today + timedelta(days=21),
        date_to=today + timedelta(days=84),
        facility=facility,
        limit=count * 4 + 100,
    )
    length = timedelta(minutes=kind.duration_minutes)
    taken: dict[int, list[datetime]] = {}
    slots = []
    for slot in found:  # in time order; open slots of one provider may overlap each other
        local = slot.start.astimezone(zone)
        mine = taken.setdefault(slot.provider.pk, [])
        if local.date() == busy or any(abs(slot.start - other) < length for other in mine):
            continue
        mine.append(slot.start)
        slots.append(
            {
                "provider": slot.provider.pk,
                "date": local.date().isoformat(),
                "slot": slot_value(slot.provider.pk, slot.start),
            }
        )
    if len(slots) < count:
        raise SystemExit(f"only {len(slots)} free slots found for the {count} bookings")
    # spread over providers and days, not the earliest cells of one morning
    slots.sort(key=lambda s: (s["slot"].split("|")[1][11:16], s["date"], s["provider"]))
    return slots[:count]


def assign_patients(
    org: Any, slots: list[dict[str, Any]], patients: list[dict[str, Any]], kind: Any
) -> None:
    """A patient for each slot, in turn, skipping one who already has a visit then."""
    from carebench.scheduling.models import ACTIVE_STATUSES, Appointment

    if not slots:
        return
    starts = [datetime.fromisoformat(slot["slot"].split("|", 1)[1]) for slot in slots]
    length = timedelta(minutes=kind.duration_minutes)
    busy: dict[int, list[tuple[datetime, datetime]]] = {}
    for patient_id, start, end in Appointment.objects.filter(
        organization=org,
        patient_id__in=[p["id"] for p in patients],
        start__lt=max(starts) + length,
        end__gt=min(starts),
        status__in=ACTIVE_STATUSES,
    ).values_list("patient_id", "start", "end"):
        busy.setdefault(patient_id, []).append((start, end))
    turn = 0
    for slot, start in zip(slots, starts, strict=True):
        for _ in range(len(patients)):
            candidate = patients[turn % len(patients)]["id"]
            turn += 1
            taken = busy.setdefault(candidate, [])
            if not any(s < start + length and start < e for s, e in taken):
                taken.append((start, start + length))
                slot["patient"] = candidate
                break
        else:
            raise SystemExit("no patient is free for one of the booking slots")


def lab_orders(org: Any, patients: list[Any], count: int, stamp: str) -> list[str]:
    """`count` CBC orders with a specimen each, and their ORU^R01 results (one per order)."""
    from django.core.management import call_command
    from django.db import transaction

    from carebench.accounts.models import User
    from carebench.core.actor import Actor
    from carebench.labs import services as labs
    from carebench.labs.models import LabTest
    from carebench.labs.tests.hl7_helpers import for_order
    from carebench.scheduling.models import Provider
    from carebench.terminology.models import Icd10CmCode

    provider = (
        Provider.objects.filter(organization=org, is_active=True, user__isnull=False)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if provider is None:
        raise SystemExit("no provider who signs in, to place the lab orders")
    user = User.objects.select_related("organization").get(pk=provider.user_id)
    actor = Actor(user=user, organization=org, channel="cli")
    if not LabTest.objects.filter(organization=org, code="CBC").exists():
        labs.load_shipped_catalog(actor=actor)
    if not Icd10CmCode.objects.filter(code="E11.9").exists():
        print("  loading ICD-10-CM (once; the orders need a diagnosis code)")
        call_command("load_icd10cm", stdout=io.StringIO())
    cbc = LabTest.objects.get(organization=org, code="CBC")
    messages = []
    for i in range(count):
        with transaction.atomic():
            order = labs.place_order(
                actor=actor,
                patient=patients[i % len(patients)],
                provider=provider,
                tests=[cbc],
                basis="provider",
                diagnosis_codes=["E11.9"],
            )
            specimen = labs.create_specimens(actor=actor, order=order)[0]
        text = for_order("oru_cbc.hl7", order, specimen.accession)
        text = text.replace("|Q2025031400001|", f"|B{stamp}{i:06d}|")
        messages.append(text.replace("Q7001234", f"F{stamp}{i:06d}"))
        if (i + 1) % 500 == 0:
            print(f"  placed {i + 1} lab orders")
    return messages


def main() -> None:
    args = parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carebench.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from carebench.accounts.models import User
    from carebench.core import clock
    from carebench.core.actor import Actor
    from carebench.core.models import Organization
    from carebench.encounters import services as encounters
    from carebench.encounters.models import Observation
    from carebench.patients.models import Patient
    from carebench.scheduling.models import Appointment

    started = time.monotonic()
    org = Organization.objects.filter(slug=args.organization).first()
    if org is None:
        raise SystemExit(f"no organization {args.organization!r} in this database")
    facility = org.facilities.order_by("pk").first()
    if facility is None:
        raise SystemExit(f"organization {args.organization!r} has no facility")
    zone = ZoneInfo(facility.time_zone)
    today = clock.today(facility.time_zone)
    mat = User.objects.select_related("organization").get(username=args.mat)
    mat_actor = Actor(user=mat, organization=org, channel="cli")

    if args.busy_day:
        busy = date.fromisoformat(args.busy_day)
        visits = visits_on(org, facility, zone, busy)
    else:
        busy, visits = busiest_day(org, facility, zone, today)
    patients = adults_sample(org, args.patients, today)
    if not patients:
        raise SystemExit("no adult patients in the organization")
    kind = booking_type(org)
    slots = free_slots(org, facility, kind, args.slots, today, busy, zone) if args.slots else []
    assign_patients(org, slots, patients, kind)

    by_id = {p.pk: p for p in Patient.objects.filter(pk__in=[p["id"] for p in patients])}
    walk_ins = [
        encounters.open_walk_in(actor=mat_actor, patient=by_id[row["id"]]).pk
        for row in patients[: args.walk_ins]
    ]
    token_out = io.StringIO()
    call_command("carebench_token", "create", user=args.mat, days=1, name="bench", stdout=token_out)

    messages: list[str] = []
    if args.lab_orders:
        stamp = f"{int(time.time()) % 10**8:08d}"
        ordered = [by_id[row["id"]] for row in patients[:500]]
        messages = lab_orders(org, ordered, args.lab_orders, stamp)
        if args.messages_out:
            args.messages_out.write_text(json.dumps(messages))

    plan = {
        "organization": org.slug,
        "facility": facility.pk,
        "time_zone": facility.time_zone,
        "busy_day": busy.isoformat(),
        "busy_day_visits": visits,
        "appointment_type": kind.pk,
        "appointment_type_name": kind.name,
        "patients": patients,
        "walk_ins": walk_ins,
        "slots": slots,
        "token": token_out.getvalue().strip(),
        "lab_orders": len(messages),
        "counts": {
            "patients": Patient.objects.filter(organization=org).count(),
            "appointments": Appointment.objects.filter(organization=org).count(),
            "observations": Observation.objects.filter(organization=org).count(),
        },
        "seconds": round(time.monotonic() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(plan, indent=1))
    print(
        f"  plan: {len(patients)} patients, {len(walk_ins)} walk-ins, {len(slots)} slots, "
        f"{len(messages)} lab orders, busy day {busy} ({visits} visits), "
        f"{plan['seconds']} s"
    )


if __name__ == "__main__":
    main()
