"""GNU Health side of `make bench-peer`: the five operations in process, through trytond's
Pool/Transaction API, one transaction (and commit) per operation.

Runs inside GNU Health's own virtualenv (var/peer/venv), never in carebench's: `run.py` starts
it and reads the JSON it prints on stdout. Steps:

1. `setup`: the reference data the operations need, once (an institution, a specialty, ten
   health professionals, a few conditions), and the database switched to SQLite's WAL journal
   so it commits the way carebench's SQLite does (WAL, synchronous=FULL).
2. `seed`: patients up to `--patients` (party + person name + patient, as GNU Health's party
   form creates them), each with 0-3 conditions or allergies and 1-2 evaluations with vital
   signs; additive, so a cached database is reused.
3. the timed operations, each `--warmup` times untimed then `--ops` times timed, as the admin
   user with `_check_access` on (the access checks a client's RPC call gets):

   - create patient: `party.party.create` with name, family name, sex and date of birth
     (GNU Health creates the official person name and the `gnuhealth.patient` with it);
   - search by name: patients whose given or family name starts with a few letters, the first
     20 read (name, PUID, sex, date of birth, age) and the total counted, as a list view does;
   - record vital signs: one `gnuhealth.patient.evaluation` with BP, pulse, temperature, RR,
     SpO2, height, weight and BMI;
   - create appointment: a confirmed `gnuhealth.appointment` with a health professional at a
     time checked free (no other appointment of theirs within 20 minutes);
   - read patient: the patient, their conditions and allergies, and their evaluations' vitals.

Prints one JSON object: per operation the latencies (ms) and the wall time of the timed loop.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

FAMILY_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers"
).split()
GIVEN_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew "
    "Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah"
).split()
CONDITIONS = [
    # (code, name, allergy type or None)
    ("I10", "Essential (primary) hypertension", None),
    ("E11.9", "Type 2 diabetes mellitus without complications", None),
    ("J45.909", "Unspecified asthma, uncomplicated", None),
    ("E78.5", "Hyperlipidemia, unspecified", None),
    ("M54.50", "Low back pain, unspecified", None),
    ("Z88.0", "Allergy status to penicillin", "da"),
    ("Z91.010", "Allergy to peanuts", "fa"),
    ("Z91.040", "Latex allergy status", "ma"),
]
SLOT = timedelta(minutes=20)
DAY_START_HOUR = 14  # 08:00 in America/Chicago is 14:00 UTC (13:00 in summer); stored naive UTC
SLOTS_PER_DAY = 24  # 8 hours of 20-minute visits
PAGE = 20
PROFESSIONALS = 10


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


class GnuHealth:
    """The database, its pool and the admin user, with one helper per operation."""

    def __init__(self, config_path: Path, database: str) -> None:
        from trytond.config import config

        config.update_etc(str(config_path))
        from trytond.pool import Pool
        from trytond.transaction import Transaction

        self.Transaction = Transaction
        self.database = database
        Pool.start()
        self.pool = Pool(database)
        with Transaction().start(database, 0, readonly=True):
            self.pool.init()
        with Transaction().start(database, 0, readonly=True):
            User = self.pool.get("res.user")
            (admin,) = User.search([("login", "=", "admin")])
            self.user = admin.id
        with Transaction().start(database, self.user, readonly=True):
            self.context = User.get_preferences(context_only=True)
        self.context["_check_access"] = True

    def transaction(self, *, readonly: bool = False, check_access: bool = True) -> Any:
        context = dict(self.context)
        context["_check_access"] = check_access
        return self.Transaction().start(
            self.database, self.user, readonly=readonly, context=context
        )

    def model(self, name: str) -> Any:
        return self.pool.get(name)

    # --- reference data -------------------------------------------------------------------------

    def setup(self) -> dict[str, Any]:
        """The institution, specialty, professionals and conditions (created once)."""
        with self.transaction(check_access=False):
            Party = self.model("party.party")
            Institution = self.model("gnuhealth.institution")
            Specialty = self.model("gnuhealth.specialty")
            Professional = self.model("gnuhealth.healthprofessional")
            HpSpecialty = self.model("gnuhealth.hp_specialty")
            Pathology = self.model("gnuhealth.pathology")
            User = self.model("res.user")
            Group = self.model("res.group")

            # The admin user acts as a clinic's GNU Health administrator: every health group.
            groups = Group.search([])
            User.write([User(self.user)], {"groups": [("add", [g.id for g in groups])]})

            institutions = Institution.search([("code", "=", "PEER")])
            if not institutions:
                (party,) = Party.create(
                    [{"name": "Peer Clinic", "is_institution": True, "create_target": False}]
                )
                institutions = Institution.create(
                    [
                        {
                            "party": party.id,
                            "code": "PEER",
                            "institution_type": "primary_care",
                            "public_level": "private",
                        }
                    ]
                )
            institution = institutions[0]
            specialties = Specialty.search([("code", "=", "FAMILY")]) or Specialty.search(
                [], limit=1
            )
            specialty = specialties[0]
            professionals = Professional.search([("code", "like", "PEER-%")], order=[("id", "ASC")])
            if len(professionals) < PROFESSIONALS:
                # GNU Health's party.create takes one person per call (it creates the
                # parties inside its loop over the values), so one call each.
                parties = [
                    Party.create(
                        [
                            {
                                "name": GIVEN_NAMES[i],
                                "lastname": f"Doctor{i}",
                                "is_person": True,
                                "is_healthprof": True,
                                "gender": "f" if i % 2 else "m",
                                "create_target": False,
                                "fed_country": None,
                            }
                        ]
                    )[0]
                    for i in range(len(professionals), PROFESSIONALS)
                ]
                created = Professional.create(
                    [
                        {
                            "party": party.id,
                            "code": f"PEER-{party.id}",
                            "institution": institution.id,
                        }
                        for party in parties
                    ]
                )
                HpSpecialty.create(
                    [
                        {"healthprof": hp.id, "specialty": specialty.id, "mainsp": True}
                        for hp in created
                    ]
                )
                professionals = list(professionals) + list(created)
            pathologies = []
            for code, name, _ in CONDITIONS:
                found = Pathology.search([("code", "=", code)])
                pathologies.append(
                    found[0] if found else Pathology.create([{"code": code, "name": name}])[0]
                )
            return {
                "institution": institution.id,
                "specialty": specialty.id,
                "professionals": [hp.id for hp in professionals],
                "pathologies": [p.id for p in pathologies],
            }

    # --- seeding --------------------------------------------------------------------------------

    def patient_count(self) -> int:
        with self.transaction(readonly=True, check_access=False):
            return self.model("gnuhealth.patient").search_count([])

    def seed(self, target: int, refs: dict[str, Any], rng: random.Random) -> int:
        """Add patients (with conditions and evaluations) until there are `target`."""
        added = 0
        batch = 200
        while (have := self.patient_count()) < target:
            count = min(batch, target - have)
            with self.transaction(check_access=False):
                Party = self.model("party.party")
                Disease = self.model("gnuhealth.patient.disease")
                Evaluation = self.model("gnuhealth.patient.evaluation")
                Patient = self.model("gnuhealth.patient")
                parties = [Party.create([person_values(rng)])[0] for _ in range(count)]
                patients = Patient.search([("party", "in", [p.id for p in parties])])
                diseases: list[dict[str, Any]] = []
                evaluations: list[dict[str, Any]] = []
                for patient in patients:
                    for index in rng.sample(range(len(CONDITIONS)), rng.randint(0, 3)):
                        diseases.append(disease_values(patient.id, refs, index, rng))
                    for _ in range(rng.randint(1, 2)):
                        start = datetime(2025, 1, 1) + timedelta(minutes=rng.randint(0, 500_000))
                        evaluations.append(evaluation_values(patient.id, refs, start, rng))
                Disease.create(diseases)
                Evaluation.create(evaluations)
            added += count
        return added

    def use_wal(self, path: Path) -> None:
        """WAL journal (persistent in the file) with synchronous=FULL, as carebench runs."""
        with sqlite3.connect(path) as connection:
            connection.execute("PRAGMA journal_mode=WAL")

    # --- the operations -------------------------------------------------------------------------

    def create_patient(self, values: dict[str, Any]) -> int:
        with self.transaction():
            (party,) = self.model("party.party").create([values])
            return int(party.id)

    def search_by_name(self, text: str) -> int:
        with self.transaction(readonly=True):
            Patient = self.model("gnuhealth.patient")
            domain = [
                "OR",
                ("party.name", "ilike", f"{text}%"),
                ("party.lastname", "ilike", f"{text}%"),
            ]
            ids = Patient.search(domain, limit=PAGE, order=[("party.lastname", "ASC")])
            Patient.read([p.id for p in ids], ["rec_name", "puid", "gender", "dob", "age"])
            return int(Patient.search_count(domain))

    def record_vitals(self, patient: int, refs: dict[str, Any], rng: random.Random) -> int:
        with self.transaction():
            values = evaluation_values(patient, refs, datetime.utcnow(), rng)
            (evaluation,) = self.model("gnuhealth.patient.evaluation").create([values])
            return int(evaluation.id)

    def create_appointment(
        self, patient: int, professional: int, start: datetime, refs: dict[str, Any]
    ) -> int:
        with self.transaction():
            Appointment = self.model("gnuhealth.appointment")
            clash = Appointment.search_count(
                [
                    ("healthprof", "=", professional),
                    ("appointment_date", ">", start - SLOT),
                    ("appointment_date", "<", start + SLOT),
                    ("state", "not in", ["user_cancelled", "center_cancelled"]),
                ]
            )
            if clash:
                raise RuntimeError(f"the slot {start} of professional {professional} is taken")
            (appointment,) = Appointment.create(
                [
                    {
                        "patient": patient,
                        "healthprof": professional,
                        "appointment_date": start,
                        "institution": refs["institution"],
                        "speciality": refs["specialty"],
                        "state": "confirmed",
                        "appointment_type": "outpatient",
                        "visit_type": "followup",
                        "urgency": "a",
                    }
                ]
            )
            return int(appointment.id)

    def read_patient(self, patient: int) -> int:
        with self.transaction(readonly=True):
            Patient = self.model("gnuhealth.patient")
            Disease = self.model("gnuhealth.patient.disease")
            Evaluation = self.model("gnuhealth.patient.evaluation")
            Patient.read(
                [patient],
                ["rec_name", "puid", "gender", "dob", "age", "lastname", "critical_summary"],
            )
            conditions = Disease.search_read(
                [("patient", "=", patient)],
                fields_names=[
                    "pathology.code",
                    "pathology.name",
                    "is_allergy",
                    "allergy_type",
                    "status",
                    "disease_severity",
                    "diagnosed_date",
                    "is_active",
                ],
            )
            vitals = Evaluation.search_read(
                [("patient", "=", patient)],
                order=[("evaluation_start", "DESC")],
                limit=PAGE,
                fields_names=[
                    "evaluation_start",
                    "systolic",
                    "diastolic",
                    "bpm",
                    "respiratory_rate",
                    "temperature",
                    "osat",
                    "height",
                    "weight",
                    "bmi",
                ],
            )
            return len(conditions) + len(vitals)

    # --- choices for the timed loops ------------------------------------------------------------

    def sample_patients(self, count: int, rng: random.Random) -> list[int]:
        """Seeded patients with at least one evaluation (so a read has related rows)."""
        with self.transaction(readonly=True, check_access=False):
            Evaluation = self.model("gnuhealth.patient.evaluation")
            rows = Evaluation.search_read([], fields_names=["patient"], limit=5000)
            ids = sorted({row["patient"] for row in rows})
        return [rng.choice(ids) for _ in range(count)]

    def name_prefixes(self, count: int, rng: random.Random) -> list[str]:
        """Three-letter prefixes of existing family names, drawn like carebench's side."""
        with self.transaction(readonly=True, check_access=False):
            Party = self.model("party.party")
            rows = Party.search_read(
                [("is_patient", "=", True)], fields_names=["lastname"], limit=5000
            )
        names = [row["lastname"] for row in rows if row["lastname"] and len(row["lastname"]) >= 3]
        return [rng.choice(names)[:3].lower() for _ in range(count)]

    def free_starts(self, count: int, professionals: list[int]) -> list[tuple[int, datetime]]:
        """(professional, start) pairs after the last appointment booked, round robin."""
        with self.transaction(readonly=True, check_access=False):
            Appointment = self.model("gnuhealth.appointment")
            last = Appointment.search([], order=[("appointment_date", "DESC")], limit=1)
            last_start = last[0].appointment_date if last else None
        first_day = date.today() + timedelta(days=21)
        if last_start is not None:
            first_day = max(first_day, last_start.date() + timedelta(days=1))
        pairs: list[tuple[int, datetime]] = []
        day = first_day
        while len(pairs) < count:
            if day.weekday() < 5:
                for slot in range(SLOTS_PER_DAY):
                    start = datetime(day.year, day.month, day.day, DAY_START_HOUR) + slot * SLOT
                    for professional in professionals:
                        pairs.append((professional, start))
            day += timedelta(days=1)
        return pairs[:count]


