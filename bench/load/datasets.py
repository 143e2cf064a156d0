"""The databases the live-server benchmarks run on, built once and reused.

- `bench`: `carebench bench seed --patients N` (organization `bench`, users bench-mat,
  bench-frontdesk, bench-provider, bench-biller, password `bench-pass`), in
  var/bench/harness.sqlite3 or PostgreSQL `carebench_harness`. The harness's default.
- `demo`: `carebench demo` (Riverbend Health, users mat, frontdesk, provider, biller, password
  `demo`), in var/soak/demo.sqlite3 or PostgreSQL `carebench_soak`. The soak's, and a quick
  way to try the harness.
"""

from __future__ import annotations

import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .server import ROOT, run_command, setup_env

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_BASE = f"postgres://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}"


@dataclass(frozen=True)
class Dataset:
    name: str
    organization: str
    users: dict[str, str]
    password: str
    sqlite_path: Path
    postgres_name: str
    var_dir: Path

    def url(self, vendor: str) -> str:
        if vendor == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return f"{POSTGRES_BASE}/{self.postgres_name}"

    def credentials(self) -> dict[str, Any]:
        return {"users": self.users, "password": self.password}


BENCH = Dataset(
    name="bench",
    organization="bench",
    users={
        "mat": "bench-mat",
        "frontdesk": "bench-frontdesk",
        "provider": "bench-provider",
        "biller": "bench-biller",
    },
    password="bench-pass",
    sqlite_path=ROOT / "var" / "bench" / "harness.sqlite3",
    postgres_name="carebench_harness",
    var_dir=ROOT / "var" / "bench" / "harness-var",
)
DEMO = Dataset(
    name="demo",
    organization="riverbend-health",
    users={"mat": "mat", "frontdesk": "frontdesk", "provider": "provider", "biller": "biller"},
    password="demo",
    sqlite_path=ROOT / "var" / "soak" / "demo.sqlite3",
    postgres_name="carebench_soak",
    var_dir=ROOT / "var" / "soak" / "var",
)
DATASETS = {"bench": BENCH, "demo": DEMO}


def postgres_answers() -> bool:
    try:
        with socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=2):
            return True
    except OSError:
        return False


def _postgres(dbname: str) -> Any:
    import psycopg

    return psycopg.connect(
        host=POSTGRES_HOST,
        port=POSTGRES_PORT,
        user="postgres",
        dbname=dbname,
        autocommit=True,
        connect_timeout=5,
    )


def create_postgres_database(name: str) -> None:
    from psycopg import sql

    with _postgres("postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"  created PostgreSQL database {name}")


def organization_exists(dataset: Dataset, vendor: str) -> bool:
    """Whether the dataset's organization is in the database (built by an earlier run)."""
    query = "SELECT 1 FROM core_organization WHERE slug = ?"
    if vendor == "sqlite":
        if not dataset.sqlite_path.exists():
            return False
        with sqlite3.connect(dataset.sqlite_path) as conn:
            try:
                return conn.execute(query, [dataset.organization]).fetchone() is not None
            except sqlite3.OperationalError:  # not migrated yet
                return False
    import psycopg

    create_postgres_database(dataset.postgres_name)
    with _postgres(dataset.postgres_name) as conn:
        try:
            row = conn.execute(query.replace("?", "%s"), [dataset.organization]).fetchone()
        except psycopg.errors.UndefinedTable:
            return False
    return row is not None


def ensure_built(dataset: Dataset, vendor: str, *, patients: int, rebuild: bool = False) -> None:
    """Build the dataset into the vendor's database unless an earlier run did."""
    if vendor == "sqlite":
        dataset.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        if rebuild:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{dataset.sqlite_path}{suffix}").unlink(missing_ok=True)
    elif rebuild:
        from psycopg import sql

        with _postgres("postgres") as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(dataset.postgres_name)
                )
            )
    else:
        create_postgres_database(dataset.postgres_name)
    env = setup_env(dataset.url(vendor), dataset.var_dir)
    dataset.var_dir.mkdir(parents=True, exist_ok=True)
    if dataset.name == "bench":
        # additive: an organization that already holds the patients is left as it is
        print(f"  seed: {patients:,} patients in {vendor} (built once, then reused)...")
        run_command(
            ["bench", "seed", "--patients", str(patients), "--no-progress"],
            env,
            what="the bench seed",
        )
        return
    if organization_exists(dataset, vendor):
        print(f"  {dataset.name} data already in {vendor}: reused")
        return
    print(f"  building the demo into {vendor} (once)...")
    run_command(["demo"], env, what="the demo", quiet=True)


def busy_day(dataset: Dataset, vendor: str) -> str:
    """The seeded day with 1,000 booked visits (bench), or "" to let the plan find the
    busiest day (demo)."""
    if dataset.name != "bench":
        return ""
    env = setup_env(dataset.url(vendor), dataset.var_dir)
    command = ["bench", "seed", "--show-day", "--organization", dataset.organization]
    return run_command(command, env, what="the seed's chosen day", quiet=True).strip()
