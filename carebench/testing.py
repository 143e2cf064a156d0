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
from carebench.terminology.services import save_icd10_codes

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
    save_icd10_codes(
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


# --- billing ------------------------------------------------------------------------------------


def make_billing_clinic(user: User, *, npi: str = "1234567893") -> Any:
    """The organization set up to bill: its NPI and tax id, a billing profile (clearinghouse
    "CLAIMSHUB"), the payer "Acme Health" (payer ID 60054, commercial), the standard and Acme fee
    schedules for the demo codes, a provider, and one insured patient with an address.

    Returns a namespace: actor, org, facility, provider, payer, patient, coverage, profile,
    standard (fee schedule), acme (fee schedule)."""
    from types import SimpleNamespace

    from carebench.billing.models import BillingProfile, Fee, FeeSchedule
    from carebench.scheduling.models import Provider

    actor = actor_for(user)
    org = actor.organization
    Organization.objects.filter(pk=org.pk).update(npi="1245319599", tax_id="74-1234567")
    org.refresh_from_db()
    facility = org.facilities.first()
    assert facility is not None, "the user's organization needs a facility"
    provider = Provider.objects.filter(organization=org, npi=npi).first()
    if provider is None:
        provider = Provider.objects.create(
            organization=org, family_name="Okafor", given_name="Grace", credentials="MD", npi=npi
        )
        provider.facilities.add(facility)
    profile = BillingProfile.objects.create(
        organization=org,
        submitter_name="Test Family Clinic",
        submitter_id="TFC0001",
        contact_name="Billing Office",
        contact_phone="5125550100",
        receiver_name="CLAIMSHUB",
        receiver_id="CLAIMSHUB",
        billing_name="Test Family Clinic",
        address_line="100 Main St",
        city="Austin",
        state="TX",
        postal_code="787011234",
        taxonomy="207Q00000X",
    )
    payer = patient_services.get_or_create_payer(
        actor=actor, name="Acme Health", payer_code="60054"
    )
    patient = make_patient(
        user,
        family_name="Rivera",
        given_name="Maria",
        birth_date=date(1975, 3, 9),
        sex="female",
        address_line1="12 Oak Lane",
        city="Austin",
        state="TX",
        postal_code="78702",
    )
    coverage = patient_services.add_coverage(
        actor=actor,
        patient=patient,
        payer=payer,
        member_id="ACM123456789",
        plan_name="Acme PPO",
        group_number="GRP100",
        start_date=date(2024, 1, 1),
    )
    standard = FeeSchedule.objects.create(
        organization=org, name="Standard charges", effective_from=date(2024, 1, 1)
    )
    acme = FeeSchedule.objects.create(
        organization=org, name="Acme Health 2026", payer=payer, effective_from=date(2024, 1, 1)
    )
    charges = {
        "99212": "75.00",
        "99213": "110.00",
        "99214": "165.00",
        "36415": "15.00",
        "93000": "45.00",
        "96372": "30.00",
        "90471": "25.00",
        "90472": "15.00",
        "90686": "28.00",
        "90662": "65.00",
        "90715": "45.00",
        "81002": "8.00",
        "82962": "6.00",
        "87880": "22.00",
        "81025": "12.00",
        "83036": "20.00",
        "J1030": "12.00",
    }
    Fee.objects.bulk_create(
        [Fee(schedule=standard, code=c, amount=a) for c, a in charges.items()]
        + [Fee(schedule=acme, code="99213", amount="105.00")]
    )
    return SimpleNamespace(
        actor=actor,
        org=org,
        facility=facility,
        provider=provider,
        payer=payer,
        patient=patient,
        coverage=coverage,
        profile=profile,
        standard=standard,
        acme=acme,
    )


_claim_counter = 0


def make_claim(
    clinic: Any,
    *,
    lines: list[tuple[str, str]] | None = None,
    diagnoses: list[str] | None = None,
    status: str = "submitted",
    service_date: date | None = None,
    number: str = "",
    modifiers: dict[int, list[str]] | None = None,
) -> Any:
    """A claim written straight to the database (no checks): `lines` as (code, charge) pairs,
    default an office visit 99213 with modifier 25 and an injection 96372; each line points at
    the first diagnosis. `modifiers` maps a line number (1-based) to its modifiers."""
    from decimal import Decimal

    from carebench.billing.models import Claim, ClaimLine

    global _claim_counter
    _claim_counter += 1
    lines = lines or [("99213", "110.00"), ("96372", "30.00")]
    modifiers = modifiers if modifiers is not None else {1: ["25"]} if len(lines) > 1 else {}
    day = service_date or date(2026, 11, 2)
    claim = Claim.objects.create(
        organization=clinic.org,
        number=number or f"CB{_claim_counter:06d}",
        patient=clinic.patient,
        coverage=clinic.coverage,
        payer=clinic.payer,
        facility=clinic.facility,
        rendering_provider=clinic.provider,
        status=status,
        service_date=day,
        diagnosis_codes=diagnoses or ["I10"],
        total_charge=sum((Decimal(charge) for _, charge in lines), Decimal(0)),
    )
    ClaimLine.objects.bulk_create(
        [
            ClaimLine(
                organization=clinic.org,
                claim=claim,
                number=n,
                code=code,
                modifiers=modifiers.get(n, []),
                charge=Decimal(charge),
                pointers=[1],
                service_date=day,
            )
            for n, (code, charge) in enumerate(lines, start=1)
        ]
    )
    return claim


def make_documented_visit(clinic: Any, user: User, *, started_at: Any = None) -> Any:
    """A finished visit of the billing clinic's patient with billable work documented (rows
    written straight to the tables): two tubes drawn by venipuncture, a
    12-lead ECG billed globally, a rapid strep and a urine dipstick with two analytes done in
    house, a flu vaccine and a Tdap from private stock, and a methylprednisolone injection."""
    from datetime import timedelta
    from decimal import Decimal

    from carebench.core import clock
    from carebench.ekg.models import EkgRecording
    from carebench.encounters.models import Encounter
    from carebench.labs.models import LabOrder, LabOrderItem, LabResult, LabTest, Specimen
    from carebench.meds.models import Administration, Product

    org = clinic.org
    start = started_at or clock.now() - timedelta(days=1)
    encounter = Encounter.objects.create(
        organization=org,
        patient=clinic.patient,
        facility=clinic.facility,
        provider=clinic.provider,
        started_at=start,
        status=Encounter.Status.FINISHED,
    )
    order = LabOrder.objects.create(
        organization=org,
        number=f"L{encounter.pk:06d}",
        patient=clinic.patient,
        encounter=encounter,
        ordering_provider=clinic.provider,
        entered_by=user,
        ordered_at=start,
        basis=LabOrder.Basis.PROVIDER,
        diagnosis_codes=["I10"],
    )
    tests = {}
    for code, name, container, cpt in (
        ("CMP", "Comprehensive metabolic panel", "gold_sst", "80053"),
        ("CBC", "Complete blood count", "lavender", "85027"),
        ("STREP", "Rapid strep A", "swab", "87880"),
        ("UDIP", "Urinalysis dipstick", "urine_cup", "81002"),
    ):
        test, _ = LabTest.objects.get_or_create(
            organization=org,
            code=code,
            defaults={
                "name": name,
                "specimen_type": "blood" if container in ("gold_sst", "lavender") else "other",
                "container": container,
                "performed": "Reference lab" if code in ("CMP", "CBC") else "In-house (POC)",
                "cpt_hint": cpt,
            },
        )
        tests[code] = LabOrderItem.objects.create(
            organization=org, order=order, test=test, code=code, name=name, container=container
        )
    for number, code in enumerate(("CMP", "CBC"), start=1):
        Specimen.objects.create(
            organization=org,
            accession=f"S{encounter.pk:05d}{number}",
            order=order,
            patient=clinic.patient,
            container=tests[code].container,
            status=Specimen.Status.COLLECTED,
            collected_at=start + timedelta(minutes=10),
            collected_by=user,
        ).items.add(tests[code])
    for code, analyte, value in (
        ("STREP", "Strep A antigen", "negative"),
        ("UDIP", "Glucose, urine", "negative"),
        ("UDIP", "Protein, urine", "trace"),
    ):
        LabResult.objects.create(
            organization=org,
            patient=clinic.patient,
            order=order,
            order_item=tests[code],
            code=code,
            name=analyte,
            value_text=value,
            source=LabResult.Source.POC,
            observed_at=start + timedelta(minutes=15),
            performed_by=user,
        )
    EkgRecording.objects.create(
        organization=org,
        patient=clinic.patient,
        encounter=encounter,
        acquired_at=start + timedelta(minutes=20),
        source_format="wfdb",
        original_filename="ecg.zip",
        sampling_rate_hz=500.0,
        duration_s=10.0,
        data=b"ecg",
        size_bytes=3,
        sha256="0" * 64,
    )
    products = []
    for kind, name, ndc, code, amount, unit in (
        ("vaccine", "Fluzone High-Dose", "49281-0124-65", "90662", "0.5", "mL"),
        ("vaccine", "Boostrix", "58160-0842-52", "90715", "0.5", "mL"),
        ("injectable", "Methylprednisolone acetate 40 mg/mL", "0009-3073-01", "J1030", "1", "mL"),
    ):
        product, _ = Product.objects.get_or_create(
            organization=org,
            ndc=ndc,
            defaults={
                "kind": kind,
                "name": name,
                "dose_amount": Decimal(amount),
                "dose_unit": unit,
                "route": "C28161",
                "billing_code": code,
            },
        )
        products.append(product)
    for minutes, product in enumerate(products, start=25):
        Administration.objects.create(
            organization=org,
            patient=clinic.patient,
            encounter=encounter,
            kind=Administration.Kind.GIVEN,
            product=product,
            product_name=product.name,
            ndc=product.ndc,
            dose_amount=product.dose_amount,
            dose_unit=product.dose_unit,
            route="C28161",
            occurred_at=start + timedelta(minutes=minutes),
            given_by=user,
            funding="private",
        )
    return encounter


def make_sent_batch(clinic: Any, group: int, numbers: list[str]) -> Any:
    """Claims with these numbers sent as a real 837P interchange (ISA13 and GS06 = `group`,
    one transaction set, 0001); returns (batch, claims)."""
    from carebench.billing.claim_files import build_batch
    from carebench.billing.models import Claim, ClaimBatch
    from carebench.billing.x12.write837 import write_837p
    from carebench.core import clock

    claims = [make_claim(clinic, number=n) for n in numbers]
    content = write_837p(
        build_batch(
            clinic.org, clinic.profile, claims, interchange_control=group, created_at=clock.now()
        )
    )
    batch = ClaimBatch.objects.create(
        organization=clinic.org,
        interchange_control=group,
        group_control=group,
        created_at=clock.now(),
        content=content,
    )
    Claim.objects.filter(pk__in=[c.pk for c in claims]).update(batch=batch)
    return batch, claims