def person_values(rng: random.Random) -> dict[str, Any]:
    sex = rng.choice("mf")
    born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 80))
    return {
        "name": rng.choice(GIVEN_NAMES),
        "lastname": rng.choice(FAMILY_NAMES),
        "is_person": True,
        "is_patient": True,
        "create_target": True,
        "fed_country": None,  # what the form's defaults send without a federation country
        "gender": sex,
        "dob": born,
    }


def disease_values(
    patient: int, refs: dict[str, Any], index: int, rng: random.Random
) -> dict[str, Any]:
    _, _, allergy = CONDITIONS[index]
    return {
        "patient": patient,
        "pathology": refs["pathologies"][index],
        "is_allergy": allergy is not None,
        "allergy_type": allergy,
        "status": "c" if allergy is None else None,
        "disease_severity": rng.choice(["1_mi", "2_mo", "3_sv"]),
        "diagnosed_date": date(2020, 1, 1) + timedelta(days=rng.randint(0, 1500)),
        "is_active": True,
        "healthprof": refs["professionals"][0],
    }


def evaluation_values(
    patient: int, refs: dict[str, Any], start: datetime, rng: random.Random
) -> dict[str, Any]:
    height = round(rng.uniform(150, 190), 1)
    weight = round(rng.uniform(50, 110), 2)
    return {
        "patient": patient,
        "healthprof": refs["professionals"][0],
        "institution": refs["institution"],
        "evaluation_start": start,
        "systolic": rng.randint(100, 150),
        "diastolic": rng.randint(60, 95),
        "bpm": rng.randint(55, 100),
        "respiratory_rate": rng.randint(12, 20),
        "temperature": round(rng.uniform(36.1, 37.4), 1),
        "osat": rng.randint(94, 100),
        "height": height,
        "weight": weight,
        "bmi": round(weight / (height / 100) ** 2, 2),
    }


