"""Crash testing: SIGKILL the real server while clients write, then prove nothing acknowledged
was lost and the database is sound.

Test and benchmark tooling only; the application never imports this module. Two callers drive
it: `bench/kill_writes.py` (the full run: 10,000 writes, 20 kills) and
`carebench/core/tests/test_kill_safety.py` (a short run in `make test`).

One run, on a scratch database (a SQLite file, or a PostgreSQL database that is dropped and made
again):

1. the schema is migrated (or copied from an already migrated database), an organization with
   one medical assistant is made, and a bearer token is taken with `carebench token create`;
2. `carebench serve` (gunicorn, the production set-up) starts in a process group of its own;
3. client threads send `POST /fhir/Patient` and `POST /fhir/Observation` (a heart rate for one
   of their patients, written by `record_vitals`: a vital-signs set, its observation and an
   audit event) and keep a ledger of every write the server acknowledged (201 with the new id)
   and every write left in doubt (sent, no answer);
4. after a random number of acknowledged writes the whole process group gets SIGKILL;
5. with the server dead: SQLite's `PRAGMA integrity_check` and `PRAGMA foreign_key_check`;
   then the server is started again and, beside it, the checker (this module run as
   `python -m carebench.core.crashtest verify LEDGER` in the scratch database's environment)
   looks up every acknowledged write by id and compares its content, checks that every patient
   and every vital-signs set of the organization is whole (its audit event, its observations),
   and runs `carebench audit verify`;
6. steps 3-5 repeat; each check covers every write acknowledged since the start.

A write in doubt may or may not be stored (the server died before it answered); the checker
reports how many of them were, and requires only that they be whole.

The same pieces (scratch database, server, writers, ledger, checker) serve the backup-while-
writing test. Run as a module, `python -m carebench.core.crashtest setup | verify LEDGER |
checksums`, it works inside the database named by DATABASE_URL.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
ORG_SLUG = "crashtest"
USERNAME = "crashtest-writer"
EMAIL_DOMAIN = "crash.example.org"
HEART_RATE_LOINC = "8867-4"
FHIR_JSON = "application/fhir+json"
SCRATCH_WORDS = ("kill", "crash", "scratch")
READY_TIMEOUT = 180.0


class CrashTestError(Exception):
    """The run could not be set up or driven (not a finding about the application)."""


# --- the scratch database ---------------------------------------------------------------------


def vendor_of(url: str) -> str:
    if url.startswith("sqlite:"):
        return "sqlite"
    if url.startswith(("postgres:", "postgresql:", "pgsql:")):
        return "postgresql"
    raise CrashTestError(f"database URL {url!r}: only sqlite:/// and postgres:// are supported")


def sqlite_path(url: str) -> Path:
    import dj_database_url

    return Path(str(dj_database_url.parse(url)["NAME"]))


def _pg_settings(url: str) -> dict[str, Any]:
    import dj_database_url

    return dict(dj_database_url.parse(url))


def _pg_args(cfg: dict[str, Any]) -> list[str]:
    args = []
    if cfg.get("HOST"):
        args += ["--host", str(cfg["HOST"])]
    if cfg.get("PORT"):
        args += ["--port", str(cfg["PORT"])]
    if cfg.get("USER"):
        args += ["--username", str(cfg["USER"])]
    return args


def _pg_env(cfg: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    if cfg.get("PASSWORD"):
        env["PGPASSWORD"] = str(cfg["PASSWORD"])
    return env


def _pg_admin(cfg: dict[str, Any]) -> Any:
    import psycopg

    params = {
        "host": cfg.get("HOST") or None,
        "port": cfg.get("PORT") or None,
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
    }
    return psycopg.connect(
        dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}
    )


def url_for(settings: dict[str, Any], name: str) -> str:
    """A DATABASE_URL for the server of a Django database's settings, naming database `name`
    (a file path for SQLite)."""
    if str(settings["ENGINE"]).endswith("sqlite3"):
        return f"sqlite:///{name}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name}"


def recreate_database(url: str) -> None:
    """Empty the scratch database: delete the SQLite file (and its WAL), or drop and create the
    PostgreSQL database. A database whose name does not say it is scratch is refused."""
    if vendor_of(url) == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    from psycopg import sql

    cfg = _pg_settings(url)
    name = str(cfg["NAME"])
    if not any(word in name for word in SCRATCH_WORDS):
        raise CrashTestError(
            f"database {name!r}: the crash test drops and re-creates its database, so its name "
            f"must contain one of {', '.join(SCRATCH_WORDS)} (e.g. carebench_kill)"
        )
    with _pg_admin(cfg) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    """Remove a scratch database made by `recreate_database`."""
    if vendor_of(url) == "sqlite":
        path = sqlite_path(url)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    from psycopg import sql

    cfg = _pg_settings(url)
    with _pg_admin(cfg) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(str(cfg["NAME"]))
            )
        )


def copy_database(source_url: str, target_url: str, work_dir: Path) -> None:
    """Copy an already migrated database (its committed state) into the empty target: SQLite's
    online backup, or pg_dump | pg_restore. Much faster than migrating from nothing."""
    vendor = vendor_of(target_url)
    if vendor_of(source_url) != vendor:
        raise CrashTestError("the template and the scratch database must be the same vendor")
    if vendor == "sqlite":
        source = sqlite3.connect(str(sqlite_path(source_url)), timeout=30)
        try:
            target = sqlite3.connect(str(sqlite_path(target_url)))
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
        return
    source_cfg, target_cfg = _pg_settings(source_url), _pg_settings(target_url)
    dump = work_dir / "template.pgdump"
    _checked(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--file",
            str(dump),
            *_pg_args(source_cfg),
            "--dbname",
            str(source_cfg["NAME"]),
        ],
        env=_pg_env(source_cfg),
    )
    _checked(
        [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            *_pg_args(target_cfg),
            "--dbname",
            str(target_cfg["NAME"]),
            str(dump),
        ],
        env=_pg_env(target_cfg),
    )
    dump.unlink(missing_ok=True)


def _checked(argv: list[str], *, env: dict[str, str], timeout: float = 900) -> str:
    result = subprocess.run(  # noqa: S603 - fixed tools, our own arguments
        argv,
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-8:]
        raise CrashTestError(f"{Path(argv[0]).name} {argv[1:3]} failed: " + " / ".join(detail))
    return result.stdout


def carebench_env(database_url: str, var_dir: Path) -> dict[str, str]:
    """The environment for `carebench` commands and the server on the scratch database."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "CAREBENCH_VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "carebench.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("CAREBENCH_DEBUG", None)
    return env


