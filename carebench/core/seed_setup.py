"""The bench seeder's set-up (`carebench bench seed`): the organization, its clinic, users,
providers with their templates, rooms, visit types, payers, lab catalog, vaccines in stock and
billing, each made once through the real services; and the facts of it the chunks need
(`clinic`). The first seeding day (the anchor) is found again from the providers' templates.
"""

from __future__ import annotations

import io
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection

from carebench.core import clock

from . import seed_data as data
from .seed_schedule import PROVIDERS, Clinic, LabTestInfo, VaccineStock
from .seed_writer import SeedError

ORGANIZATION_NAME = "Bench Health Network"
FACILITY_NAME = "Bench Clinic"
PASSWORD = "bench-pass"
EXAM_ROOMS = 60
OTHER_ROOMS = [("Procedure room", "procedure"), ("Lab draw chair", "lab"), ("EKG room", "ekg")]
HISTORY_DAYS = 730  # the providers' templates start this long before the first seeding day
ROLES = ("mat", "frontdesk", "provider", "biller")  # none of them needs a second factor


# --- the anchor and the chosen day --------------------------------------------------------------


def chosen_day_for(anchor: date) -> date:
    """The full day: the first Wednesday at least eight days after the first seeding day."""
    day = anchor + timedelta(days=8)
    while day.weekday() != 2:
        day += timedelta(days=1)
    return day


def anchor_of(organization: Any) -> date | None:
    """The first seeding day, from where the bench providers' templates start (None: none)."""
    from carebench.scheduling.models import AvailabilityRule

    first = (
        AvailabilityRule.objects.filter(organization=organization, kind="available")
        .order_by("starts_on")
        .values_list("starts_on", flat=True)
        .first()
    )
    return first + timedelta(days=HISTORY_DAYS) if first is not None else None


# --- set-up through the services (once) ---------------------------------------------------------


def username(slug: str, role: str) -> str:
    return f"{slug}-{role}"


def npi_for(number: int) -> str:
    from carebench.core.npi import npi_check_digit

    body = f"1{880000 + number:08d}"
    return body + str(npi_check_digit(body))


def load_code_sets() -> None:
    """CVX and MVX (small, shipped) when missing, and the ICD-10-CM codes the seeder uses
    (only those: the full release is `carebench terminology`'s job)."""
    from django.core.management import call_command

    from carebench.terminology.models import CodeSetVersion, Icd10CmCode
    from carebench.terminology.services import CVX_CODE_SET, MVX_CODE_SET, save_icd10_codes

    for code_set, command in ((CVX_CODE_SET, "load_cvx"), (MVX_CODE_SET, "load_mvx")):
        if not CodeSetVersion.objects.filter(code_set=code_set).exists():
            call_command(command, stdout=io.StringIO())
    have = set(
        Icd10CmCode.objects.filter(code__in=list(data.ICD10_CODES)).values_list("code", flat=True)
    )
    missing = sorted(set(data.ICD10_CODES) - have)
    if missing:
        save_icd10_codes(
            [
                Icd10CmCode(
                    code=code,
                    description=data.ICD10_CODES[code],
                    search_text=f"{code.lower()} {data.ICD10_CODES[code].lower()}"[:320],
                    billable=True,
                    version="bench seed subset",
                )
                for code in missing
            ],
            ignore_conflicts=True,
        )


