"""Demo data for compliance: the clinic's equipment with its calibration and maintenance
plans (one overdue, one due soon, to show the warnings), the vaccine fridge's and freezer's
twice-daily readings for the past week (in range), the autoclave with two instrument trays
sterilized in a load that passed (so the procedure room has a tray to set up), all through
the services. Built once per organization, after the vaccine demo (it reads its fridge)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from carebench.accounts.models import User
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.models import Facility, Organization
from carebench.labs.models import PocDevice
from carebench.meds.models import StorageUnit

from . import services
from .models import Device

# kind, name, serial, make, model, plan kind, every N days, next due (days from today)
EQUIPMENT = [
    ("ekg_machine", "EKG cart", "MAC5-22817", "GE", "MAC 5500", "inspection", 365, 120),
    ("centrifuge", "Lab centrifuge", "CF-40119", "Drucker", "642E", "preventive", 180, -6),
    ("scale", "Exam scale room 2", "SC-7730", "Detecto", "6855", "calibration", 365, 9),
    (
        "bp_cuff",
        "Automatic BP monitor",
        "BP-55102",
        "Welch Allyn",
        "Connex",
        "calibration",
        365,
        200,
    ),
]
TRAYS = [
    ("Laceration tray 1", "LAC-001", "needle driver, Adson forceps, iris scissors, hemostat"),
    ("Suture removal kit 1", "SRK-001", "suture scissors, forceps"),
    ("Biopsy tray 1", "BIO-001", "punch handles, forceps, iris scissors, needle driver"),
]


def _clinic(org: Organization) -> Facility | None:
    return Facility.objects.filter(organization=org, kind=Facility.Kind.CLINIC).first()


def build(org: Organization) -> int:
    """Returns the devices added (0 when already built)."""
    facility = _clinic(org)
    if facility is None or Device.objects.for_org(org).exists():
        return 0
    manager = User.objects.get(organization=org, username="manager")
    mat = User.objects.get(organization=org, username="mat")
    boss = Actor.system(org, user=manager)
    staff = Actor.system(org, user=mat)
    today = clock.today(facility.time_zone)
    zone = ZoneInfo(facility.time_zone)
    added = 0
    for kind, name, serial, make, model, plan_kind, every, due in EQUIPMENT:
        device = services.add_device(
            actor=boss,
            facility=facility,
            kind=kind,
            name=name,
            serial_number=serial,
            make=make,
            model_name=model,
        )
        services.add_plan(
            actor=boss,
            device=device,
            kind=plan_kind,
            interval_days=every,
            next_due=today + timedelta(days=due),
        )
        added += 1
    for poc in PocDevice.objects.for_org(org):
        device = services.add_device(
            actor=boss,
            facility=facility,
            kind="glucometer" if "gluco" in poc.name.lower() else "analyzer",
            name=poc.name,
            serial_number=poc.serial_number or f"POC-{poc.pk}",
            poc_device=poc,
        )
        services.add_plan(
            actor=boss,
            device=device,
            kind="calibration",
            interval_days=180,
            next_due=today + timedelta(days=60),
        )
        added += 1
    for unit in StorageUnit.objects.for_org(org).filter(kind__in=["refrigerator", "freezer"]):
        services.add_device(
            actor=boss,
            facility=unit.facility,
            kind=unit.kind,
            name=unit.name,
            serial_number=f"{unit.kind[:3].upper()}-{unit.pk:04d}",
            storage_unit=unit,
        )
        added += 1
        middle = Decimal("4.6") if unit.kind == "refrigerator" else Decimal("-21.0")
        for days_ago in range(6, -1, -1):
            day = today - timedelta(days=days_ago)
            for hour, drift in ((8, Decimal("-0.4")), (15, Decimal("0.5"))):
                at = datetime.combine(day, time(hour, 5), tzinfo=zone)
                if at > clock.now():
                    continue
                services.record_reading(
                    actor=staff,
                    storage_unit=unit,
                    current_c=middle + drift,
                    min_c=middle - Decimal("0.9"),
                    max_c=middle + Decimal("1.1"),
                    taken_at=at,
                )
    autoclave = services.add_device(
        actor=boss,
        facility=facility,
        kind="autoclave",
        name="Autoclave",
        serial_number="M11-30917",
        make="Midmark",
        model_name="M11",
    )
    services.add_plan(
        actor=boss,
        device=autoclave,
        kind="preventive",
        interval_days=90,
        next_due=today + timedelta(days=30),
    )
    sets = [
        services.add_instrument_set(actor=staff, name=n, barcode=b, contents=c) for n, b, c in TRAYS
    ]
    services.record_cycle(
        actor=staff,
        autoclave=autoclave,
        cycle_number="1042",
        run_at=clock.now() - timedelta(days=1),
        instrument_sets=sets,
        duration_minutes=30,
        temperature_c=Decimal("121"),
        pressure_psi=Decimal("15"),
        chemical_indicator="pass",
        biological_indicator="pass",
    )
    return added + 1
