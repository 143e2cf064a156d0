"""`carebench backup` and `carebench restore`: a round trip, and refusal of anything else.

The round trip runs the real command line in subprocesses against a throwaway SQLite file (the
test database is in memory and inside a transaction, which a backup cannot see).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from carebench.audit.models import AuditEvent
from carebench.core import backup
from carebench.patients.models import Patient
from carebench.testing import make_patient

CAREBENCH = [sys.executable, "-m", "carebench.cli"]

SEED_SCRIPT = """
import django
django.setup()
from datetime import date
from carebench.core.actor import Actor
from carebench.core.models import Organization
from carebench.patients import services
org, _ = Organization.objects.get_or_create(slug="bk", defaults={{"name": "Backup Clinic"}})
for name in {names!r}:
    services.register_patient(actor=Actor.system(org), details=services.PatientDetails(
        family_name=name, given_name="Ann", birth_date=date(1970, 1, 2), sex="female"))
print(Organization.objects.get(slug="bk").next_mrn)
"""

COUNT_SCRIPT = """
import django
django.setup()
from carebench.patients.models import Patient
from carebench.audit.models import AuditEvent
print(Patient.objects.count(), AuditEvent.objects.filter(action="restore").count())
"""


def run(env: dict[str, str], *args: str, script: str | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-c", script] if script else [*CAREBENCH, *args]
    return subprocess.run(
        argv,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],
    )


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CAREBENCH_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "carebench.settings",
        }
    )
    return env


def tamper_payload(source: Path, target: Path) -> None:
    """Copy a backup, flipping bytes in the database copy but keeping the manifest."""
    with tarfile.open(source) as tar, tarfile.open(target, "w:gz") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name != "manifest.json":
                data = data[:-100] + bytes(b ^ 0xFF for b in data[-100:])
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


def test_sqlite_round_trip_and_tampered_copy(tmp_path):
    env = sqlite_env(tmp_path)
    result = run(env, "migrate", "--skip-checks", "-v", "0")
    assert result.returncode == 0, result.stderr
    assert run(env, script=SEED_SCRIPT.format(names=["Able", "Baker"])).returncode == 0

    archive = tmp_path / "backups" / "clinic.cbk"
    result = run(env, "backup", str(archive))
    assert result.returncode == 0, result.stderr
    assert "backup written" in result.stdout
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        payload = tar.extractfile(manifest["payload"]["name"]).read()
    assert manifest["format"] == "carebench-backup" and manifest["version"] == 1
    assert manifest["database"]["vendor"] == "sqlite"
    assert manifest["migrations"]["latest"]["patients"]
    assert hashlib.sha256(payload).hexdigest() == manifest["payload"]["sha256"]

    # more work after the backup, then a tampered copy is refused and changes nothing
    assert run(env, script=SEED_SCRIPT.format(names=["Cole"])).returncode == 0
    tampered = tmp_path / "tampered.cbk"
    tamper_payload(archive, tampered)
    result = run(env, "restore", str(tampered))
    assert result.returncode == 1
    assert "checksum mismatch" in result.stderr
    assert run(env, script=COUNT_SCRIPT).stdout.split() == ["3", "0"]

    result = run(env, "restore", str(archive))
    assert result.returncode == 0, result.stderr
    assert "restored" in result.stdout
    assert run(env, script=COUNT_SCRIPT).stdout.split() == ["2", "1"]
    result = run(env, "audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit chain intact" in result.stdout
    assert list(tmp_path.glob("db.sqlite3.before-restore-*"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL runs only")
def test_postgresql_round_trip(db, tmp_path):
    env = dict(os.environ)
    base = env["DATABASE_URL"].rsplit("/", 1)[0]
    name = "carebench_cliwork_backup"
    env.update(
        {
            "DATABASE_URL": f"{base}/{name}",
            "CAREBENCH_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "carebench.settings",
        }
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone()
    if not exists:
        subprocess.run(
            [
                "createdb",
                "-h",
                connection.settings_dict["HOST"] or "127.0.0.1",
                "-p",
                str(connection.settings_dict["PORT"] or 5432),
                "-U",
                connection.settings_dict["USER"] or "postgres",
                name,
            ],
            check=True,
        )
    assert run(env, "migrate", "--skip-checks", "-v", "0").returncode == 0
    before = run(env, script=COUNT_SCRIPT).stdout.split()
    assert run(env, script=SEED_SCRIPT.format(names=["Able"])).returncode == 0
    archive = tmp_path / "pg.cbk"
    result = run(env, "backup", str(archive))
    assert result.returncode == 0, result.stderr
    assert run(env, script=SEED_SCRIPT.format(names=["Baker"])).returncode == 0
    result = run(env, "restore", str(archive))
    assert result.returncode == 0, result.stderr
    after = run(env, script=COUNT_SCRIPT).stdout.split()
    assert int(after[0]) == int(before[0]) + 1
    assert run(env, "audit", "verify").returncode == 0


# --- refusals (in process; nothing is changed) ---------------------------------------------


@pytest.fixture
def existing(mat):
    make_patient(mat)
    return Patient.objects.count(), AuditEvent.objects.count()


def refuse(path: Path, message: str, existing: tuple[int, int]) -> None:
    with pytest.raises(CommandError, match=message) as err:
        call_command("carebench_restore", str(path), "--yes")
    assert "nothing was changed" in str(err.value)
    assert (Patient.objects.count(), AuditEvent.objects.count()) == existing


def archive_with(path: Path, manifest: dict | None, payload: bytes, payload_name: str) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        if manifest is not None:
            data = json.dumps(manifest).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo(payload_name)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return path


def manifest_for(vendor: str, payload: bytes, **overrides) -> dict:
    manifest = {
        "format": "carebench-backup",
        "version": 1,
        "created_at": "2026-01-01T00:00:00",
        "database": {"vendor": vendor},
        "migrations": {},
        "payload": {
            "name": backup.PAYLOAD_NAMES[vendor],
            "sha256": hashlib.sha256(payload).hexdigest(),
            "size": len(payload),
        },
    }
    manifest.update(overrides)
    return manifest


def test_refuses_random_bytes(tmp_path, existing):
    path = tmp_path / "random.cbk"
    path.write_bytes(os.urandom(4096))
    refuse(path, "not a carebench backup: not a readable archive", existing)


def test_refuses_missing_file(tmp_path, existing):
    refuse(tmp_path / "nope.cbk", "no such file", existing)


def test_refuses_zip_without_manifest(tmp_path, existing):
    path = tmp_path / "backup.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("database.sqlite3", b"SQLite format 3\x00" + b"\x00" * 100)
    refuse(path, "not a carebench backup", existing)


def test_refuses_tar_without_manifest(tmp_path, existing):
    path = archive_with(tmp_path / "x.cbk", None, b"SQLite format 3\x00", "database.sqlite3")
    refuse(path, "has no manifest", existing)


def test_refuses_wrong_manifest_format(tmp_path, existing):
    payload = b"SQLite format 3\x00" + b"\x00" * 100
    path = archive_with(
        tmp_path / "x.cbk",
        manifest_for("sqlite", payload, format="other"),
        payload,
        "database.sqlite3",
    )
    refuse(path, "wrong manifest format", existing)


def test_refuses_unknown_version(tmp_path, existing):
    payload = b"SQLite format 3\x00" + b"\x00" * 100
    path = archive_with(
        tmp_path / "x.cbk", manifest_for("sqlite", payload, version=2), payload, "database.sqlite3"
    )
    refuse(path, "version 2 is not supported", existing)


def test_refuses_checksum_mismatch(tmp_path, existing):
    payload = b"SQLite format 3\x00" + b"\x00" * 100
    manifest = manifest_for("sqlite", payload)
    path = archive_with(tmp_path / "x.cbk", manifest, payload + b"extra", "database.sqlite3")
    refuse(path, "checksum mismatch", existing)


def test_refuses_other_vendor(tmp_path, existing):
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    payload = backup.PAYLOAD_MAGIC[other] + b"\x00" * 100
    path = archive_with(
        tmp_path / "x.cbk", manifest_for(other, payload), payload, backup.PAYLOAD_NAMES[other]
    )
    refuse(path, f"is a {other} backup; this install uses {connection.vendor}", existing)


def test_refuses_payload_that_is_not_a_database(tmp_path, existing):
    payload = b"hello, not a database"
    path = archive_with(
        tmp_path / "x.cbk",
        manifest_for(connection.vendor, payload),
        payload,
        backup.PAYLOAD_NAMES[connection.vendor],
    )
    refuse(path, "is not a", existing)
