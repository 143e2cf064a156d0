"""Numbers into rows, rows into `latest.json` and `latest.md`, and what the reader needs around
them: the machine, the load on it, the database versions and the git commit.

A row is `{name, database, unit, value, target}` (target None where there is none), with extra
keys the Markdown table uses: `operation` and `statistic` for the live-server operations,
`process` for memory, `samples` and `users` where they apply.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
import subprocess
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
LOWER_IS_BETTER = {"ms", "s", "MB", "%/min"}

Row = dict[str, Any]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of the values fall, interpolated between the closest
    ranks (numpy's default "linear" method); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def lower_is_better(unit: str) -> bool:
    return unit in LOWER_IS_BETTER


def target_met(row: Row) -> bool | None:
    target, value = row.get("target"), row.get("value")
    if target is None or value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return bool(value <= target) if lower_is_better(row["unit"]) else bool(value >= target)


def rounded(value: float, digits: int = 2) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def latency_rows(
    operation: str,
    database: str,
    times_ms: Sequence[float],
    *,
    target_p95_ms: float | None,
    errors: int,
) -> list[Row]:
    """p50, p95 (with the target), p99 of one user's requests made one after another."""
    rows = []
    for label, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        rows.append(
            {
                "name": f"{operation} {label}",
                "database": database,
                "unit": "ms",
                "value": rounded(percentile(times_ms, fraction)),
                "target": target_p95_ms if label == "p95" else None,
                "operation": operation,
                "statistic": label,
                "samples": len(times_ms),
                "errors": errors,
                "users": 1,
            }
        )
    return rows


def throughput_rows(
    operation: str,
    database: str,
    times_ms: Sequence[float],
    *,
    seconds: float,
    users: int,
    errors: int,
    clients: str = "users",
    unit: str = "req/s",
    target: float | None = None,
) -> list[Row]:
    """Completed requests per second of wall clock with `users` clients at once (users, or
    connections), and their p95."""
    rate = len(times_ms) / seconds if seconds > 0 else math.nan
    common = {
        "database": database,
        "operation": operation,
        "users": users,
        "clients": clients,
        "errors": errors,
    }
    return [
        {
            "name": f"{operation} throughput ({users} {clients})",
            "unit": unit,
            "value": rounded(rate, 1),
            "target": target,
            "statistic": "throughput",
            "samples": len(times_ms),
            "seconds": rounded(seconds, 2),
            **common,
        },
        {
            "name": f"{operation} p95 with {users} {clients}",
            "unit": "ms",
            "value": rounded(percentile(times_ms, 0.95)),
            "target": None,
            "statistic": "p95 loaded",
            "samples": len(times_ms),
            **common,
        },
    ]


# --- the machine, the databases, the commit ---------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": round(memory.total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def cpu_check_ms(rounds: int = 5) -> float:
    """The best of `rounds` timings of a fixed pure-Python workload (dicts, strings, sorting, as a
    Django request does), in ms: the machine's speed at that moment. This VM's neighbours change
    it by a third from one hour to the next, so two runs compare only when this number does."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        rows = [
            {"id": n, "name": f"patient {n:06d}", "score": (n * 7919) % 1000} for n in range(40_000)
        ]
        rows.sort(key=lambda row: (row["score"], row["name"]))
        "".join(f"<td>{row['name']}</td>" for row in rows)
        best = min(best, (time.perf_counter() - started) * 1000)
    return round(best, 1)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def git_commit() -> str:
    """The checked-out commit (read-only git calls), marked when the tree has changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} (with uncommitted changes)" if dirty else commit


def sqlite_version() -> str:
    return f"SQLite {sqlite3.sqlite_version}"


def postgres_version(url: str) -> str:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    params = {
        "host": cfg.get("HOST") or None,
        "port": cfg.get("PORT") or None,
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
    }
    with psycopg.connect(
        dbname=cfg["NAME"], **{k: v for k, v in params.items() if v}, connect_timeout=5
    ) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {str(row[0]).split()[0] if row else '?'}"


# --- writers -----------------------------------------------------------------------------------


def write_json(rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=2) + "\n")


