"""The pure availability arithmetic."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from carebench.scheduling.availability import (
    Rule,
    RuleError,
    covered,
    free_intervals,
    merge,
    occurrences,
    parse_rrule,
    rules_overlap,
    slots,
    subtract,
    working_intervals,
)

TZ = "America/Chicago"
Z = ZoneInfo(TZ)
WEEKDAYS = Rule("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", time(8), time(17), date(2026, 1, 1), None, TZ)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=Z)


def test_weekday_template_opens_weekdays_only():
    # 2026-12-05 is a Saturday
    working = working_intervals([WEEKDAYS], date(2026, 12, 4), date(2026, 12, 7))
    assert working == [(at(4, 8), at(4, 17)), (at(7, 8), at(7, 17))]


def test_holiday_blocks_the_whole_day():
    holiday = Rule(
        "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=25",
        time(0),
        time(0),
        date(2026, 1, 1),
        None,
        TZ,
        blocked=True,
    )
    working = working_intervals([WEEKDAYS, holiday], date(2026, 12, 24), date(2026, 12, 25))
    assert working == [(at(24, 8), at(24, 17))]


def test_leave_blocks_part_of_a_day():
    lunch = Rule("FREQ=DAILY", time(12), time(13), date(2026, 1, 1), None, TZ, blocked=True)
    working = working_intervals([WEEKDAYS, lunch], date(2026, 12, 7), date(2026, 12, 7))
    assert working == [(at(7, 8), at(7, 12)), (at(7, 13), at(7, 17))]


def test_booked_time_is_not_free_and_slots_step_on_grid():
    busy = [(at(7, 9), at(7, 9, 30))]
    free = free_intervals([WEEKDAYS], busy, date(2026, 12, 7), date(2026, 12, 7))
    first = list(slots(free, timedelta(minutes=30)))[:4]
    assert first[0] == (at(7, 8), at(7, 8, 30))
    assert (at(7, 9), at(7, 9, 30)) not in first
    # 15-minute grid: 8:00, 8:15, 8:30, then 9:30 after the booked half hour
    assert first[3] == (at(7, 9, 30), at(7, 10))


def test_slots_respect_not_before():
    free = [(at(7, 8), at(7, 10))]
    got = list(slots(free, timedelta(minutes=30), not_before=at(7, 8, 40)))
    assert got[0] == (at(7, 8, 45), at(7, 9, 15))


def test_covered():
    working = [(at(7, 8), at(7, 12))]
    assert covered(working, at(7, 11), at(7, 12))
    assert not covered(working, at(7, 11, 45), at(7, 12, 15))


def test_merge_and_subtract():
    a = merge([(at(1, 8), at(1, 10)), (at(1, 9), at(1, 11))])
    assert a == [(at(1, 8), at(1, 11))]
    assert subtract(a, [(at(1, 9), at(1, 10))]) == [(at(1, 8), at(1, 9)), (at(1, 10), at(1, 11))]


def test_overlapping_templates_are_found():
    mornings = Rule("FREQ=WEEKLY;BYDAY=MO", time(7), time(9), date(2026, 1, 1), None, TZ)
    assert rules_overlap(WEEKDAYS, mornings) is not None
    evenings = Rule("FREQ=WEEKLY;BYDAY=MO", time(17), time(19), date(2026, 1, 1), None, TZ)
    assert rules_overlap(WEEKDAYS, evenings) is None


def test_daylight_saving_keeps_wall_clock_hours():
    # 2026-03-09 is the Monday after DST starts in the US
    working = working_intervals([WEEKDAYS], date(2026, 3, 6), date(2026, 3, 9))
    assert [s.hour for s, _ in working] == [8, 8]


@pytest.mark.parametrize("text", ["BYDAY=MO", "FREQ=SOMETIMES", "FREQ=WEEKLY;BYDAY=XX"])
def test_bad_rrules_are_refused(text):
    with pytest.raises(RuleError):
        parse_rrule(text, date(2026, 1, 1))


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=WEEKLY;BYDAY=MO;COUNT=200",
        "FREQ=MONTHLY;BYDAY=1MO",
    ],
)
def test_restarting_a_long_rule_gives_the_same_days(text):
    from dateutil.rrule import rrulestr

    rule = Rule(text, time(8), time(12), date(2019, 3, 5), None, TZ)
    got = [s.date() for s, _ in occurrences(rule, date(2026, 11, 1), date(2026, 12, 31))]
    every = rrulestr(text, dtstart=datetime(2019, 3, 5))
    want = [
        d.date()
        for d in every.between(datetime(2026, 11, 1), datetime(2026, 12, 31, 23, 59), inc=True)
    ]
    assert got == want
