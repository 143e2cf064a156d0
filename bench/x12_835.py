"""Reading and posting a 10,000-claim 835 remittance (a benchmark, not a test).

    python bench/x12_835.py [--database-url URL] [--claims 10000] [--runs 3] [--out FILE]

Sets up its own database (default: SQLite file var/bench/x12_835.sqlite3; or e.g.
postgres://postgres@127.0.0.1:5432/carebench_bench_835, created if missing), migrates it and
sets up a billing clinic once (carebench.testing.make_billing_clinic). Each run then
bulk-inserts `claims` fresh submitted claims with two lines each (new claim numbers, not timed),
writes the 835 that pays them (one payment, a new trace number; 80% paid with a CO-45
write-off, 10% with a PR-1 deductible on the visit, 5% denied CO-16/N290, 5% paid with the
visit's modifier dropped and no REF*6R, plus 1% unknown claims), and times:

- `remit835.read_835` of the text alone;
- `remit_services.post_835` end to end: reading again, balancing, matching, bulk writes, the
  trail and the audit event, in one transaction;
- posting alone: the second less the first.

Prints each run, the best and the median, and writes bench/results/x12_835-<vendor>.json.
Target: reading and posting (post_835 end to end) under 5 s for 10,000 claims.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from patient_search import ROOT, database_label, prepare_environment  # noqa: E402

TARGET_S = 5.0
ORG_SLUG = "bench-835"
USERNAME = "bench-835-biller"
SEED_BATCH = 5000
ISA = (
    "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*BENCHCLINIC    *261120*0830*^*00501*"
    "000000451*0*P*:"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON file (default bench/results/x12_835-<vendor>.json)",
    )
    return parser.parse_args()


def sqlite_param_limit(limit: int) -> int:
    """Bench seeding only: more rows per INSERT on SQLite; returns the limit it replaced."""
    from django.db import connection

    before = int(connection.features.max_query_params or 999)
    if connection.vendor == "sqlite":
        connection.features.max_query_params = limit
    return before


def ensure_clinic() -> Any:
    """The organization, a biller and the billing set-up (payer, patient, coverage...), once."""
    from types import SimpleNamespace

    from carebench.accounts.models import User
    from carebench.accounts.services import create_user
    from carebench.billing.models import BillingProfile
    from carebench.core.actor import Actor
    from carebench.core.models import Facility, Organization
    from carebench.patients.models import Coverage
    from carebench.scheduling.models import Provider
    from carebench.testing import make_billing_clinic

    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench Billing"})
    Facility.objects.get_or_create(organization=org, name="Bench Clinic", defaults={"state": "TX"})
    user = User.objects.filter(username=USERNAME).first()
    if user is None:
        user = create_user(
            actor=None,
            organization=org,
            username=USERNAME,
            password=None,
            roles=["biller"],
            first_name="Bench",
            last_name="Biller",
            title="",
        )
    if not BillingProfile.objects.filter(organization=org).exists():
        return make_billing_clinic(user)
    coverage = Coverage.objects.filter(organization=org).select_related("patient", "payer").first()
    assert coverage is not None
    return SimpleNamespace(
        actor=Actor(user=user, organization=org, channel="cli"),
        org=org,
        facility=org.facilities.first(),
        provider=Provider.objects.filter(organization=org).first(),
        payer=coverage.payer,
        patient=coverage.patient,
        coverage=coverage,
    )


def seed_claims(clinic: Any, prefix: str, count: int) -> list[str]:
    """`count` submitted claims (99213-25 $110 and 96372 $30) in bulk; their numbers."""
    from carebench.billing.models import Claim, ClaimLine

    day = date(2026, 11, 2)
    numbers = [f"{prefix}{i:06d}" for i in range(count)]
    before = sqlite_param_limit(30_000)
    try:
        for start in range(0, count, SEED_BATCH):
            claims = Claim.objects.bulk_create(
                [
                    Claim(
                        organization=clinic.org,
                        number=number,
                        patient=clinic.patient,
                        coverage=clinic.coverage,
                        payer=clinic.payer,
                        facility=clinic.facility,
                        rendering_provider=clinic.provider,
                        status=Claim.Status.SUBMITTED,
                        service_date=day,
                        diagnosis_codes=["I10"],
                        total_charge=Decimal("140.00"),
                    )
                    for number in numbers[start : start + SEED_BATCH]
                ]
            )
            ClaimLine.objects.bulk_create(
                [
                    ClaimLine(
                        organization=clinic.org,
                        claim=claim,
                        number=n,
                        code=code,
                        modifiers=modifiers,
                        charge=Decimal(charge),
                        pointers=[1],
                        service_date=day,
                    )
                    for claim in claims
                    for n, code, modifiers, charge in (
                        (1, "99213", ["25"], "110.00"),
                        (2, "96372", [], "30.00"),
                    )
                ]
            )
    finally:
        sqlite_param_limit(before)
    return numbers


def write_835(numbers: list[str], trace: str) -> str:
    """The 835 paying these claims (see the module docstring for the mix); 1% unknown claims."""
    body: list[str] = []
    total = Decimal(0)
    unknown = [f"ZZ{trace[-6:]}{i:05d}" for i in range(len(numbers) // 100)]
    for i, number in enumerate(numbers + unknown):
        kind = i % 20
        one, two = f"{number}-1", f"{number}-2"
        if kind == 0:  # denied
            paid = Decimal(0)
            body += [
                f"CLP*{number}*4*140*0**12*P{i:09d}*11*1",
                "NM1*QC*1*RIVERA*MARIA****MI*ACM123456789",
                "SVC*HC:99213:25*110*0**1",
                "DTM*472*20261102",
                "CAS*CO*16*110",
                f"REF*6R*{one}",
                "LQ*HE*N290",
                "SVC*HC:96372*30*0**1",
                "DTM*472*20261102",
                "CAS*CO*16*30",
                f"REF*6R*{two}",
            ]
        elif kind in (1, 2):  # deductible on the visit
            paid = Decimal("40.40")
            body += [
                f"CLP*{number}*1*140*{paid}*40*12*P{i:09d}*11*1",
                "NM1*QC*1*RIVERA*MARIA****MI*ACM123456789",
                "SVC*HC:99213:25*110*20.4**1",
                "DTM*472*20261102",
                "CAS*PR*1*40",
                "CAS*CO*45*49.6",
                f"REF*6R*{one}",
                "AMT*B6*60.4",
                "SVC*HC:96372*30*20**1",
                "DTM*472*20261102",
                "CAS*CO*45*10",
                f"REF*6R*{two}",
                "AMT*B6*20",
            ]
        elif kind == 3:  # the payer dropped the modifier and sent no REF*6R
            paid = Decimal("80.40")
            body += [
                f"CLP*{number}*1*140*{paid}**12*P{i:09d}*11*1",
                "NM1*QC*1*RIVERA*MARIA****MI*ACM123456789",
                "SVC*HC:96372*30*20**1",
                "DTM*472*20261102",
                "CAS*CO*45*10",
                "SVC*HC:99213*110*60.4**1",
                "DTM*472*20261102",
                "CAS*CO*45*49.6",
            ]
        else:  # paid at the fee schedule
            paid = Decimal("80.40")
            body += [
                f"CLP*{number}*1*140*{paid}**12*P{i:09d}*11*1",
                "NM1*QC*1*RIVERA*MARIA****MI*ACM123456789",
                "SVC*HC:99213:25*110*60.4**1",
                "DTM*472*20261102",
                "CAS*CO*45*49.6",
                f"REF*6R*{one}",
                "AMT*B6*60.4",
                "SVC*HC:96372*30*20**1",
                "DTM*472*20261102",
                "CAS*CO*45*10",
                f"REF*6R*{two}",
                "AMT*B6*20",
            ]
        total += paid
    header = [
        f"BPR*I*{total}*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*021000021*DA*"
        "987654321*20261120",
        f"TRN*1*{trace}*1512345678",
        "DTM*405*20261119",
        "N1*PR*ACME HEALTH PLAN",
        "REF*2U*60054",
        "N1*PE*BENCH CLINIC*XX*1245319599",
        "LX*1",
    ]
    segments = [
        ISA,
        "GS*HP*ACMEHEALTH*BENCHCLINIC*20261120*0830*451*X*005010X221A1",
        "ST*835*0001",
        *header,
        *body,
        f"SE*{len(header) + len(body) + 2}*0001",
        "GE*1*451",
        "IEA*1*000000451",
    ]
    return "~\n".join(segments) + "~\n"


def one_run(clinic: Any, claims: int, run: int) -> dict[str, Any]:
    from carebench.billing import remit_services
    from carebench.billing.models import Claim
    from carebench.billing.x12 import remit835

    token = f"{int(time.time()) % 1_000_000:06d}{run}"
    numbers = seed_claims(clinic, f"B{token}", claims)
    text = write_835(numbers, f"EFT{token}")
    started = time.perf_counter()
    remit835.read_835(text)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    [remittance] = remit_services.post_835(actor=clinic.actor, text=text, file_name=f"{token}.835")
    total_s = time.perf_counter() - started
    posted = Claim.objects.filter(organization=clinic.org, number__startswith=f"B{token}")
    statuses = {s: posted.filter(status=s).count() for s in ("paid", "denied", "submitted")}
    assert statuses["submitted"] == 0, statuses
    assert remittance.unmatched_count == claims // 100
    return {
        "read_s": read_s,
        "total_s": total_s,
        "post_s": total_s - read_s,
        "segments": text.count("~"),
        "megabytes": len(text) / 1e6,
        "statuses": statuses,
    }


def main() -> None:
    args = parse_args()
    if not args.database_url:
        path = ROOT / "var" / "bench" / "x12_835.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        args.database_url = f"sqlite:///{path}"
    prepare_environment(args)
    import django

    django.setup()
    from django.core.management import call_command
    from rich.console import Console
    from rich.table import Table

    from carebench.billing.models import Claim

    console = Console(width=max(110, Console().width))
    call_command("migrate", interactive=False, verbosity=0)
    clinic = ensure_clinic()
    vendor, label = database_label()
    existing = Claim.objects.filter(organization=clinic.org).count()
    console.print(
        f"[bold]{label}[/]: {args.claims:,} claims x 2 lines per 835 (+1% unknown claims), "
        f"{args.runs} runs on fresh claims; {existing:,} claims already in the database"
    )
    runs = [one_run(clinic, args.claims, n) for n in range(args.runs)]
    table = Table(title=f"835 with {args.claims:,} claims, {label} (s)")
    for column in ("run", "segments", "MB", "read_835", "posting", "post_835 (read + post)", "ok"):
        table.add_column(column, justify="right")
    for n, r in enumerate(runs, start=1):
        table.add_row(
            str(n),
            f"{r['segments']:,}",
            f"{r['megabytes']:.1f}",
            f"{r['read_s']:.2f}",
            f"{r['post_s']:.2f}",
            f"{r['total_s']:.2f}",
            "yes" if r["total_s"] < TARGET_S else "NO",
        )
    best = min(runs, key=lambda r: r["total_s"])
    worst = max(runs, key=lambda r: r["total_s"])
    table.add_row(
        "best",
        "",
        "",
        f"{min(r['read_s'] for r in runs):.2f}",
        f"{min(r['post_s'] for r in runs):.2f}",
        f"{best['total_s']:.2f}",
        "yes" if best["total_s"] < TARGET_S else "NO",
    )
    median = statistics.median(r["total_s"] for r in runs)
    table.add_row("median", "", "", "", "", f"{median:.2f}", "yes" if median < TARGET_S else "NO")
    console.print(table)
    console.print(f"statuses after a run: {runs[-1]['statuses']}; target < {TARGET_S:.0f} s")
    machine = platform.platform()
    rows = [
        {
            "name": f"835 read_835 {args.claims} claims (best of {args.runs})",
            "database": label,
            "unit": "s",
            "value": round(min(r["read_s"] for r in runs), 3),
            "target": None,
            "machine": machine,
        },
        {
            "name": f"835 posting alone {args.claims} claims (post_835 less read_835, best)",
            "database": label,
            "unit": "s",
            "value": round(min(r["post_s"] for r in runs), 3),
            "target": None,
            "machine": machine,
        },
        {
            "name": f"835 read and post {args.claims} claims (post_835, best of {args.runs})",
            "database": label,
            "unit": "s",
            "value": round(best["total_s"], 3),
            "target": TARGET_S,
            "machine": machine,
        },
        {
            "name": f"835 read and post {args.claims} claims (post_835, median of {args.runs})",
            "database": label,
            "unit": "s",
            "value": round(median, 3),
            "target": TARGET_S,
            "machine": machine,
        },
        {
            "name": f"835 read and post {args.claims} claims (post_835, worst of {args.runs})",
            "database": label,
            "unit": "s",
            "value": round(worst["total_s"], 3),
            "target": TARGET_S,
            "machine": machine,
        },
    ]
    out = args.out or ROOT / "bench" / "results" / f"x12_835-{vendor}.json"
    out.write_text(json.dumps(rows, indent=2) + "\n")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
