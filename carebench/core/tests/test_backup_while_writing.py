"""`carebench backup` while clients keep writing, then `carebench restore` into a fresh database.

Once for the module: a scratch copy of the migrated test database is served by `carebench serve`
(gunicorn); four client threads write patients and vital signs through the FHIR API and keep a
ledger of every acknowledged write (carebench/core/crashtest.py). When some writes are in, the
ledger is noted, `carebench backup` runs as a separate process while the writes go on, and the
ledger is noted again when it ends. The archive is then restored with `carebench restore` into
a new, empty database. On SQLite the source also holds 24 MB of ballast, more than one step of
SQLite's stepwise online backup, which starts again whenever another connection writes: the copy
must still finish under steady writes. PostgreSQL backups go through pg_dump and pg_restore.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection

from carebench.core import crashtest

# django_db: pytest-django makes the test database only for tests that ask for one.
pytestmark = [pytest.mark.live, pytest.mark.django_db]

CLIENTS = 4
WRITES_BEFORE_BACKUP = 40
BALLAST_ROWS = 6000  # x 4,000 bytes: 24 MB
# Tables the restore itself writes to: `carebench restore` appends its audit event.
RESTORE_WRITES = {"audit_auditevent", "audit_auditchainhead"}


def add_ballast(path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(str(path))
    try:
        conn.execute("CREATE TABLE crashtest_ballast (id INTEGER PRIMARY KEY, data BLOB)")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO crashtest_ballast (data) SELECT randomblob(4000) FROM n",
            [BALLAST_ROWS],
        )
        conn.commit()
    finally:
        conn.close()


def acknowledged(snapshot: dict[str, Any]) -> int:
    return len(snapshot["patients"]) + len(snapshot["observations"])


@pytest.fixture(scope="module")
def backed_up(django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("backup-while-writing")
    settings = connection.settings_dict
    test_name = str(settings["NAME"])
    template = crashtest.url_for(settings, test_name)
    if connection.vendor == "sqlite":
        source = crashtest.url_for(settings, str(work / "source.sqlite3"))
        restored = crashtest.url_for(settings, str(work / "restored.sqlite3"))
    else:
        source = crashtest.url_for(settings, f"{test_name}_crash_source")
        restored = crashtest.url_for(settings, f"{test_name}_crash_restored")
    try:
        token = crashtest.prepare(source, work / "var", template_url=template)
        if connection.vendor == "sqlite":
            add_ballast(crashtest.sqlite_path(source))
        env = crashtest.carebench_env(source, work / "var")
        server = crashtest.Server(env, work, port=crashtest.free_port(), workers=2, threads=4)
        ledger = crashtest.Ledger()
        ledger.quota = 1_000_000
        writers = crashtest.Writers(server.url, token, ledger, clients=CLIENTS, seed=20261123)
        server.start()
        try:
            server.wait_ready()
            writers.start()
            ledger.wait_for_acks(WRITES_BEFORE_BACKUP, timeout=600, stop=writers.stop_event)
            before = ledger.snapshot()
            archive = work / "during-writes.cbk"
            crashtest.carebench(env, "backup", str(archive))
            after = ledger.snapshot()
        finally:
            writers.stop()
            writers.join()
            server.stop()
        refused = list(ledger.refused)

        restored_env = crashtest.carebench_env(restored, work / "restored-var")
        crashtest.recreate_database(restored)
        crashtest.carebench(restored_env, "restore", str(archive), "--yes")
        ledger_path = work / "before-backup.json"
        ledger.save(ledger_path, before)
        check = crashtest.run_checker(restored_env, ledger_path)
        checksums = crashtest.run_checksums(restored_env)
        with tarfile.open(archive) as tar:
            handle = tar.extractfile("manifest.json")
            assert handle is not None
            manifest = json.load(handle)
        sqlite_state = None
        if connection.vendor == "sqlite":
            sqlite_state = crashtest.sqlite_checks(crashtest.sqlite_path(restored))
        yield SimpleNamespace(
            before=before,
            after=after,
            refused=refused,
            check=check,
            checksums=checksums,
            manifest=manifest,
            sqlite_state=sqlite_state,
        )
    finally:
        crashtest.drop_database(source)
        crashtest.drop_database(restored)


def test_writes_go_on_without_error_while_the_backup_runs(backed_up):
    assert acknowledged(backed_up.after) > acknowledged(backed_up.before)
    assert backed_up.refused == []


def test_every_write_acknowledged_before_the_backup_is_restored_unchanged(backed_up):
    check = backed_up.check
    assert check["patients_checked"] + check["observations_checked"] >= WRITES_BEFORE_BACKUP
    assert (check["lost"], check["problems"]) == ([], [])


def test_nothing_sent_after_the_backup_ended_is_in_it(backed_up):
    # Each client has at most one write in flight when the backup ends.
    assert backed_up.check["rows"]["patients"] <= len(backed_up.after["patients"]) + CLIENTS


def test_the_restored_audit_chains_verify(backed_up):
    assert backed_up.check["audit_ok"], backed_up.check["audit_report"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own checks")
def test_the_restored_sqlite_file_passes_integrity_and_foreign_key_checks(backed_up):
    assert backed_up.sqlite_state == ("ok", [])


def test_the_restored_tables_have_the_manifests_rows_and_checksums(backed_up):
    manifest_tables = backed_up.manifest["tables"]
    restored = backed_up.checksums
    assert set(restored) == set(manifest_tables)
    differing = [
        name
        for name in manifest_tables
        if name not in RESTORE_WRITES and restored[name] != manifest_tables[name]
    ]
    assert differing == []
    assert manifest_tables["patients_patient"]["rows"] >= len(backed_up.before["patients"])
    # the restore's own audit event, and nothing else, was added
    events = "audit_auditevent"
    assert restored[events]["rows"] == manifest_tables[events]["rows"] + 1
