"""Default due times: hours for STAT and urgent, business days for routine work."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from carebench.inbox import due

CHICAGO = ZoneInfo("America/Chicago")
ZONE = "America/Chicago"


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=CHICAGO)  # 2026-11-20 is a Friday


def test_stat_is_due_in_an_hour_whatever_the_kind():
    for kind in (due.PHONE, due.REFILL, due.TASK):
        assert due.default_due(kind, due.STAT, at(20, 16), ZONE) == at(20, 17)


def test_urgent_is_due_in_four_hours():
    assert due.default_due(due.TASK, due.URGENT, at(18, 9), ZONE) == at(18, 13)


@pytest.mark.parametrize(
    "kind,start,expected",
    [
        (due.PHONE, at(18, 10), at(19, 10)),  # Wednesday -> Thursday
        (due.REFILL, at(18, 10), at(20, 10)),  # Wednesday -> Friday
        (due.REFILL, at(20, 15), at(24, 15)),  # Friday -> Tuesday, over the weekend
        (due.TASK, at(21, 11), at(25, 11)),  # Saturday -> Wednesday
    ],
)
def test_routine_work_is_due_in_business_days(kind, start, expected):
    assert due.default_due(kind, due.ROUTINE, start, ZONE) == expected


def test_business_days_keep_the_wall_clock_across_a_daylight_saving_change():
    start = datetime(2026, 10, 30, 9, tzinfo=CHICAGO)  # Friday; clocks go back on Nov 1
    assert due.add_business_days(start, 1, ZONE) == datetime(2026, 11, 2, 9, tzinfo=CHICAGO)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        due.default_due("fax", due.ROUTINE, at(18, 9), ZONE)
