"""Demo data for the eMAR: the assisted-living home's medication technician and nurse assigned
to it, six residents (the demo's oldest patients) in their rooms, and the orders a real home
has: scheduled tablets at the standard pass times, a beta blocker with hold parameters, PRNs
with their limits, a controlled PRN with its count sheet. Built once."""

from __future__ import annotations

from datetime import timedelta

from carebench.accounts.models import User
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.models import Facility, Organization
from carebench.patients.models import Patient

from . import emar_services as services
from .emar_models import Assignment, Residency

ROOMS = ["101", "102", "103A", "103B", "104", "110"]
# drug, strength, form, dose, route, frequency, extra
ORDERS: list[list[tuple[str, str, str, str, str, str, dict[str, object]]]] = [
    [
        ("Lisinopril", "10 mg", "tablet", "1 tablet", "oral", "QD", {}),
        (
            "Metoprolol tartrate",
            "25 mg",
            "tablet",
            "1 tablet",
            "oral",
            "BID",
            {"hold_text": "hold if pulse < 60 or systolic < 100"},
        ),
        (
            "Acetaminophen",
            "500 mg",
            "tablet",
            "2 tablets",
            "oral",
            "PRN",
            {
                "prn_indication": "pain or fever",
                "prn_min_interval_minutes": 360,
                "prn_max_per_day": 4,
            },
        ),
    ],
    [
        (
            "Metformin",
            "500 mg",
            "tablet",
            "1 tablet",
            "oral",
            "BID",
            {"instructions": "with meals"},
        ),
        ("Atorvastatin", "20 mg", "tablet", "1 tablet", "oral", "QHS", {}),
        (
            "Lorazepam",
            "0.5 mg",
            "tablet",
            "1 tablet",
            "oral",
            "PRN",
            {
                "prn_indication": "anxiety",
                "prn_min_interval_minutes": 480,
                "prn_max_per_day": 2,
                "controlled": "IV",
                "quantity_on_hand": 30,
            },
        ),
    ],
    [
        ("Donepezil", "10 mg", "tablet", "1 tablet", "oral", "QHS", {}),
        ("Sertraline", "50 mg", "tablet", "1 tablet", "oral", "QD", {}),
    ],
    [
        (
            "Levothyroxine",
            "75 mcg",
            "tablet",
            "1 tablet",
            "oral",
            "QAM",
            {"instructions": "on an empty stomach, 30 minutes before breakfast"},
        ),
        ("Furosemide", "20 mg", "tablet", "1 tablet", "oral", "QD", {}),
        ("Potassium chloride ER", "10 mEq", "tablet", "1 tablet", "oral", "QD", {}),
    ],
    [
        (
            "Amlodipine",
            "5 mg",
            "tablet",
            "1 tablet",
            "oral",
            "QD",
            {"hold_text": "hold if systolic < 100"},
        ),
        ("Timolol 0.5% eye drops", "0.5%", "solution", "1 drop each eye", "ophthalmic", "BID", {}),
    ],
    [
        ("Carbidopa-levodopa", "25-100 mg", "tablet", "1 tablet", "oral", "TID", {}),
        ("Senna", "8.6 mg", "tablet", "2 tablets", "oral", "QHS", {}),
    ],
]


def build(org: Organization) -> int:
    """Residents and orders in the demo home (once). Returns the residents admitted."""
    home = Facility.objects.filter(organization=org, kind=Facility.Kind.ASSISTED_LIVING).first()
    nurse = User.objects.filter(organization=org, username="nurse").first()
    if home is None or nurse is None or Residency.objects.filter(organization=org).exists():
        return 0
    actor = Actor.system(org, user=nurse)
    for username in ("medtech", "nurse"):
        worker = User.objects.filter(organization=org, username=username).first()
        if (
            worker is not None
            and not Assignment.objects.filter(user=worker, facility=home).exists()
        ):
            services.assign_worker(actor=actor, user=worker, facility=home)
    today = clock.today(home.time_zone)
    oldest = list(Patient.objects.filter(organization=org).order_by("birth_date")[: len(ROOMS)])
    admitted = 0
    for room, patient, orders in zip(ROOMS, oldest, ORDERS, strict=False):
        residency = services.admit_resident(
            actor=actor,
            patient=patient,
            facility=home,
            room=room,
            admitted_on=today - timedelta(days=200 + 30 * admitted),
            prescriber_name="Samuel Chen, MD",
            pharmacy_name="Round Rock Long-Term Care Pharmacy",
            pharmacy_phone="5125550177",
        )
        for drug, strength, form, dose, route, frequency, extra in orders:
            options: dict[str, object] = {"quantity_on_hand": 28, **extra}
            services.add_order(
                actor=actor,
                residency=residency,
                drug_name=drug,
                strength=strength,
                form=form,
                dose=dose,
                route=route,
                frequency=frequency,
                start_date=today - timedelta(days=60),
                prescriber="Samuel Chen, MD",
                **options,  # type: ignore[arg-type]
            )
        admitted += 1
    return admitted