def carebench(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    return _checked([sys.executable, "-m", "carebench.cli", *args], env=env, timeout=timeout)


def prepare(database_url: str, var_dir: Path, *, template_url: str = "") -> str:
    """Make the scratch database ready (migrated, the writers' organization and user) and
    return a bearer token from `carebench token create`."""
    (var_dir / "static").mkdir(parents=True, exist_ok=True)  # whitenoise warns without it
    recreate_database(database_url)
    env = carebench_env(database_url, var_dir)
    if template_url:
        copy_database(template_url, database_url, var_dir)
    else:
        carebench(env, "migrate", "--skip-checks", "-v", "0")
    _checked([sys.executable, "-m", "carebench.core.crashtest", "setup"], env=env)
    return carebench(env, "token", "create", "--user", USERNAME, "--name", "crash test").strip()


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`carebench serve` (gunicorn master and workers) in a process group of its own."""

    def __init__(
        self, env: dict[str, str], log_dir: Path, *, port: int, workers: int, threads: int
    ) -> None:
        self.env = env
        self.log_dir = log_dir
        self.port = port
        self.workers = workers
        self.threads = threads
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"server-{self.starts}.log").open("wb")
        argv = [sys.executable, "-m", "carebench.cli", "serve", "--port", str(self.port)]
        argv += ["--workers", str(self.workers), "--threads", str(self.threads)]
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            argv,
            env=self.env,
            cwd=PROJECT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill reaches every worker
        )
        log.close()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Seconds until /healthz answers 200 (counted from the call)."""
        import requests

        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise CrashTestError(
                    f"the server exited with status {self.process.returncode}; see "
                    f"{self.log_dir / f'server-{self.starts}.log'}"
                )
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise CrashTestError(f"the server did not answer /healthz within {timeout:.0f} s")

    def group_members(self) -> list[int]:
        """Live (not zombie) processes of the server's process group."""
        import psutil

        if self.process is None:
            return []
        pgid = self.process.pid
        members = []
        for proc in psutil.process_iter(["pid", "status"]):
            try:
                if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                    members.append(proc.pid)
            except (ProcessLookupError, psutil.Error):
                continue
        return members

    def kill(self) -> int:
        """SIGKILL the whole process group at once; return how many processes it held."""
        assert self.process is not None
        members = len(self.group_members())
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while self.group_members():
            if time.monotonic() > deadline:
                raise CrashTestError("processes of the killed server are still alive")
            time.sleep(0.05)
        return members

    def stop(self) -> None:
        """A clean stop: SIGTERM to the group, SIGKILL if it is still there after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            self.kill()


# --- the writers and their ledger -------------------------------------------------------------


def family_name(seq: int) -> str:
    """A distinct, valid family name for write number `seq` (letters only)."""
    letters = ""
    n = seq
    while True:
        n, rest = divmod(n, 26)
        letters = chr(97 + rest) + letters
        if n == 0:
            break
    return "Crash" + letters


def patient_resource(seq: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Patient to send for write `seq`, and what must be stored."""
    expected = {
        "family": family_name(seq),
        "given": ["Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana"][seq % 8],
        "birth_date": f"{1930 + seq % 90}-{1 + seq % 12:02d}-{1 + seq % 28:02d}",
        "email": f"w{seq}@{EMAIL_DOMAIN}",
    }
    resource = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": expected["family"], "given": [expected["given"]]}],
        "gender": "female" if seq % 2 else "male",
        "birthDate": expected["birth_date"],
        "telecom": [{"system": "email", "value": expected["email"]}],
    }
    return resource, expected


