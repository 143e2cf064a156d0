"""Demo schedule for the Riverbend Health demo: providers, rooms, visit types, weekly templates
with holidays, a vitals history, and a busy "today" on the flow board.

`build_schedule` runs once with the demo organization; `ensure_today` runs on every
`carebench demo` so the board shows today's clinic whatever day the demo is started.
Everything is written through the services; the morning's visits are booked and moved along
with the clock set to when each step would have happened (`core.clock.frozen`).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction

from carebench.accounts.models import User
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.models import Facility, Organization
from carebench.core.npi import npi_check_digit
from carebench.encounters import services as encounter_services
from carebench.encounters import vitals as vitals_rules
from carebench.encounters.vitals import VitalsEntry
from carebench.patients.models import Patient

from . import services as sched
from .models import Appointment, AppointmentType, Provider, Resource, Status

CLINIC_NAME = "Riverbend Family Clinic"
PROVIDERS = [  # (given, family, credentials, specialty, npi body, demo username)
    ("Grace", "Okafor", "MD", "Family medicine", "124531959", "provider"),
    ("Daniel", "Reyes", "NP", "Family nurse practitioner", "136874209", None),
    ("Priya", "Shah", "DO", "Internal medicine", "150912348", None),
]
VISIT_TYPES = [  # (name, minutes, colour, room type, overbook)
    ("New patient", 40, "#2f6f8f", "exam", False),
    ("Follow-up", 20, "#3c8d5a", "exam", False),
    ("Annual physical", 40, "#7a5ea8", "exam", False),
    ("Sick visit", 20, "#b36b00", "exam", False),
    ("Injection / nurse visit", 15, "#8a6d3b", "", True),
    ("Lab draw", 10, "#a33b3b", "lab", True),
    ("EKG", 15, "#4a7fb0", "ekg", False),
]
ROOMS = [
    ("Exam 1", "exam"),
    ("Exam 2", "exam"),
    ("Exam 3", "exam"),
    ("Exam 4", "exam"),
    ("Exam 5", "exam"),
    ("Exam 6", "exam"),
    ("Procedure", "procedure"),
    ("Lab draw chair", "lab"),
]
HOLIDAYS = [  # US clinic holidays as yearly rules
    ("New Year's Day", "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1"),
    ("Memorial Day", "FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO"),
    ("Independence Day", "FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=4"),
    ("Labor Day", "FREQ=YEARLY;BYMONTH=9;BYDAY=1MO"),
    ("Thanksgiving", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"),
    ("Christmas Day", "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25"),
]
REASONS = [
    "Blood pressure check",
    "Cough and congestion",
    "Diabetes follow-up",
    "Annual physical",
    "Knee pain",
    "Medication refill",
    "Rash",
    "Headaches",
    "Flu shot",
    "Lab results",
    "Sore throat",
    "Back pain",
    "Dizziness",
]


def _clinic(org: Organization) -> Facility:
    return Facility.objects.get(organization=org, name=CLINIC_NAME)


def build_schedule(org: Organization, *, seed: int = 20261122) -> None:
    """Providers, rooms, visit types, templates and holidays, plus a vitals history."""
    if Provider.objects.filter(organization=org).exists():
        return
    actor = Actor.system(
        org, user=User.objects.filter(organization=org, username="manager").first()
    )
    clinic = _clinic(org)
    with transaction.atomic():
        for given, family, creds, specialty, body, username in PROVIDERS:
            user = (
                User.objects.filter(organization=org, username=username).first()
                if username
                else None
            )
            provider = sched.create_provider(
                actor=actor,
                family_name=family,
                given_name=given,
                credentials=creds,
                specialty=specialty,
                npi=body + str(npi_check_digit(body)),
                facilities=[clinic],
                user=user,
            )
            for start, end in ((time(8), time(12)), (time(13), time(17))):
                sched.add_availability_rule(
                    actor=actor,
                    provider=provider,
                    facility=clinic,
                    rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                    start_time=start,
                    end_time=end,
                    starts_on=date(2026, 1, 1),
                )
            for name, rule in HOLIDAYS:
                sched.add_availability_rule(
                    actor=actor,
                    provider=provider,
                    facility=clinic,
                    kind="blocked",
                    rrule=rule,
                    start_time=time(0),
                    end_time=time(0),
                    starts_on=date(2026, 1, 1),
                    reason=name,
                )
        for order, (name, room_type) in enumerate(ROOMS):
            sched.create_resource(
                actor=actor, facility=clinic, name=name, room_type=room_type, sort_order=order
            )
        sched.create_resource(
            actor=actor,
            facility=clinic,
            name="EKG cart",
            kind=Resource.Kind.EQUIPMENT,
            room_type="ekg",
            sort_order=99,
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
        _vitals_history(org, random.Random(seed))


def _vitals_history(org: Organization, rng: random.Random) -> None:
    """Three to six past vital-sign sets for a third of the clinic's patients."""
    mat = User.objects.get(organization=org, username="mat")
    actor = Actor.system(org, user=mat)
    now = clock.now()
    patients = list(Patient.objects.for_org(org).filter(voided_at__isnull=True).order_by("id")[::3])
    for patient in patients:
        age = patient.age_on(now.date())
        base_sys = 112 + min(age, 80) * 0.45 + rng.uniform(-8, 12)
        weight = rng.uniform(55, 110) if age >= 18 else max(4, age * 3.2 + 3)
        height = rng.uniform(152, 190) if age >= 18 else min(175, 50 + age * 6.5)
        for visit in range(rng.randint(3, 6)):
            taken = now - timedelta(
                days=30 * (visit * rng.randint(3, 6) + 1), hours=rng.randint(0, 6)
            )
            if taken.date() <= patient.birth_date:
                continue
            systolic = int(base_sys + rng.uniform(-10, 10))
            entry = VitalsEntry(
                systolic=Decimal(systolic),
                diastolic=Decimal(int(systolic * 0.62 + rng.uniform(-6, 6))),
                bp_position="sitting",
                bp_arm="left",
                bp_cuff_size="adult",
                heart_rate=Decimal(_normal_rates(age * 12, rng)[0]),
                respiratory_rate=Decimal(_normal_rates(age * 12, rng)[1]),
                temperature=Decimal(str(round(rng.uniform(97.5, 99.3), 1))),
                temperature_unit="F",
                temperature_route="oral",
                spo2=Decimal(rng.randint(94, 100)),
                weight=Decimal(str(round(weight, 1))),
                weight_unit="kg",
                height=Decimal(str(round(height, 1))),
                height_unit="cm",
                pain=rng.choice([0, 0, 0, 1, 2, 3, 5]),
            )
            if age < 13:
                entry.systolic = entry.diastolic = None
            encounter_services.record_vitals(
                actor=actor, patient=patient, entry=entry, taken_at=taken
            )


