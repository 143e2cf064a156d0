import pytest
from django.db import connection, transaction

from carebench.audit import services
from carebench.audit.chain import GENESIS_HASH, event_hash
from carebench.audit.models import AuditEvent
from carebench.audit.verify import verify_all, verify_chain


def _record(org_id, n=1):
    return [
        services.record(
            action="view",
            organization_id=org_id,
            username="u",
            patient_id=7,
            resource_type="Patient",
            resource_id=7,
        )
        for _ in range(n)
    ]


def test_events_chain_by_hash_per_organization(org, other_org):
    first, second = _record(org.pk, 2)
    elsewhere = _record(other_org.pk)[0]
    assert first.prev_hash == GENESIS_HASH and first.seq == 1
    assert second.prev_hash == first.hash and second.seq == 2
    assert elsewhere.seq == 1 and elsewhere.chain != first.chain


def test_stored_row_rehashes_to_its_hash(org):
    event = _record(org.pk)[0]
    row = AuditEvent.objects.filter(pk=event.pk).values().get()
    assert event_hash(row) == row["hash"]


def test_clean_chain_verifies(org):
    _record(org.pk, 5)
    reports = verify_all()
    assert all(not r.problems for r in reports)
    assert sum(r.events for r in reports) >= 5


def test_model_refuses_update_and_delete(org):
    event = _record(org.pk)[0]
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_database_refuses_update_and_delete(org):
    from carebench.audit import triggers

    event = _record(org.pk)[0]
    triggers.install(connection)
    for sql in (
        "UPDATE audit_auditevent SET detail = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])


def _drop_triggers():
    from carebench.audit import triggers

    triggers.remove(connection)


def test_verify_names_an_edited_event(org):
    events = _record(org.pk, 3)
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET username = 'someone-else' WHERE id = %s", [events[1].pk]
        )
    report = verify_chain(events[1].chain)
    assert [(p.seq, p.event_id) for p in report.problems] == [(2, events[1].pk)]
    assert "edited" in str(report.problems[0])


def test_verify_names_a_deleted_event(org):
    events = _record(org.pk, 3)
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    problems = verify_chain(events[0].chain).problems
    assert any(p.seq == 2 and "deleted" in p.message for p in problems)


def test_verify_finds_a_deleted_last_event(org):
    events = _record(org.pk, 3)
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    problems = verify_chain(events[0].chain).problems
    assert [p.seq for p in problems] == [3]