def observation_resource(seq: int, patient_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A heart rate (one vital-signs set) for the patient, and what must be stored."""
    value = 50 + seq % 90
    expected = {"patient": patient_id, "code": HEART_RATE_LOINC, "value": str(value)}
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": HEART_RATE_LOINC}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueQuantity": {
            "value": value,
            "unit": "/min",
            "system": "http://unitsofmeasure.org",
            "code": "/min",
        },
    }
    return resource, expected


class Ledger:
    """What the server acknowledged (by id, with the content sent) and what is in doubt."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.patients: dict[int, dict[str, Any]] = {}
        self.observations: dict[int, dict[str, Any]] = {}
        self.in_doubt: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.by_client: dict[int, list[int]] = {}
        self.seq = 0
        self.cycle_acks = 0
        self.quota = 0

    def next_seq(self) -> int | None:
        """The next write's number, or None when this cycle's quota is used up."""
        with self.lock:
            if self.quota <= 0:
                return None
            self.quota -= 1
            self.seq += 1
            return self.seq

    def acknowledge(self, client: int, kind: str, row_id: int, expected: dict[str, Any]) -> None:
        with self.lock:
            if kind == "Patient":
                self.patients[row_id] = expected
                self.by_client.setdefault(client, []).append(row_id)
            else:
                self.observations[row_id] = expected
            self.cycle_acks += 1
            self.lock.notify_all()

    def doubt(self, kind: str, expected: dict[str, Any]) -> None:
        with self.lock:
            self.in_doubt.append({"kind": kind, **expected})

    def refuse(self, kind: str, status: int, text: str) -> None:
        with self.lock:
            self.refused.append({"kind": kind, "status": status, "text": text[:300]})

    def patients_of(self, client: int) -> list[int]:
        with self.lock:
            return list(self.by_client.get(client, []))

    def wait_for_acks(self, count: int, timeout: float, stop: threading.Event) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.cycle_acks < count and self.quota > 0:
                left = deadline - time.monotonic()
                if left <= 0 or stop.is_set():
                    return False
                self.lock.wait(min(left, 0.5))
            return True

    def snapshot(self) -> dict[str, Any]:
        """The ledger as the checker reads it: what was acknowledged up to now."""
        with self.lock:
            return {
                "patients": {str(k): dict(v) for k, v in self.patients.items()},
                "observations": {str(k): dict(v) for k, v in self.observations.items()},
                "in_doubt": list(self.in_doubt),
            }

    def save(self, path: Path, snapshot: dict[str, Any] | None = None) -> None:
        path.write_text(json.dumps(snapshot if snapshot is not None else self.snapshot()))


class Writers:
    """`clients` threads writing through the API until stopped or the ledger's quota is used."""

    def __init__(
        self, base_url: str, token: str, ledger: Ledger, *, clients: int, seed: int
    ) -> None:
        self.stop_event = threading.Event()
        rng = random.Random(seed)
        self.threads = [
            threading.Thread(
                target=_write_loop,
                args=(client, base_url, token, ledger, self.stop_event, rng.randrange(1 << 30)),
                name=f"crash-writer-{client}",
                daemon=True,
            )
            for client in range(clients)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float = 180) -> None:
        for thread in self.threads:
            thread.join(timeout=timeout)


def _write_loop(
    client: int,
    base_url: str,
    token: str,
    ledger: Ledger,
    stop: threading.Event,
    seed: int,
) -> None:
    import requests

    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": FHIR_JSON}
    with requests.Session() as session:
        while not stop.is_set():
            seq = ledger.next_seq()
            if seq is None:
                return
            mine = ledger.patients_of(client)
            if mine and rng.random() < 0.5:
                kind = "Observation"
                resource, expected = observation_resource(seq, rng.choice(mine))
            else:
                kind = "Patient"
                resource, expected = patient_resource(seq)
            try:
                response = session.post(
                    f"{base_url}/fhir/{kind}",
                    data=json.dumps(resource),
                    headers=headers,
                    timeout=120,
                )
            except requests.RequestException:
                ledger.doubt(kind, expected)  # no answer: stored or not, we cannot know
                return
            if response.status_code == 201:
                try:
                    row_id = int(response.json()["id"])
                except (ValueError, KeyError, TypeError):
                    ledger.refuse(kind, response.status_code, response.text)
                    continue
                ledger.acknowledge(client, kind, row_id, expected)
            else:
                ledger.refuse(kind, response.status_code, response.text)


# --- checks -----------------------------------------------------------------------------------


def sqlite_checks(path: Path) -> tuple[str, list[Any]]:
    """`PRAGMA integrity_check` ("ok" when sound) and `PRAGMA foreign_key_check` (the rows that
    point at nothing; none when sound), on the file as the crash left it."""
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        integrity = "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
        violations = [list(row) for row in conn.execute("PRAGMA foreign_key_check")]
    finally:
        conn.close()
    return integrity, violations[:20]


def run_checker(env: dict[str, str], ledger_path: Path) -> dict[str, Any]:
    output = _checked(
        [sys.executable, "-m", "carebench.core.crashtest", "verify", str(ledger_path)], env=env
    )
    return dict(json.loads(output.strip().splitlines()[-1]))


def run_checksums(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every table's rows and row checksum in the database of `env` (as a backup's manifest)."""
    output = _checked([sys.executable, "-m", "carebench.core.crashtest", "checksums"], env=env)
    return dict(json.loads(output.strip().splitlines()[-1]))


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def verify_ledger(ledger: dict[str, Any]) -> dict[str, Any]:
    """Inside the scratch database's Django: every acknowledged write present and the same; every
    patient and vital-signs set of the organization whole; the audit chains intact."""
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db.models import Count

    from carebench.audit.models import AuditEvent
    from carebench.core.models import Organization
    from carebench.encounters.models import Observation, VitalSigns
    from carebench.patients.models import Patient

    org = Organization.objects.get(slug=ORG_SLUG)
    problems: list[str] = []
    lost: list[str] = []

    wanted_patients = {int(k): v for k, v in ledger["patients"].items()}
    found: dict[int, Any] = {}
    for chunk in _chunks(sorted(wanted_patients)):
        for patient_row in Patient.objects.filter(pk__in=chunk).values(
            "pk", "organization_id", "family_name", "given_name", "birth_date", "email"
        ):
            found[patient_row["pk"]] = patient_row
    row: Any
    for pk, expected in wanted_patients.items():
        row = found.get(pk)
        if row is None:
            lost.append(f"Patient/{pk}")
            continue
        stored = {
            "family": row["family_name"],
            "given": row["given_name"],
            "birth_date": row["birth_date"].isoformat(),
            "email": row["email"].lower(),
        }
        if row["organization_id"] != org.pk or stored != expected:
            problems.append(f"Patient/{pk} differs: stored {stored}, acknowledged {expected}")

    wanted_obs = {int(k): v for k, v in ledger["observations"].items()}
    found_obs: dict[int, Any] = {}
    for chunk in _chunks(sorted(wanted_obs)):
        for obs_row in Observation.objects.filter(pk__in=chunk).values(
            "pk", "patient_id", "code", "value", "vital_signs_id", "voided_at"
        ):
            found_obs[obs_row["pk"]] = obs_row
    for pk, expected in wanted_obs.items():
        row = found_obs.get(pk)
        if row is None:
            lost.append(f"Observation/{pk}")
            continue
        same = (
            row["patient_id"] == expected["patient"]
            and row["code"] == expected["code"]
            and Decimal(row["value"]) == Decimal(expected["value"])
            and row["vital_signs_id"] is not None
            and row["voided_at"] is None
        )
        if not same:
            problems.append(f"Observation/{pk} differs from what was acknowledged: {row}")

    # Whole rows only, acknowledged or not: each patient has its audit event, each vital-signs
    # set its observations and its audit event.
    audited: dict[str, set[str]] = {"Patient": set(), "VitalSigns": set()}
    for resource_type, resource_id in AuditEvent.objects.filter(
        organization_id=org.pk, action="create", resource_type__in=list(audited)
    ).values_list("resource_type", "resource_id"):
        audited[resource_type].add(resource_id)
    patient_ids = list(Patient.objects.filter(organization=org).values_list("pk", flat=True))
    unaudited = [pk for pk in patient_ids if str(pk) not in audited["Patient"]]
    if unaudited:
        problems.append(f"{len(unaudited)} patient(s) without their audit event: {unaudited[:10]}")
    sets = list(
        VitalSigns.objects.filter(organization=org)
        .annotate(n=Count("observations"))
        .values_list("pk", "n")
    )
    empty = [pk for pk, n in sets if n == 0]
    if empty:
        problems.append(f"{len(empty)} vital-signs set(s) without observations: {empty[:10]}")
    unaudited_sets = [pk for pk, _ in sets if str(pk) not in audited["VitalSigns"]]
    if unaudited_sets:
        problems.append(
            f"{len(unaudited_sets)} vital-signs set(s) without their audit event: "
            f"{unaudited_sets[:10]}"
        )

    doubted = [d["email"] for d in ledger["in_doubt"] if d["kind"] == "Patient"]
    doubted_stored = Patient.objects.filter(organization=org, email__in=doubted).count()

    report = StringIO()
    audit_ok = True
    try:
        call_command("carebench_audit", "verify", stdout=report)
    except CommandError as exc:
        audit_ok = False
        report.write(str(exc))
    return {
        "patients_checked": len(wanted_patients),
        "observations_checked": len(wanted_obs),
        "lost": lost[:50],
        "lost_count": len(lost),
        "problems": problems[:50],
        "problem_count": len(problems),
        "in_doubt": len(ledger["in_doubt"]),
        "in_doubt_patients_stored": doubted_stored,
        "rows": {"patients": len(patient_ids), "vital_sets": len(sets)},
        "audit_ok": audit_ok,
        "audit_report": report.getvalue().strip().splitlines()[-1:],
    }


def setup_writer() -> None:
    """Inside the scratch database's Django: the organization, a facility and the writer."""
    from django.contrib.auth.models import Group

    from carebench.accounts.models import User
    from carebench.accounts.services import create_user, sync_roles
    from carebench.core.models import Facility, Organization

    if not Group.objects.filter(name="mat").exists():
        sync_roles()
    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Crash Clinic"})
    Facility.objects.get_or_create(organization=org, name="Crash Clinic", defaults={"state": "TX"})
    if not User.objects.filter(username=USERNAME).exists():
        create_user(
            actor=None,
            organization=org,
            username=USERNAME,
            password=None,
            roles=["mat"],
            first_name="Crash",
            last_name="Writer",
        )


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Cycle:
    number: int
    kill_at: int  # acknowledged writes in this cycle when the kill was sent
    acknowledged: int = 0
    in_doubt: int = 0
    refused: int = 0
    processes_killed: int = 0
    integrity: str = "n/a"
    foreign_key_violations: list[Any] = field(default_factory=list)
    write_seconds: float = 0.0
    restart_seconds: float = 0.0
    check: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.integrity in ("ok", "n/a")
            and not self.foreign_key_violations
            and self.check.get("lost_count", 1) == 0
            and self.check.get("problem_count", 1) == 0
            and bool(self.check.get("audit_ok"))
        )