def _local(day: date, minutes: int, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)) + timedelta(minutes=minutes)


def ensure_today(org: Organization, *, seed: int | None = None) -> int:
    """Book and move along today's clinic (once a day); returns the visits booked."""
    clinic = _clinic(org)
    zone = clinic.time_zone
    today = clock.today(zone)
    start_of_day = _local(today, 0, zone)
    if Appointment.objects.filter(
        organization=org,
        facility=clinic,
        start__gte=start_of_day,
        start__lt=start_of_day + timedelta(days=1),
    ).exists():
        return 0
    rng = random.Random(seed if seed is not None else today.toordinal())
    front = User.objects.get(organization=org, username="frontdesk")
    mat = User.objects.get(organization=org, username="mat")
    desk = Actor.system(org, user=front)
    nurse = Actor.system(org, user=mat)
    providers = list(Provider.objects.filter(organization=org).order_by("id"))
    types = {t.name: t for t in AppointmentType.objects.filter(organization=org)}
    rooms = list(
        Resource.objects.filter(
            organization=org, facility=clinic, kind=Resource.Kind.ROOM, room_type="exam"
        ).order_by("sort_order")
    )
    patients = list(
        Patient.objects.for_org(org)
        .filter(voided_at__isnull=True, home_facility__isnull=True)
        .order_by("id")
    )
    rng.shuffle(patients)
    now = clock.now()
    booked = 0
    free_rooms = list(rooms)
    with transaction.atomic():
        for p_index, provider in enumerate(providers):
            minute = 8 * 60
            while minute < 16 * 60 + 30 and patients:
                kind = types[
                    rng.choice(
                        ["Follow-up", "Follow-up", "Sick visit", "New patient", "Annual physical"]
                    )
                ]
                start = _local(today, minute, zone)
                patient = patients.pop()
                minute += kind.duration_minutes + rng.choice([0, 0, 10, 20])
                if 12 * 60 <= minute < 13 * 60:
                    minute = 13 * 60
                with clock.frozen(min(now, start - timedelta(days=3))):
                    appt = sched.book_appointment(
                        actor=desk,
                        override_availability=True,
                        request=sched.BookingRequest(
                            patient=patient,
                            provider=provider,
                            appointment_type=kind,
                            start=start,
                            facility=clinic,
                            reason=rng.choice(REASONS),
                        ),
                    )
                booked += 1
                _move_along(appt, now, desk, nurse, free_rooms, rng, p_index)
    return booked


