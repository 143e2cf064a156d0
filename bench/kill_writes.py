"""SIGKILL the server while clients write; no acknowledged write may be lost (a reliability run).

    python bench/kill_writes.py [--writes 10000] [--repeat 20] [--clients 8] [--database-url URL]

Starts `carebench serve` (gunicorn, 2 workers x 4 threads, as in production) on a scratch
database: by default the SQLite file var/crashtest/kill_writes.sqlite3; with --database-url a
PostgreSQL database whose name contains "kill", "crash" or "scratch" (it is dropped and made
again), e.g. postgres://postgres@127.0.0.1:5432/carebench_kill. Client threads send FHIR
`POST /fhir/Patient` and `POST /fhir/Observation` with a bearer token from `carebench token
create` and keep every acknowledged write (201 and its id). Each cycle SIGKILLs the server's
whole process group after a random number (1 to --writes) of acknowledged writes, checks SQLite's
`integrity_check` and `foreign_key_check`, restarts the server, looks up every write
acknowledged so far by id and content, checks every patient and vital-signs set is whole and runs
`carebench audit verify`. The engine is carebench/core/crashtest.py.

Prints a table and writes bench/results/kill_writes-<vendor>.json. Exit status 1 on any lost
or changed write, partial row, unsound database or broken audit chain, and on any write the
server refused with an error (a deadlock, say) rather than with a clean answer.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from carebench.core import crashtest  # noqa: E402  (bench/ is run as a script from the root)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--writes", type=int, default=10_000, help="writes per cycle (the kill lands among them)"
    )
    parser.add_argument("--repeat", type=int, default=20, help="cycles: kill, check, restart")
    parser.add_argument("--clients", type=int, default=8, help="client threads writing at once")
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL scratch database (default SQLite)"
    )
    parser.add_argument(
        "--template-url",
        default="",
        help="copy this migrated database instead of migrating the scratch one (same vendor)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed (printed when not given)"
    )
    return parser.parse_args()


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    args = parse_args()
    url = args.database_url or f"sqlite:///{ROOT / 'var' / 'crashtest' / 'kill_writes.sqlite3'}"
    vendor = crashtest.vendor_of(url)
    work_dir = ROOT / "var" / "crashtest" / vendor
    console = Console(width=max(150, Console().width))
    console.print(
        f"[bold]kill_writes[/]: {vendor}, {args.repeat} cycles of up to {args.writes:,} writes, "
        f"{args.clients} clients; logs in {work_dir}"
    )
    report = crashtest.run(
        database_url=url,
        work_dir=work_dir,
        writes=args.writes,
        repeat=args.repeat,
        clients=args.clients,
        seed=args.seed,
        template_url=args.template_url,
        log=lambda line: console.print(f"  {line}"),
    )
    table = Table(title=f"SIGKILL during writes, {vendor} (seed {report.seed})")
    columns = (
        "cycle", "kill at", "acked", "w/s", "refused", "in doubt", "doubt stored (all)",
        "checked (all)", "lost", "changed", "integrity", "fk", "audit", "restart s",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    for c in report.cycles:
        check = c.check
        table.add_row(
            str(c.number),
            f"{c.kill_at:,}",
            f"{c.acknowledged:,}",
            f"{c.acknowledged / c.write_seconds:.0f}" if c.write_seconds else "-",
            str(c.refused),
            str(c.in_doubt),
            str(check.get("in_doubt_patients_stored", "-")),
            f"{check.get('patients_checked', 0) + check.get('observations_checked', 0):,}",
            str(check.get("lost_count", "-")),
            str(check.get("problem_count", "-")),
            c.integrity,
            str(len(c.foreign_key_violations)) if vendor == "sqlite" else "n/a",
            "ok" if check.get("audit_ok") else "BROKEN",
            f"{c.restart_seconds:.1f}",
        )
    console.print(table)
    for c in report.cycles:
        for line in c.check.get("lost", [])[:10] + c.check.get("problems", [])[:10]:
            console.print(f"[red]cycle {c.number}: {line}[/]")
        if c.foreign_key_violations:
            console.print(f"[red]cycle {c.number}: foreign keys {c.foreign_key_violations}[/]")
    if report.refused:
        console.print(
            f"[red]{report.refused} refused write(s), e.g. {report.refused_samples[0]}[/]"
        )
    passed = report.ok and report.refused == 0
    verdict = "[green]no acknowledged write lost[/]" if passed else "[red]FAILED[/]"
    console.print(
        f"{verdict}: {report.acknowledged:,} writes acknowledged over {len(report.cycles)} kills "
        f"in {report.seconds / 60:.1f} min"
    )
    write_results(report, vendor)
    return 0 if passed else 1


def write_results(report: crashtest.Report, vendor: str) -> None:
    label = f"sqlite {sqlite3.sqlite_version}" if vendor == "sqlite" else vendor
    machine = platform.platform()
    date = datetime.now(UTC).isoformat(timespec="seconds")
    restarts = [c.restart_seconds for c in report.cycles] or [0.0]
    problems = sum(
        c.check.get("problem_count", 0)
        + (0 if c.integrity in ("ok", "n/a") else 1)
        + len(c.foreign_key_violations)
        + (0 if c.check.get("audit_ok") else 1)
        for c in report.cycles
    )
    common = {"database": label, "machine": machine, "date": date}
    rows = [
        {
            "name": f"kill_writes acknowledged writes lost ({len(report.cycles)} SIGKILLs)",
            "unit": "writes",
            "value": report.lost,
            "target": 0,
            **common,
            "detail": report.as_dict(),
        },
        {
            "name": "kill_writes acknowledged writes checked",
            "unit": "writes",
            "value": report.acknowledged,
            "target": None,
            **common,
        },
        {
            "name": "kill_writes integrity, foreign-key, partial-row and audit-chain problems",
            "unit": "problems",
            "value": problems,
            "target": 0,
            **common,
        },
        {
            "name": "kill_writes writes refused with a server error",
            "unit": "writes",
            "value": report.refused,
            "target": 0,
            **common,
        },
        {
            "name": "kill_writes restart to /healthz after SIGKILL (median)",
            "unit": "s",
            "value": round(statistics.median(restarts), 2),
            "target": None,
            **common,
        },
        {
            "name": "kill_writes restart to /healthz after SIGKILL (max)",
            "unit": "s",
            "value": round(max(restarts), 2),
            "target": None,
            **common,
        },
    ]
    out = ROOT / "bench" / "results" / f"kill_writes-{vendor}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
