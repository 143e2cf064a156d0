"""Factories and helpers shared by every app's tests (imported by conftest.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import factory
from django.contrib.auth.models import Group

from carebench.accounts.models import User
from carebench.core.actor import Actor
from carebench.core.models import Facility, Organization
from carebench.patients import services as patient_services
from carebench.patients.models import Patient
from carebench.terminology.models import Icd10CmCode

TEST_PASSWORD = "correct horse battery staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Test Clinic Group {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Main Street Clinic {n}")
    kind = Facility.Kind.CLINIC
    state = "TX"


def _set_roles(user: User, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
    """`UserFactory(roles=[...])`: put the created user in these groups."""
    if create and extracted:
        user.groups.set(Group.objects.filter(name__in=extracted))
    if create:
        user.save()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    organization = factory.SubFactory(OrganizationFactory)
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)
    roles = factory.post_generation(_set_roles)


def actor_for(user: User) -> Actor:
    assert user.organization is not None
    return Actor(user=user, organization=user.organization, client_address="127.0.0.1")


_patient_counter = 0


def make_patient(user_or_org: User | Organization, **overrides: Any) -> Patient:
    """Register a patient through the real service (so search keys and MRN are set)."""
    global _patient_counter
    _patient_counter += 1
    if isinstance(user_or_org, User):
        actor = actor_for(user_or_org)
    else:
        actor = Actor.system(user_or_org)
    values: dict[str, Any] = {
        "family_name": f"Testperson{chr(97 + _patient_counter % 26)}",
        "given_name": "Alex",
        "birth_date": date(1980, 5, 17),
        "sex": "female",
    }
    values.update(overrides)
    return patient_services.register_patient(
        actor=actor, details=patient_services.PatientDetails(**values)
    )


def load_sample_icd10() -> None:
    """A handful of real ICD-10-CM codes, enough for tests that code problems."""
    rows = [
        ("E11", "Type 2 diabetes mellitus", False),
        ("E11.9", "Type 2 diabetes mellitus without complications", True),
        ("I10", "Essential (primary) hypertension", True),
        ("J45.909", "Unspecified asthma, uncomplicated", True),
        ("E78.5", "Hyperlipidemia, unspecified", True),
        (
            "Z00.00",
            "Encounter for general adult medical examination without abnormal findings",
            True,
        ),
        ("F41.1", "Generalized anxiety disorder", True),
    ]
    Icd10CmCode.objects.bulk_create(
        [
            Icd10CmCode(
                code=c,
                description=d,
                search_text=f"{c.lower()} {d.lower()}",
                billable=b,
                version="test",
            )
            for c, d, b in rows
        ],
        ignore_conflicts=True,
    )


# --- scheduling ---------------------------------------------------------------------------------


def next_weekday_at(
    hour: int, minute: int = 0, *, zone: str = "America/Chicago", weeks_ahead: int = 1
) -> Any:
    """A Monday at least a week ahead, at the given wall-clock time in `zone`."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from carebench.core import clock

    day = clock.now().astimezone(ZoneInfo(zone)).date() + timedelta(weeks=weeks_ahead)
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))


