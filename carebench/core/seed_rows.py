"""The bench seeder's rows: one chunk of synthetic patients with their whole record, as tuples
ready for `seed_writer.Table` (no model instances, no query per patient).

Each chunk is decided by its own random generator (seeded by the run's seed and the chunk's first
patient number), so a run is repeatable. Times are minutes on clinic days: the visits of a
patient fall on different weekdays, in slots handed out by `Schedule`, which never gives one
provider's slot twice (see docs/subsystems/seed.md for the layout of a clinic day).
"""

from __future__ import annotations

import json
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import accumulate
from typing import Any, TypeVar

from carebench.core import demo as core_demo
from carebench.patients.validation import search_key

from . import seed_data as data
from .seed_schedule import Clinic, Clock, Schedule, TubePlan, VaccineStock

Row = tuple[Any, ...]

# --- what a chunk produces -----------------------------------------------------------------------

TABLES = [
    "patient",
    "coverage",
    "allergy",
    "medication",
    "problem",
    "history",
    "appointment",
    "encounter",
    "vitals",
    "observation",
    "lab_order",
    "lab_item",
    "specimen",
    "specimen_item",
    "specimen_event",
    "lab_result",
    "result_review",
    "med_order",
    "administration",
    "stock_movement",
    "claim",
    "claim_line",
    "claim_event",
]


@dataclass
class Chunk:
    rows: dict[str, list[Row]] = field(default_factory=lambda: {t: [] for t in TABLES})
    patients: int = 0
    firsts: dict[str, int] = field(default_factory=dict)  # the first id of each table's rows
    numbers: dict[str, int] = field(default_factory=dict)  # the first MRN, order number ...
    mrns: int = 0
    lab_orders: int = 0
    specimens: int = 0
    claims: int = 0
    restocked: dict[int, int] = field(default_factory=dict)  # lot id -> doses received


T = TypeVar("T")
Weighted = tuple[list[T], list[float]]


def _table(pairs: Sequence[tuple[T, float]]) -> Weighted[T]:
    """Items with cumulative weights, for `Dice.weighted`."""
    return [p[0] for p in pairs], list(accumulate(float(p[1]) for p in pairs))


class Dice(random.Random):
    """`random.Random` with cheaper picks for the hot loop (`choice` and `choices` cost a few
    times more per call)."""

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.random() * len(items))]

    def weighted(self, table: Weighted[T]) -> T:
        items, cumulative = table
        return items[bisect_right(cumulative, self.random() * cumulative[-1])]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# how often a done visit of each type sends blood to the reference lab (others: 12%)
LAB_CHANCE = {"Lab draw": 1.0, "Annual physical": 0.6, "New patient": 0.3}
VISIT_TABLE = _table([(0, 14), (1, 34), (2, 27), (3, 14), (4, 7), (5, 4)])
PROBLEM_COUNTS = [
    _table([(0, 40), (1, 35), (2, 17), (3, 6), (4, 2)]),
    _table([(0, 20), (1, 30), (2, 25), (3, 15), (4, 10)]),
    _table([(0, 10), (1, 20), (2, 30), (3, 22), (4, 18)]),
]
AGE_TABLE = _table([((low, high, share), share) for low, high, share in data.AGE_BANDS])
ALLERGY_CHOICES = list(core_demo.ALLERGIES) + [
    (name, category, code, reactions, "mild")
    for name, category, code, reactions in core_demo.INTOLERANCES
]


