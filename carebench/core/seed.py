"""`carebench bench seed`: a synthetic clinic network at benchmark scale (issue #10).

One organization (slug `bench`, "Bench Health Network") with one clinic, 40 providers, 60 rooms,
the demo's visit types, payers, the lab catalog, vaccines in stock and the billing set-up, all
made once through the real services (valid and audited); then N patients with coverage,
allergies, problems, medications, tobacco status, years of visits (appointments, encounters,
vital signs with one Observation per vital), lab orders with specimens and results,
immunizations and claims, written in chunks through the bulk path (`seed_writer`: executemany
on SQLite, COPY on PostgreSQL), one transaction per chunk, so memory stays bounded.

The run is additive: an organization that already holds N patients is left alone, one with
fewer gets the missing ones. The first seeding day is the "anchor": history lies before it,
bookings after it, and the providers' templates start two years before it, which is how later
runs (and `--show-day`) find it again. One future Wednesday (`chosen_day`) holds exactly 1,000
booked visits, 25 per provider, for the day-view benchmark. See docs/subsystems/seed.md.
"""

from __future__ import annotations

import multiprocessing
import time as timer
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from queue import Empty
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F
from django.db.models.functions import TruncDate

from carebench.core import clock

from . import seed_data as data
from .seed_rows import Chunk, ChunkBuilder, produce
from .seed_schedule import (
    FUTURE_DAYS,
    PROVIDERS,
    Clinic,
    Clock,
    Schedule,
    history_weekdays,
    weekdays,
)
from .seed_setup import anchor_of, chosen_day_for, set_up
from .seed_writer import LoadShortcuts, SeedError, Table

DEFAULT_SLUG = "bench"
CHOSEN_PER_PROVIDER = 25
CHUNK = 5000
FAST_LOAD_MIN = 20_000  # a load this large into (nearly) empty tables drops their indexes first

