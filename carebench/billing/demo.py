"""Demo billing for Riverbend Health: the billing set-up, the clinic's codes and fees, and
about a dozen finished visits of the last two weeks coded into claims, so the biller finds
work in every useful state on /billing/ (ready to send, drafts with a problem to fix, sent in
an 837P batch, accepted and rejected by the clearinghouse).

Labels in data/demo_codes.csv are carebench's own short labels, written for this demo; they
are not the AMA's CPT descriptors (which are licensed), nor CMS's HCPCS long descriptions.
The charges in data/demo_fees.csv are made-up standard charges.

The visits are real work written through the services with the clock set to when each step
would have happened (`core.clock.frozen`): the appointment booked and moved along the flow
board, blood drawn for the reference lab and the specimens sent with the courier, point-of-
care tests run after that morning's quality control, vaccines and injections ordered by the
provider and given from the clinic's private stock (the lot loses the dose). The claims come
from `services.create_claim` (the superbill) and must pass `services.mark_ready`.

The clearinghouse's answers (277CA) are demo events, and their notes say so. Built once per
organization: `build` returns at once when the organization already has a billing profile.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from carebench.accounts.models import User
from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.models import Facility, Organization
from carebench.patients.models import Coverage, Patient, Payer, Problem
from carebench.terminology.models import Icd10CmCode

from . import services
from .models import BillingProfile, Claim

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
CODES_FILE = DATA / "demo_codes.csv"
FEES_FILE = DATA / "demo_fees.csv"
CLINIC_NAME = "Riverbend Family Clinic"
SEED = 20261122

PROFILE = {
    "submitter_name": "Riverbend Health",
    "submitter_id": "RBH40217",
    "contact_name": "Rachel Goldberg",
    "contact_phone": "5125550112",
    "contact_email": "billing@riverbend.example.com",
    "receiver_name": "CLAIMSHUB",
    "receiver_id": "CLAIMSHUB",
    "billing_name": "Riverbend Health",
    "address_line": "1200 Riverbend Pkwy, Suite 100",
    "city": "Austin",
    "state": "TX",
    "postal_code": "78746-4521",
    "phone": "5125550100",
    "taxonomy": "207Q00000X",
    "place_of_service": "11",
    "usage": "T",
}

# Payer name (as the core demo creates it) -> (SBR09 claim filing indicator, timely-filing
# days). Texas Medicaid and its managed-care plans give 95 days; Medicare a year; the Blues
# and the commercial plans 180 days (check each contract). Payers not listed: CI, 180.
PAYER_RULES: dict[str, tuple[str, int]] = {
    "Medicare Part B": ("MB", 365),
    "Texas Medicaid": ("MC", 95),
    "Superior HealthPlan": ("MC", 95),
    "Blue Cross Blue Shield of Texas": ("BL", 180),
}
DEFAULT_PAYER_RULE = ("CI", 180)
MEDICARE_NAMES = frozenset({"Medicare Part B"})
# A commercial payer with a contracted schedule below the standard charges (the first found).
CONTRACT_PAYERS = ("Aetna", "Cigna", "UnitedHealthcare", "Blue Cross Blue Shield of Texas")
CONTRACT_FEES = "code,amount\n99213,118.00\n99214,172.00\n36415,12.00\n"

STANDARD_SCHEDULE = "Standard charges"


@dataclass(frozen=True)
class Visit:
    """One demo visit: what was done and how it is coded."""

    visit_type: str
    reason: str
    em_code: str
    diagnoses: tuple[str, ...] = ()  # preferred ICD-10-CM codes, before the problem list
    draws: tuple[str, ...] = ()  # reference-lab tests drawn by venipuncture (catalog codes)
    poc: tuple[str, ...] = ()  # point-of-care tests (catalog codes)
    shots: tuple[str, ...] = ()  # products given (names as in meds/demo.py)
    immunization: bool = False  # Z23 added after the problems; the vaccine lines point at it
    female: bool = False
    adult_under_65: bool = False  # vaccines from private stock, billed with 90471/90472
    problem: str = ""  # "" ready; "category" / "unlisted code": left a draft with a problem
    send: str = ""  # "" stays ready; "submitted", "accepted" or "rejected" after the 837P


FLU = "Fluarix Trivalent"
TDAP = "Boostrix (Tdap)"
B12 = "Cyanocobalamin 1000 mcg/mL"

VISITS = [
    Visit(
        "Follow-up",
        "Diabetes follow-up",
        "99214",
        ("E11.9",),
        draws=("CMP", "LIPID"),
        poc=("A1CPOC",),
        send="accepted",
    ),
    Visit("Follow-up", "Blood pressure check", "99213", ("I10",), draws=("CMP",), send="submitted"),
    Visit(
        "Sick visit", "Sore throat", "99213", ("J02.9", "R50.9"), poc=("RSTREP",), send="rejected"
    ),
    Visit(
        "Follow-up",
        "Medication refill",
        "99213",
        (),
        shots=(FLU,),
        immunization=True,
        adult_under_65=True,
        send="submitted",
    ),
    Visit(
        "Follow-up",
        "Cholesterol follow-up",
        "99213",
        ("E78.5",),
        draws=("LIPID",),
        problem="unlisted code",
    ),
    Visit(
        "Sick visit",
        "Burning with urination",
        "99213",
        ("R30.0", "N39.0"),
        poc=("UADIP", "UHCG"),
        female=True,
    ),
    Visit(
        "Follow-up",
        "Diabetes follow-up",
        "99213",
        ("E11.9",),
        poc=("GLUPOC",),
        problem="category",
    ),
    Visit(  # a problem visit, not a preventive one (those bill 99381-99397, not E/M levels)
        "Follow-up",
        "Blood pressure follow-up, due for shots",
        "99214",
        ("I10",),
        draws=("CBC", "CMP", "TSH"),
        shots=(FLU, TDAP),
        immunization=True,
        adult_under_65=True,
    ),
    Visit(
        "Injection / nurse visit",
        "B12 injection",
        "",
        ("E53.8", "D51.9"),
        shots=(B12,),
        adult_under_65=True,
    ),
    Visit("Sick visit", "Sore throat", "99213", ("J02.9",), poc=("RSTREP",)),
    Visit("New patient", "New patient visit", "99203", (), draws=("CBC", "CMP")),
    Visit("Follow-up", "Fatigue", "99214", ("R53.83",), draws=("TSH",), poc=("HGBPOC",)),
]

# Readings that are not the all-normal default (the rest of each test's analytes read normal).
POC_READINGS: dict[str, dict[str, str]] = {
    "A1CPOC": {"4548-4": "7.2"},
    "GLUPOC": {"41653-7": "148"},
    "HGBPOC": {"718-7": "13.1"},
    "UADIP": {"5799-2": "Small (1+)", "5802-4": "Positive"},
}
METER_CONTROLS = {  # as labs/demo.py runs them every morning
    "GLUPOC": [("Level 1 (low)", "36-60", "47"), ("Level 2 (high)", "250-350", "301")],
    "A1CPOC": [("Level 1 (low)", "5.0-6.2", "5.5"), ("Level 2 (high)", "8.6-10.6", "9.6")],
    "HGBPOC": [("Level 1 (low)", "7.5-9.5", "8.3"), ("Level 2 (high)", "15.0-17.0", "16.0")],
}


@dataclass
class Summary:
    claims: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    batch: str = ""


def build(org: Organization) -> Summary | None:
    """The billing set-up, codes, fees and the demo claims (once). None when already built."""
    if BillingProfile.objects.filter(organization=org).exists():
        return None
    clinic = Facility.objects.filter(organization=org, name=CLINIC_NAME).first()
    biller = _user(org, "biller")
    mat = _user(org, "mat")
    if clinic is None or biller is None or mat is None:
        return None
    folders = _folders()
    summary = Summary()
    with transaction.atomic():
        billing = Actor.system(org, user=biller)
        services.save_billing_profile(
            actor=billing,
            clearinghouse_outbox=str(folders[0]),
            clearinghouse_inbox=str(folders[1]),
            **PROFILE,
        )
        _payer_rules(billing)
        _codes_and_fees(billing, clinic)
        if Icd10CmCode.objects.filter(billable=True).exists():
            _Visits(org, clinic, billing, summary).run()
    summary.claims = {
        status: Claim.objects.filter(organization=org, status=status).count()
        for status in Claim.Status.values
        if Claim.objects.filter(organization=org, status=status).exists()
    }
    _drop_batch_file(org)
    return summary


def _user(org: Organization, username: str) -> User | None:
    return User.objects.filter(organization=org, username=username, is_active=True).first()


def _folders() -> tuple[Path, Path]:
    base = Path(settings.VAR_DIR) / "clearinghouse"
    outbox, inbox = base / "outbox", base / "inbox"
    for folder in (outbox, inbox):
        folder.mkdir(parents=True, exist_ok=True)
    return outbox, inbox


def _payer_rules(actor: Actor) -> None:
    """Each demo payer's claim filing indicator and timely-filing limit (there is no payer
    editing service yet: the rows are updated here and the change audited)."""
    for payer in Payer.objects.filter(organization=actor.organization).order_by("name"):
        indicator, days = PAYER_RULES.get(payer.name, DEFAULT_PAYER_RULE)
        if (payer.filing_indicator, payer.timely_filing_days) == (indicator, days):
            continue
        Payer.objects.filter(pk=payer.pk).update(
            filing_indicator=indicator, timely_filing_days=days, updated_at=clock.now()
        )
        audit.record_for_actor(
            actor,
            action=Action.UPDATE,
            resource_type="Payer",
            resource_id=payer.pk,
            detail={"filing_indicator": indicator, "timely_filing_days": days},
        )


def _codes_and_fees(actor: Actor, clinic: Facility) -> None:
    services.import_procedure_codes(
        actor=actor, text=CODES_FILE.read_text(encoding="utf-8"), source=CODES_FILE.name
    )
    start = date(clock.today(clinic.time_zone).year - 1, 1, 1)
    standard = services.create_fee_schedule(
        actor=actor, name=STANDARD_SCHEDULE, effective_from=start
    )
    services.import_fees(actor=actor, schedule=standard, text=FEES_FILE.read_text(encoding="utf-8"))
    payers = {p.name: p for p in Payer.objects.filter(organization=actor.organization)}
    for name in CONTRACT_PAYERS:
        if name in payers:
            contract = services.create_fee_schedule(
                actor=actor,
                name=f"{name} contracted rates",
                effective_from=start,
                payer=payers[name],
            )
            services.import_fees(actor=actor, schedule=contract, text=CONTRACT_FEES)
            break


def _drop_batch_file(org: Organization) -> None:
    """Hand the demo's 837P to the clearinghouse outbox, as a sent batch would be."""
    from .clearinghouse import clearinghouse_for
    from .models import ClaimBatch

    profile = BillingProfile.objects.filter(organization=org).first()
    batch = ClaimBatch.objects.filter(organization=org).order_by("created_at").first()
    if profile is None or batch is None:
        return
    try:
        clearinghouse_for(profile).send("837", batch.file_name, batch.content)
    except (OSError, ValidationError) as exc:  # the folder is a convenience of the demo
        log.warning("demo 837P not written to the clearinghouse outbox: %s", exc)