def set_up(slug: str, seed: int) -> Any:
    """Organization, clinic, users, providers with templates, rooms, visit types, payers, the
    lab catalog, vaccines in stock and billing: each made once, through the services."""
    from carebench.accounts.models import User
    from carebench.accounts.services import create_user
    from carebench.billing import services as billing
    from carebench.billing.demo import CODES_FILE, FEES_FILE
    from carebench.billing.models import BillingProfile
    from carebench.core.actor import Actor
    from carebench.core.models import Facility, Organization
    from carebench.labs import services as labs
    from carebench.labs.models import LabTest
    from carebench.meds import services as meds
    from carebench.meds.models import Product, StorageUnit
    from carebench.patients import services as patients
    from carebench.scheduling import services as scheduling
    from carebench.scheduling.demo import VISIT_TYPES
    from carebench.scheduling.models import AppointmentType, Provider, Resource
    from carebench.terminology.models import Manufacturer, VaccineCode

    load_code_sets()
    organization, _ = Organization.objects.get_or_create(
        slug=slug,
        defaults={"name": ORGANIZATION_NAME, "npi": npi_for(0), "tax_id": "74-1000000"},
    )
    facility, _ = Facility.objects.get_or_create(
        organization=organization,
        name=FACILITY_NAME,
        defaults={
            "kind": Facility.Kind.CLINIC,
            "state": "TX",
            "time_zone": "America/Chicago",
            "address_line": "500 Bench Ave",
            "city": "Austin",
            "postal_code": "78701",
            "phone": "5125550300",
            "npi": npi_for(99),
        },
    )
    zone = ZoneInfo(facility.time_zone)
    system = Actor.system(organization)
    users: dict[str, Any] = {}
    for role in ROLES:
        name = username(slug, role)
        user = User.objects.filter(username=name).first()
        if user is None:
            user = create_user(
                actor=system,
                organization=organization,
                username=name,
                password=PASSWORD,
                roles=[role],
                first_name="Bench",
                last_name=role.capitalize(),
                title={"mat": "CMA", "provider": "MD", "biller": "CPC"}.get(role, ""),
                default_facility=facility,
            )
        elif user.organization_id != organization.pk:
            raise SeedError(f"user {name} belongs to another organization")
        users[role] = user
    actor = Actor.system(organization, user=users["mat"])
    anchor = anchor_of(organization) or clock.today(facility.time_zone)
    if not Provider.objects.filter(organization=organization).exists():
        for n in range(PROVIDERS):
            doctor = users["provider"]
            if n:
                doctor = create_user(
                    actor=system,
                    organization=organization,
                    username=username(slug, f"provider-{n + 1:02d}"),
                    password=None,
                    roles=["provider"],
                    first_name=data.STREETS[n % len(data.STREETS)],
                    last_name=f"Clinician {n + 1}",
                    title="MD",
                    default_facility=facility,
                )
            provider = scheduling.create_provider(
                actor=actor,
                family_name=f"{data.STREETS[(n * 7) % len(data.STREETS)]}-{n + 1}",
                given_name=["Ana", "Ben", "Cora", "Dev", "Eli", "Fay", "Gus", "Hana"][n % 8],
                credentials=["MD", "DO", "NP", "PA-C"][n % 4],
                npi=npi_for(n + 1),
                facilities=[facility],
                user=doctor,
            )
            for begin, end in ((time(8), time(12)), (time(13), time(17))):
                scheduling.add_availability_rule(
                    actor=actor,
                    provider=provider,
                    facility=facility,
                    rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                    start_time=begin,
                    end_time=end,
                    starts_on=anchor - timedelta(days=HISTORY_DAYS),
                )
    if not Resource.objects.filter(organization=organization, facility=facility).exists():
        rooms = [(f"Exam {n + 1:02d}", "exam") for n in range(EXAM_ROOMS)] + OTHER_ROOMS
        for order, (name, kind) in enumerate(rooms):
            scheduling.create_resource(
                actor=actor, facility=facility, name=name, room_type=kind, sort_order=order
            )
    if not AppointmentType.objects.filter(organization=organization).exists():
        for name, minutes, colour, room_type, overbook in VISIT_TYPES:
            scheduling.create_appointment_type(
                actor=actor,
                name=name,
                duration_minutes=minutes,
                color=colour,
                room_type=room_type,
                allow_overbook=overbook,
            )
    billing_actor = Actor.system(organization, user=users["biller"])
    for name, code, indicator, days, _plans, _prefix in data.PAYERS:
        payer = patients.get_or_create_payer(actor=billing_actor, name=name, payer_code=code)
        if (payer.filing_indicator, payer.timely_filing_days) != (indicator, days):
            billing.update_payer_billing(
                actor=billing_actor,
                payer=payer,
                payer_code=code,
                filing_indicator=indicator,
                timely_filing_days=days,
            )
    if not LabTest.objects.filter(organization=organization).exists():
        labs.load_shipped_catalog(actor=actor)
    if not Product.objects.filter(organization=organization).exists():
        fridge = meds.add_storage_unit(
            actor=actor, facility=facility, name="Vaccine fridge 1", kind="refrigerator"
        )
        for index, (name, cvx, mvx, ndc, dose, cpt, vis) in enumerate(data.VACCINES):
            product = meds.add_product(
                actor=actor,
                kind="vaccine",
                name=name,
                ndc=ndc,
                dose_amount=Decimal(dose),
                dose_unit="mL",
                route="C28161",
                vaccine_code=VaccineCode.objects.get(cvx=cvx),
                manufacturer=Manufacturer.objects.get(mvx=mvx),
                billing_code=cpt,
                vis_edition_date=date.fromisoformat(vis),
            )
            meds.receive_stock(
                actor=actor,
                product=product,
                lot_number=f"BN{4100 + index}",
                expires_on=anchor + timedelta(days=730),
                ndc=ndc,
                funding="private",
                storage_unit=fridge,
                doses=500,
                received_on=anchor,
            )
    if not StorageUnit.objects.filter(organization=organization).exists():
        raise SeedError("the vaccine stock was set up without its fridge: reseed a new database")
    if not BillingProfile.objects.filter(organization=organization).exists():
        billing.save_billing_profile(
            actor=billing_actor,
            submitter_name=ORGANIZATION_NAME,
            submitter_id="BENCH0001",
            contact_name="Bench Biller",
            contact_phone="5125550301",
            receiver_name="CLAIMSHUB",
            receiver_id="CLAIMSHUB",
            billing_name=ORGANIZATION_NAME,
            address_line="500 Bench Ave",
            city="Austin",
            state="TX",
            postal_code="78701-4000",
            phone="5125550300",
            taxonomy="207Q00000X",
            place_of_service="11",
            usage="T",
        )
        billing.import_procedure_codes(
            actor=billing_actor, text=CODES_FILE.read_text(encoding="utf-8"), source="bench"
        )
        schedule = billing.create_fee_schedule(
            actor=billing_actor, name="Standard charges", effective_from=date(2000, 1, 1)
        )
        billing.import_fees(
            actor=billing_actor, schedule=schedule, text=FEES_FILE.read_text(encoding="utf-8")
        )
    return clinic(organization, facility, zone, users, anchor, seed)


