"""The soak: 50 clinic users for 10 minutes against the demo on a live server, then the kill test.

    make soak [SOAK_ARGS="--minutes 2"]
    python bench/soak.py [--database sqlite|postgresql] [--minutes 10] [--users 50]
                         [--spawn-rate 1] [--skip-kill] [--kill-database-url URL] [--rebuild]

Builds the demo once (`carebench demo`: var/soak/demo.sqlite3, or PostgreSQL `carebench_soak`),
prepares walk-in visits, free slots and a bearer token (bench/load/prepare.py), serves it the
production way (`carebench serve`, gunicorn 2 x 4, production settings; bench/load/server.py)
and runs locust with `--users` users for `--minutes` minutes (they arrive one a second,
`--spawn-rate`), each waiting 1-5 s between actions, in the proportions of a clinic
(bench/load/users.py):

- MATs (3 in 7): the flow board, find a patient (typeahead, then the chart), vitals (the visit
  page, then the vitals POST), vitals history;
- front desk (2 in 7): find a patient, the day view, book a visit (the page, then the POST into
  a free slot), the flow board;
- billers (1 in 7): the claims worklist, denials, charts;
- an API client (1 in 7): FHIR Patient read and search with a bearer token;
- everyone signs out and in again now and then (the sign-in form, Argon2).

It prints a line a minute (requests, that minute's p95, server memory, load average).
Checks, each printed with its verdict: no failed request (any 5xx, connection error or
unexpected status fails), p95 of all requests under 200 ms, and the server's memory (RSS of
gunicorn's master and workers, sampled every second) growing less than 10% from the first
minute to the last (medians). Then, unless --skip-kill, `bench/kill_writes.py --writes 10000
--repeat 20` (SIGKILL during writes; its own verdict; on PostgreSQL only with
--kill-database-url naming a scratch database). Writes bench/results/soak-<vendor>.json and
exits 1 when a check fails.
"""

# ruff: noqa: I001 - locust is imported first, before the standard library it patches
from __future__ import annotations

import locust  # noqa: F401 - first: it patches the standard library for gevent

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gevent  # noqa: E402
from locust.log import setup_logging  # noqa: E402

