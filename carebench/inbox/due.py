"""Default due times for inbox items (pure: plain data in, plain data out).

STAT is due in one hour and urgent in four, whatever the kind. Routine work is due in business
days (Monday to Friday in the clinic's zone, at the same wall-clock time): a phone message the
next business day, a refill request in two, a task in three.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

PHONE = "phone"
REFILL = "refill"
TASK = "task"
ROUTINE = "routine"
URGENT = "urgent"
STAT = "stat"

HOURS_BY_PRIORITY: dict[str, int] = {STAT: 1, URGENT: 4}
ROUTINE_BUSINESS_DAYS: dict[str, int] = {PHONE: 1, REFILL: 2, TASK: 3}


def add_business_days(start: datetime, days: int, zone: str) -> datetime:
    """`start` moved forward `days` weekdays in `zone`, at the same wall-clock time."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    local = start.astimezone(ZoneInfo(zone))
    day = local.date()
    left = days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    moved = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=ZoneInfo(zone))
    return moved.astimezone(start.tzinfo)


def default_due(kind: str, priority: str, now: datetime, zone: str) -> datetime:
    """When an item of this kind and priority is due if nobody says otherwise."""
    if priority in HOURS_BY_PRIORITY:
        return now + timedelta(hours=HOURS_BY_PRIORITY[priority])
    if kind not in ROUTINE_BUSINESS_DAYS:
        raise ValueError(f"unknown kind {kind!r}")
    return add_business_days(now, ROUTINE_BUSINESS_DAYS[kind], zone)
