"""Backups: one archive file holding a manifest and a consistent copy of the database.

The archive is a gzip'd tar with two members: `manifest.json` (format "carebench-backup",
version 1, when, which database, the migration state, the payload's SHA-256, and each table's
row count and row checksum as of the copy) and the payload: a SQLite database made with SQLite's
online backup API, or a PostgreSQL `pg_dump --format=custom` file. Both copies are consistent
while the application keeps running; on PostgreSQL the row checksums are read in the snapshot
pg_dump copies (`pg_export_snapshot`, `pg_dump --snapshot`), on SQLite from the copy itself, so
`table_checksums()` on a restored database gives exactly the manifest's.

Restoring checks everything before it changes anything: the archive, the manifest, the
checksum and the database vendor. SQLite is then replaced in one `os.replace`; PostgreSQL is
restored by `pg_restore --clean --if-exists` in a single transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock

FORMAT = "carebench-backup"
VERSION = 1
MANIFEST_NAME = "manifest.json"
PAYLOAD_NAMES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
PAYLOAD_MAGIC = {"sqlite": b"SQLite format 3\x00", "postgresql": b"PGDMP"}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup could not be made or a file cannot be restored; nothing was changed."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]


# --- helpers ----------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _connection() -> Any:
    return connections[DEFAULT_DB_ALIAS]


def _vendor() -> str:
    vendor = _connection().vendor
    if vendor not in PAYLOAD_NAMES:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")
    return vendor


def migration_state() -> dict[str, Any]:
    """The latest applied migration of each app, and how many are applied in all."""
    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder(_connection()).applied_migrations()
    latest: dict[str, str] = {}
    for app, name in sorted(applied):
        latest[app] = max(latest.get(app, ""), name)
    return {"applied": len(applied), "latest": latest}


def _sqlite_path() -> Path:
    name = str(_connection().settings_dict["NAME"])
    if not name or name == ":memory:" or "mode=memory" in name:
        raise BackupError("the database is in memory; there is no file to back up or restore")
    return Path(name)


def _pg_params() -> tuple[list[str], dict[str, str]]:
    settings_dict = _connection().settings_dict
    args = []
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    sslmode = (settings_dict.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return [*args, "--dbname", str(settings_dict["NAME"])], env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed or not on PATH; install the PostgreSQL "
            f"client tools (Debian: apt-get install postgresql-client)"
        )
    return path


def _run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{Path(argv[0]).name} failed: " + " / ".join(detail[-5:]))


@contextmanager
def _temp_dir(near: Path) -> Iterator[Path]:
    near.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".carebench-", dir=near) as name:
        yield Path(name)


# --- backup -----------------------------------------------------------------------------------


# Each table's rows and a checksum of them: the sum of every row's hash (its first 60 bits), so
# the order rows come in does not matter. Compared only between databases of one vendor.
_ROW_HASH_BITS = 60


def _sqlite_checksums(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        count = total = 0
        quoted = '"' + name.replace('"', '""') + '"'
        for row in conn.execute(f"SELECT * FROM {quoted}"):  # noqa: S608 - a table's own name
            digest = hashlib.md5(repr(row).encode(), usedforsecurity=False).digest()
            total += int.from_bytes(digest[:8], "big") >> (64 - _ROW_HASH_BITS)
            count += 1
        out[name] = {"rows": count, "checksum": str(total)}
    return out


def _postgresql_checksums(cursor: Any) -> dict[str, dict[str, Any]]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    names = [row[0] for row in cursor.fetchall()]
    row_sum = "coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)"
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        cursor.execute(f"SELECT count(*), {row_sum} FROM {quoted} AS t")  # noqa: S608
        count, total = cursor.fetchone()
        out[name] = {"rows": int(count), "checksum": str(int(total))}
    return out


def table_checksums() -> dict[str, dict[str, Any]]:
    """Every table of the database as it is now: {"table": {"rows": n, "checksum": "..."}}, as
    a backup's manifest has them for the moment of the copy."""
    vendor = _vendor()
    if vendor == "sqlite":
        conn = sqlite3.connect(str(_sqlite_path()), timeout=30)
        try:
            return _sqlite_checksums(conn)
        finally:
            conn.close()
    with _connection().cursor() as cursor:
        return _postgresql_checksums(cursor)