# table key -> (app label.model, columns each row gives; the rest are constants or defaults)
COLUMNS: dict[str, tuple[str, list[str]]] = {
    "patient": (
        "patients.Patient",
        "id created_at updated_at mrn family_name given_name preferred_name birth_date sex "
        "sex_at_birth phone_mobile phone_home email address_line1 city postal_code "
        "preferred_language emergency_contact_name emergency_contact_relationship "
        "emergency_contact_phone family_key given_key preferred_key mobile_key home_key".split(),
    ),
    "coverage": (
        "patients.Coverage",
        "id created_at updated_at patient_id payer_id plan_name member_id group_number "
        "relationship subscriber_name start_date".split(),
    ),
    "allergy": (
        "patients.Allergy",
        "id created_at updated_at patient_id kind category substance substance_code reaction "
        "severity".split(),
    ),
    "medication": (
        "patients.MedicationStatement",
        "id created_at updated_at patient_id medication rxnorm_code dose route frequency "
        "start_date".split(),
    ),
    "problem": (
        "patients.Problem",
        "id created_at updated_at patient_id icd10_code description onset_date".split(),
    ),
    "history": (
        "patients.HistoryEntry",
        "id created_at updated_at patient_id description tobacco_status".split(),
    ),
    "appointment": (
        "scheduling.Appointment",
        "id created_at updated_at patient_id provider_id appointment_type_id room_id start end "
        "status status_changed_at reason cancel_reason overbooked copay_amount "
        "copay_collected".split(),
    ),
    "encounter": (
        "encounters.Encounter",
        "id created_at updated_at patient_id appointment_id provider_id started_at ended_at "
        "chief_complaint".split(),
    ),
    "vitals": (
        "encounters.VitalSigns",
        "id created_at updated_at patient_id encounter_id taken_at bp_position bp_arm "
        "bp_cuff_size temperature_route units bp_category bmi_category".split(),
    ),
    "observation": (
        "encounters.Observation",
        "id created_at updated_at patient_id encounter_id vital_signs_id code name value value2 "
        "unit flag flag2 note effective_at".split(),
    ),
    "lab_order": (
        "labs.LabOrder",
        "id created_at updated_at number patient_id encounter_id ordering_provider_id "
        "entered_by_id created_by_id ordered_at diagnosis_codes filler_number".split(),
    ),
    "lab_item": (
        "labs.LabOrderItem",
        "id created_at updated_at created_by_id order_id test_id code name loinc container "
        "min_volume_ml fasting_required timing_note performed".split(),
    ),
    "specimen": (
        "labs.Specimen",
        "id created_at updated_at accession order_id patient_id container volume_ml "
        "draw_sequence collected_at collection_site received_at".split(),
    ),
    "specimen_item": ("labs.Specimen_items", "id specimen_id laborderitem_id".split()),
    "specimen_event": (
        "labs.SpecimenEvent",
        "id created_at updated_at specimen_id kind at location detail".split(),
    ),
    "lab_result": (
        "labs.LabResult",
        "id created_at updated_at patient_id order_id order_item_id specimen_id sequence code "
        "name value_numeric unit reference_low reference_high reference_text flag "
        "observed_at".split(),
    ),
    "result_review": (
        "labs.ResultReview",
        "id created_at updated_at created_by_id order_id reviewed_by_id reviewed_at".split(),
    ),
    "med_order": (
        "meds.MedicationOrder",
        "id created_at updated_at created_by_id patient_id encounter_id product_id dose_amount "
        "dose_unit route ordering_provider_id entered_by_id ordered_at".split(),
    ),
    "administration": (
        "meds.Administration",
        "id created_at updated_at patient_id encounter_id order_id product_id vaccine_code_id "
        "product_name lot_id lot_number expires_on manufacturer_id ndc dose_amount dose_unit "
        "route site occurred_at ordering_provider_id vis_edition_date vis_given_on "
        "eligibility".split(),
    ),
    "stock_movement": (
        "meds.StockMovement",
        "id created_at updated_at lot_id kind doses balance reason administration_id".split(),
    ),
    "claim": (
        "billing.Claim",
        "id created_at updated_at number patient_id encounter_id coverage_id payer_id "
        "rendering_provider_id status service_date diagnosis_codes total_charge patient_paid "
        "submitted_at payer_claim_number paid_amount adjustment_amount "
        "patient_responsibility".split(),
    ),
    "claim_line": (
        "billing.ClaimLine",
        "id created_at updated_at claim_id number code charge pointers service_date description "
        "source status paid_amount allowed_amount adjustment_amount "
        "patient_responsibility".split(),
    ),
    "claim_event": (
        "billing.ClaimEvent",
        "id created_at updated_at claim_id at to_status note".split(),
    ),
}


