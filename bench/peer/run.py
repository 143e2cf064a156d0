"""`make bench-peer`: carebench and GNU Health side by side on the same five operations.

Runs in carebench's virtualenv and orchestrates both sides, one after the other (never at the
same time, so neither steals the other's CPU):

1. GNU Health: a virtualenv of its own in var/peer/venv with the pinned packages below, a
   trytond SQLite database with the `health` module in var/peer/gnuhealth/ (built once, then
   reused), and `gnuhealth_ops.py` run inside that virtualenv: in process, one transaction per
   operation, one process.
2. carebench: a scratch SQLite database var/peer/carebench.sqlite3 seeded once (with
   `carebench bench seed` when the command exists, else `carebench demo`), served by
   `carebench serve` (gunicorn, its default 2 workers x 4 threads) with the production settings
   on 127.0.0.1, and driven over HTTP by `carebench_ops.py`: once with as many client threads
   as the server has worker threads, once with a single client.

Prints the table (operation, GNU Health ops/s, carebench ops/s, ratio, the 10x target, verdict;
the single-client numbers and p50/p95 too) and writes bench/results/peer.json and peer.md
(peer-postgresql.* when carebench runs on PostgreSQL with --database-url). The
exit code is 0 either way; misses are named in the table and the summary line.

    .venv/bin/python bench/peer/run.py [--patients 2000] [--ops 500] [--warmup 50]
        [--only create_patient,search_name,...] [--port 8765] [--clients N]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import platform
import random
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import carebench_ops as ours  # noqa: E402 - the module beside this script

VAR = ROOT / "var" / "peer"
GNUHEALTH_VENV = VAR / "venv"
GNUHEALTH_DIR = VAR / "gnuhealth"
GNUHEALTH_DB_NAME = "health"
CAREBENCH_DB = VAR / "carebench.sqlite3"
RESULTS = ROOT / "bench" / "results"
CAREBENCH_BIN = Path(sys.executable).parent / "carebench"
TARGET_RATIO = 10.0
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4

# GNU Health 5.0 (the current series: Python 3.10-3.14, trytond 7.0) and everything it pulls in,
# pinned so that every run measures the same code. GNU Health's `health` module is the package
# `gnuhealth`; its dependencies are the trytond 7.0 modules party, company, currency, product.
GNUHEALTH_PINS = [
    "gnuhealth==5.0.6",
    "gnuhealth-control==5.0.4",
    "trytond==7.0.59",
    "trytond-company==7.0.4",
    "trytond-country==7.0.1",
    "trytond-currency==7.0.1",
    "trytond-party==7.0.8",
    "trytond-product==7.0.6",
    "proteus==7.0.3",
    "python-sql==1.8.1",
    "Genshi==0.7.12",
    "relatorio==1.0.0",
    "lxml==6.1.3",
    "Werkzeug==3.1.9",
    "MarkupSafe==3.0.4",
    "passlib==1.7.4",
    "python-dateutil==4.0.0",
    "polib==1.2.0",
    "python-stdnum==2.2",
    "pycountry==26.2.16",
    "defusedxml==0.7.1",
    "pytz==2026.6",
    "tzdata==2026.6",
    "psycopg2==2.9.13",
    "psutil==7.2.2",
    "puremagic==1.30",
    "pillow==13.0.0",
    "matplotlib==3.11.2",
    "numpy==2.4.6",
    "contourpy==1.3.3",
    "cycler==0.12.1",
    "fonttools==4.68.0",
    "kiwisolver==1.5.1",
    "pyparsing==3.3.3",
    "packaging==26.3",
]

# (key, label) in table order; record_vitals_fhir is carebench only (no GNU Health row).
OPERATIONS = [
    ("create_patient", "create patient"),
    ("search_name", "search by name"),
    ("record_vitals", "record vital signs"),
    ("create_appointment", "create appointment"),
    ("read_patient", "read patient with related rows"),
]
EXTRA_OPERATIONS = [("record_vitals_fhir", "record vital signs (FHIR, 7 POSTs)")]


def log(message: str) -> None:
    print(f"[bench-peer] {message}", flush=True)


# --- GNU Health --------------------------------------------------------------------------------


def pins_digest() -> str:
    return hashlib.sha1("\n".join(GNUHEALTH_PINS).encode()).hexdigest()[:12]


def ensure_gnuhealth_venv() -> Path:
    """var/peer/venv with the pinned GNU Health packages (installed once per pin list)."""
    python = GNUHEALTH_VENV / "bin" / "python"
    stamp = GNUHEALTH_VENV / f".installed-{pins_digest()}"
    if python.exists() and stamp.exists():
        return python
    log("installing GNU Health into var/peer/venv (once; a few minutes)...")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(GNUHEALTH_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-U", "pip", "wheel"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *GNUHEALTH_PINS], check=True)
    for old in GNUHEALTH_VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()
    return python


def gnuhealth_config() -> Path:
    GNUHEALTH_DIR.mkdir(parents=True, exist_ok=True)
    config = GNUHEALTH_DIR / "trytond.conf"
    config.write_text(f"[database]\nuri = sqlite://\npath = {GNUHEALTH_DIR}\n")
    return config


def ensure_gnuhealth_database(python: Path) -> tuple[Path, Path]:
    """(trytond.conf, database file): the database with `health` activated, built once."""
    config = gnuhealth_config()
    database = GNUHEALTH_DIR / f"{GNUHEALTH_DB_NAME}.sqlite"
    ready = GNUHEALTH_DIR / f".health-activated-{pins_digest()}"
    if database.exists() and ready.exists():
        return config, database
    log("creating the GNU Health database with the health module (once; about a minute)...")
    for stale in (database, ready):
        stale.unlink(missing_ok=True)
    database.touch()
    password = GNUHEALTH_DIR / "admin-password"
    password.write_text("admin\n")
    env = {**os.environ, "TRYTONPASSFILE": str(password)}
    admin = [str(python.parent / "trytond-admin"), "-c", str(config), "-d", GNUHEALTH_DB_NAME]
    subprocess.run([*admin, "--all", "--email", "admin@example.org"], check=True, env=env)
    subprocess.run([*admin, "-u", "health", "--activate-dependencies"], check=True, env=env)
    ready.touch()
    return config, database


def run_gnuhealth(args: argparse.Namespace) -> dict[str, Any]:
    python = ensure_gnuhealth_venv()
    config, database = ensure_gnuhealth_database(python)
    load_before = round(os.getloadavg()[0], 2)
    log(f"GNU Health: seeding to {args.patients} patients, then timing (one process)...")
    command = [
        str(python),
        "-W",
        "ignore::DeprecationWarning",
        str(HERE / "gnuhealth_ops.py"),
        "--config",
        str(config),
        "--database",
        GNUHEALTH_DB_NAME,
        "--sqlite-file",
        str(database),
        "--patients",
        str(args.patients),
        "--ops",
        str(args.ops),
        "--warmup",
        str(args.warmup),
        "--only",
        ",".join(sorted({k.removesuffix("_fhir") for k in args.only} & set(dict(OPERATIONS)))),
    ]
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode:
        sys.stderr.write(finished.stderr[-4000:])
        raise SystemExit(f"gnuhealth_ops.py failed (exit {finished.returncode}); see above")
    result = dict(json.loads(finished.stdout.strip().splitlines()[-1]))
    result["load_average_before"] = load_before
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    return result


# --- carebench ---------------------------------------------------------------------------------


def sqlite_url() -> str:
    return f"sqlite:///{CAREBENCH_DB}"


def sqlite_path(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


def carebench_env(database_url: str) -> dict[str, str]:
    VAR.mkdir(parents=True, exist_ok=True)
    key_file = VAR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "carebench.settings.production",
        "CAREBENCH_SECRET_KEY": key_file.read_text().strip(),
        "CAREBENCH_LOG_LEVEL": "ERROR",
        # Static files (collected for the production storage) and the like stay under var/peer.
        "CAREBENCH_VAR_DIR": str(VAR / "site"),
    }


def carebench(*argv: str, env: dict[str, str], capture: bool = False) -> str:
    finished = subprocess.run(
        [str(CAREBENCH_BIN), *argv], check=True, env=env, capture_output=capture, text=True
    )
    return finished.stdout if capture else ""


def has_bench_seed(env: dict[str, str]) -> bool:
    finished = subprocess.run(
        [str(CAREBENCH_BIN), "bench", "seed", "--help"], env=env, capture_output=True, text=True
    )
    return finished.returncode == 0


def reset_database(database_url: str) -> None:
    """An empty scratch database: the SQLite file removed, or the PostgreSQL one recreated."""
    if database_url.startswith("sqlite"):
        path = sqlite_path(database_url)
        for stale in path.parent.glob(f"{path.name}*"):
            stale.unlink()
        return
    import psycopg

    base, _, name = database_url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def ensure_carebench_seed(patients: int, database_url: str, env: dict[str, str]) -> dict[str, Any]:
    """Seed the scratch database once (again when the way to seed changes); returns how."""
    digest = hashlib.sha1(database_url.encode()).hexdigest()[:8]
    marker = VAR / f"carebench-seed-{digest}.json"
    method = "carebench bench seed" if has_bench_seed(env) else "carebench demo"
    present = sqlite_path(database_url).exists() if database_url.startswith("sqlite") else True
    if marker.exists() and present:
        seeded: dict[str, Any] = json.loads(marker.read_text())
        if seeded.get("patients") == patients and seeded.get("method") == method:
            return seeded
    reset_database(database_url)
    log(f"carebench: `{method} --patients {patients}` into a fresh database (once)...")
    if method == "carebench bench seed":
        carebench("bench", "seed", "--patients", str(patients), env=env)
        seeded = {"method": method, "user": "bench-mat", "password": "bench-pass"}
    else:
        carebench("demo", "--patients", str(patients), env=env)
        seeded = {"method": method, "user": "mat", "password": "demo"}
    seeded["patients"] = patients
    marker.write_text(json.dumps(seeded))
    return seeded


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def live_server(port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`carebench serve` (gunicorn, default workers and threads) until the block ends."""
    out = (VAR / "server.log").open("wb")  # this run's log only
    server = subprocess.Popen(
        [str(CAREBENCH_BIN), "serve", "--port", str(port)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server stopped (exit {server.returncode}): server.log")
            with contextlib.suppress(OSError):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
                if connection.getresponse().status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /healthz within 60 s")
            time.sleep(0.3)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        out.close()


def run_carebench(args: argparse.Namespace) -> dict[str, Any]:
    database_url = args.database_url or sqlite_url()
    env = carebench_env(database_url)
    seeded = ensure_carebench_seed(args.patients, database_url, env)
    # The production settings serve hashed static files from a manifest: pages are a 500
    # without it, and `carebench serve` does not collect them.
    carebench("manage", "collectstatic", "--noinput", "--verbosity", "0", env=env)
    token = (
        carebench(
            "token",
            "create",
            "--user",
            seeded["user"],
            "--days",
            "1",
            "--name",
            "bench-peer",
            env=env,
            capture=True,
        )
        .strip()
        .splitlines()[-1]
    )
    port = args.port or free_port()
    clients_wanted = args.clients or DEFAULT_WORKERS * DEFAULT_THREADS
    modes = [("concurrent", clients_wanted), ("single", 1)]
    per_mode = args.ops + args.warmup
    rng = random.Random(args.seed)
    results: dict[str, Any] = {
        "system": "carebench",
        "seed": seeded,
        "server": f"carebench serve: gunicorn gthread, {DEFAULT_WORKERS} workers x "
        f"{DEFAULT_THREADS} threads, production settings, "
        + (
            "SQLite (WAL, synchronous=FULL)"
            if database_url.startswith("sqlite")
            else "PostgreSQL (server defaults)"
        ),
        "database": "sqlite" if database_url.startswith("sqlite") else "postgresql",
        "load_average_before": round(os.getloadavg()[0], 2),
        "clients": dict(modes),
        "operations": [],
    }
    with live_server(port, env):
        log(f"carebench: server up on 127.0.0.1:{port}; gathering patients and free slots...")
        setup = ours.Client("127.0.0.1", port, token)
        work = ours.gather(setup, per_mode * len(modes), rng)
        sessions: list[ours.Client] = []
        wanted = [k for k, _ in OPERATIONS + EXTRA_OPERATIONS if k in args.only]
        if "record_vitals" in wanted:
            # A signed-in session per client thread, each recording on a walk-in visit of its own.
            for _ in range(clients_wanted):
                client = ours.Client("127.0.0.1", port, token)
                client.sign_in(seeded["user"], seeded["password"])
                sessions.append(client)
            visits = ours.open_visits(sessions[0], rng.sample(work.patients, clients_wanted))
            for client, visit in zip(sessions, visits, strict=True):
                client.visit = visit
        calls = ours.operations(work)
        for key in wanted:
            label, call = calls[key]
            row: dict[str, Any] = {"key": key, "operation": label}
            for index, (mode, count) in enumerate(modes):
                if key == "record_vitals":
                    clients = sessions[:count]
                else:
                    clients = [ours.Client("127.0.0.1", port, token) for _ in range(count)]
                log(f"carebench: {label}, {count} client(s)...")
                row[mode] = ours.run_operation(
                    call, clients, count=args.ops, warmup=args.warmup, first_index=index * per_mode
                )
                if key != "record_vitals":
                    for client in clients:
                        client.close()
            results["operations"].append(row)
        results["load_average_after"] = round(os.getloadavg()[0], 2)
        results["search_hits_mean"] = (
            round(sum(work.search_hits) / len(work.search_hits), 1) if work.search_hits else None
        )
    return results


# --- the report --------------------------------------------------------------------------------


def ratio(ours_rate: float | None, theirs: float | None) -> float | None:
    if not ours_rate or not theirs:
        return None
    return round(ours_rate / theirs, 2)


def build_rows(health: dict[str, Any], cb: dict[str, Any]) -> list[dict[str, Any]]:
    theirs = {row["key"]: row for row in health.get("operations", [])}
    mine = {row["key"]: row for row in cb.get("operations", [])}
    rows = []
    for key, label in OPERATIONS + EXTRA_OPERATIONS:
        if key not in theirs and key not in mine:
            continue
        gh = theirs.get(key) or theirs.get(key.removesuffix("_fhir"), {})
        concurrent = mine.get(key, {}).get("concurrent", {})
        single = mine.get(key, {}).get("single", {})
        r = ratio(concurrent.get("ops_per_s"), gh.get("ops_per_s"))
        r1 = ratio(single.get("ops_per_s"), gh.get("ops_per_s"))
        rows.append(
            {
                "key": key,
                "operation": label,
                "gnuhealth_ops_per_s": gh.get("ops_per_s"),
                "gnuhealth_p50_ms": gh.get("p50_ms"),
                "gnuhealth_p95_ms": gh.get("p95_ms"),
                "carebench_ops_per_s": concurrent.get("ops_per_s"),
                "carebench_p50_ms": concurrent.get("p50_ms"),
                "carebench_p95_ms": concurrent.get("p95_ms"),
                "carebench_failures": concurrent.get("failures"),
                "ratio": r,
                "carebench_single_ops_per_s": single.get("ops_per_s"),
                "carebench_single_p50_ms": single.get("p50_ms"),
                "carebench_single_p95_ms": single.get("p95_ms"),
                "ratio_single": r1,
                "target_ratio": TARGET_RATIO if key in dict(OPERATIONS) else None,
                "verdict": verdict(r) if key in dict(OPERATIONS) else "(not compared)",
            }
        )
    return rows


def verdict(r: float | None) -> str:
    if r is None:
        return "not measured"
    return "MEETS" if r >= TARGET_RATIO else f"MISSES ({r:g}x of 10x)"


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    clients = meta["carebench"].get("clients", {}).get("concurrent", "?")
    lines = [
        f"# carebench vs GNU Health ({meta['finished_at']})",
        "",
        f"{meta['machine']}. GNU Health {meta['gnuhealth_versions'].get('gnuhealth')} "
        f"(trytond {meta['gnuhealth_versions'].get('trytond')}) in process, one process, "
        f"SQLite WAL; carebench over HTTP, {meta['carebench'].get('server')}, {clients} client "
        f"threads (and 1). {meta['patients']} patients each side; {meta['ops']} timed "
        f"operations after {meta['warmup']} warm-up.",
        "",
        f"carebench data: `{meta['carebench'].get('seed', {}).get('method')}`; search hits "
        f"per query (mean total): GNU Health {meta['gnuhealth_search_hits']}, carebench "
        f"{meta['carebench'].get('search_hits_mean')}. Load average (1 min) before/after: "
        f"GNU Health {meta['gnuhealth_load'][0]}/{meta['gnuhealth_load'][1]}, carebench "
        f"{meta['carebench'].get('load_average_before')}/"
        f"{meta['carebench'].get('load_average_after')} (2 cores; other work on the machine "
        "shows here).",
        "",
        f"| operation | GNU Health ops/s | carebench ops/s ({clients} clients) | ratio | "
        "carebench ops/s (1 client) | ratio (1 client) | target | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['operation']} | {fmt(row['gnuhealth_ops_per_s'])} | "
            f"{fmt(row['carebench_ops_per_s'])} | {fmt(row['ratio'], 2)}x | "
            f"{fmt(row['carebench_single_ops_per_s'])} | {fmt(row['ratio_single'], 2)}x | "
            f"{'10x' if row['target_ratio'] else '-'} | {row['verdict']} |"
        )
    lines += [
        "",
        "Latency (ms, p50 / p95):",
        "",
        f"| operation | GNU Health | carebench ({clients} clients) | carebench (1 client) |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['operation']} | {fmt(row['gnuhealth_p50_ms'])} / "
            f"{fmt(row['gnuhealth_p95_ms'])} | {fmt(row['carebench_p50_ms'])} / "
            f"{fmt(row['carebench_p95_ms'])} | {fmt(row['carebench_single_p50_ms'])} / "
            f"{fmt(row['carebench_single_p95_ms'])} |"
        )
    failed = [
        f"{r['operation']} {r['carebench_failures']}" for r in rows if r["carebench_failures"]
    ]
    if failed:
        lines += ["", "Failed calls (left out of the timings): " + ", ".join(failed) + "."]
    missed = [r["operation"] for r in rows if r["verdict"].startswith("MISSES")]
    lines += ["", summary(rows, missed)]
    return "\n".join(lines) + "\n"


def summary(rows: list[dict[str, Any]], missed: list[str]) -> str:
    compared = [r for r in rows if r["target_ratio"]]
    if not missed:
        return f"All {len(compared)} operations meet the 10x target."
    return (
        f"{len(compared) - len(missed)} of {len(compared)} operations meet the 10x target; "
        f"missed: {', '.join(missed)}."
    )


def machine() -> str:
    cpus = os.cpu_count() or 0
    return (
        f"{platform.system()} {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000, help="patients on each side")
    parser.add_argument("--ops", type=int, default=500, help="timed operations of each kind")
    parser.add_argument("--warmup", type=int, default=50, help="untimed operations first")
    parser.add_argument("--port", type=int, default=0, help="carebench's port (default: free)")
    parser.add_argument(
        "--clients", type=int, default=0, help="concurrent clients (default workers x threads)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default="",
        help="carebench's database (default: SQLite var/peer/carebench.sqlite3); a PostgreSQL "
        "URL is dropped and recreated when it is seeded",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated keys: " + ", ".join(k for k, _ in OPERATIONS + EXTRA_OPERATIONS),
    )
    parser.add_argument(
        "--skip-gnuhealth", action="store_true", help="reuse the last GNU Health numbers"
    )
    args = parser.parse_args()
    all_keys = [k for k, _ in OPERATIONS + EXTRA_OPERATIONS]
    args.only = [k for k in args.only.split(",") if k] or all_keys
    unknown = sorted(set(args.only) - set(all_keys))
    if unknown:
        parser.error(
            f"--only: unknown operation(s) {', '.join(unknown)}; known: {', '.join(all_keys)}"
        )

    RESULTS.mkdir(parents=True, exist_ok=True)
    # SQLite (the default) writes peer.json / peer.md; PostgreSQL peer-postgresql.*.
    name = "peer" if not args.database_url.startswith("postgres") else "peer-postgresql"
    previous = RESULTS / "peer.json"
    if args.skip_gnuhealth and previous.exists():
        health = json.loads(previous.read_text())["gnuhealth"]
        log("GNU Health: reusing its numbers in bench/results/peer.json")
    else:
        health = run_gnuhealth(args)
    cb = run_carebench(args)
    rows = build_rows(health, cb)
    meta = {
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "patients": args.patients,
        "ops": args.ops,
        "warmup": args.warmup,
        "gnuhealth_versions": health.get("versions", {}),
        "gnuhealth_search_hits": health.get("search_hits_mean"),
        "gnuhealth_load": [health.get("load_average_before"), health.get("load_average_after")],
        "carebench": {k: v for k, v in cb.items() if k != "operations"},
    }
    report = markdown(rows, meta)
    print()
    print(report)
    (RESULTS / f"{name}.json").write_text(
        json.dumps({**meta, "rows": rows, "gnuhealth": health, "carebench_raw": cb}, indent=2)
        + "\n"
    )
    (RESULTS / f"{name}.md").write_text(report)
    log(f"wrote bench/results/{name}.json and bench/results/{name}.md")


if __name__ == "__main__":
    main()