def make_schedule(user: User, *, npi: str = "1234567893", overbook: bool = False) -> Any:
    """A provider working weekdays 8-17 at the organization's first facility, an exam room and
    a 30-minute visit type; returns a simple namespace of them."""
    from datetime import date, time
    from types import SimpleNamespace

    from carebench.scheduling import services as sched

    actor = actor_for(user)
    facility = actor.organization.facilities.first()
    assert facility is not None, "the user's organization needs a facility"
    provider = sched.create_provider(
        actor=actor,
        family_name="Okafor",
        given_name="Grace",
        credentials="MD",
        npi=npi,
        facilities=[facility],
    )
    sched.add_availability_rule(
        actor=actor,
        provider=provider,
        facility=facility,
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        start_time=time(8),
        end_time=time(17),
        starts_on=date(2026, 1, 1),
    )
    room = sched.create_resource(
        actor=actor, facility=facility, name=f"Exam {npi[-3:]}", room_type="exam"
    )
    visit = sched.create_appointment_type(
        actor=actor,
        name=f"Follow-up {npi[-3:]}",
        duration_minutes=30,
        room_type="exam",
        allow_overbook=overbook,
    )
    return SimpleNamespace(
        actor=actor, facility=facility, provider=provider, room=room, visit=visit
    )


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot to test-artifacts/ at the project root (scrolled to the top,
    so sticky headers sit in their place)."""
    from pathlib import Path

    from django.conf import settings

    folder = Path(settings.PROJECT_DIR) / "test-artifacts"
    folder.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


# --- injections and immunizations ---------------------------------------------------------------


def load_vaccine_codes() -> None:
    """The shipped CDC CVX and MVX lists (a few hundred rows, loaded in bulk)."""
    from carebench.terminology import services as terminology

    version, rows = terminology.read_cvx_file()
    terminology.load_cvx(rows, version=version)
    version, makers = terminology.read_mvx_file()
    terminology.load_mvx(makers, version=version)


def make_vaccine_clinic(mat: User, provider_user: User, *, doses: int = 10) -> Any:
    """A clinic ready to give flu shots: the CVX/MVX lists, a provider (linked to
    `provider_user`), a vaccine fridge, a flu vaccine and a Tdap product, a good flu lot and an
    expired one (entered as if received last year), and this season's flu standing order."""
    from datetime import date, timedelta
    from decimal import Decimal
    from types import SimpleNamespace

    from carebench.core import clock
    from carebench.meds import services as meds
    from carebench.meds.models import StockLot, StockMovement
    from carebench.scheduling import services as sched
    from carebench.terminology.models import Manufacturer, VaccineCode

    load_vaccine_codes()
    actor = actor_for(mat)
    facility = actor.organization.facilities.first()
    assert facility is not None, "the user's organization needs a facility"
    provider = sched.create_provider(
        actor=actor_for(provider_user),
        family_name="Okafor",
        given_name="Grace",
        credentials="MD",
        npi="1234567893",
        facilities=[facility],
        user=provider_user,
    )
    fridge = meds.add_storage_unit(
        actor=actor, facility=facility, name="Vaccine fridge", kind="refrigerator"
    )
    flu = meds.add_product(
        actor=actor,
        kind="vaccine",
        name="Fluarix Trivalent 2026-2027",
        ndc="58160-0919-52",
        dose_amount=Decimal("0.5"),
        dose_unit="mL",
        route="C28161",
        vaccine_code=VaccineCode.objects.get(cvx="140"),
        manufacturer=Manufacturer.objects.get(mvx="SKB"),
        billing_code="90656",
        vis_edition_date=date(2023, 8, 6),
        allergy_terms="latex",
        min_age_months=6,
    )
    tdap = meds.add_product(
        actor=actor,
        kind="vaccine",
        name="Boostrix",
        ndc="58160-0842-52",
        dose_amount=Decimal("0.5"),
        dose_unit="mL",
        route="C28161",
        vaccine_code=VaccineCode.objects.get(cvx="115"),
        manufacturer=Manufacturer.objects.get(mvx="SKB"),
        billing_code="90715",
        vis_edition_date=date(2024, 1, 31),
    )
    today = clock.today()
    good = meds.receive_stock(
        actor=actor,
        product=flu,
        lot_number="FL7Y2",
        expires_on=today + timedelta(days=200),
        ndc="58160-0919-52",
        funding="private",
        storage_unit=fridge,
        doses=doses,
    )
    # An expired lot still on the shelf: received last season, as the service would have then.
    expired = StockLot.objects.create(
        organization=actor.organization,
        product=flu,
        lot_number="OLD9X",
        expires_on=today - timedelta(days=10),
        ndc="58160-0919-52",
        funding="private",
        storage_unit=fridge,
        doses_received=5,
        doses_on_hand=5,
        received_on=today - timedelta(days=300),
    )
    StockMovement.objects.create(
        organization=actor.organization, lot=expired, kind="received", doses=5, balance=5
    )
    standing = meds.add_standing_order(
        actor=actor,
        name="Seasonal influenza, adults",
        products=[flu],
        signed_by=provider,
        valid_from=today - timedelta(days=30),
        valid_until=today + timedelta(days=180),
        vaccine_group="FLU",
        min_age_years=18,
        screening_questions=[
            "Severe allergic reaction to a flu vaccine before?",
            "Guillain-Barré syndrome within 6 weeks of a flu vaccine?",
            "Moderate or severe illness today, with or without fever?",
        ],
        instructions="Sore arm is common: a cool cloth helps. Call us for a fever over 102 °F.",
    )
    return SimpleNamespace(
        actor=actor,
        facility=facility,
        provider=provider,
        fridge=fridge,
        flu=flu,
        tdap=tdap,
        good_lot=good,
        expired_lot=expired,
        standing=standing,
    )