from bench.load import datasets, phases, results, server  # noqa: E402
from bench.load import users as load_users  # noqa: E402
from bench.load.memory import MemorySampler, cpu_seconds  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "var" / "soak"
P95_LIMIT_MS = 200.0
GROWTH_LIMIT_PERCENT = 10.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=1.0,
        help="users starting per second (default 1: staff arrive over the first minute)",
    )
    parser.add_argument("--skip-kill", action="store_true", help="do not run bench/kill_writes.py")
    parser.add_argument("--kill-writes", type=int, default=10_000)
    parser.add_argument("--kill-repeat", type=int, default=20)
    parser.add_argument(
        "--kill-database-url",
        default="",
        help="scratch PostgreSQL database for kill_writes (its name must contain kill, crash or "
        "scratch); without it the kill test runs on SQLite only",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the demo afresh")
    args = parser.parse_args()
    if args.minutes < 1:
        parser.error("--minutes must be 1 or more (memory compares the first and last minute)")
    return args


def prepare(dataset: datasets.Dataset, vendor: str, minutes: float) -> dict[str, Any]:
    out = WORK / f"plan-{vendor}.json"
    command = [
        sys.executable,
        str(ROOT / "bench" / "load" / "prepare.py"),
        "--organization",
        dataset.organization,
        "--mat",
        dataset.users["mat"],
        "--out",
        str(out),
        "--patients",
        "500",
        "--walk-ins",
        "100",
        "--slots",
        str(int(60 * minutes) + 60),
    ]
    env = server.setup_env(dataset.url(vendor), dataset.var_dir)
    if subprocess.run(command, env=env, cwd=ROOT, check=False).returncode != 0:
        raise SystemExit("preparing the soak failed")
    plan: dict[str, Any] = json.loads(out.read_text())
    return plan


def all_times(collector: phases.Collector) -> list[float]:
    return [t for timed in collector.by_name.values() for t in timed.times_ms]


def times_between(collector: phases.Collector, start: float, end: float) -> list[float]:
    """Response times of the requests that ended between two monotonic moments."""
    return [
        took
        for timed in collector.by_name.values()
        for took, moment in zip(timed.times_ms, timed.moments, strict=True)
        if start <= moment < end
    ]


def error_counts(collector: phases.Collector) -> tuple[int, int, int]:
    timed = collector.by_name.values()
    return (
        sum(t.errors for t in timed),
        sum(t.server_errors for t in timed),
        sum(t.connection_errors for t in timed),
    )


def drive(live: server.LiveServer, plan: dict[str, Any], args: argparse.Namespace) -> Any:
    """The load itself; returns the collector, the sampler, the seconds it ran, a line per
    minute (requests, p95, server memory, load average) and the server's CPU seconds."""
    load_users.PHASE = load_users.Phase(plan=plan, credentials=datasets.DEMO.credentials(), total=0)
    env, collector = phases.environment(load_users.SOAK_USERS, live.url)
    runner = env.create_local_runner()
    sampler = MemorySampler({"gunicorn": live.pid}, interval=1.0).start()
    cpu_at_start = cpu_seconds(live.pid)
    started = time.monotonic()
    runner.start(args.users, spawn_rate=args.spawn_rate)
    duration = args.minutes * 60
    next_report = 60.0
    minutes: list[dict[str, Any]] = []
    while True:
        gevent.sleep(1.0)
        elapsed = time.monotonic() - started
        if elapsed >= next_report:
            next_report += 60.0
            recent = times_between(collector, started + elapsed - 60, started + elapsed)
            errors, server_errors, connection = error_counts(collector)
            minute = {
                "minute": len(minutes) + 1,
                "requests": len(recent),
                "p95_ms": results.rounded(results.percentile(recent, 0.95), 1),
                "server_rss_mb": results.rounded(
                    sampler.total_mb_between(elapsed - 60, elapsed), 1
                ),
                "load_average": results.load_average(),
            }
            minutes.append(minute)
            print(
                f"  minute {minute['minute']:>2}: {len(recent):,} requests, p95 "
                f"{minute['p95_ms']} ms; errors so far {errors} ({server_errors} 5xx, "
                f"{connection} connection); server RSS {minute['server_rss_mb']} MB; load "
                f"{minute['load_average']}"
            )
        if elapsed >= duration:
            break
    # requests still in flight are cut off by the stop: not counted, neither way
    env.events.request.remove_listener(collector.on_request)
    seconds = time.monotonic() - started
    cpu_used = cpu_seconds(live.pid) - cpu_at_start
    runner.quit()
    sampler.stop()
    return collector, sampler, seconds, minutes, cpu_used


def kill_test(args: argparse.Namespace, vendor: str) -> dict[str, Any]:
    script = ROOT / "bench" / "kill_writes.py"
    if args.skip_kill:
        return {"ran": False, "why": "--skip-kill"}
    if not script.exists():
        return {"ran": False, "why": "bench/kill_writes.py is not there"}
    if vendor == "postgresql" and not args.kill_database_url:
        return {"ran": False, "why": "PostgreSQL needs --kill-database-url (a scratch database)"}
    command = [
        sys.executable,
        str(script),
        "--writes",
        str(args.kill_writes),
        "--repeat",
        str(args.kill_repeat),
    ]
    if vendor == "postgresql":
        command += ["--database-url", args.kill_database_url]
    print(f"\nkill test: {' '.join(command[1:])}")
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, check=False)
    return {
        "ran": True,
        "passed": done.returncode == 0,
        "exit_status": done.returncode,
        "minutes": round((time.monotonic() - started) / 60, 1),
        "results": f"bench/results/kill_writes-{vendor}.json",
    }


