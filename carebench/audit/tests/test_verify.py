"""`carebench audit verify` finds edited and deleted events; the database refuses edits.

The tampering is done as an attacker with database access would: raw SQL, the append-only
triggers dropped first, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from carebench import cli
from carebench.audit import triggers
from carebench.audit.chain import event_hash
from carebench.audit.models import AuditEvent
from carebench.audit.verify import FIELDS
from carebench.testing import make_patient


def install_append_only_triggers() -> None:
    """The test settings leave the triggers out (Django's teardown DELETEs rows); put them in,
    inside this test's transaction, as migration audit/0002 does in a real install."""
    triggers.install(connection)


def drop_append_only_triggers() -> None:
    install_append_only_triggers()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER audit_event_no_change ON audit_auditevent")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")


def run_verify(capsys) -> tuple[int, str]:
    try:
        call_command("carebench_audit", "verify")
    except CommandError as exc:
        out = capsys.readouterr().out
        return 1, out + str(exc)
    return 0, capsys.readouterr().out


@pytest.fixture
def events(mat):
    for name in ("Ames", "Baker", "Cole", "Diaz"):
        make_patient(mat, family_name=name)
    chain = f"org-{mat.organization_id}"
    rows = list(AuditEvent.objects.filter(chain=chain).order_by("seq"))
    assert len(rows) >= 4
    return rows


def test_clean_chain_is_intact(events, capsys):
    code, out = run_verify(capsys)
    assert code == 0
    assert f"chain {events[0].chain}: {len(events)} events, ok" in out
    assert f"audit chain intact: {AuditEvent.objects.count()} events in" in out


def test_empty_database_is_intact(db, capsys):
    code, out = run_verify(capsys)
    assert code == 0
    assert "audit chain intact: 0 events in 0 chains" in out


def test_edited_event_is_named_and_exit_status_is_1(events, capsys):
    target = events[1]
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET detail = %s WHERE id = %s",
            ['{"mrn": "999999"}', target.pk],
        )
    code, out = run_verify(capsys)
    assert code == 1
    assert f"chain {target.chain}, seq {target.seq} (event id {target.pk})" in out
    assert "edited" in out
    assert "BROKEN" in out


def test_deleted_event_is_named(events, capsys):
    target = events[1]
    after = events[2]
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
    code, out = run_verify(capsys)
    assert code == 1
    assert f"chain {target.chain}, seq {target.seq} (missing event): event deleted" in out
    # the next event no longer links to the one before it
    assert f"seq {after.seq} (event id {after.pk}): link to the previous event is broken" in out


def test_cli_exit_status_is_1_when_broken(events, capsys, monkeypatch):
    monkeypatch.setattr("django.db.connections.close_all", lambda: None)
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET username = 'mallory' WHERE id = %s", [events[0].pk]
        )
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["audit", "verify"])
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert f"seq {events[0].seq} (event id {events[0].pk})" in out
    assert "audit chain BROKEN" in err


def test_database_refuses_update_and_delete(events):
    target = events[0]
    install_append_only_triggers()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET detail = 'x' WHERE id = %s", [target.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
    target.refresh_from_db()
    assert target.detail != "x"
    assert AuditEvent.objects.filter(pk=target.pk).exists()


def rehash(event_id: int) -> None:
    """What an attacker who knows the hash would do after an edit: make the row's own hash fit
    its new content (the next event still holds the old hash)."""
    row = AuditEvent.objects.filter(pk=event_id).values(*FIELDS).get()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET hash = %s WHERE id = %s", [event_hash(row), event_id]
        )


def test_edit_with_a_recomputed_hash_breaks_the_next_link(events, capsys):
    target, after = events[1], events[2]
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET patient_id = %s WHERE id = %s", [999999, target.pk]
        )
    rehash(target.pk)
    code, out = run_verify(capsys)
    assert code == 1
    assert f"seq {after.seq} (event id {after.pk}): link to the previous event is broken" in out
    assert f"seq {target.seq} (event id {target.pk})" not in out  # the edited row fits itself


def test_deleted_last_event_is_found_by_the_chain_head(events, capsys):
    last = events[-1]
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])
    code, out = run_verify(capsys)
    assert code == 1
    assert f"chain {last.chain}, seq {last.seq} (missing event): event deleted" in out


def test_cli_exit_status_is_1_when_an_event_is_deleted(events, capsys, monkeypatch):
    monkeypatch.setattr("django.db.connections.close_all", lambda: None)
    target = events[2]
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [target.pk])
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["audit", "verify"])
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert f"seq {target.seq} (missing event): event deleted" in out
    assert "audit chain BROKEN" in err