class ChunkBuilder:
    """Builds chunks of patients for one run (tables of names, templates and the schedule are
    made once and shared by the chunks)."""

    def __init__(self, clinic: Clinic, schedule: Schedule, lot_balances: dict[int, int]) -> None:
        self.clinic = clinic
        self.schedule = schedule
        self.lot_balances = lot_balances
        self.clock = Clock(clinic.zone, clinic.vendor)
        self.female, self.male, self.family = data.name_tables()
        self.vitals = data.VitalLibrary(clinic.seed)
        rng = random.Random(f"tables:{clinic.seed}")
        self.results = {
            a.loinc: data.result_templates(rng, a) for panel in data.PANELS.values() for a in panel
        }
        self._keys: dict[str, str] = {}
        self._lines: dict[tuple[str, str], tuple[tuple[int, int, int, int], str, str, Row]] = {}
        self._json_lists: dict[tuple[str, ...], str] = {}
        self._plans: dict[tuple[str, ...], list[TubePlan]] = {}
        self.short_table = _table([(n, w) for n, w, _r in data.SHORT_VISITS])
        self.em_tables = {kind: _table(codes) for kind, codes in data.EM_CODES.items()}
        self.reasons = {n: r for n, _w, r in data.SHORT_VISITS}
        self.problems_by_age: list[Weighted[str]] = []
        for age in range(0, 121):
            eligible = [(c, w) for c, w, least in core_demo.PROBLEMS if least <= age]
            self.problems_by_age.append(_table(eligible))
        self.payer_plans = {
            name: (plans, prefix) for name, _c, _f, _d, plans, prefix in data.PAYERS
        }
        self.provider_rooms = [
            clinic.exam_rooms[i % len(clinic.exam_rooms)] for i in range(len(clinic.providers))
        ]

    def key(self, name: str) -> str:
        found = self._keys.get(name)
        if found is None:
            found = self._keys[name] = search_key(name)
        return found

    def tube_plan(self, codes: tuple[str, ...]) -> list[TubePlan]:
        """The tubes for these tests, as `labs.draw.plan_draw` orders them (made once)."""
        found = self._plans.get(codes)
        if found is None:
            from decimal import Decimal

            from carebench.labs import draw

            tests = [self.clinic.lab_tests[c] for c in codes]
            needs = [
                draw.TestNeed(
                    key=str(i),
                    code=t.code,
                    container=t.container,
                    min_volume_ml=Decimal(t.min_volume_ml),
                    fasting=t.fasting_required,
                    timing_note=t.timing_note,
                    name=t.name,
                )
                for i, t in enumerate(tests)
            ]
            plan = draw.plan_draw(needs)
            found = [
                TubePlan(
                    container=tube.container.code,
                    volume_ml=str(tube.draw_ml),
                    sequence=tube.sequence,
                    tests=tuple(int(n.key) for n in tube.tests),
                    label=f"{tube.container.label}: {', '.join(tube.codes)}",
                )
                for tube in plan.tubes
            ]
            self._plans[codes] = found
        return found

    # --- one chunk ---------------------------------------------------------------------------

    def build(
        self, first_index: int, count: int, ids: dict[str, int], numbers: dict[str, int]
    ) -> Chunk:
        """Patients `first_index` .. `first_index + count - 1` of the organization, their rows
        numbered from `ids` (first id per table) and `numbers` (MRN, lab order, specimen and
        claim numbers)."""
        c = self.clinic
        rng = Dice(f"chunk:{c.seed}:{first_index}")
        clock = self.clock
        at = clock.at
        day = clock.date
        out = Chunk()
        rows = out.rows
        next_id = dict(ids)
        anchor = c.anchor.toordinal()
        now_text = clock.instant(datetime.now(c.zone))
        females = rng.choices(self.female.names, cum_weights=self.female.cumulative, k=count)
        males = rng.choices(self.male.names, cum_weights=self.male.cumulative, k=count)
        families = rng.choices(self.family.names, cum_weights=self.family.cumulative, k=count)
        mrn = numbers["mrn"]
        lab_number = numbers["lab_order"]
        specimen_number = numbers["specimen"]
        claim_number = numbers["claim"]
        administered: list[tuple[int, int, str]] = []  # (lot id, administration id, at)
        for n in range(count):
            female = rng.random() < 0.51
            given = females[n] if female else males[n]
            family = families[n]
            low_age, high_age, _w = rng.weighted(AGE_TABLE)
            age = low_age + int(rng.random() * (high_age - low_age + 1))
            birth = anchor - age * 365 - int(rng.random() * 365) - 1
            patient_id = next_id["patient"]
            next_id["patient"] += 1
            # --- the visits: past (done, no-show, cancelled) and perhaps one booking ahead -----
            count_visits = rng.weighted(VISIT_TABLE)
            if age >= 65 and rng.random() < 0.5:
                count_visits += 1
            visits: list[tuple[int, int, int, str]] = []  # (day, provider, minute, type)
            avoid: set[int] = set()
            for v in range(count_visits):
                long = rng.random() < (0.35 if v == 0 else 0.1)
                slot = self.schedule.past(rng, birth, long, avoid)
                if slot is None:
                    continue
                avoid.add(slot[0])
                kind = "Annual physical" if long else rng.weighted(self.short_table)
                visits.append((slot[0], slot[1], slot[2], kind))
            visits.sort()
            if visits and visits[0][3] == "Annual physical":  # a long first visit: new patient
                visits[0] = (*visits[0][:3], "New patient")
            registered = (
                visits[0][0] - 3 - int(rng.random() * 25)
                if visits
                else anchor - 1 - int(rng.random() * 700)
            )
            registered = min(max(registered, birth + 1), anchor - 1)
            created = at(registered, 540 + 10 * int(rng.random() * 48))
            # --- demographics ----------------------------------------------------------------
            mobile = f"{rng.pick(data.AREA_CODES)}555{int(rng.random() * 10000):04d}"
            home = (
                f"{rng.pick(data.AREA_CODES)}555{int(rng.random() * 10000):04d}"
                if rng.random() < 0.22
                else ""
            )
            preferred = core_demo.NICKNAMES.get(given, "") if rng.random() < 0.4 else ""
            city, zips = rng.pick(data.CITIES)
            email = (
                f"{self.key(given)}.{self.key(family)}{int(rng.random() * 100)}@example.com"
                if rng.random() < 0.65
                else ""
            )
            contact = rng.random() < 0.7
            rows["patient"].append(
                (
                    patient_id,
                    created,
                    created,
                    str(mrn),
                    family,
                    given,
                    preferred,
                    day(birth),
                    "female" if female else "male",
                    "F" if female else "M",
                    mobile,
                    home,
                    email,
                    f"{100 + int(rng.random() * 9800)} {rng.pick(data.STREETS)} "
                    f"{rng.pick(data.STREET_KINDS)}",
                    city,
                    rng.pick(zips),
                    rng.pick(data.LANGUAGES),
                    f"{rng.pick(males if rng.random() < 0.5 else females)} {family}"
                    if contact
                    else "",
                    rng.pick(data.RELATIONSHIPS) if contact else "",
                    f"{rng.pick(data.AREA_CODES)}555{int(rng.random() * 10000):04d}"
                    if contact
                    else "",
                    self.key(family),
                    self.key(given),
                    self.key(preferred),
                    mobile,
                    home,
                )
            )
            mrn += 1
            # --- coverage ------------------------------------------------------------------
            roll = rng.random()
            payer = ""
            if roll < 0.9:
                if age >= 65:
                    payer = "Medicare Part B" if roll < 0.6 else "Humana"
                elif age < 19 and roll < 0.45:
                    payer = "Texas Medicaid" if roll < 0.3 else "Superior HealthPlan"
                elif roll < 0.08:
                    payer = "Texas Medicaid"
                else:
                    payer = rng.pick(data.COMMERCIAL)
            coverage_id = 0
            copay = None
            if payer:
                plans, prefix = self.payer_plans[payer]
                coverage_id = next_id["coverage"]
                next_id["coverage"] += 1
                child = age < 18
                if payer in data.COMMERCIAL:
                    copay = rng.pick(data.COPAYS)
                rows["coverage"].append(
                    (
                        coverage_id,
                        created,
                        created,
                        patient_id,
                        c.payers[payer],
                        rng.pick(plans),
                        f"{prefix}{int(rng.random() * 10**9):09d}",
                        f"G{int(rng.random() * 10**6):06d}" if payer in data.COMMERCIAL else "",
                        "child" if child and payer in data.COMMERCIAL else "self",
                        f"{rng.pick(females)} {family}"
                        if child and payer in data.COMMERCIAL
                        else "",
                        day(max(birth, registered - 400)),
                    )
                )
            # --- allergies, problems, medications, tobacco ------------------------------------
            roll = rng.random()
            if roll < 0.4:
                aid = next_id["allergy"]
                next_id["allergy"] += 1
                rows["allergy"].append(
                    (
                        aid,
                        created,
                        created,
                        patient_id,
                        "no_known",
                        "",
                        "No known allergies",
                        "716186003",
                        "",
                        "",
                    )
                )
            elif roll >= 0.55:
                how_many = 1 if roll < 0.85 else 2 if roll < 0.96 else 3
                for substance, category, code, reactions, severity in rng.sample(
                    ALLERGY_CHOICES, how_many
                ):
                    aid = next_id["allergy"]
                    next_id["allergy"] += 1
                    kind = "intolerance" if severity == "mild" and rng.random() < 0.3 else "allergy"
                    rows["allergy"].append(
                        (
                            aid,
                            created,
                            created,
                            patient_id,
                            kind,
                            category,
                            substance,
                            code,
                            rng.pick(reactions),
                            severity,
                        )
                    )
            roll = rng.random()
            if age < 18:
                wanted = 0 if roll < 0.7 else 1 if roll < 0.95 else 2
            elif age < 45:
                wanted = rng.weighted(PROBLEM_COUNTS[0])
            elif age < 65:
                wanted = rng.weighted(PROBLEM_COUNTS[1])
            else:
                wanted = rng.weighted(PROBLEM_COUNTS[2])
            codes: list[str] = []
            problems = self.problems_by_age[min(age, 120)]
            if wanted and problems[0]:
                for _ in range(wanted * 3):
                    code = rng.weighted(problems)
                    if code not in codes:
                        codes.append(code)
                        if len(codes) == wanted:
                            break
            taking: set[str] = set()
            for code in codes:
                onset = max(birth + 365, registered - int(rng.random() * 3650))
                rows["problem"].append(
                    (
                        next_id["problem"],
                        created,
                        created,
                        patient_id,
                        code,
                        c.icd_descriptions[code],
                        day(onset),
                    )
                )
                next_id["problem"] += 1
                for medication, rxnorm, dose, route, frequency in core_demo.MEDICATIONS.get(
                    code, []
                )[:2]:
                    if len(taking) == 4 or medication in taking:
                        continue
                    taking.add(medication)
                    rows["medication"].append(
                        (
                            next_id["medication"],
                            created,
                            created,
                            patient_id,
                            medication,
                            rxnorm,
                            dose,
                            route,
                            frequency,
                            day(onset),
                        )
                    )
                    next_id["medication"] += 1
            if age >= 13:
                roll = rng.random()
                status = (
                    "266919005"
                    if roll < 0.6
                    else "8517006"
                    if roll < 0.85
                    else "449868002"
                    if roll < 0.95
                    else "428041000124106"
                )
                rows["history"].append(
                    (next_id["history"], created, created, patient_id, TOBACCO[status], status)
                )
                next_id["history"] += 1
            # --- each past visit -------------------------------------------------------------
            adult_body = int(rng.random() * data.VitalLibrary.ADULT_BODIES)
            vaccines_given: set[str] = set()
            for ordinal, provider_index, minute, kind in visits:
                provider_id, provider_user = c.providers[provider_index]
                type_id, minutes = c.visit_types[kind]
                reason = (
                    rng.pick(self.reasons[kind])
                    if kind in self.reasons
                    else "Establish care"
                    if kind == "New patient"
                    else "Annual physical"
                )
                start = at(ordinal, minute)
                end = at(ordinal, minute + minutes)
                booked = at(ordinal - 1 - int(rng.random() * 27), 540 + 10 * int(rng.random() * 42))
                roll = rng.random()
                status = "done" if roll < 0.85 else "no_show" if roll < 0.91 else "cancelled"
                appointment_id = next_id["appointment"]
                next_id["appointment"] += 1
                if status == "done":
                    changed = at(ordinal, minute + 45)
                    room = (
                        c.lab_room
                        if kind == "Lab draw"
                        else c.ekg_room
                        if kind == "EKG"
                        else self.provider_rooms[provider_index]
                    )
                    cancel = ""
                elif status == "no_show":
                    changed, room, cancel = at(ordinal, minute + 20), None, ""
                else:
                    changed, room = at(ordinal - 1, 600), None
                    cancel = rng.pick(data.CANCEL_REASONS)
                rows["appointment"].append(
                    (
                        appointment_id,
                        booked,
                        changed,
                        patient_id,
                        provider_id,
                        type_id,
                        room,
                        start,
                        end,
                        status,
                        changed,
                        reason,
                        cancel,
                        kind in ("Lab draw", "Injection / nurse visit"),
                        copay,
                        status == "done" and copay is not None,
                    )
                )
                if status != "done":
                    continue
                encounter_id = next_id["encounter"]
                next_id["encounter"] += 1
                arrived = at(ordinal, minute - 5)
                rows["encounter"].append(
                    (
                        encounter_id,
                        arrived,
                        changed,
                        patient_id,
                        appointment_id,
                        provider_id,
                        arrived,
                        at(ordinal, minute + 40),
                        reason,
                    )
                )
                months = _months(birth, ordinal)
                # vital signs, as record_vitals stores them
                if kind != "Lab draw":
                    full = kind in ("New patient", "Annual physical") or rng.random() < 0.45
                    if months >= data.ADULT_MONTHS:
                        library = self.vitals.adult_full if full else self.vitals.adult_short
                        template = rng.pick(library[adult_body])
                    else:
                        template = rng.pick(self.vitals.child(data.age_key(months), full))
                    vitals_id = next_id["vitals"]
                    next_id["vitals"] += 1
                    taken = at(ordinal, minute + 5)
                    rows["vitals"].append(
                        (
                            vitals_id,
                            taken,
                            taken,
                            patient_id,
                            encounter_id,
                            taken,
                            template.bp_position,
                            template.bp_arm,
                            template.bp_cuff_size,
                            template.temperature_route,
                            template.units,
                            template.bp_category,
                            template.bmi_category,
                        )
                    )
                    observation_id = next_id["observation"]
                    for code, name, value, value2, unit, flag, flag2, note in template.observations:
                        rows["observation"].append(
                            (
                                observation_id,
                                taken,
                                taken,
                                patient_id,
                                encounter_id,
                                vitals_id,
                                code,
                                name,
                                value,
                                value2,
                                unit,
                                flag,
                                flag2,
                                note,
                                taken,
                            )
                        )
                        observation_id += 1
                    next_id["observation"] = observation_id
                # the diagnoses this visit is coded with
                first_code = data.REASON_CODES.get(reason)
                if first_code == "Z00.00" and age < 18:
                    first_code = "Z00.129"
                diagnoses = [first_code] if first_code else []
                for code in codes:
                    if code not in diagnoses and len(diagnoses) < 4:
                        diagnoses.append(code)
                if not diagnoses:
                    diagnoses.append("Z00.129" if age < 18 else "Z00.00")
                recent = anchor - ordinal <= 3
                lines: list[tuple[str, int, str]] = []  # (code, units, source)
                # a lab order for the reference lab, drawn at the visit, resulted the next day
                if not recent and rng.random() < LAB_CHANCE.get(kind, 0.12):
                    tests = self._tests_for(rng, codes, age)
                    specimen_of_first = self._lab_order(
                        rng,
                        out,
                        next_id,
                        lab_number,
                        specimen_number,
                        patient_id,
                        encounter_id,
                        provider_id,
                        provider_user,
                        tests,
                        diagnoses[:2],
                        ordinal,
                        minute,
                    )
                    lab_number += 1
                    specimen_number += len(self.tube_plan(tests))
                    lines.append((data.DRAW_CODE, 1, f"specimen:{specimen_of_first}"))
                # a vaccine from the clinic's stock
                if kind == "Injection / nurse visit" or rng.random() < 0.06:
                    name = data.vaccine_for(rng, age, date.fromordinal(ordinal).month)
                    if months >= 6 and name not in vaccines_given:
                        vaccines_given.add(name)
                        administration_id = self._vaccinate(
                            rng,
                            out,
                            next_id,
                            administered,
                            patient_id,
                            encounter_id,
                            provider_id,
                            provider_user,
                            c.vaccines[name],
                            ordinal,
                            minute,
                            months,
                            payer,
                        )
                        lines.append((data.VACCINE_ADMIN_CODE, 1, ""))
                        lines.append(
                            (c.vaccines[name].cpt, 1, f"administration:{administration_id}")
                        )
                        if "Z23" not in diagnoses:
                            diagnoses.append("Z23")
                if kind == "EKG":
                    lines.append((data.EKG_CODE, 1, ""))
                em = self.em_tables[kind]
                if em[0]:
                    lines.insert(0, (rng.weighted(em), 1, ""))
                if coverage_id and lines:
                    self._claim(
                        rng,
                        out,
                        next_id,
                        claim_number,
                        patient_id,
                        encounter_id,
                        coverage_id,
                        c.payers[payer],
                        provider_id,
                        ordinal,
                        minute,
                        diagnoses,
                        lines,
                        copay,
                    )
                    claim_number += 1
            # --- one booking ahead -------------------------------------------------------------
            if rng.random() < 0.38:
                roll = rng.random()
                kind = (
                    "Follow-up"
                    if roll < 0.5
                    else "Annual physical"
                    if roll < 0.7
                    else "Sick visit"
                    if roll < 0.85
                    else "Lab draw"
                    if roll < 0.95
                    else "Injection / nurse visit"
                )
                slot = self.schedule.future(rng, kind == "Annual physical")
                if slot is not None:
                    ordinal, provider_index, minute = slot
                    provider_id = c.providers[provider_index][0]
                    type_id, minutes = c.visit_types[kind]
                    reason = rng.pick(self.reasons[kind]) if kind in self.reasons else kind
                    booked = at(
                        anchor - 1 - int(rng.random() * 20), 540 + 10 * int(rng.random() * 42)
                    )
                    cancelled = rng.random() < 0.07
                    rows["appointment"].append(
                        (
                            next_id["appointment"],
                            booked,
                            booked,
                            patient_id,
                            provider_id,
                            type_id,
                            None,
                            at(ordinal, minute),
                            at(ordinal, minute + minutes),
                            "cancelled" if cancelled else "booked",
                            booked,
                            reason,
                            rng.pick(data.CANCEL_REASONS) if cancelled else "",
                            kind in ("Lab draw", "Injection / nurse visit"),
                            copay,
                            False,
                        )
                    )
                    next_id["appointment"] += 1
        # --- the stock ledger: each lot restocked by what the chunk gave, then one line a dose
        by_lot = Counter(lot for lot, _a, _t in administered)
        for lot_id, doses in sorted(by_lot.items()):
            balance = self.lot_balances[lot_id] + doses
            self.lot_balances[lot_id] = balance
            rows["stock_movement"].append(
                (
                    next_id["stock_movement"],
                    now_text,
                    now_text,
                    lot_id,
                    "received",
                    doses,
                    balance,
                    "received (bench seed restock)",
                    None,
                )
            )
            next_id["stock_movement"] += 1
            out.restocked[lot_id] = doses
        for lot_id, administration_id, _given in administered:
            balance = self.lot_balances[lot_id] - 1
            self.lot_balances[lot_id] = balance
            rows["stock_movement"].append(
                (
                    next_id["stock_movement"],
                    now_text,
                    now_text,
                    lot_id,
                    "administered",
                    -1,
                    balance,
                    "",
                    administration_id,
                )
            )
            next_id["stock_movement"] += 1
        out.patients = count
        out.firsts = dict(ids)
        out.numbers = dict(numbers)
        out.mrns = mrn - numbers["mrn"]
        out.lab_orders = lab_number - numbers["lab_order"]
        out.specimens = specimen_number - numbers["specimen"]
        out.claims = claim_number - numbers["claim"]
        return out

    # --- parts of a visit --------------------------------------------------------------------

    def _tests_for(self, rng: Dice, codes: list[str], age: int) -> tuple[str, ...]:
        tests = ["CBCD"] if rng.random() < 0.6 else []
        if age >= 18 and rng.random() < 0.7:
            tests.append("CMP")
        if "E11.9" in codes or "R73.03" in codes:
            tests.append("A1C")
        if age >= 20 and ("E78.5" in codes or rng.random() < 0.3):
            tests.append("LIPID")
        if "E03.9" in codes or (not tests and rng.random() < 0.5):
            tests.append("TSH")
        if not tests:
            tests.append("CBCD")
        return tuple(t for t in ("CBCD", "CMP", "LIPID", "A1C", "TSH") if t in tests[:3])

    def _lab_order(
        self,
        rng: Dice,
        out: Chunk,
        next_id: dict[str, int],
        number: int,
        specimen_number: int,
        patient_id: int,
        encounter_id: int,
        provider_id: int,
        provider_user: int,
        tests: tuple[str, ...],
        diagnoses: list[str],
        ordinal: int,
        minute: int,
    ) -> int:
        """An order with its items, tubes (collected, received by the lab), results and the
        provider's review; returns the first specimen's id."""
        c = self.clinic
        at = self.clock.at
        rows = out.rows
        ordered = at(ordinal, minute + 25)
        collected = at(ordinal, minute + 35)
        lab_minute = 420 + 10 * int(rng.random() * 18)
        received = at(ordinal + 1, lab_minute)
        resulted = at(ordinal + 1, lab_minute + 120)
        reviewed = at(ordinal + 2, 540 + 10 * int(rng.random() * 42))
        order_id = next_id["lab_order"]
        next_id["lab_order"] += 1
        rows["lab_order"].append(
            (
                order_id,
                ordered,
                resulted,
                f"L{number:06d}",
                patient_id,
                encounter_id,
                provider_id,
                provider_user,
                provider_user,
                ordered,
                self._json(diagnoses),
                f"RL{number:08d}",
            )
        )
        item_ids = []
        for code in tests:
            test = c.lab_tests[code]
            item_id = next_id["lab_item"]
            next_id["lab_item"] += 1
            item_ids.append(item_id)
            rows["lab_item"].append(
                (
                    item_id,
                    ordered,
                    ordered,
                    provider_user,
                    order_id,
                    test.id,
                    test.code,
                    test.name,
                    test.loinc,
                    test.container,
                    test.min_volume_ml,
                    test.fasting_required,
                    test.timing_note,
                    test.performed,
                )
            )
        site = rng.pick(data.LAB_SITES)
        specimen_of_test: dict[int, int] = {}
        first_specimen = 0
        for tube in self.tube_plan(tests):
            specimen_id = next_id["specimen"]
            next_id["specimen"] += 1
            if not first_specimen:
                first_specimen = specimen_id
            rows["specimen"].append(
                (
                    specimen_id,
                    ordered,
                    received,
                    f"S{specimen_number:06d}",
                    order_id,
                    patient_id,
                    tube.container,
                    tube.volume_ml,
                    tube.sequence,
                    collected,
                    site,
                    received,
                )
            )
            specimen_number += 1
            for position in tube.tests:
                specimen_of_test[position] = specimen_id
                rows["specimen_item"].append(
                    (next_id["specimen_item"], specimen_id, item_ids[position])
                )
                next_id["specimen_item"] += 1
            for kind, moment, where, detail in (
                ("labeled", ordered, c.facility_name, tube.label),
                ("collected", collected, c.facility_name, f"site {site}; 1 attempt"),
                ("received", received, data.PERFORMING_LAB, ""),
            ):
                rows["specimen_event"].append(
                    (
                        next_id["specimen_event"],
                        moment,
                        moment,
                        specimen_id,
                        kind,
                        moment,
                        where,
                        detail,
                    )
                )
                next_id["specimen_event"] += 1
        sequence = 0
        for position, code in enumerate(tests):
            for analyte in data.PANELS[code]:
                result = rng.pick(self.results[analyte.loinc])
                rows["lab_result"].append(
                    (
                        next_id["lab_result"],
                        resulted,
                        resulted,
                        patient_id,
                        order_id,
                        item_ids[position],
                        specimen_of_test.get(position),
                        sequence,
                        analyte.loinc,
                        analyte.name,
                        result.value,
                        analyte.unit,
                        analyte.low,
                        analyte.high,
                        data.reference_text(analyte),
                        result.flag,
                        resulted,
                    )
                )
                next_id["lab_result"] += 1
                sequence += 1
        rows["result_review"].append(
            (
                next_id["result_review"],
                reviewed,
                reviewed,
                provider_user,
                order_id,
                provider_user,
                reviewed,
            )
        )
        next_id["result_review"] += 1
        return first_specimen

    def _vaccinate(
        self,
        rng: Dice,
        out: Chunk,
        next_id: dict[str, int],
        administered: list[tuple[int, int, str]],
        patient_id: int,
        encounter_id: int,
        provider_id: int,
        provider_user: int,
        stock: VaccineStock,
        ordinal: int,
        minute: int,
        months: int,
        payer: str,
    ) -> int:
        """The provider's order and the dose given from the clinic's private stock."""
        at = self.clock.at
        rows = out.rows
        ordered = at(ordinal, minute + 20)
        given = at(ordinal, minute + 30)
        order_id = next_id["med_order"]
        next_id["med_order"] += 1
        rows["med_order"].append(
            (
                order_id,
                ordered,
                given,
                provider_user,
                patient_id,
                encounter_id,
                stock.product_id,
                stock.dose,
                "mL",
                "C28161",
                provider_id,
                provider_user,
                ordered,
            )
        )
        administration_id = next_id["administration"]
        next_id["administration"] += 1
        if months >= 19 * 12:
            eligibility = "V01"
        elif payer in ("Texas Medicaid", "Superior HealthPlan"):
            eligibility = "V02"
        else:
            eligibility = "V03" if not payer else "V01"
        site = ("LVL", "RVL") if months < 36 else ("LD", "RD")
        rows["administration"].append(
            (
                administration_id,
                given,
                given,
                patient_id,
                encounter_id,
                order_id,
                stock.product_id,
                stock.vaccine_code_id,
                stock.name,
                stock.lot_id,
                stock.lot_number,
                stock.expires_on,
                stock.manufacturer_id,
                stock.ndc,
                stock.dose,
                "mL",
                "C28161",
                rng.pick(site),
                given,
                provider_id,
                stock.vis,
                self.clock.date(ordinal),
                eligibility,
            )
        )
        administered.append((stock.lot_id, administration_id, given))
        return administration_id

    def _claim(
        self,
        rng: Dice,
        out: Chunk,
        next_id: dict[str, int],
        number: int,
        patient_id: int,
        encounter_id: int,
        coverage_id: int,
        payer_id: int,
        provider_id: int,
        ordinal: int,
        minute: int,
        diagnoses: list[str],
        lines: list[tuple[str, int, str]],
        copay: str | None,
    ) -> None:
        """The visit's claim as `billing.services.create_claim` prices it, moved on as far as its
        age says (old claims are paid or denied; last week's are drafts or ready)."""
        c = self.clinic
        at = self.clock.at
        rows = out.rows
        age = c.anchor.toordinal() - ordinal
        roll = rng.random()
        if age <= 3:
            status = "draft"
        elif age <= 14:
            status = "ready" if roll < 0.5 else "submitted"
        elif age <= 45:
            status = "submitted" if roll < 0.4 else "accepted"
        else:
            status = "paid" if roll < 0.86 else "denied" if roll < 0.91 else "accepted"
        created = at(ordinal, minute + 90)
        submitted = at(ordinal + 2, 600) if status not in ("draft", "ready") else None
        claim_id = next_id["claim"]
        next_id["claim"] += 1
        pointers = POINTERS[min(len(diagnoses), 4)]
        service_date = self.clock.date(ordinal)
        total = paid = adjusted = patient_share = 0
        line_rows = rows["claim_line"]
        line_id = next_id["claim_line"]
        for line_number, (code, _units, source) in enumerate(lines, start=1):
            priced = self._priced(code, status)
            charge, line_paid, line_adjusted, line_share = priced[0]
            total += charge
            paid += line_paid
            adjusted += line_adjusted
            patient_share += line_share
            line_rows.append(
                (
                    line_id,
                    created,
                    created,
                    claim_id,
                    line_number,
                    code,
                    priced[1],
                    pointers,
                    service_date,
                    priced[2],
                    source,
                    *priced[3],
                )
            )
            line_id += 1
        next_id["claim_line"] = line_id
        changed = submitted or created
        rows["claim"].append(
            (
                claim_id,
                created,
                changed,
                f"CB{number:06d}",
                patient_id,
                encounter_id,
                coverage_id,
                payer_id,
                provider_id,
                status,
                service_date,
                self._json(diagnoses),
                _money(total),
                copay if copay is not None else "0.00",
                submitted,
                f"PCN{number:09d}" if status in ("accepted", "paid", "denied") else "",
                _money(paid),
                _money(adjusted),
                _money(patient_share),
            )
        )
        rows["claim_event"].append(
            (
                next_id["claim_event"],
                created,
                created,
                claim_id,
                changed,
                status,
                f"Created from the visit: {len(lines)} lines, ${_money(total)} (bench seed)",
            )
        )
        next_id["claim_event"] += 1

    def _priced(self, code: str, status: str) -> tuple[tuple[int, int, int, int], str, str, Row]:
        """A line's (charge, paid, adjustment, patient share) in cents, its charge as text, its
        description and its adjudication columns, for a claim in this status (made once)."""
        key = (code, status)
        found = self._lines.get(key)
        if found is None:
            charge = self.clinic.fees[code]
            if status == "paid":  # allowed 80% of the charge, the patient owes 10% of that
                allowed = charge * 8 // 10
                share = allowed // 10
                cents = (charge, allowed - share, charge - allowed, share)
                tail: Row = (
                    "paid",
                    _money(allowed - share),
                    _money(allowed),
                    _money(charge - allowed),
                    _money(share),
                )
            elif status == "denied":
                cents = (charge, 0, charge, 0)
                tail = ("denied", "0.00", "0.00", _money(charge), "0.00")
            else:
                cents = (charge, 0, 0, 0)
                tail = ("open", "0.00", None, "0.00", "0.00")
            description = self.clinic.code_labels.get(code, "")[:200]
            found = self._lines[key] = (cents, _money(charge), description, tail)
        return found

    def _json(self, codes: list[str]) -> str:
        key = tuple(codes)
        found = self._json_lists.get(key)
        if found is None:
            found = self._json_lists[key] = json.dumps(codes)
        return found