def _move_along(
    appt: Appointment,
    now: datetime,
    desk: Actor,
    nurse: Actor,
    free_rooms: list[Resource],
    rng: random.Random,
    p_index: int,
) -> None:
    """Advance a visit as far as the clock says it would be by now, each step at its time."""
    age = (now - appt.start).total_seconds() / 60  # minutes since its start time
    if age < -10:
        return
    if age > 60 and rng.random() < 0.08:
        with clock.frozen(appt.start + timedelta(minutes=30)):
            sched.mark_no_show(actor=desk, appointment=appt)
        return
    plan = [(Status.ARRIVED, -8)]
    if age > 5 and free_rooms:
        plan.append((Status.ROOMED, 6))
        if age > 14:
            plan.append((Status.READY, 13))
        if age > 22:
            plan.append((Status.WITH_PROVIDER, 20))
        if age > 45:
            plan += [(Status.CHECKOUT, 42), (Status.DONE, 48)]
    room = None
    for status, offset in plan:
        with clock.frozen(min(now, appt.start + timedelta(minutes=offset))):
            if status == Status.ROOMED:
                room = free_rooms.pop(0)
                appt = sched.advance_flow(actor=nurse, appointment=appt, to=status, room=room)
                _vitals_for(appt, nurse, rng)
            elif status == Status.ARRIVED:
                appt = sched.advance_flow(
                    actor=desk,
                    appointment=appt,
                    to=status,
                    copay_amount=Decimal(rng.choice([0, 20, 25, 30, 40])),
                    copay_collected=True,
                )
            else:
                appt = sched.advance_flow(actor=nurse, appointment=appt, to=status)
            if status == Status.DONE and room is not None:
                sched.set_room_status(actor=nurse, room=room, status=Resource.RoomStatus.READY)
                free_rooms.append(room)


def _normal_rates(age_months: int, rng: random.Random) -> tuple[int, int]:
    """A heart rate and breathing rate inside the normal band for the age."""
    hr_low, hr_high = vitals_rules._band(vitals_rules.HEART_RATE_BANDS, age_months)
    rr_low, rr_high = vitals_rules._band(vitals_rules.RESPIRATORY_RATE_BANDS, age_months)
    return rng.randint(hr_low + 5, hr_high - 10), rng.randint(rr_low + 1, rr_high - 1)


def _vitals_for(appt: Appointment, nurse: Actor, rng: random.Random) -> None:
    """Rooming vitals for today's visit; about one adult in eight has a severe blood pressure."""
    encounter = appt.encounter  # type: ignore[attr-defined]
    age = appt.patient.age_on(appt.start.date())
    heart, breathing = _normal_rates(age * 12, rng)
    entry = VitalsEntry(
        heart_rate=Decimal(heart),
        respiratory_rate=Decimal(breathing),
        temperature=Decimal(str(round(rng.uniform(97.6, 100.8), 1))),
        temperature_unit="F",
        temperature_route="oral" if age >= 5 else "temporal",
        spo2=Decimal(rng.randint(95, 100)),
        pain=rng.randint(0, 6) if age >= 5 else None,
    )
    if age >= 13:
        severe = rng.random() < 0.12
        systolic = rng.randint(184, 198) if severe else rng.randint(108, 146)
        diastolic = rng.randint(112, 126) if severe else int(systolic * 0.62)
        entry.systolic, entry.diastolic = Decimal(systolic), Decimal(diastolic)
        entry.bp_position, entry.bp_arm, entry.bp_cuff_size = "sitting", "left", "adult"
    encounter_services.record_vitals(
        actor=nurse, patient=appt.patient, encounter=encounter, entry=entry
    )