# --- the visits ---------------------------------------------------------------------------------


def _local(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))


class _Visits:
    """Books, documents and bills the demo visits, each at its own time in the past."""

    def __init__(self, org: Organization, clinic: Facility, billing: Actor, summary: Summary):
        from carebench.scheduling.models import AppointmentType, Provider, Resource

        self.org = org
        self.clinic = clinic
        self.zone = clinic.time_zone
        self.billing = billing
        self.summary = summary
        self.rng = random.Random(SEED)
        self.mat = Actor.system(org, user=_user(org, "mat"))
        self.desk = Actor.system(org, user=_user(org, "frontdesk") or _user(org, "mat"))
        self.providers = list(
            Provider.objects.filter(organization=org, is_active=True).order_by("pk")
        )
        self.types = {t.name: t for t in AppointmentType.objects.filter(organization=org)}
        # exam rooms first; any room of the clinic when they are all taken (today's board)
        self.rooms = sorted(
            Resource.objects.filter(organization=org, facility=clinic, kind=Resource.Kind.ROOM),
            key=lambda room: (room.room_type != "exam", room.sort_order),
        )
        self.today = clock.today(self.zone)
        self.known = dict(Icd10CmCode.objects.values_list("code", "billable"))
        self.used_patients: set[int] = set()
        self.kit_lots: dict[str, Any] = {}
        self.qc_done: set[tuple[str, date]] = set()
        self.claims: list[tuple[Visit, Claim]] = []

    # which days and who
    def days(self) -> list[date]:
        """Clinic weekdays of the last two weeks (not today, not a holiday), oldest first."""
        from dateutil.rrule import rrulestr

        from carebench.scheduling.demo import HOLIDAYS

        start = self.today - timedelta(days=14)
        holidays: set[date] = set()
        for _, rule in HOLIDAYS:
            for moment in rrulestr(rule, dtstart=datetime(start.year - 1, 1, 1)).between(
                datetime.combine(start, time(0)), datetime.combine(self.today, time(0)), inc=True
            ):
                holidays.add(moment.date())
        return [
            start + timedelta(days=n)
            for n in range(14)
            if (start + timedelta(days=n)).weekday() < 5
            and start + timedelta(days=n) not in holidays
        ]

    def candidates(self) -> list[tuple[Patient, Coverage]]:
        """Clinic patients whose primary coverage is their own (relationship self), in force,
        with a payer ID, and whose address is complete."""
        rows = (
            Coverage.objects.filter(
                organization=self.org,
                voided_at__isnull=True,
                priority=Coverage.Priority.PRIMARY,
                relationship=Coverage.Relationship.SELF,
                patient__voided_at__isnull=True,
                patient__home_facility__isnull=True,
            )
            .exclude(payer__payer_code="")
            .exclude(member_id="")
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=self.today))
            .filter(Q(start_date__isnull=True) | Q(start_date__lte=self.today - timedelta(days=14)))
            .select_related("patient", "payer")
            .order_by("patient_id")
        )
        found = []
        for coverage in rows:
            patient = coverage.patient
            fields = (patient.address_line1, patient.city, patient.state, patient.postal_code)
            if all(fields):
                found.append((patient, coverage))
        return found

    def pick(
        self, visit: Visit, pool: list[tuple[Patient, Coverage]]
    ) -> tuple[Patient, Coverage] | None:
        from carebench.meds.models import Product
        from carebench.meds.services import allergy_conflicts

        products = list(Product.objects.for_org(self.org).filter(name__in=visit.shots))
        fits = []
        for patient, coverage in pool:
            age = patient.age_on(self.today)
            if age < 18:
                continue
            if visit.female and (patient.sex != "female" or age > 50):
                continue
            if visit.adult_under_65 and (age >= 65 or coverage.payer.name in MEDICARE_NAMES):
                continue
            if visit.shots and len(products) != len(set(visit.shots)):
                return None
            if any(allergy_conflicts(patient, product) for product in products):
                continue
            fits.append((patient, coverage))
        fresh = [row for row in fits if row[0].pk not in self.used_patients]
        choices = fresh or fits
        return self.rng.choice(choices) if choices else None

    def diagnoses(self, visit: Visit, patient: Patient) -> list[str]:
        problems = list(
            Problem.objects.filter(patient=patient, voided_at__isnull=True)
            .exclude(status__in=[Problem.Status.RESOLVED, Problem.Status.INACTIVE])
            .order_by("pk")
            .values_list("icd10_code", flat=True)
        )
        codes: list[str] = []
        # A nurse visit (no E/M) bills what was given for; a provider visit its problems too.
        preferred = [c for c in visit.diagnoses if self.known.get(c)]
        if not visit.em_code and preferred:
            problems = []
        for code in (*visit.diagnoses, *problems):
            if self.known.get(code) and code not in codes:
                codes.append(code)
        if not codes:
            codes = [c for c in ("Z00.00", "I10") if self.known.get(c)][:1]
        codes = codes[:3]
        if visit.immunization and self.known.get("Z23"):
            codes.append("Z23")
        return codes

    def run(self) -> None:
        pool = self.candidates()
        days = self.days()
        if not pool or not days or not self.providers or not self.rooms:
            self.summary.skipped.append("no insured patients, clinic days or providers")
            return
        for index, visit in enumerate(VISITS):
            day = days[index * len(days) // len(VISITS)]
            chosen = self.pick(visit, pool)
            if chosen is None:
                self.summary.skipped.append(f"{visit.reason}: no patient fits")
                continue
            patient, coverage = chosen
            codes = self.diagnoses(visit, patient)
            if not codes:
                self.summary.skipped.append(f"{visit.reason}: no billable diagnosis loaded")
                continue
            try:
                with transaction.atomic():
                    claim = self.visit(visit, index, day, patient, coverage, codes)
            except (ValidationError, ValueError) as exc:
                log.warning("demo visit %s skipped: %s", visit.reason, exc)
                self.summary.skipped.append(f"{visit.reason}: {exc}")
                continue
            self.used_patients.add(patient.pk)
            self.claims.append((visit, claim))
        self.send()

    # one visit
    def visit(
        self,
        visit: Visit,
        index: int,
        day: date,
        patient: Patient,
        coverage: Coverage,
        codes: list[str],
    ) -> Claim:
        from carebench.scheduling import services as sched
        from carebench.scheduling.models import Status

        needs_user = bool(visit.draws or visit.shots)
        providers = [p for p in self.providers if p.user_id] if needs_user else self.providers
        provider = providers[index % len(providers)]
        kind = self.types[visit.visit_type]
        appt = self.book(sched, patient, provider, kind, day, visit.reason)
        start = appt.start
        medicaid = coverage.payer.filing_indicator == "MC"
        copay = Decimal(0) if medicaid or coverage.payer.filing_indicator == "MB" else Decimal(25)

        def at(minutes: int) -> Any:
            return clock.frozen(start + timedelta(minutes=minutes))

        with at(-6):
            appt = sched.advance_flow(
                actor=self.desk,
                appointment=appt,
                to=Status.ARRIVED,
                copay_amount=copay,
                copay_collected=True,
            )
        room = self.free_room()
        previous_room_status = room.status
        with at(4):
            appt = sched.advance_flow(actor=self.mat, appointment=appt, to=Status.ROOMED, room=room)
        with at(10):
            appt = sched.advance_flow(actor=self.mat, appointment=appt, to=Status.READY)
        with at(14):
            appt = sched.advance_flow(actor=self.mat, appointment=appt, to=Status.WITH_PROVIDER)
        encounter = appt.encounter  # type: ignore[attr-defined]
        provider_actor = (
            Actor.system(self.org, user=provider.user) if provider.user is not None else None
        )
        if visit.draws:
            assert provider_actor is not None
            with at(24):
                self.draw(visit, encounter, patient, provider, provider_actor, codes, start)
        if visit.poc:
            with at(22):
                self.poc(visit, encounter, patient, provider, provider_actor, codes, start)
        if visit.shots:
            assert provider_actor is not None
            self.shots(visit, encounter, patient, provider, provider_actor, start)
        with at(40):
            appt = sched.advance_flow(actor=self.mat, appointment=appt, to=Status.CHECKOUT)
        with at(46):
            appt = sched.advance_flow(actor=self.desk, appointment=appt, to=Status.DONE)
            sched.set_room_status(actor=self.mat, room=room, status=previous_room_status)
        encounter.refresh_from_db()
        with clock.frozen(_local(day, 17, 30, self.zone)):
            return self.bill(visit, encounter, codes)

    def book(
        self, sched: Any, patient: Patient, provider: Any, kind: Any, day: date, reason: str
    ) -> Any:
        """Book the visit at the first free time that day (earlier demo days may be booked)."""
        minute = 8 * 60 + 20 * self.rng.randint(0, 12)
        for _ in range(30):
            if 12 * 60 <= minute < 13 * 60:
                minute = 13 * 60
            if minute > 16 * 60 + 20:
                minute = 8 * 60
            start = _local(day, 0, 0, self.zone) + timedelta(minutes=minute)
            try:
                with clock.frozen(start - timedelta(days=3)):
                    return sched.book_appointment(
                        actor=self.desk,
                        override_availability=True,
                        request=sched.BookingRequest(
                            patient=patient,
                            provider=provider,
                            appointment_type=kind,
                            start=start,
                            facility=self.clinic,
                            reason=reason,
                        ),
                    )
            except sched.BookingConflict:
                minute += 20
        raise ValueError(f"no free time for {provider} on {day}")

    def free_room(self) -> Any:
        from carebench.scheduling.models import Resource

        for room in self.rooms:
            room.refresh_from_db()
            if room.status != Resource.RoomStatus.OCCUPIED:
                return room
        raise ValueError("every exam room is occupied")

    def draw(
        self,
        visit: Visit,
        encounter: Any,
        patient: Patient,
        provider: Any,
        provider_actor: Actor,
        codes: list[str],
        start: datetime,
    ) -> None:
        """The provider orders the reference-lab tests; the MAT draws the tubes (one stick) and
        the courier takes them in the afternoon."""
        from carebench.labs import services as labs
        from carebench.labs.models import LabOrder, LabTest, Specimen

        tests = list(LabTest.objects.for_org(self.org).filter(code__in=visit.draws))
        if len(tests) != len(visit.draws):
            raise ValueError(f"the lab catalog lacks {', '.join(visit.draws)}")
        order = labs.place_order(
            actor=provider_actor,
            patient=patient,
            provider=provider,
            tests=tests,
            basis=LabOrder.Basis.PROVIDER,
            diagnosis_codes=codes,
            encounter=encounter,
            fasting_confirmed=True if "LIPID" in visit.draws else None,
        )
        with clock.frozen(start + timedelta(minutes=30)):
            specimens = labs.create_specimens(actor=self.mat, order=order)
            # `collect_specimen` takes the row's created_at (the wall clock, not core.clock) as
            # when the label was printed: set it to the visit's time, as if printed then.
            Specimen.objects.filter(pk__in=[s.pk for s in specimens]).update(created_at=clock.now())
        with clock.frozen(start + timedelta(minutes=33)):
            for specimen in specimens:
                labs.collect_specimen(actor=self.mat, specimen=specimen, site="left antecubital")
        pickup = _local(start.astimezone(ZoneInfo(self.zone)).date(), 16, 30, self.zone)
        with clock.frozen(pickup - timedelta(minutes=15)):
            manifest = labs.create_manifest(
                actor=self.mat, courier="Lone Star Lab Courier", specimens=specimens
            )
        with clock.frozen(pickup):
            labs.pick_up_manifest(actor=self.mat, manifest=manifest)

    def poc(
        self,
        visit: Visit,
        encounter: Any,
        patient: Patient,
        provider: Any,
        provider_actor: Actor | None,
        codes: list[str],
        start: datetime,
    ) -> None:
        """In-house tests: ordered (by the provider, or by the MAT under a standing order for
        the provider to co-sign), run after the morning's QC, results entered."""
        from carebench.labs import poc as poc_rules
        from carebench.labs import poc_services
        from carebench.labs import services as labs
        from carebench.labs.models import LabOrder, LabTest, PocDevice

        tests = list(LabTest.objects.for_org(self.org).filter(code__in=visit.poc))
        if len(tests) != len(visit.poc):
            raise ValueError(f"the lab catalog lacks {', '.join(visit.poc)}")
        day = start.astimezone(ZoneInfo(self.zone)).date()
        for test in tests:
            self.qc(test, day)
        order = labs.place_order(
            actor=provider_actor or self.mat,
            patient=patient,
            provider=provider,
            tests=tests,
            basis=LabOrder.Basis.PROVIDER if provider_actor else LabOrder.Basis.STANDING,
            diagnosis_codes=codes,
            encounter=encounter,
        )
        for minutes, item in enumerate(order.items.select_related("test").order_by("pk"), 2):
            definition = poc_rules.TESTS[item.code]
            device = (
                PocDevice.objects.for_org(self.org).filter(tests=item.test, is_active=True).first()
                if definition.meter
                else None
            )
            with clock.frozen(clock.now() + timedelta(minutes=minutes * 3)):
                poc_services.record_poc_result(
                    actor=self.mat,
                    order_item=item,
                    kit_lot=self.kit_lots[item.code],
                    device=device,
                    entries=_readings(definition, POC_READINGS.get(item.code, {})),
                )

    def qc(self, test: Any, day: date) -> None:
        """A kit lot received before the demo's fortnight, and a passing QC run that morning
        (on the meter for a meter test)."""
        from carebench.labs import poc as poc_rules
        from carebench.labs import poc_services
        from carebench.labs.demo import DEMO_KITS
        from carebench.labs.models import PocDevice

        definition = poc_rules.TESTS[test.code]
        if test.code not in self.kit_lots:
            received = self.today - timedelta(days=21)
            kit, maker = DEMO_KITS[test.code]
            with clock.frozen(_local(received, 9, 0, self.zone)):
                self.kit_lots[test.code] = poc_services.add_kit_lot(
                    actor=self.mat,
                    test=test,
                    kit_name=kit,
                    manufacturer=maker,
                    lot_number=f"{test.code}-{received:%y%m%d}",
                    expires_on=received + timedelta(days=330),
                    received_on=received,
                )
        if (test.code, day) in self.qc_done:
            return
        lot = self.kit_lots[test.code]
        with clock.frozen(_local(day, 7, 45, self.zone)):
            if definition.meter:
                for device in PocDevice.objects.for_org(self.org).filter(
                    tests=test, is_active=True
                ):
                    poc_services.record_qc_run(
                        actor=self.mat,
                        test=test,
                        device=device,
                        kit_lot=lot,
                        levels=[poc_rules.QcLevel(*level) for level in METER_CONTROLS[test.code]],
                    )
            else:
                poc_services.record_qc_run(
                    actor=self.mat,
                    test=test,
                    kit_lot=lot,
                    levels=[
                        poc_rules.QcLevel(s.name, s.expected, s.expected)
                        for s in definition.qc_levels
                    ],
                )
        self.qc_done.add((test.code, day))

    def shots(
        self,
        visit: Visit,
        encounter: Any,
        patient: Patient,
        provider: Any,
        provider_actor: Actor,
        start: datetime,
    ) -> None:
        """The provider orders each dose; the MAT gives it from private stock (not VFC)."""
        from carebench.meds import services as meds
        from carebench.meds.models import Product, StockLot

        day = start.astimezone(ZoneInfo(self.zone)).date()
        sites = ["LD", "RD"]
        for number, name in enumerate(visit.shots):
            product = Product.objects.for_org(self.org).get(name=name)
            lot = (
                StockLot.objects.for_org(self.org)
                .filter(
                    product=product,
                    funding=StockLot.Funding.PRIVATE,
                    status=StockLot.Status.AVAILABLE,
                    expires_on__gte=day,
                    doses_on_hand__gt=0,
                )
                .order_by("expires_on", "pk")
                .first()
            )
            if lot is None:
                raise ValueError(f"no private stock of {name}")
            found = meds.find_lot(self.mat, product, lot.lot_number, public=False)
            assert found is not None
            with clock.frozen(start + timedelta(minutes=26 + number)):
                order = meds.order_medication(
                    actor=provider_actor,
                    patient=patient,
                    product=product,
                    provider=provider,
                    encounter=encounter,
                )
            with clock.frozen(start + timedelta(minutes=32 + 2 * number)):
                meds.administer(
                    actor=self.mat,
                    order=order,
                    patient_check=meds.PatientCheck(
                        name=f"{patient.given_name} {patient.family_name}",
                        birth_date=patient.birth_date,
                    ),
                    lot=found,
                    dose_amount=order.dose_amount,
                    dose_unit=order.dose_unit,
                    route=order.route,
                    site=sites[number % 2],
                    eligibility="V01" if product.is_vaccine else "",
                    vis_given_on=day if product.is_vaccine else None,
                )

    # the claim
    def bill(self, visit: Visit, encounter: Any, codes: list[str]) -> Claim:
        lines = services.superbill_lines(encounter, em_code=visit.em_code)
        # The visit addresses every problem coded (the E/M line points at them all); the
        # vaccines point at the immunization encounter, the rest at the principal diagnosis.
        problem_pointers = tuple(n for n, code in enumerate(codes, 1) if code != "Z23")[:4]
        vaccine_pointers = (codes.index("Z23") + 1,) if "Z23" in codes else (1,)
        lines = [
            replace(line, pointers=problem_pointers or (1,))
            if line.source == "em"
            else replace(line, pointers=vaccine_pointers)
            if _is_vaccine_line(line)
            else line
            for line in lines
        ]
        if visit.problem == "unlisted code":
            # The coder adds the visit-complexity add-on G2211, which the clinic's code file
            # does not carry yet: the checks send the claim back to import it.
            lines = [
                *lines,
                services.LineInput(
                    code="G2211", charge=Decimal("16.00"), description="Visit complexity add-on"
                ),
            ]
        claim = services.create_claim(
            actor=self.billing,
            encounter=encounter,
            diagnoses=codes,
            em_code=visit.em_code,
            lines=lines,
        )
        if visit.problem == "category":
            category = next(
                (c for c in ("E11", "I10", "E78") if c in self.known and not self.known[c]), ""
            )
            if category:
                # A category code keyed over the principal diagnosis on the draft (the
                # coding screen refuses it; the demo writes it to show the check catching it).
                Claim.objects.filter(pk=claim.pk).update(
                    diagnosis_codes=[category, *claim.diagnosis_codes[1:]]
                )
                claim.refresh_from_db()
        problems = services.mark_ready(actor=self.billing, claim=claim)
        claim.refresh_from_db()
        if visit.problem and not problems:
            raise ValueError(f"{claim.number} was meant to keep a problem but passed the checks")
        if not visit.problem and problems:
            raise ValueError("; ".join(str(p) for p in problems))
        return claim

    def send(self) -> None:
        """Send the older ready claims in one 837P the evening of their last visit day; the
        clearinghouse's 277CA answers the next morning (demo events, said so in the notes)."""
        to_send = [(v, c) for v, c in self.claims if v.send and c.status == Claim.Status.READY]
        if not to_send:
            return
        last_day = max(c.service_date for _, c in to_send)
        sent_at = _local(last_day, 17, 45, self.zone)
        with clock.frozen(sent_at):
            batch = services.export_837p(actor=self.billing, claim_ids=[c.pk for _, c in to_send])
        if batch is None:
            return
        self.summary.batch = batch.file_name
        answered = _local(last_day + timedelta(days=1), 9, 10, self.zone)
        for visit, claim in to_send:
            claim.refresh_from_db()
            if visit.send == "accepted":
                with clock.frozen(answered):
                    services.add_event(
                        claim,
                        actor=self.billing,
                        to_status=Claim.Status.ACCEPTED,
                        note="277CA: accepted (demo)",
                        source=f"277CA for {batch.file_name} (demo)",
                    )
            elif visit.send == "rejected":
                with clock.frozen(answered):
                    services.add_event(
                        claim,
                        actor=self.billing,
                        to_status=Claim.Status.REJECTED,
                        note=(
                            "277CA: rejected (demo): the payer could not match the subscriber "
                            "as sent. Check eligibility and the member ID, then send it again."
                        ),
                        source=f"277CA for {batch.file_name} (demo)",
                    )


def _is_vaccine_line(line: services.LineInput) -> bool:
    """A vaccine's administration or product line (what the immunization diagnosis covers)."""
    return line.code in ("90471", "90472") or (
        line.code.startswith("90") and line.source.startswith("administration:")
    )


def _readings(definition: Any, overrides: dict[str, str]) -> dict[str, str]:
    """Every analyte of a point-of-care test read normal, but for `overrides`."""
    entries: dict[str, str] = {}
    for analyte in definition.analytes:
        if analyte.code in overrides:
            entries[analyte.code] = overrides[analyte.code]
        elif analyte.choices:
            entries[analyte.code] = (
                analyte.normal[0] if analyte.normal else analyte.choices[0].value
            )
        else:
            ref = analyte.ranges[0] if analyte.ranges else None
            low = ref.low if ref is not None and ref.low is not None else Decimal(1)
            high = ref.high if ref is not None and ref.high is not None else low
            middle = (low + high) / 2
            entries[analyte.code] = str(middle.quantize(Decimal(1).scaleb(-analyte.places)))
    return entries