NO_TO_ALL = {
    "Severe allergic reaction to a flu vaccine before?": False,
    "Guillain-Barré syndrome within 6 weeks of a flu vaccine?": False,
    "Moderate or severe illness today, with or without fever?": False,
}


# --- the eMAR -----------------------------------------------------------------------------------


def make_home(nurse: User, medtech: User, *, residents: int = 1) -> Any:
    """An assisted-living home with the med tech assigned, `residents` residents admitted (rooms
    101, 102, ...), and for the first: metoprolol BID held if pulse < 60, lisinopril QD, and
    acetaminophen PRN (6 h apart, 4 a day) and lorazepam PRN (C-IV, 10 on its count sheet)."""
    from datetime import timedelta
    from types import SimpleNamespace

    from carebench.core import clock
    from carebench.meds import emar_services as emar

    org = nurse.organization
    assert org is not None
    home = Facility.objects.create(
        organization=org, name="Maple House", kind=Facility.Kind.ASSISTED_LIVING, state="TX"
    )
    actor = actor_for(nurse)
    today = clock.today(home.time_zone)
    emar.assign_worker(
        actor=actor, user=medtech, facility=home, starts_on=today - timedelta(days=30)
    )
    people = []
    for index in range(residents):
        patient = make_patient(
            nurse,
            given_name=["Ada", "Bea", "Cora", "Dora", "Edna", "Fay", "Gus", "Hal"][index % 8],
            family_name="Oak",
            birth_date=date(1938, 2, 3 + index),
        )
        people.append(
            emar.admit_resident(
                actor=actor,
                patient=patient,
                facility=home,
                room=str(101 + index),
                admitted_on=today - timedelta(days=30),
                prescriber_name="Samuel Chen, MD",
                pharmacy_name="Oak Pharmacy",
            )
        )
    first = people[0]
    common: dict[str, Any] = {
        "actor": actor,
        "residency": first,
        "start_date": today - timedelta(days=7),
        "prescriber": "Samuel Chen, MD",
        "route": "oral",
    }
    metoprolol = emar.add_order(
        drug_name="Metoprolol tartrate",
        strength="25 mg",
        dose="1 tablet",
        frequency="BID",
        hold_text="hold if pulse < 60",
        quantity_on_hand=30,
        **common,
    )
    lisinopril = emar.add_order(
        drug_name="Lisinopril",
        strength="10 mg",
        dose="1 tablet",
        frequency="QD",
        quantity_on_hand=30,
        **common,
    )
    tylenol = emar.add_order(
        drug_name="Acetaminophen",
        strength="500 mg",
        dose="2 tablets",
        frequency="PRN",
        prn_indication="pain",
        prn_min_interval_minutes=360,
        prn_max_per_day=4,
        quantity_on_hand=50,
        **common,
    )
    lorazepam = emar.add_order(
        drug_name="Lorazepam",
        strength="0.5 mg",
        dose="1 tablet",
        frequency="PRN",
        prn_indication="anxiety",
        prn_min_interval_minutes=480,
        prn_max_per_day=2,
        controlled="IV",
        quantity_on_hand=10,
        **common,
    )
    return SimpleNamespace(
        home=home,
        nurse=actor,
        medtech=actor_for(medtech),
        residents=people,
        resident=first,
        metoprolol=metoprolol,
        lisinopril=lisinopril,
        tylenol=tylenol,
        lorazepam=lorazepam,
    )