def clinic(
    organization: Any, facility: Any, zone: ZoneInfo, users: dict[str, Any], anchor: date, seed: int
) -> Clinic:
    """What the chunks need of the set-up, as plain ids and text."""
    import csv

    from carebench.billing.demo import CODES_FILE, FEES_FILE
    from carebench.labs.models import LabTest
    from carebench.meds.models import StockLot
    from carebench.patients.models import Payer
    from carebench.scheduling.models import AppointmentType, Provider, Resource
    from carebench.terminology.models import Icd10CmCode

    providers = list(
        Provider.objects.filter(organization=organization)
        .order_by("npi")
        .values_list("id", "user_id")
    )
    if len(providers) != PROVIDERS or any(user is None for _p, user in providers):
        raise SeedError(f"{organization.slug} needs {PROVIDERS} providers, each with a user")
    rooms = list(
        Resource.objects.filter(organization=organization, facility=facility)
        .order_by("sort_order")
        .values_list("id", "room_type")
    )
    exam = [pk for pk, kind in rooms if kind == "exam"]
    lab = next(pk for pk, kind in rooms if kind == "lab")
    ekg = next(pk for pk, kind in rooms if kind == "ekg")
    tests = {
        t.code: LabTestInfo(
            id=t.pk,
            code=t.code,
            name=t.name,
            loinc=t.loinc,
            container=t.container,
            min_volume_ml=str(t.min_volume_ml),
            fasting_required=t.fasting_required,
            timing_note=t.timing_note,
            performed=t.performed,
        )
        for t in LabTest.objects.filter(organization=organization, code__in=list(data.PANELS))
    }
    vaccines: dict[str, VaccineStock] = {}
    for lot in StockLot.objects.filter(organization=organization).select_related("product"):
        product = lot.product
        if product.name in vaccines or product.vaccine_code_id is None:
            continue
        vaccines[product.name] = VaccineStock(
            product_id=product.pk,
            name=product.name,
            vaccine_code_id=product.vaccine_code_id,
            manufacturer_id=int(product.manufacturer_id or 0),
            ndc=lot.ndc,
            dose=str(product.dose_amount.normalize()),
            cpt=product.billing_code,
            vis=product.vis_edition_date.isoformat() if product.vis_edition_date else "",
            lot_id=lot.pk,
            lot_number=lot.lot_number,
            expires_on=lot.expires_on.isoformat(),
        )
    with FEES_FILE.open(encoding="utf-8") as handle:
        fees = {r["code"]: int(Decimal(r["amount"]) * 100) for r in csv.DictReader(handle)}
    with CODES_FILE.open(encoding="utf-8") as handle:
        labels = {r["code"]: r["label"] for r in csv.DictReader(handle)}
    return Clinic(
        vendor=connection.vendor,
        seed=seed,
        organization_id=organization.pk,
        facility_id=facility.pk,
        facility_name=facility.name,
        zone=zone,
        anchor=anchor,
        chosen=chosen_day_for(anchor),
        mat_id=users["mat"].pk,
        frontdesk_id=users["frontdesk"].pk,
        biller_id=users["biller"].pk,
        providers=[(int(p), int(u)) for p, u in providers],
        visit_types={
            t.name: (t.pk, t.duration_minutes)
            for t in AppointmentType.objects.filter(organization=organization)
        },
        exam_rooms=exam,
        lab_room=lab,
        ekg_room=ekg,
        payers=dict(Payer.objects.filter(organization=organization).values_list("name", "id")),
        lab_tests=tests,
        vaccines=vaccines,
        fees=fees,
        code_labels=labels,
        icd_descriptions=dict(
            Icd10CmCode.objects.filter(code__in=list(data.ICD10_CODES)).values_list(
                "code", "description"
            )
        ),
    )