def _dump_sqlite(target: Path) -> dict[str, dict[str, Any]]:
    source = sqlite3.connect(str(_sqlite_path()), timeout=30)
    try:
        destination = sqlite3.connect(str(target))
        try:
            # All pages in one step, in one read transaction (WAL: writers go on meanwhile). A
            # copy in steps starts again whenever another connection writes between two steps,
            # so under steady writes a database of more than one step's pages took minutes or
            # never finished.
            source.backup(destination, pages=-1)
            return _sqlite_checksums(destination)
        finally:
            destination.close()
    finally:
        source.close()


def _dump_postgresql(target: Path) -> dict[str, dict[str, Any]]:
    """pg_dump in a snapshot this function holds open, and the row checksums read in it."""
    params, env = _pg_params()
    tool = _tool("pg_dump")
    wrapper = _connection()
    snapshot_conn = wrapper.get_new_connection(wrapper.get_connection_params())
    try:
        snapshot_conn.autocommit = True
        with snapshot_conn.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            _run(
                [
                    tool,
                    "--format=custom",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    "--file",
                    str(target),
                    *params,
                ],
                env,
            )
            tables = _postgresql_checksums(cursor)
            cursor.execute("COMMIT")
    finally:
        snapshot_conn.close()
    return tables


def write_archive(path: Path, manifest: dict[str, Any], payload: Path) -> None:
    """Write the archive to a temporary name beside `path`, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size = len(data)
            info.mtime = int(clock.now().timestamp())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(str(payload), arcname=manifest["payload"]["name"], recursive=False)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def create_backup(path: Path | str) -> BackupResult:
    """Copy the database consistently into `path` (an archive; replaced if it exists)."""
    path = Path(path).resolve()
    vendor = _vendor()
    with _temp_dir(path.parent) as work:
        payload = work / PAYLOAD_NAMES[vendor]
        tables = _dump_sqlite(payload) if vendor == "sqlite" else _dump_postgresql(payload)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": clock.now().isoformat(timespec="seconds"),
            "database": {
                "vendor": vendor,
                "name": Path(str(_connection().settings_dict["NAME"])).name,
            },
            "migrations": migration_state(),
            "payload": {
                "name": payload.name,
                "sha256": _sha256(payload),
                "size": payload.stat().st_size,
            },
            "tables": tables,
        }
        write_archive(path, manifest, payload)
    audit.record(
        action=Action.BACKUP,
        organization_id=None,
        username="carebench",
        channel="cli",
        resource_type="Database",
        resource_id=vendor,
        detail={
            "file": str(path),
            "sha256": manifest["payload"]["sha256"],
            "size": manifest["payload"]["size"],
        },
    )
    return BackupResult(path=path, manifest=manifest)


# --- restore ----------------------------------------------------------------------------------


def read_backup(path: Path | str, work: Path) -> tuple[dict[str, Any], Path]:
    """Check an archive and extract its payload into `work`; refuse anything else."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        with tarfile.open(str(path), mode="r:*") as tar:
            members = {member.name: member for member in tar.getmembers()}
            entry = members.get(MANIFEST_NAME)
            if entry is None or not entry.isfile():
                raise BackupError(f"{path.name} is not a carebench backup: it has no manifest")
            handle = tar.extractfile(entry)
            manifest: Any = None
            try:
                manifest = json.loads(handle.read(1024 * 1024)) if handle else None
            except (ValueError, UnicodeDecodeError) as exc:
                raise BackupError(f"{path.name}: the manifest is not valid JSON") from exc
            _check_manifest(path, manifest)
            name = manifest["payload"]["name"]
            member = members.get(name)
            if member is None or not member.isfile():
                raise BackupError(f"{path.name}: the database copy ({name}) is missing")
            payload = work / name
            source = tar.extractfile(member)
            assert source is not None
            digest = hashlib.sha256()
            with payload.open("wb") as out:
                for block in iter(lambda: source.read(CHUNK), b""):
                    digest.update(block)
                    out.write(block)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(
            f"{path.name} is not a carebench backup: not a readable archive ({type(exc).__name__})"
        ) from exc
    if digest.hexdigest() != manifest["payload"]["sha256"]:
        raise BackupError(
            f"{path.name}: checksum mismatch; the database copy is damaged or "
            "was changed after the backup"
        )
    with payload.open("rb") as handle:
        magic = PAYLOAD_MAGIC[manifest["database"]["vendor"]]
        if handle.read(len(magic)) != magic:
            raise BackupError(
                f"{path.name}: the database copy is not a {manifest['database']['vendor']} database"
            )
    return manifest, payload