POINTERS = [json.dumps(list(range(1, n + 1))) for n in range(5)]
TOBACCO = {
    "449868002": "Current every day smoker",
    "428041000124106": "Current some day smoker",
    "8517006": "Former smoker",
    "266919005": "Never smoker",
}


def _months(birth: int, on: int) -> int:
    """Whole months of age on a day, as `encounters.services` counts them."""
    if on - birth > 25 * 366:
        return 300
    born, day_ = date.fromordinal(birth), date.fromordinal(on)
    months = (day_.year - born.year) * 12 + day_.month - born.month
    if day_.day < born.day:
        months -= 1
    return max(months, 0)


def produce(
    builder: ChunkBuilder,
    start: int,
    stop: int,
    size: int,
    firsts: dict[str, int],
    numbers: dict[str, int],
) -> Iterator[Chunk]:
    """The chunks for patients `start` .. `stop - 1`, each numbered on from the one before
    (the writer checks that nobody else took those ids or numbers meanwhile)."""
    firsts, numbers = dict(firsts), dict(numbers)
    done = start
    while done < stop:
        count = min(size, stop - done)
        chunk = builder.build(done, count, firsts, numbers)
        yield chunk
        for key in firsts:
            firsts[key] += len(chunk.rows[key])
        numbers["mrn"] += chunk.mrns
        numbers["lab_order"] += chunk.lab_orders
        numbers["specimen"] += chunk.specimens
        numbers["claim"] += chunk.claims
        done += count
