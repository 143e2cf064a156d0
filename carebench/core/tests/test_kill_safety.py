"""SIGKILL the real server during writes: every acknowledged write survives (the short run).

The full run is `bench/kill_writes.py` (10,000 writes, 20 kills). This one, in `make test`, kills
`carebench serve` (gunicorn master and workers, one process group) twice, each time after a
random number (up to 300) of acknowledged FHIR writes, with the same engine
(carebench/core/crashtest.py), on SQLite or PostgreSQL as DATABASE_URL says. The scratch
database starts as a copy of the migrated test database, so no migration runs here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from carebench.core import crashtest

# django_db: pytest-django makes the test database only for tests that ask for one.
pytestmark = [pytest.mark.live, pytest.mark.django_db]


@pytest.fixture
def databases(tmp_path: Path) -> Any:
    """(the migrated test database to copy, the scratch database); the scratch one is removed
    afterwards."""
    settings = connection.settings_dict
    test_name = str(settings["NAME"])
    template = crashtest.url_for(settings, test_name)
    if connection.vendor == "sqlite":
        scratch = crashtest.url_for(settings, str(tmp_path / "kill.sqlite3"))
    else:
        scratch = crashtest.url_for(settings, f"{test_name}_kill")
    yield template, scratch
    crashtest.drop_database(scratch)


def test_no_acknowledged_write_is_lost_when_the_server_is_killed(databases, tmp_path):
    template, scratch = databases
    report = crashtest.run(
        database_url=scratch,
        template_url=template,
        work_dir=tmp_path / "var",
        writes=300,
        repeat=2,
        clients=6,
    )
    summary = [
        (c.number, c.processes_killed, c.acknowledged, c.integrity, c.check) for c in report.cycles
    ]
    assert report.ok, summary
    assert report.refused == 0, report.refused_samples  # no write refused by a server error
    assert len(report.cycles) == 2
    # The kills hit gunicorn's master and both workers while writes were acknowledged.
    assert all(c.processes_killed == 3 for c in report.cycles), summary
    assert report.cycles[-1].check["patients_checked"] > 0, summary
