"""Patient search and chart-open latency at clinic-network scale (a benchmark, not a test).

    python bench/patient_search.py [--patients 100000] [--database-url URL] [--queries 2000]

Sets up its own database (default: SQLite file var/bench/search.sqlite3; or e.g.
postgres://postgres@127.0.0.1:5432/carebench_bench, created if missing), migrates it, fills it
with N synthetic patients once, then times real requests through Django's test Client: in
process, a signed-in MAT session, the full middleware stack, session save and audit writes
included. Prints p50/p95/p99/max per operation and writes bench/results/patient_search-<vendor>.json.

Targets: search p95 <= 20 ms, chart p95 <= 40 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEARCH_TARGET_MS = 20.0
CHART_TARGET_MS = 40.0
BATCH = 5000
BENCH_ORG_SLUG = "bench-search"
SEED = 1234


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--queries", type=int, default=2000, help="timed requests per operation")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests per operation")
    return parser.parse_args()


def prepare_environment(args: argparse.Namespace) -> str:
    url = args.database_url
    if not url:
        path = ROOT / "var" / "bench" / "search.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "carebench.settings"
    if url.startswith(("postgres://", "postgresql://")):
        create_postgres_database(url)
    return url


def create_postgres_database(url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(url)
    params = {
        "host": cfg.get("HOST") or None,
        "port": cfg.get("PORT") or None,
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
    }
    with psycopg.connect(
        dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
            print(f"created database {cfg['NAME']}")


# --- seeding --------------------------------------------------------------------------------


def ensure_org_and_user() -> tuple[Any, Any]:
    from carebench.accounts.models import User
    from carebench.accounts.services import create_user
    from carebench.core.models import Facility, Organization

    org, _ = Organization.objects.get_or_create(
        slug=BENCH_ORG_SLUG, defaults={"name": "Bench Health"}
    )
    Facility.objects.get_or_create(organization=org, name="Bench Clinic", defaults={"state": "TX"})
    user = User.objects.filter(username="bench-mat").first()
    if user is None:
        user = create_user(
            actor=None,
            organization=org,
            username="bench-mat",
            password=None,
            roles=["mat"],
            first_name="Bench",
            last_name="Assistant",
            title="CMA",
        )
    return org, user


def weighted(names: Any) -> tuple[list[str], list[float]]:
    return list(names.keys()), list(names.values())


def seed_patients(org: Any, wanted: int) -> None:
    """Bulk-insert synthetic patients until the organization holds `wanted`.

    The bench writes rows directly (bulk_create in batches of 5,000, search keys computed with
    the same functions the services use, sequential MRNs) because registering 100,000 patients
    one service call at a time would take many minutes. The application never does this.
    """
    from django.db import connection, transaction
    from faker.providers.person.en_US import Provider as Names

    from carebench.core.models import Organization
    from carebench.patients.models import (
        Allergy,
        Coverage,
        HistoryEntry,
        MedicationStatement,
        Patient,
        Payer,
        Problem,
        TobaccoStatus,
    )
    from carebench.patients.validation import phone_key, search_key

    have = Patient.objects.filter(organization=org).count()
    if have >= wanted:
        print(f"{have:,} bench patients already present")
        return
    rng = random.Random(SEED + have)
    female, female_w = weighted(Names.first_names_female)
    male, male_w = weighted(Names.first_names_male)
    family, family_w = weighted(Names.last_names)
    payers = [
        Payer.objects.get_or_create(organization=org, name=name, defaults={"payer_code": code})[0]
        for name, code in (
            ("Aetna", "60054"),
            ("Cigna", "62308"),
            ("UnitedHealthcare", "87726"),
            ("Medicare Part B", "04412"),
        )
    ]
    allergies = [
        ("Penicillin", "70618"),
        ("Sulfa drugs", ""),
        ("Latex", ""),
        ("Peanuts", ""),
        ("Codeine", "2670"),
        ("Shellfish", ""),
    ]
    meds = [
        ("Lisinopril 10 mg oral tablet", "314076"),
        ("Metformin 500 mg oral tablet", "861007"),
        ("Atorvastatin 20 mg oral tablet", "617310"),
        ("Amlodipine 5 mg oral tablet", "197361"),
        ("Levothyroxine 50 mcg oral tablet", "966222"),
    ]
    problems = [
        ("I10", "Essential (primary) hypertension"),
        ("E11.9", "Type 2 diabetes mellitus without complications"),
        ("E78.5", "Hyperlipidemia, unspecified"),
        ("J45.909", "Unspecified asthma, uncomplicated"),
    ]
    start = time.perf_counter()
    org_row = Organization.objects.get(pk=org.pk)
    next_mrn = org_row.next_mrn
    remaining = wanted - have
    today = date(2026, 11, 1)
    while remaining > 0:
        size = min(BATCH, remaining)
        batch = []
        for _ in range(size):
            sex = "female" if rng.random() < 0.52 else "male"
            given = (
                rng.choices(female, female_w)[0]
                if sex == "female"
                else rng.choices(male, male_w)[0]
            )
            last = rng.choices(family, family_w)[0]
            mobile = (
                f"{rng.randint(2, 9)}{rng.randint(0, 99):02d}{rng.randint(2, 9)}"
                f"{rng.randint(0, 999999):06d}"
            )
            home = (
                (
                    f"{rng.randint(2, 9)}{rng.randint(0, 99):02d}{rng.randint(2, 9)}"
                    f"{rng.randint(0, 999999):06d}"
                )
                if rng.random() < 0.2
                else ""
            )
            batch.append(
                Patient(
                    organization=org,
                    mrn=str(next_mrn),
                    family_name=last,
                    given_name=given,
                    birth_date=today - timedelta(days=rng.randint(0, 95 * 365)),
                    sex=sex,
                    phone_mobile=mobile,
                    phone_home=home,
                    state="TX",
                    family_key=search_key(last),
                    given_key=search_key(given),
                    preferred_key="",
                    mobile_key=phone_key(mobile),
                    home_key=phone_key(home),
                )
            )
            next_mrn += 1
        with transaction.atomic():
            created = Patient.objects.bulk_create(batch)
            Organization.objects.filter(pk=org.pk).update(next_mrn=next_mrn)
            base = {"organization": org}
            rows: dict[type, list[Any]] = {
                Allergy: [],
                MedicationStatement: [],
                Problem: [],
                HistoryEntry: [],
                Coverage: [],
            }
            for patient in created:
                if rng.random() < 0.5:
                    rows[Allergy].append(
                        Allergy(
                            **base,
                            patient=patient,
                            kind=Allergy.Kind.NO_KNOWN,
                            substance="No known allergies",
                            substance_code="716186003",
                        )
                    )
                else:
                    for name, code in rng.sample(allergies, rng.randint(1, 2)):
                        rows[Allergy].append(
                            Allergy(
                                **base,
                                patient=patient,
                                substance=name,
                                substance_code=code,
                                reaction="Hives",
                            )
                        )
                for name, code in rng.sample(meds, rng.randint(0, 3)):
                    rows[MedicationStatement].append(
                        MedicationStatement(
                            **base,
                            patient=patient,
                            medication=name,
                            rxnorm_code=code,
                            frequency="once daily",
                        )
                    )
                for code, text in rng.sample(problems, rng.randint(0, 3)):
                    rows[Problem].append(
                        Problem(**base, patient=patient, icd10_code=code, description=text)
                    )
                rows[HistoryEntry].append(
                    HistoryEntry(
                        **base,
                        patient=patient,
                        kind=HistoryEntry.Kind.TOBACCO,
                        description="Never smoker",
                        tobacco_status=TobaccoStatus.NEVER,
                    )
                )
                if rng.random() < 0.9:
                    rows[Coverage].append(
                        Coverage(
                            **base,
                            patient=patient,
                            payer=rng.choice(payers),
                            member_id=f"W{rng.randint(10**8, 10**9 - 1)}",
                        )
                    )
            for model, items in rows.items():
                model.objects.bulk_create(items, batch_size=BATCH)
        remaining -= size
        done = wanted - remaining
        print(f"  {done:,}/{wanted:,} patients ({time.perf_counter() - start:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded {wanted - have:,} patients in {time.perf_counter() - start:.1f} s")


# --- measuring ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * pct / 100
    low = int(k)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (k - low)


def measure(func: Callable[[int], None], count: int, warmup: int) -> list[float]:
    for i in range(warmup):
        func(i)
    if os.environ.get("BENCH_GC") == "freeze":
        gc.collect()
        gc.freeze()
    timings = []
    for i in range(count):
        started = time.perf_counter()
        func(i)
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


def build_operations(org: Any, user: Any) -> list[tuple[str, float, Callable[[int], None]]]:
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from carebench.audit import services as audit
    from carebench.audit.models import Action
    from carebench.core.actor import Actor
    from carebench.patients import selectors
    from carebench.patients.models import Patient

    rng = random.Random(SEED)
    sample = list(
        Patient.objects.filter(organization=org)
        .order_by("?")
        .values("id", "mrn", "birth_date", "phone_mobile")[:500]
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    try:
        search_url: str | None = reverse("patients:search")
    except NoReverseMatch:
        search_url = None
    try:
        reverse("patients:chart", args=[1])
        chart_page = True
    except NoReverseMatch:
        chart_page = False

    def check(response: Any, what: str) -> None:
        if response.status_code != 200:
            raise SystemExit(f"{what}: HTTP {response.status_code}; is the page working?")

    def search_op(texts: Callable[[int], str]) -> Callable[[int], None]:
        if search_url is not None:

            def run(i: int) -> None:
                check(
                    client.get(search_url, {"q": texts(i)}, HTTP_HX_REQUEST="true"),
                    f"search {texts(i)!r}",
                )
        else:

            def run(i: int) -> None:
                selectors.search_patients(org, texts(i))

        return run

    def chart_op(i: int) -> None:
        patient_id = sample[i % len(sample)]["id"]
        if chart_page:
            check(client.get(f"/patients/{patient_id}/"), "chart")
        else:
            patient = selectors.get_chart(org, patient_id)
            audit.record_for_actor(
                Actor(user=user, organization=org),
                action=Action.VIEW,
                patient_id=patient.pk,
                resource_type="Patient",
                resource_id=patient.pk,
            )

    def dob(i: int) -> str:
        return sample[(i * 7) % len(sample)]["birth_date"].strftime("%m/%d/%Y")

    def mrn(i: int) -> str:
        return sample[(i * 11) % len(sample)]["mrn"]

    def phone(i: int) -> str:
        digits = sample[(i * 13) % len(sample)]["phone_mobile"]
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"

    rng.shuffle(sample)
    suffix = "" if search_url else " (selector only, no page yet)"
    chart_label = (
        "open chart /patients/<id>/"
        if chart_page
        else "open chart (get_chart + audit; no page yet)"
    )
    return [
        (f"search name 'smi'{suffix}", SEARCH_TARGET_MS, search_op(lambda i: "smi")),
        (f"search 'smith, j'{suffix}", SEARCH_TARGET_MS, search_op(lambda i: "smith, j")),
        (f"search 'john smi'{suffix}", SEARCH_TARGET_MS, search_op(lambda i: "john smi")),
        (f"search DOB mm/dd/yyyy{suffix}", SEARCH_TARGET_MS, search_op(dob)),
        (f"search MRN{suffix}", SEARCH_TARGET_MS, search_op(mrn)),
        (f"search phone{suffix}", SEARCH_TARGET_MS, search_op(phone)),
        (chart_label, CHART_TARGET_MS, chart_op),
    ]


def database_label() -> tuple[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0].split()[0]
        else:
            cursor.execute("SELECT sqlite_version()")
            version = cursor.fetchone()[0]
    return connection.vendor, f"{connection.vendor} {version}"


def main() -> None:
    args = parse_args()
    prepare_environment(args)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from rich.console import Console
    from rich.table import Table

    from carebench.patients.models import Patient

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    console = Console(width=max(120, Console().width))
    call_command("migrate", interactive=False, verbosity=0)
    org, user = ensure_org_and_user()
    seed_patients(org, args.patients)
    vendor, label = database_label()
    total = Patient.objects.filter(organization=org).count()
    console.print(f"[bold]{label}[/], {total:,} patients, {args.queries} timed requests each")

    table = Table(title=f"Patient search, {label}, {total:,} patients (server time, ms)")
    for column in ("operation", "p50", "p95", "p99", "max", "target p95", "ok"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    results: list[dict[str, Any]] = []
    for name, target, func in build_operations(org, user):
        timings = measure(func, args.queries, args.warmup)
        stats = {
            "p50": percentile(timings, 50),
            "p95": percentile(timings, 95),
            "p99": percentile(timings, 99),
            "max": timings[-1],
        }
        passed = stats["p95"] <= target
        table.add_row(
            name,
            *(f"{stats[k]:.1f}" for k in ("p50", "p95", "p99", "max")),
            f"<= {target:.0f}",
            "[green]yes[/]" if passed else "[red]NO[/]",
        )
        for key, value in stats.items():
            results.append(
                {
                    "name": f"{name} {key}",
                    "database": label,
                    "unit": "ms",
                    "value": round(value, 3),
                    "target": target if key == "p95" else None,
                    "patients": total,
                    "samples": len(timings),
                    "mean": round(statistics.fmean(timings), 3),
                }
            )
        console.print(f"  {name}: p95 {stats['p95']:.1f} ms")
    console.print(table)
    out = ROOT / "bench" / "results" / f"patient_search-{vendor}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