def timed(name: str, count: int, warmup: int, call: Callable[[int], Any]) -> dict[str, Any]:
    """Run `call(i)` warmup + count times; time the last `count` one by one and as a loop."""
    for i in range(warmup):
        call(i)
    latencies: list[float] = []
    loop_started = time.perf_counter()
    for i in range(warmup, warmup + count):
        started = time.perf_counter()
        call(i)
        latencies.append((time.perf_counter() - started) * 1000)
    wall = time.perf_counter() - loop_started
    return {
        "operation": name,
        "count": count,
        "wall_s": round(wall, 4),
        "ops_per_s": round(count / wall, 2),
        "p50_ms": round(statistics.median(latencies), 3),
        "p95_ms": round(percentile(latencies, 0.95), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="trytond.conf")
    parser.add_argument("--database", default="health", help="trytond database name")
    parser.add_argument("--sqlite-file", type=Path, required=True, help="the database file")
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated operation keys")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    health = GnuHealth(args.config, args.database)
    health.use_wal(args.sqlite_file)
    setup_started = time.perf_counter()
    refs = health.setup()
    added = health.seed(args.patients, refs, rng)
    seed_s = time.perf_counter() - setup_started
    patients_before = health.patient_count()

    total = args.ops + args.warmup
    people = [person_values(rng) for _ in range(total)]
    targets = health.sample_patients(total, rng)
    prefixes = health.name_prefixes(total, rng)
    starts = health.free_starts(total, refs["professionals"])
    hits: list[int] = []

    operations: dict[str, tuple[str, Callable[[int], Any]]] = {
        "create_patient": ("create patient", lambda i: health.create_patient(people[i])),
        "search_name": (
            "search by name",
            lambda i: hits.append(health.search_by_name(prefixes[i])),
        ),
        "record_vitals": (
            "record vital signs",
            lambda i: health.record_vitals(targets[i], refs, rng),
        ),
        "create_appointment": (
            "create appointment",
            lambda i: health.create_appointment(targets[i], starts[i][0], starts[i][1], refs),
        ),
        "read_patient": (
            "read patient with related rows",
            lambda i: health.read_patient(targets[i]),
        ),
    }
    wanted = [key for key in args.only.split(",") if key] or list(operations)
    results = []
    for key in wanted:
        label, call = operations[key]
        row = timed(label, args.ops, args.warmup, call)
        row["key"] = key
        results.append(row)
    from importlib.metadata import version

    import trytond

    print(
        json.dumps(
            {
                "system": "GNU Health",
                "versions": {
                    "gnuhealth": version("gnuhealth"),
                    "trytond": trytond.__version__,
                    "python": sys.version.split()[0],
                    "sqlite": sqlite3.sqlite_version,
                },
                "patients_before_timing": patients_before,
                "patients_added_now": added,
                "setup_and_seed_s": round(seed_s, 2),
                "search_hits_mean": round(statistics.fmean(hits), 1) if hits else None,
                "operations": results,
            }
        )
    )


if __name__ == "__main__":
    main()
