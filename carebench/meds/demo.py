"""Demo data for injections and immunizations: a vaccine fridge, the common vaccines and a few
injectables with their NDCs and billing codes, lots (private and VFC, one expiring soon, one
expired and one quarantined, to show the refusals), this season's flu standing order, and a
little history for the first patients. Built once per organization; the flu season's dates
follow the day the demo starts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from carebench.accounts.models import User
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.models import Facility, Organization
from carebench.patients.models import Patient
from carebench.scheduling.models import Provider
from carebench.terminology.models import Manufacturer, VaccineCode

from . import services
from .models import Product, StockLot, StockMovement

# name, kind, NDC (unit of use), CVX, MVX, dose, unit, route, CPT/HCPCS, VIS edition, allergy terms
PRODUCTS = [
    (
        "Fluarix Trivalent",
        "vaccine",
        "58160-0919-52",
        "140",
        "SKB",
        "0.5",
        "mL",
        "C28161",
        "90656",
        date(2023, 8, 6),
        "latex",
    ),
    (
        "Boostrix (Tdap)",
        "vaccine",
        "58160-0842-52",
        "115",
        "SKB",
        "0.5",
        "mL",
        "C28161",
        "90715",
        date(2024, 1, 31),
        "latex",
    ),
    (
        "Gardasil 9 (HPV)",
        "vaccine",
        "00006-4121-02",
        "165",
        "MSD",
        "0.5",
        "mL",
        "C28161",
        "90651",
        date(2021, 8, 6),
        "yeast",
    ),
    (
        "Shingrix (zoster)",
        "vaccine",
        "58160-0823-11",
        "187",
        "SKB",
        "0.5",
        "mL",
        "C28161",
        "90750",
        date(2023, 2, 2),
        "",
    ),
    (
        "Prevnar 20 (PCV20)",
        "vaccine",
        "00005-2000-01",
        "216",
        "PFR",
        "0.5",
        "mL",
        "C28161",
        "90677",
        date(2024, 5, 12),
        "",
    ),
    (
        "Engerix-B (hepatitis B)",
        "vaccine",
        "58160-0821-52",
        "43",
        "SKB",
        "1",
        "mL",
        "C28161",
        "90746",
        date(2023, 5, 12),
        "yeast",
    ),
    (
        "Ceftriaxone 500 mg",
        "injectable",
        "0409-7332-01",
        "",
        "",
        "500",
        "mg",
        "C28161",
        "J0696",
        None,
        "ceftriaxone",
    ),
    (
        "Cyanocobalamin 1000 mcg/mL",
        "injectable",
        "0517-0031-25",
        "",
        "",
        "1",
        "mL",
        "C28161",
        "J3420",
        None,
        "cobalt",
    ),
    (
        "Medroxyprogesterone 150 mg/mL",
        "injectable",
        "0009-0746-30",
        "",
        "",
        "1",
        "mL",
        "C28161",
        "J1050",
        None,
        "",
    ),
]
FLU_QUESTIONS = [
    "Severe allergic reaction to a flu vaccine or any of its parts before?",
    "Guillain-Barré syndrome within 6 weeks of a flu vaccine?",
    "Moderate or severe illness today, with or without fever?",
]


def _user(org: Organization, username: str) -> User | None:
    return User.objects.filter(organization=org, username=username).first()


def build(org: Organization) -> int:
    """Products, stock, the flu standing order and some history (once). Returns lots made."""
    if Product.objects.for_org(org).exists() or not VaccineCode.objects.exists():
        return 0
    mat = _user(org, "mat")
    provider = Provider.objects.for_org(org).order_by("pk").first()
    facility = Facility.objects.filter(organization=org, kind=Facility.Kind.CLINIC).first()
    if mat is None or provider is None or facility is None:
        return 0
    actor = Actor.system(org, user=mat)
    today = clock.today(facility.time_zone)
    fridge = services.add_storage_unit(
        actor=actor, facility=facility, name="Vaccine fridge 1", kind="refrigerator"
    )
    cabinet = services.add_storage_unit(
        actor=actor, facility=facility, name="Med room cabinet", kind="room"
    )
    products: dict[str, Product] = {}
    for name, kind, ndc, cvx, mvx, dose, unit, route, code, vis, allergy in PRODUCTS:
        products[name] = services.add_product(
            actor=actor,
            kind=kind,
            name=name,
            ndc=ndc,
            dose_amount=Decimal(dose),
            dose_unit=unit,
            route=route,
            vaccine_code=VaccineCode.objects.filter(cvx=cvx).first() if cvx else None,
            manufacturer=Manufacturer.objects.filter(mvx=mvx).first() if mvx else None,
            billing_code=code,
            vis_edition_date=vis,
            allergy_terms=allergy,
        )
    made = 0
    for index, (name, product) in enumerate(products.items()):
        unit_for = fridge if product.is_vaccine else cabinet
        services.receive_stock(
            actor=actor,
            product=product,
            lot_number=f"{name[:2].upper()}{7301 + index}",
            expires_on=today + timedelta(days=240 + 20 * index),
            ndc=product.ndc,
            funding="private",
            storage_unit=unit_for,
            doses=20,
        )
        made += 1
        if product.is_vaccine:
            services.receive_stock(
                actor=actor,
                product=product,
                lot_number=f"{name[:2].upper()}{7301 + index}",
                expires_on=today + timedelta(days=240 + 20 * index),
                ndc=product.ndc,
                funding="vfc",
                storage_unit=fridge,
                doses=10,
            )
            made += 1
    flu = products["Fluarix Trivalent"]
    # A lot expiring within the month, one already expired (left on the shelf, received last
    # season), and one quarantined after a fridge excursion: the give page refuses the last two.
    services.receive_stock(
        actor=actor,
        product=flu,
        lot_number="FL7S01",
        expires_on=today + timedelta(days=20),
        ndc=flu.ndc,
        funding="private",
        storage_unit=fridge,
        doses=6,
    )
    expired = StockLot.objects.create(
        organization=org,
        created_by=mat,
        product=flu,
        lot_number="FL6X99",
        expires_on=today - timedelta(days=14),
        ndc=flu.ndc,
        funding="private",
        storage_unit=fridge,
        doses_received=10,
        doses_on_hand=4,
        received_on=today - timedelta(days=300),
    )
    StockMovement.objects.create(
        organization=org,
        created_by=mat,
        lot=expired,
        kind="received",
        doses=4,
        balance=4,
        reason="received last season",
    )
    quarantined = services.receive_stock(
        actor=actor,
        product=products["Boostrix (Tdap)"],
        lot_number="BO7Q11",
        expires_on=today + timedelta(days=200),
        ndc=products["Boostrix (Tdap)"].ndc,
        funding="private",
        storage_unit=fridge,
        doses=5,
    )
    services.set_lot_status(
        actor=actor,
        lot=quarantined,
        status="quarantined",
        reason="fridge logged 9.4 °C for 3 hours; waiting for the manufacturer's advice",
    )
    made += 3
    season = today.year if today.month >= 7 else today.year - 1
    services.add_standing_order(
        actor=actor,
        name=f"Seasonal influenza {season}-{season + 1}, adults",
        products=[flu],
        signed_by=provider,
        valid_from=date(season, 8, 1),
        valid_until=date(season + 1, 6, 30),
        vaccine_group="FLU",
        min_age_years=18,
        screening_questions=FLU_QUESTIONS,
        instructions=(
            "A sore arm for a day or two is common: a cool, wet cloth on the spot helps.\n"
            "Call us if you have a fever over 102 °F or the redness keeps spreading."
        ),
    )
    _history(actor, org)
    return made


def _history(actor: Actor, org: Organization) -> None:
    """Doses reported from elsewhere for the first adult patients, so 'what is due' has history."""
    codes = {c.cvx: c for c in VaccineCode.objects.filter(cvx__in=["115", "140", "208", "187"])}
    patients = list(Patient.objects.for_org(org).order_by("pk")[:12])
    today = clock.today()
    for index, patient in enumerate(patients):
        if patient.age_on(today) < 19:
            continue
        if index % 2 == 0 and "115" in codes:
            services.record_historical(
                actor=actor,
                patient=patient,
                vaccine_code=codes["115"],
                given_on=max(patient.birth_date, today - timedelta(days=365 * (3 + index))),
                source="02",
            )
        if index % 3 == 0 and "140" in codes:
            services.record_historical(
                actor=actor,
                patient=patient,
                vaccine_code=codes["140"],
                given_on=today - timedelta(days=400),
                source="04",
                date_is_estimated=True,
            )