def main() -> int:
    args = parse_args()
    setup_logging("WARNING")
    WORK.mkdir(parents=True, exist_ok=True)
    vendor = args.database
    if vendor == "postgresql" and not datasets.postgres_answers():
        raise SystemExit("PostgreSQL does not answer on 127.0.0.1:5432")
    dataset = datasets.DEMO
    load_start = results.load_average()
    cpu_check_start = results.cpu_check_ms()
    datasets.ensure_built(dataset, vendor, patients=0, rebuild=args.rebuild)
    database = (
        results.sqlite_version()
        if vendor == "sqlite"
        else results.postgres_version(dataset.url(vendor))
    )
    plan = prepare(dataset, vendor, args.minutes)
    env = server.production_env(dataset.url(vendor), dataset.var_dir)
    server.collect_static(env)
    live = server.LiveServer(env, WORK / f"server-{vendor}.log")
    try:
        live.wait_ready()
        print(f"soak: {args.users} users for {args.minutes:g} minutes on {database}, {live.url}")
        collector, sampler, seconds, minutes, cpu_used = drive(live, plan, args)
    finally:
        live.stop()

    times = all_times(collector)
    errors, server_errors, connection_errors = error_counts(collector)
    p95 = results.percentile(times, 0.95)
    last = seconds
    first_mb = sampler.total_mb_between(0, 60)
    last_mb = sampler.total_mb_between(last - 60, last)
    growth = 100 * (last_mb - first_mb) / first_mb if first_mb else float("nan")
    checks = [
        {
            "name": "failed requests (5xx, connection errors, unexpected status)",
            "unit": "requests",
            "value": errors,
            "target": 0,
            "passed": errors == 0,
        },
        {
            "name": "p95 of all requests",
            "unit": "ms",
            "value": results.rounded(p95, 1),
            "target": P95_LIMIT_MS,
            "passed": p95 < P95_LIMIT_MS,
        },
        {
            "name": "server memory growth, first minute to last (median RSS of master+workers)",
            "unit": "%",
            "value": results.rounded(growth, 1),
            "target": GROWTH_LIMIT_PERCENT,
            "passed": growth < GROWTH_LIMIT_PERCENT,
            "first_minute_mb": results.rounded(first_mb, 1),
            "last_minute_mb": results.rounded(last_mb, 1),
        },
    ]
    kill = kill_test(args, vendor)
    if kill["ran"]:
        checks.append(
            {
                "name": f"kill test (bench/kill_writes.py --writes {args.kill_writes} "
                f"--repeat {args.kill_repeat})",
                "unit": "exit status",
                "value": kill["exit_status"],
                "target": 0,
                "passed": kill["passed"],
            }
        )
    by_name = [
        {
            "name": name,
            "requests": len(timed.times_ms),
            "errors": timed.errors,
            "p50_ms": results.rounded(results.percentile(timed.times_ms, 0.5), 1),
            "p95_ms": results.rounded(results.percentile(timed.times_ms, 0.95), 1),
            "p99_ms": results.rounded(results.percentile(timed.times_ms, 0.99), 1),
            "error_samples": timed.error_samples,
        }
        for name, timed in sorted(collector.by_name.items())
    ]
    passed = all(check["passed"] for check in checks)
    report = {
        "verdict": "passed" if passed else "failed",
        "database": database,
        "date": results.now_text(),
        "machine": results.machine(),
        "load_average_start": load_start,
        "load_average_end": results.load_average(),
        "cpu_check_ms": {"start": cpu_check_start, "end": results.cpu_check_ms()},
        "commit": results.git_commit(),
        "server": live.describe(),
        "users": args.users,
        "minutes": round(seconds / 60, 2),
        "requests": len(times) + errors,
        "requests_per_second": results.rounded((len(times) + errors) / seconds, 1),
        "server_cpu_ms_per_request": results.rounded(
            1000 * cpu_used / max(1, len(times) + errors), 1
        ),
        "server_cpu_cores_busy": results.rounded(cpu_used / seconds, 2),
        "server_errors": server_errors,
        "connection_errors": connection_errors,
        "checks": checks,
        "kill_test": kill,
        "by_minute": minutes,
        "by_request": by_name,
        "peak_rss_mb": {
            f"{label} (pid {pid})": round(mb, 1) for label, pid, mb in sampler.peaks_mb()
        },
    }
    out = RESULTS / f"soak-{vendor}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\n{'request':<22} {'n':>7} {'errors':>6} {'p50':>7} {'p95':>7} {'p99':>7}  ms")
    for row in by_name:
        print(
            f"{row['name']:<22} {row['requests']:>7} {row['errors']:>6} {row['p50_ms']!s:>7} "
            f"{row['p95_ms']!s:>7} {row['p99_ms']!s:>7}"
        )
    print(
        f"\n{report['requests']:,} requests in {seconds / 60:.1f} min "
        f"({report['requests_per_second']} req/s) on {database}; load average "
        f"{load_start} -> {report['load_average_end']}; the server used "
        f"{report['server_cpu_ms_per_request']} ms of CPU per request "
        f"({report['server_cpu_cores_busy']} cores busy on average)"
    )
    if not kill["ran"]:
        print(f"kill test not run: {kill['why']}")
    for check in checks:
        mark = "ok  " if check["passed"] else "FAIL"
        print(
            f"  {mark} {check['name']}: {check['value']} {check['unit']} (limit {check['target']})"
        )
    print(f"\nSOAK {'PASSED' if passed else 'FAILED'}; wrote {out}")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
