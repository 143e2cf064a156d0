"""Availability arithmetic (pure; no Django): expand recurrence rules into working intervals,
take away blocked time and booked appointments, and cut what is left into open slots.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, WEEKLY, rrule, rrulestr

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Rule:
    """One availability or blocked rule, in the facility's zone."""

    rrule: str
    start_time: time
    end_time: time
    starts_on: date
    ends_on: date | None
    zone: str
    blocked: bool = False
    key: int = 0  # the rule's id, for messages


class RuleError(ValueError):
    pass


def parse_rrule(text: str, starts_on: date) -> None:
    """Raise RuleError unless `text` is a usable RRULE (FREQ required; no COUNT-less DAILY
    forever is fine: expansion is always bounded by the asked range)."""
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "FREQ=" not in text.upper():
        raise RuleError("a recurrence rule needs FREQ, e.g. FREQ=WEEKLY;BYDAY=MO,WE,FR")
    try:
        rrulestr(text, dtstart=datetime.combine(starts_on, time(0)))
    except (ValueError, TypeError) as exc:
        raise RuleError(f"not a valid recurrence rule: {exc}") from exc


@lru_cache(maxsize=2048)
def _parsed(text: str, starts_on: date) -> rrule:
    text = text[6:] if text.upper().startswith("RRULE:") else text
    parsed = rrulestr(text, dtstart=datetime.combine(starts_on, time(0)))
    assert isinstance(parsed, rrule)
    return parsed


def _recurrence(text: str, starts_on: date, first: date) -> rrule:
    """The rule, restarted close before `first` when that gives the same days.

    dateutil walks a rule from its start, so a template begun years ago would be stepped through
    day by day on every call. A daily or weekly rule with no COUNT and no BYSETPOS repeats with
    its period (INTERVAL days or weeks), so moving its start by whole periods changes nothing.
    """
    parsed = _parsed(text, starts_on)
    if parsed._count is not None or parsed._bysetpos or parsed._freq not in (DAILY, WEEKLY):
        return parsed
    period = parsed._interval * (7 if parsed._freq == WEEKLY else 1)
    periods = (first - starts_on).days // period - 1
    if periods <= 0:
        return parsed
    moved = starts_on + timedelta(days=periods * period)
    return parsed.replace(dtstart=datetime.combine(moved, time(0)))


def occurrences(rule: Rule, range_start: date, range_end: date) -> Iterator[Interval]:
    """Each occurrence of the rule between two dates (inclusive), as aware UTC-comparable
    datetimes in the rule's zone."""
    zone = ZoneInfo(rule.zone)
    first = max(rule.starts_on, range_start)
    last = min(rule.ends_on, range_end) if rule.ends_on else range_end
    if first > last:
        return
    recurrence = _recurrence(rule.rrule, rule.starts_on, first)
    for day in recurrence.between(
        datetime.combine(first, time(0)), datetime.combine(last, time(23, 59, 59)), inc=True
    ):
        start = datetime.combine(day.date(), rule.start_time, tzinfo=zone)
        if rule.end_time <= rule.start_time:  # whole day when end is not after start
            end = datetime.combine(day.date() + timedelta(days=1), time(0), tzinfo=zone)
            if rule.end_time != rule.start_time:
                end = datetime.combine(day.date(), rule.end_time, tzinfo=zone)
        else:
            end = datetime.combine(day.date(), rule.end_time, tzinfo=zone)
        if end > start:
            yield start, end


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(base: list[Interval], remove: list[Interval]) -> list[Interval]:
    """`base` minus `remove`; both sorted and merged."""
    result: list[Interval] = []
    j = 0
    for start, end in base:
        cursor = start
        while j < len(remove) and remove[j][1] <= cursor:
            j += 1
        k = j
        while k < len(remove) and remove[k][0] < end:
            r_start, r_end = remove[k]
            if r_start > cursor:
                result.append((cursor, r_start))
            cursor = max(cursor, r_end)
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def working_intervals(rules: list[Rule], range_start: date, range_end: date) -> list[Interval]:
    open_ = merge(i for r in rules if not r.blocked for i in occurrences(r, range_start, range_end))
    closed = merge(i for r in rules if r.blocked for i in occurrences(r, range_start, range_end))
    return subtract(open_, closed)


def free_intervals(
    rules: list[Rule], busy: list[Interval], range_start: date, range_end: date
) -> list[Interval]:
    return subtract(working_intervals(rules, range_start, range_end), merge(busy))


def slots(
    free: list[Interval],
    duration: timedelta,
    *,
    step: timedelta | None = None,
    not_before: datetime | None = None,
) -> Iterator[Interval]:
    """Cut free time into slots of `duration`, on a grid of `step` (default: the duration,
    at most 15 minutes) from the start of each free interval."""
    step = step or min(duration, timedelta(minutes=15))
    for start, end in free:
        cursor = start
        if not_before and cursor < not_before:
            # move to the first grid point at or after not_before
            missed = (not_before - cursor) // step
            cursor = cursor + step * missed
            if cursor < not_before:
                cursor += step
        while cursor + duration <= end:
            yield cursor, cursor + duration
            cursor += step


def covered(working: list[Interval], start: datetime, end: datetime) -> bool:
    """Whether [start, end) lies wholly inside one working interval."""
    return any(w_start <= start and end <= w_end for w_start, w_end in working)


def rules_overlap(a: Rule, b: Rule, horizon_days: int = 366) -> Interval | None:
    """The first moment two rules' occurrences overlap within the horizon, if any."""
    first = max(a.starts_on, b.starts_on)
    last_candidates = [d for d in (a.ends_on, b.ends_on) if d]
    last = min(last_candidates) if last_candidates else first + timedelta(days=horizon_days)
    last = min(last, first + timedelta(days=horizon_days))
    if first > last:
        return None
    a_occ = list(occurrences(a, first, last))
    b_occ = list(occurrences(b, first, last))
    j = 0
    for start, end in a_occ:
        while j < len(b_occ) and b_occ[j][1] <= start:
            j += 1
        if j < len(b_occ) and b_occ[j][0] < end:
            return max(start, b_occ[j][0]), min(end, b_occ[j][1])
    return None