@dataclass
class Report:
    vendor: str
    writes: int
    repeat: int
    clients: int
    seed: int
    cycles: list[Cycle] = field(default_factory=list)
    refused_samples: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return len(self.cycles) == self.repeat and all(c.ok for c in self.cycles)

    @property
    def acknowledged(self) -> int:
        return sum(c.acknowledged for c in self.cycles)

    @property
    def refused(self) -> int:
        return sum(c.refused for c in self.cycles)

    @property
    def lost(self) -> int:
        return max((c.check.get("lost_count", 0) for c in self.cycles), default=0)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["acknowledged"] = self.acknowledged
        data["lost"] = self.lost
        data["refused"] = self.refused
        return data


def run(
    *,
    database_url: str,
    work_dir: Path,
    writes: int,
    repeat: int,
    clients: int = 8,
    seed: int | None = None,
    template_url: str = "",
    workers: int = 2,
    threads: int = 4,
    log: Callable[[str], None] = lambda line: None,
) -> Report:
    """Set up the scratch database, then `repeat` times: write until a random one of `writes`
    acknowledged writes, SIGKILL the server, check, restart. Returns every cycle's findings."""
    if writes < 2 or repeat < 1 or clients < 1:
        raise CrashTestError("writes must be at least 2, repeat and clients at least 1")
    seed = seed if seed is not None else random.SystemRandom().randrange(1_000_000)
    rng = random.Random(seed)
    vendor = vendor_of(database_url)
    report = Report(vendor=vendor, writes=writes, repeat=repeat, clients=clients, seed=seed)
    started = time.monotonic()
    log(f"preparing the scratch {vendor} database")
    token = prepare(database_url, work_dir, template_url=template_url)
    env = carebench_env(database_url, work_dir)
    server = Server(env, work_dir, port=free_port(), workers=workers, threads=threads)
    ledger = Ledger()
    ledger_path = work_dir / "ledger.json"
    server.start()
    try:
        ready = server.wait_ready()
        log(f"server up in {ready:.1f} s at {server.url}")
        for number in range(1, repeat + 1):
            cycle = _one_cycle(number, rng, writes, clients, server, token, ledger, ledger_path)
            report.cycles.append(cycle)
            log(
                f"cycle {number}/{repeat}: killed {cycle.processes_killed} processes after "
                f"{cycle.kill_at} acknowledged writes; acknowledged {cycle.acknowledged}, "
                f"in doubt {cycle.in_doubt}; lost {cycle.check.get('lost_count')}, problems "
                f"{cycle.check.get('problem_count')}, integrity {cycle.integrity}, audit "
                f"{'ok' if cycle.check.get('audit_ok') else 'BROKEN'}; back up in "
                f"{cycle.restart_seconds:.1f} s"
            )
            if not cycle.ok:
                break
    finally:
        server.stop()
    report.refused_samples = ledger.refused[:20]
    report.seconds = time.monotonic() - started
    return report