def _number(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _verdict(row: Row) -> str:
    met = target_met(row)
    return "" if met is None else ("yes" if met else "**NO**")


def _target_text(row: Row) -> str:
    sign = "≤" if lower_is_better(row["unit"]) else "≥"
    return f"{row.get('statistic', '')} {sign} {row['target']:g} {row['unit']}".strip()


def markdown_table(header: Sequence[str], lines: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    return out


def operations_table(rows: list[Row]) -> list[str]:
    """One line per operation and database: the serial percentiles, the throughput with many
    users and its p95, the target and whether it is met."""
    grouped: dict[tuple[str, str], dict[str, Row]] = {}
    for row in rows:
        if "operation" in row and "statistic" in row:
            grouped.setdefault((row["operation"], row["database"]), {})[row["statistic"]] = row
    lines = []
    for (operation, database), stats in grouped.items():
        with_target = [r for r in stats.values() if r.get("target") is not None]
        through = stats.get("throughput", {})
        errors = sum(int(r.get("errors") or 0) for r in (stats.get("p50"), through) if r)
        lines.append(
            [
                operation,
                database,
                str(stats["p50"]["samples"]) if "p50" in stats else "-",
                _number(stats.get("p50", {}).get("value")),
                _number(stats.get("p95", {}).get("value")),
                _number(stats.get("p99", {}).get("value")),
                "; ".join(_target_text(r) for r in with_target) or "-",
                " ".join(_verdict(r) for r in with_target) or "",
                f"{_number(through.get('value'))} {through.get('unit', '')} "
                f"({through.get('users', '-')} {through.get('clients', 'users')})"
                if through
                else "-",
                _number(stats.get("p95 loaded", {}).get("value")),
                _number(stats.get("cpu", {}).get("value")),
                str(errors),
            ]
        )
    return markdown_table(
        [
            "operation",
            "database",
            "n",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "target",
            "met",
            "throughput",
            "p95 ms under load",
            "server CPU ms/request",
            "errors",
        ],
        lines,
    )


def memory_table(rows: list[Row]) -> list[str]:
    lines = [
        [row["database"], row["process"], str(row.get("pid", "-")), _number(row["value"])]
        for row in rows
        if "process" in row
    ]
    return markdown_table(["database", "process", "pid", "peak RSS MB"], lines)


def other_table(rows: list[Row]) -> list[str]:
    lines = []
    for row in rows:
        if "operation" in row or "process" in row:
            continue
        target = "-" if row.get("target") is None else f"{row['target']:g}"
        lines.append(
            [
                row["name"],
                row["database"],
                _number(row["value"], 3 if row["unit"] == "s" else 2),
                row["unit"],
                target,
                _verdict(row),
            ]
        )
    return markdown_table(["measure", "database", "value", "unit", "target", "met"], lines)


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    box = meta["machine"]
    out = [
        "# carebench benchmark results",
        "",
        f"- date: {meta['date']}",
        f"- machine: {box['cpu']}, {box['cores']} cores, {box['ram_gb']} GB RAM; {box['os']}; "
        f"Python {box['python']}",
        f"- load average (1/5/15 min) at start {meta['load_start']}, at end {meta['load_end']}",
        f"- CPU check (a fixed Python workload, best of 5; lower is faster): "
        f"{meta.get('cpu_check_start', '-')} ms at start, {meta.get('cpu_check_end', '-')} ms at end",
        f"- databases: {', '.join(meta['databases']) or '-'}",
        f"- git commit: {meta['commit']}",
        f"- server: {meta['server']}",
        f"- run: {meta['run']}",
    ]
    for line in meta.get("data", []):
        out.append(f"- data: {line}")
    out += [
        "",
        "## Live server: latency (one user, requests one after another) and throughput",
        "",
        *operations_table(rows),
        "",
        "## Server processes: peak resident memory during the run",
        "",
        *memory_table(rows),
        "",
        "## Engines (in process, by the scripts in bench/) and other measures",
        "",
        *other_table(rows),
        "",
    ]
    for note in meta.get("notes", []):
        out.append(f"- {note}")
    return "\n".join(out).rstrip() + "\n"


def now_text() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
