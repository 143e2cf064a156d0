"""Read audit events commit without waiting for the disk; changes, and reads recorded inside a
change's transaction, commit durably (docs/adr/0008-read-audit-commits.md)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from carebench.audit import services
from carebench.audit.models import AuditEvent
from carebench.testing import actor_for

# The relaxed commit only applies outside a transaction, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

RELAX = {
    "postgresql": "SET LOCAL synchronous_commit TO OFF",
    "sqlite": "PRAGMA synchronous=NORMAL",
}


def _statements(record) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        record()
    return [query["sql"] for query in captured.captured_queries]


def _synchronous() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        return int(cursor.fetchone()[0])


def test_a_read_is_recorded_with_a_relaxed_commit(mat):
    actor = actor_for(mat)
    sql = _statements(lambda: services.record_for_actor(actor, action="view", resource_type="X"))
    assert RELAX[connection.vendor] in sql
    assert AuditEvent.objects.filter(action="view", resource_type="X").exists()


def test_a_change_is_recorded_with_a_durable_commit(mat):
    actor = actor_for(mat)
    sql = _statements(lambda: services.record_for_actor(actor, action="create", resource_type="X"))
    assert RELAX[connection.vendor] not in sql


def test_a_read_inside_a_change_commits_with_the_change(mat):
    actor = actor_for(mat)

    def inside() -> None:
        with transaction.atomic():
            services.record_for_actor(actor, action="view", resource_type="X")

    assert RELAX[connection.vendor] not in _statements(inside)


def test_the_setting_makes_reads_durable(mat, settings):
    settings.CAREBENCH_DURABLE_READ_AUDIT = True
    actor = actor_for(mat)
    sql = _statements(lambda: services.record_for_actor(actor, action="search", resource_type="X"))
    assert RELAX[connection.vendor] not in sql


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's synchronous pragma")
def test_sqlite_is_durable_again_after_a_read(mat):
    services.record_for_actor(actor_for(mat), action="view", resource_type="X")
    assert _synchronous() == 2  # FULL