def _check_manifest(path: Path, manifest: Any) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path.name} is not a carebench backup: wrong manifest format")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"{path.name}: backup format version {manifest.get('version')!r} is "
            f"not supported (this carebench reads version {VERSION})"
        )
    database = manifest.get("database")
    payload = manifest.get("payload")
    if (
        not isinstance(database, dict)
        or database.get("vendor") not in PAYLOAD_NAMES
        or not isinstance(payload, dict)
        or not isinstance(payload.get("sha256"), str)
        or payload.get("name") != PAYLOAD_NAMES[database["vendor"]]
    ):
        raise BackupError(f"{path.name}: the manifest is incomplete")


def _restore_sqlite(payload: Path) -> Path | None:
    """Replace the SQLite file with `payload` atomically; keep the old one as a hard link."""
    target = _sqlite_path()
    # Check the copy opens and is sound before it goes anywhere near the live file.
    check = sqlite3.connect(str(payload))
    try:
        if check.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError("the database copy fails SQLite's integrity check")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the database copy cannot be opened: {exc}") from exc
    finally:
        check.close()
    staged = target.with_name(f".{target.name}.restore")
    shutil.copyfile(payload, staged)
    with open(staged, "rb+") as handle:
        os.fsync(handle.fileno())
    connections.close_all()
    kept: Path | None = None
    if target.exists():
        # Fold the write-ahead log into the file; if the log survives our (last) connection
        # closing, another process has the database open.
        live = sqlite3.connect(str(target), timeout=30)
        try:
            live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            live.close()
        wal = target.with_name(target.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            staged.unlink(missing_ok=True)
            raise BackupError(
                "the database is in use by another process; stop `carebench "
                "serve` (and any workers) and try again"
            )
        kept = target.with_name(
            f"{target.name}.before-restore-{clock.now().strftime('%Y%m%dT%H%M%S')}"
        )
        try:
            os.link(target, kept)
        except OSError:
            kept = None
    os.replace(staged, target)
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    return kept


def _restore_postgresql(payload: Path) -> None:
    params, env = _pg_params()
    connections.close_all()
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            *params,
            str(payload),
        ],
        env,
    )


def _work_dir_for(vendor: str) -> Path:
    """Where to unpack: beside the SQLite file (so the final move is a rename), else temp."""
    if vendor == "sqlite":
        try:
            return _sqlite_path().parent
        except BackupError:
            pass
    return Path(tempfile.gettempdir())


def restore_backup(path: Path | str) -> tuple[dict[str, Any], Path | None]:
    """Restore a backup made by `create_backup`. Returns the manifest and, for SQLite, where
    the previous database file was kept."""
    path = Path(path)
    vendor = _vendor()
    with _temp_dir(_work_dir_for(vendor)) as work:
        manifest, payload = read_backup(path, work)
        if manifest["database"]["vendor"] != vendor:
            raise BackupError(
                f"{path.name} is a {manifest['database']['vendor']} backup; this "
                f"install uses {vendor}"
            )
        kept = _restore_sqlite(payload) if vendor == "sqlite" else None
        if vendor == "postgresql":
            _restore_postgresql(payload)
    audit.record(
        action=Action.RESTORE,
        organization_id=None,
        username="carebench",
        channel="cli",
        resource_type="Database",
        resource_id=vendor,
        detail={
            "file": str(path.resolve()),
            "sha256": manifest["payload"]["sha256"],
            "backup_created_at": manifest["created_at"],
        },
    )
    return manifest, kept