def _one_cycle(
    number: int,
    rng: random.Random,
    writes: int,
    clients: int,
    server: Server,
    token: str,
    ledger: Ledger,
    ledger_path: Path,
) -> Cycle:
    kill_at = rng.randint(1, writes - 1)
    cycle = Cycle(number=number, kill_at=kill_at)
    with ledger.lock:
        ledger.cycle_acks = 0
        ledger.quota = writes
        doubts_before, refused_before = len(ledger.in_doubt), len(ledger.refused)
    writers = Writers(server.url, token, ledger, clients=clients, seed=rng.randrange(1 << 30))
    began = time.monotonic()
    writers.start()
    ledger.wait_for_acks(kill_at, timeout=3600, stop=writers.stop_event)
    time.sleep(rng.uniform(0, 0.02))  # land inside a request more often than between two
    with ledger.lock:
        cycle.kill_at = ledger.cycle_acks
    writers.stop()
    cycle.processes_killed = server.kill()
    cycle.write_seconds = time.monotonic() - began
    writers.join()
    with ledger.lock:
        cycle.acknowledged = ledger.cycle_acks
        cycle.in_doubt = len(ledger.in_doubt) - doubts_before
        cycle.refused = len(ledger.refused) - refused_before
    if vendor_of(server.env["DATABASE_URL"]) == "sqlite":
        cycle.integrity, cycle.foreign_key_violations = sqlite_checks(
            sqlite_path(server.env["DATABASE_URL"])
        )
    ledger.save(ledger_path)
    server.start()  # the restart, and beside it the checker
    checker: dict[str, Any] = {}

    def check() -> None:
        checker.update(run_checker(server.env, ledger_path))

    check_thread = threading.Thread(target=check, name="crash-checker")
    check_thread.start()
    try:
        cycle.restart_seconds = server.wait_ready()
    finally:
        check_thread.join()
    if not checker:
        raise CrashTestError("the checker gave no report")
    cycle.check = checker
    return cycle


# --- `python -m carebench.core.crashtest setup | verify LEDGER | checksums` ----------------------


def main(argv: list[str]) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carebench.settings")
    django.setup()
    if argv[:1] == ["setup"]:
        setup_writer()
        return 0
    if argv[:1] == ["verify"] and len(argv) == 2:
        ledger = json.loads(Path(argv[1]).read_text())
        print(json.dumps(verify_ledger(ledger)))
        return 0
    if argv[:1] == ["checksums"]:
        from carebench.core.backup import table_checksums

        print(json.dumps(table_checksums()))
        return 0
    print(
        "usage: python -m carebench.core.crashtest setup | verify LEDGER | checksums",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