class Phases:
    """Wall-clock and CPU seconds spent in each part of a run (the command prints them)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def time(self, name: str) -> Iterator[None]:
        wall, cpu = timer.perf_counter(), timer.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + timer.perf_counter() - wall
            self.cpu[name] = self.cpu.get(name, 0.0) + timer.process_time() - cpu


@dataclass
class Summary:
    organization: str
    patients_before: int
    patients_after: int
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    chosen_day: date | None = None
    chosen_booked: int = 0
    indexes_rebuilt: int = 0
    phases: Phases = field(default_factory=lambda: Phases())

    @property
    def added(self) -> int:
        return self.patients_after - self.patients_before

    @property
    def per_second(self) -> float:
        return self.added / self.seconds if self.seconds else 0.0


# --- the organization and its chosen day -------------------------------------------------


def find_organization(slug: str) -> Any:
    from carebench.core.models import Organization

    return Organization.objects.filter(slug=slug).first()


def show_day(slug: str = DEFAULT_SLUG) -> date | None:
    """The chosen day of a seeded organization (None when it was never seeded)."""
    organization = find_organization(slug)
    anchor = anchor_of(organization) if organization is not None else None
    return chosen_day_for(anchor) if anchor is not None else None


# --- the tables -----------------------------------------------------------------------------------


def _tables(clinic: Clinic, provider_user: int) -> dict[str, Table]:
    from django.apps import apps

    org = clinic.organization_id
    mat, desk, biller = clinic.mat_id, clinic.frontdesk_id, clinic.biller_id
    constants: dict[str, dict[str, Any]] = {
        "patient": {
            "created_by_id": desk,
            "state": "TX",
            "home_facility_id": clinic.facility_id,
        },
        "coverage": {"created_by_id": desk, "priority": 1},
        "allergy": {"created_by_id": mat, "status": "active"},
        "medication": {"created_by_id": mat, "status": "active"},
        "problem": {"created_by_id": provider_user, "status": "active"},
        "history": {"created_by_id": mat, "kind": "tobacco"},
        "appointment": {"created_by_id": desk, "facility_id": clinic.facility_id},
        "encounter": {
            "created_by_id": desk,
            "facility_id": clinic.facility_id,
            "status": "finished",
        },
        "vitals": {"created_by_id": mat, "taken_by_id": mat, "critical": False},
        "observation": {"created_by_id": mat, "category": "vital-signs"},
        "lab_order": {"basis": "provider", "priority": "routine", "status": "completed"},
        "lab_item": {},
        "specimen": {
            "created_by_id": mat,
            "status": "received",
            "collected_by_id": mat,
            "attempts": 1,
        },
        "specimen_item": {},
        "specimen_event": {"created_by_id": mat, "by_id": mat},
        "lab_result": {
            "code_system": "LN",
            "status": "final",
            "source": "hl7",
            "performing_lab": data.PERFORMING_LAB,
        },
        "result_review": {},
        "med_order": {"basis": "provider", "status": "completed"},
        "administration": {
            "created_by_id": mat,
            "kind": "given",
            "source": "00",
            "given_by_id": mat,
            "facility_id": clinic.facility_id,
            "funding": "private",
            "observation_minutes": 15,
            "patient_check": "name and date of birth",
        },
        "stock_movement": {"created_by_id": mat},
        "claim": {
            "created_by_id": biller,
            "facility_id": clinic.facility_id,
            "place_of_service": "11",
        },
        "claim_line": {"created_by_id": biller, "ndc_unit": ""},
        "claim_event": {"by_id": biller},
    }
    tables: dict[str, Table] = {}
    for key, (label, columns) in COLUMNS.items():
        if label == "labs.Specimen_items":
            model: Any = apps.get_model("labs", "Specimen").items.through
        else:
            model = apps.get_model(label)
        fixed = dict(constants[key])
        names = {f.attname for f in model._meta.concrete_fields}
        if "organization_id" in names:
            fixed["organization_id"] = org
        tables[key] = Table(model, columns, fixed)
    return tables


# --- the run ------------------------------------------------------------------------------------


def _schedule(clinic: Clinic, organization: Any, target: int) -> Schedule:
    """Which slots are used already (an earlier run, bookings since), and the days to use."""
    from carebench.scheduling.models import Appointment

    anchor = clinic.anchor.toordinal()
    chosen = clinic.chosen.toordinal()
    span = history_weekdays(target)
    first = anchor - 1
    found = 0
    while found < span:
        first -= 1
        if date.fromordinal(first).weekday() < 5:
            found += 1
    past = weekdays(first, anchor - 1)
    future = [o for o in weekdays(anchor + 1, anchor + FUTURE_DAYS) if o != chosen]
    used: Counter[tuple[int, bool]] = Counter()
    taken: dict[tuple[int, int], list[tuple[int, int]]] = {}
    query = Appointment.objects.filter(organization=organization, facility_id=clinic.facility_id)
    if query.exists():
        long_ids = [clinic.visit_types[name][0] for name in data.LONG_TYPES]
        for day, type_id, n in (
            query.annotate(day=TruncDate("start", tzinfo=clinic.zone))
            .values_list("day", "appointment_type_id")
            .annotate(n=Count("id"))
        ):
            used[(day.toordinal(), type_id in long_ids)] += n
        index = {pk: i for i, (pk, _u) in enumerate(clinic.providers)}
        begin = datetime.combine(date.fromordinal(anchor + 1), time(0), clinic.zone)
        for provider_id, start, end in query.filter(start__gte=begin).values_list(
            "provider_id", "start", "end"
        ):
            if provider_id not in index:
                continue
            local, until = start.astimezone(clinic.zone), end.astimezone(clinic.zone)
            taken.setdefault((local.toordinal(), index[provider_id]), []).append(
                (local.hour * 60 + local.minute, until.hour * 60 + until.minute)
            )
    return Schedule(past, future, used, taken)


def _numbers(organization: Any, cursor: Any) -> dict[str, int]:
    """The next MRN, lab order, specimen and claim numbers (rows locked until the commit)."""
    from carebench.billing.models import BillingProfile
    from carebench.core.models import Organization
    from carebench.labs.models import LabCounter

    LabCounter.objects.get_or_create(organization=organization)
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    counter = LabCounter.objects.select_for_update().get(organization=organization)
    profile = BillingProfile.objects.select_for_update().get(organization=organization)
    return {
        "mrn": int(org.next_mrn),
        "lab_order": int(counter.next_order),
        "specimen": int(counter.next_specimen),
        "claim": int(profile.next_claim_number),
    }


def _check_numbers(organization: Any, cursor: Any, chunk: Chunk) -> None:
    """The MRNs and lab and claim numbers the chunk was built with are still the next ones."""
    now = _numbers(organization, cursor)
    if now != chunk.numbers:
        changed = ", ".join(k for k in now if now[k] != chunk.numbers[k])
        raise SeedError(
            f"the organization's next {changed} changed during the seeding (someone registered "
            "a patient, ordered a lab or made a claim): run it again when nothing else writes"
        )


def _from_worker(
    builder: ChunkBuilder,
    start: int,
    stop: int,
    size: int,
    firsts: dict[str, int],
    numbers: dict[str, int],
) -> Iterator[Chunk]:
    """The chunks, built by a second process while this one writes (a fork: it shares the
    set-up already loaded and never touches the database)."""
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue(maxsize=2)
    worker = context.Process(
        target=_build_in_worker,
        args=(builder, start, stop, size, firsts, numbers, queue),
        daemon=True,
    )
    worker.start()
    try:
        while True:
            try:
                item = queue.get(timeout=2)
            except Empty:
                if not worker.is_alive():
                    raise SeedError("the process building the rows stopped") from None
                continue
            if item is None:
                return
            if isinstance(item, str):
                raise SeedError(f"building the rows failed:\n{item}")
            yield item
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(5)


def _build_in_worker(
    builder: ChunkBuilder,
    start: int,
    stop: int,
    size: int,
    firsts: dict[str, int],
    numbers: dict[str, int],
    queue: Any,
) -> None:
    try:
        for chunk in produce(builder, start, stop, size, firsts, numbers):
            queue.put(chunk)
        queue.put(None)
    except BaseException:  # reported to the writer, which stops the run
        queue.put(traceback.format_exc())


def _advance(organization: Any, numbers: dict[str, int], chunk: Chunk) -> None:
    from carebench.billing.models import BillingProfile
    from carebench.core.models import Organization
    from carebench.labs.models import LabCounter
    from carebench.meds.models import StockLot

    Organization.objects.filter(pk=organization.pk).update(next_mrn=numbers["mrn"] + chunk.mrns)
    LabCounter.objects.filter(organization=organization).update(
        next_order=numbers["lab_order"] + chunk.lab_orders,
        next_specimen=numbers["specimen"] + chunk.specimens,
    )
    BillingProfile.objects.filter(organization=organization).update(
        next_claim_number=numbers["claim"] + chunk.claims
    )
    now = clock.now()
    for lot_id, doses in chunk.restocked.items():
        StockLot.objects.filter(pk=lot_id).update(
            doses_received=F("doses_received") + doses, updated_at=now
        )


def _tune_connection() -> None:
    """This connection only. SQLite: a larger page cache, and sorter files on disk (building
    an index over millions of rows does not hold them all in memory). PostgreSQL: commits do
    not wait for the WAL flush (a crash may lose the last chunks, never corrupt them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size=-100000")
            if not connection.in_atomic_block:  # (not allowed inside a transaction)
                cursor.execute("PRAGMA temp_store=FILE")
        else:
            cursor.execute("SET synchronous_commit = off")


def seed(
    *,
    patients: int,
    seed: int = 1,
    slug: str = DEFAULT_SLUG,
    chunk_size: int = CHUNK,
    progress: Callable[[int, int, int], None] | None = None,
    say: Callable[[str], None] = lambda text: None,
) -> Summary:
    """Seed the organization up to `patients` patients (see the module's docstring)."""
    from carebench.meds.models import StockLot
    from carebench.patients.models import Patient

    if patients < 0:
        raise SeedError("--patients must be 0 or more")
    repaired = LoadShortcuts.repair()
    if repaired:
        say(f"Put back {repaired} indexes and keys an interrupted seeding had dropped.")
    started = timer.perf_counter()
    phases = Phases()
    with phases.time("setup"):
        clinic = set_up(slug, seed)
    organization = find_organization(slug)
    have = Patient.objects.filter(organization=organization).count()
    summary = Summary(organization=slug, patients_before=have, patients_after=have)
    summary.phases = phases
    summary.chosen_day = clinic.chosen
    if have < patients:
        _tune_connection()
        tables = _tables(clinic, clinic.providers[0][1])
        balances = dict(
            StockLot.objects.filter(organization=organization).values_list("id", "doses_on_hand")
        )
        builder = ChunkBuilder(clinic, _schedule(clinic, organization, patients), balances)
        # SQLite: indexes built afterwards are cheaper; PostgreSQL: measured about even (its
        # COPY keeps them well), while its foreign-key checks are most of a load's time
        shortcuts = LoadShortcuts(
            [t.name for t in tables.values()], indexes=connection.vendor == "sqlite"
        )
        missing = patients - have
        try:
            if missing >= FAST_LOAD_MIN and missing >= Patient.objects.count():
                dropped = shortcuts.drop()
                say(f"Large load into near-empty tables: {dropped} indexes and keys set aside.")
            load = _Load(organization, tables, phases, progress)
            summary.patients_after = load.run(builder, have, patients, chunk_size)
        finally:
            if shortcuts.dropped:
                say("Building the indexes and checking the keys again...")
                with phases.time("indexes"):
                    summary.indexes_rebuilt = shortcuts.restore()
        summary.rows = {key: table.written for key, table in tables.items()}
        summary.chosen_booked = _chosen_day(clinic, organization, summary)
        with phases.time("analyze"), connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA analysis_limit=1000")
                cursor.execute("ANALYZE")
            else:
                cursor.execute("ANALYZE " + ", ".join(t.quoted for t in tables.values()))
    else:
        summary.chosen_booked = _chosen_day(clinic, organization, summary)
    summary.seconds = timer.perf_counter() - started
    return summary


class _Load:
    """Writes the chunks, one transaction each, checking that the ids and numbers each was
    built with are still free."""

    def __init__(
        self,
        organization: Any,
        tables: dict[str, Table],
        phases: Phases,
        progress: Callable[[int, int, int], None] | None,
    ) -> None:
        self.organization = organization
        self.tables = tables
        self.phases = phases
        self.progress = progress

    def run(self, builder: ChunkBuilder, have: int, patients: int, size: int) -> int:
        """Add patients `have` .. `patients - 1`; returns how many the organization holds."""
        with transaction.atomic(), connection.cursor() as cursor:
            numbers = _numbers(self.organization, cursor)
            firsts = {key: table.begin(cursor) for key, table in self.tables.items()}
            for key, table in self.tables.items():
                table.finish(cursor, firsts[key], 0)  # nothing taken yet: each chunk checks
        parallel = patients - have > size and "fork" in multiprocessing.get_all_start_methods()
        chunks = (_from_worker if parallel else produce)(
            builder, have, patients, size, firsts, numbers
        )
        done = have
        try:
            while True:
                with self.phases.time("wait" if parallel else "build"):
                    chunk = next(chunks, None)
                if chunk is None:
                    return done
                with self.phases.time("commit"):
                    self.write(chunk)
                done += chunk.patients
                if self.progress is not None:
                    rows = sum(t.written for t in self.tables.values())
                    self.progress(done - have, patients - have, rows)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # stops the worker process

    def write(self, chunk: Chunk) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            _check_numbers(self.organization, cursor, chunk)
            with self.phases.time("write"):
                for key, table in self.tables.items():
                    if table.begin(cursor) != chunk.firsts[key]:
                        raise SeedError(
                            f"{table.name} was written by something else during the seeding: "
                            "run it again when nothing else writes"
                        )
                    written = table.write(chunk.rows[key])
                    table.finish(cursor, chunk.firsts[key], written)
            _advance(self.organization, chunk.numbers, chunk)


def _chosen_day(clinic: Clinic, organization: Any, summary: Summary) -> int:
    """Book the chosen day full once (25 visits per provider, distinct patients at any one
    time) when there are patients enough; returns the visits booked on it."""
    from carebench.patients.models import Patient
    from carebench.scheduling.models import Appointment, AppointmentStep

    zone = clinic.zone
    day = clinic.chosen
    begin = datetime.combine(day, time(0), zone)
    on_day = Appointment.objects.filter(
        organization=organization,
        facility_id=clinic.facility_id,
        start__gte=begin,
        start__lt=begin + timedelta(days=1),
    )
    booked = on_day.count()
    if booked:
        return booked
    pool = list(
        Patient.objects.filter(organization=organization)
        .order_by("id")
        .values_list("id", flat=True)[: PROVIDERS * CHOSEN_PER_PROVIDER]
    )
    if len(pool) < PROVIDERS:
        return 0
    twenty = [clinic.visit_types["Follow-up"], clinic.visit_types["Sick visit"]]
    draw = clinic.visit_types["Lab draw"]
    slots = [(8 * 60 + 20 * c, twenty[c % 2]) for c in range(11)]
    slots += [(11 * 60 + 40, draw), (11 * 60 + 50, draw)]
    slots += [(13 * 60 + 20 * c, twenty[(c + 1) % 2]) for c in range(12)]
    at = Clock(zone, connection.vendor).at
    ordinal = day.toordinal()
    booked_at = at(clinic.anchor.toordinal(), 9 * 60)
    appointments = Table(
        Appointment,
        "id created_at updated_at patient_id provider_id appointment_type_id start end "
        "status_changed_at reason".split(),
        {
            "organization_id": clinic.organization_id,
            "created_by_id": clinic.frontdesk_id,
            "facility_id": clinic.facility_id,
            "status": "booked",
        },
    )
    steps = Table(
        AppointmentStep,
        "id created_at updated_at appointment_id at".split(),
        {
            "organization_id": clinic.organization_id,
            "status": "booked",
            "by_id": clinic.frontdesk_id,
        },
    )
    with transaction.atomic(), connection.cursor() as cursor:
        first_appointment = appointments.begin(cursor)
        first_step = steps.begin(cursor)
        rows, step_rows = [], []
        n = 0
        for j, (minute, (type_id, minutes)) in enumerate(slots):
            for i, (provider_id, _user) in enumerate(clinic.providers):
                patient_id = pool[(i + PROVIDERS * j) % len(pool)]
                pk = first_appointment + n
                rows.append(
                    (
                        pk,
                        booked_at,
                        booked_at,
                        patient_id,
                        provider_id,
                        type_id,
                        at(ordinal, minute),
                        at(ordinal, minute + minutes),
                        booked_at,
                        "Follow-up" if minutes == 20 else "Lab draw",
                    )
                )
                step_rows.append((first_step + n, booked_at, booked_at, pk, booked_at))
                n += 1
        appointments.finish(cursor, first_appointment, appointments.write(rows))
        steps.finish(cursor, first_step, steps.write(step_rows))
    summary.rows["appointment"] = summary.rows.get("appointment", 0) + len(rows)
    summary.rows["appointment_step"] = len(step_rows)
    return len(rows)
