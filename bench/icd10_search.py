"""ICD-10-CM search latency over the full code set (a benchmark, not a test).

    python bench/icd10_search.py [--database-url URL] [--queries 2000] [--warmup 50]

Uses its own database (default: SQLite file var/bench/icd10.sqlite3; or e.g.
postgres://postgres@127.0.0.1:5432/carebench_bench_icd10, created if missing), migrates it and
loads the whole ICD-10-CM release from `simple-icd-10-cm` once (`load_icd10cm`, about 97,000
codes with the categories). Then times, for a mix of what coders type (a code prefix, a code
with its dot, one word, several words, billable codes only):
- `search_icd10` itself (the selector the pages and the claim form call), and
- the typeahead request `GET /patients/icd10/?q=...` through Django's test Client with a
  signed-in session (middleware, rendering and session included).
Prints p50/p95/p99/max and writes bench/results/icd10_search-<vendor>.json.

Target: p95 <= 20 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from patient_search import (  # noqa: E402  (the bench folder is put on the path just above)
    database_label,
    ensure_org_and_user,
    measure,
    percentile,
    prepare_environment,
)

TARGET_MS = 20.0
QUERIES = [
    "e11",
    "E11.9",
    "i10",
    "j45.9",
    "z00.0",
    "s72",
    "diabetes",
    "type 2 diabetes",
    "essential hypertension",
    "asthma uncomplicated",
    "fracture of femur",
    "otitis media",
    "pharyngitis",
    "urinary tract infection",
    "chest pain",
    "encounter for immunization",
    "hyperlipidemia",
    "low back pain",
    "strep",
    "anxiety disorder",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--queries", type=int, default=2000, help="timed calls per operation")
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    if not args.database_url:
        path = ROOT / "var" / "bench" / "icd10.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        args.database_url = f"sqlite:///{path}"
    return args


def main() -> None:
    args = parse_args()
    prepare_environment(args)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse
    from rich.console import Console
    from rich.table import Table

    from carebench.terminology.models import CodeSetVersion, Icd10CmCode
    from carebench.terminology.selectors import search_icd10
    from carebench.terminology.services import ICD10CM_CODE_SET

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    console = Console(width=max(120, Console().width))
    call_command("migrate", interactive=False, verbosity=0)
    if not CodeSetVersion.objects.filter(code_set=ICD10CM_CODE_SET).exists():
        console.print("loading ICD-10-CM (once)...")
        call_command("load_icd10cm", verbosity=0)
    total = Icd10CmCode.objects.count()
    _, user = ensure_org_and_user()
    vendor, label = database_label()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = reverse("patients:icd10_search")

    def selector(i: int) -> None:
        search_icd10(QUERIES[i % len(QUERIES)], billable_only=True, limit=15)

    def request(i: int) -> None:
        response = client.get(url, {"q": QUERIES[i % len(QUERIES)]})
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    found = {q: len(search_icd10(q, billable_only=True, limit=15)) for q in QUERIES}
    empty = [q for q, n in found.items() if n == 0]
    if empty:
        console.print(f"[yellow]no billable match for: {', '.join(empty)}[/]")
    console.print(f"[bold]{label}[/], {total:,} ICD-10-CM codes, {args.queries} timed calls each")
    table = Table(title=f"ICD-10-CM search, {label}, {total:,} codes (ms)")
    for column in ("operation", "p50", "p95", "p99", "max", "target p95", "ok"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    results: list[dict[str, Any]] = []
    for name, func in (
        ("search_icd10 (selector)", selector),
        ("GET /patients/icd10/?q= (typeahead)", request),
    ):
        timings = measure(func, args.queries, args.warmup)
        stats = {k: percentile(timings, p) for k, p in (("p50", 50), ("p95", 95), ("p99", 99))}
        stats["max"] = timings[-1]
        passed = stats["p95"] <= TARGET_MS
        table.add_row(
            name,
            *(f"{stats[k]:.1f}" for k in ("p50", "p95", "p99", "max")),
            f"<= {TARGET_MS:.0f}",
            "[green]yes[/]" if passed else "[red]NO[/]",
        )
        for key, value in stats.items():
            results.append(
                {
                    "name": f"ICD-10-CM {name} {key}",
                    "database": label,
                    "unit": "ms",
                    "value": round(value, 3),
                    "target": TARGET_MS if key == "p95" else None,
                    "codes": total,
                    "samples": len(timings),
                    "mean": round(statistics.fmean(timings), 3),
                }
            )
    console.print(table)
    out = ROOT / "bench" / "results" / f"icd10_search-{vendor}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
