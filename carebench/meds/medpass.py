"""The eMAR med pass in assisted-living homes (pure; no Django): when each dose of a resident's
medicines is scheduled, which doses belong on a medication technician's pass, and the checks
made at the cart before a dose is given (hold parameters, PRN limits).

- **Schedules.** An order's frequency (a sig code such as BID or Q8H, table `FREQUENCIES`) is
  turned into wall-clock times with the home's standard pass times (`DEFAULT_PASS_TIMES`, which a
  home may change) or the order's own times (`scheduled_times`); `doses_on` says which of those
  times fall on a given day (start and stop dates, both inclusive; weekly; every other day).
- **The pass list** (`pass_list`): the doses scheduled within a window around a pass time
  (08:00 within 60 minutes either side), for the residents of the home, in room order, each with
  a status: upcoming, due, late, done (recorded, with its outcome) or away (leave or hospital).
  `missed_doses` lists, for the nurse supervisor, the doses whose window has closed unrecorded.
- **Hold parameters** ("hold if pulse < 60 or systolic < 100"): read from the order's text
  (`parse_hold`) and checked against the vital signs taken at the cart (`check_holds`).
- **PRN doses**: the minimum interval and the maximum in 24 hours (`prn_check`), and when the
  effectiveness check falls due (`effectiveness_due`).
- **Outcome codes** for the MAR and its legend (`OUTCOMES`).

Times. Every datetime in or out is timezone-aware; naive ones are refused. Arithmetic is done in
UTC (an aware datetime plus a timedelta in Python is wall-clock arithmetic, wrong across a DST
change), and a dose's `scheduled_at` is given in the home's zone. Scheduled times are wall-clock
times of the home's zone; on the days the clocks change:

- spring forward (a time that does not exist, e.g. 02:00 on the second Sunday of March in the
  US): the dose is **shifted forward by the gap** (02:00 becomes 03:00 daylight time), never
  skipped: it is then the same elapsed time after the evening's doses as on any other night, and
  a dose is not silently lost. If the shifted dose lands on another dose of the same order (an
  order with both 02:00 and 03:00), it is given once;
- fall back (a time that happens twice, e.g. 01:30 on the first Sunday of November): the dose is
  given **once, at the first occurrence** (daylight time).

Matching a record to its dose compares instants (in UTC), so a record stored in UTC matches a
dose scheduled in the home's zone.

THE ENGINE ORGANISES THE PASS; IT DOES NOT REPLACE THE FIVE RIGHTS, THE PHARMACY'S LABEL OR THE
NURSE'S JUDGEMENT.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# --- pass times and frequencies -----------------------------------------------------------------

PassTimes = Mapping[str, time]
"""A home's standard pass times: slot name -> wall-clock time."""

DEFAULT_PASS_TIMES: PassTimes = MappingProxyType(
    {
        "AM": time(8, 0),  # morning
        "NOON": time(12, 0),
        "PM": time(16, 0),  # afternoon
        "EVENING": time(20, 0),
        "HS": time(21, 0),  # bedtime (hora somni)
    }
)

DAILY, WEEKLY, EVERY_OTHER_DAY, AS_NEEDED = "daily", "weekly", "every other day", "as needed"


@dataclass(frozen=True)
class Frequency:
    """One sig code: the pass-time slots it uses or its fixed clock times (round-the-clock
    frequencies are given at the same times whatever the home's pass times), and how often the
    dosing days repeat."""

    code: str
    label: str
    slots: tuple[str, ...] = ()
    fixed: tuple[time, ...] = ()
    repeat: str = DAILY  # DAILY, WEEKLY, EVERY_OTHER_DAY or AS_NEEDED
    aliases: tuple[str, ...] = ()

    @property
    def doses_per_day(self) -> int:
        """Doses on a dosing day (0 for PRN)."""
        return len(self.slots) + len(self.fixed)


def _every(hours: int, first: int) -> tuple[time, ...]:
    return tuple(time(hour) for hour in range(first, 24, hours))


# The frequencies an order may use. QPM is the evening pass (20:00), not the afternoon one (PM,
# 16:00, used by QID); WEEKLY is given at the AM pass on the order's weekday (or the weekday of
# its start date); EVERY OTHER DAY counts from the start date (day 0, 2, 4...). QOD is accepted
# as a spelling of EVERY OTHER DAY (it is on ISMP's error-prone list: the MAR prints the words).
# "<code> PRN" (Q4H PRN) is a PRN order: it has no scheduled times.
FREQUENCIES: Mapping[str, Frequency] = MappingProxyType(
    {
        f.code: f
        for f in (
            Frequency("QD", "once daily", ("AM",), aliases=("DAILY", "ONCE DAILY", "EVERY DAY")),
            Frequency("QAM", "every morning", ("AM",), aliases=("EVERY MORNING",)),
            Frequency("QPM", "every evening", ("EVENING",), aliases=("EVERY EVENING",)),
            Frequency("QHS", "at bedtime", ("HS",), aliases=("HS", "AT BEDTIME", "BEDTIME")),
            Frequency("BID", "twice daily", ("AM", "EVENING"), aliases=("TWICE DAILY",)),
            Frequency(
                "TID",
                "three times daily",
                ("AM", "NOON", "EVENING"),
                aliases=("THREE TIMES DAILY",),
            ),
            Frequency(
                "QID",
                "four times daily",
                ("AM", "NOON", "PM", "HS"),
                aliases=("FOUR TIMES DAILY",),
            ),
            Frequency("Q12H", "every 12 hours", fixed=_every(12, 8)),  # 08:00, 20:00
            Frequency("Q8H", "every 8 hours", fixed=_every(8, 6)),  # 06:00, 14:00, 22:00
            Frequency("Q6H", "every 6 hours", fixed=_every(6, 0)),  # 00:00, 06:00, 12:00, 18:00
            Frequency("Q4H", "every 4 hours", fixed=_every(4, 2)),  # 02:00, 06:00 ... 22:00
            Frequency(
                "WEEKLY",
                "once a week",
                ("AM",),
                repeat=WEEKLY,
                aliases=("ONCE WEEKLY", "QWEEK", "QWK"),
            ),
            Frequency(
                "EVERY OTHER DAY",
                "every other day",
                ("AM",),
                repeat=EVERY_OTHER_DAY,
                aliases=("QOD",),
            ),
            Frequency("PRN", "as needed", repeat=AS_NEEDED, aliases=("AS NEEDED",)),
        )
    }
)


def _key(text: str) -> str:
    """'b.i.d.' -> 'BID'; 'q 4 h' -> 'Q4H'; 'every-other day' -> 'EVERYOTHERDAY'."""
    return re.sub(r"[\s.\-]+", "", text.upper())


_INDEX: Mapping[str, Frequency] = {
    _key(name): f for f in FREQUENCIES.values() for name in (f.code, *f.aliases)
}


@lru_cache(maxsize=512)
def lookup_frequency(text: str) -> Frequency:
    """The frequency a sig code names (case, dots, spaces and hyphens ignored). Raises
    ValueError naming the code and listing the known ones."""
    key = _key(text)
    found = _INDEX.get(key)
    if found is not None:
        return found
    if key.endswith("PRN") and (key == "PRN" or key[:-3] in _INDEX):
        return FREQUENCIES["PRN"]
    known = ", ".join(FREQUENCIES)
    aliases = ", ".join(a for f in FREQUENCIES.values() for a in f.aliases)
    raise ValueError(
        f"unknown frequency {text.strip()!r}: use one of {known} (also accepted: {aliases})"
    )


def scheduled_times(
    frequency: str, pass_times: PassTimes, custom_times: Sequence[time] = ()
) -> tuple[time, ...]:
    """The wall-clock times of a dosing day for an order of this frequency, in order: the
    home's pass times for the frequency's slots, its fixed times for round-the-clock ones, or
    the order's own `custom_times` (which override both, and must be as many as the frequency's
    doses a day). PRN: no times. Raises ValueError for an unknown frequency, a slot the home has
    no time for, two doses at the same time, or custom times that do not fit."""
    freq = lookup_frequency(frequency)
    if freq.repeat == AS_NEEDED:
        if custom_times:
            raise ValueError(f"{frequency.strip()!r} is PRN (as needed): it has no scheduled times")
        return ()
    if custom_times:
        times = tuple(sorted(set(custom_times)))
        if len(times) != len(custom_times):
            raise ValueError("the order's times must not repeat")
        if len(times) != freq.doses_per_day:
            raise ValueError(
                f"{freq.code} ({freq.label}) is {freq.doses_per_day} dose(s) a day, "
                f"but {len(times)} time(s) were given"
            )
        return times
    resolved: list[time] = list(freq.fixed)
    for slot in freq.slots:
        if slot not in pass_times:
            raise ValueError(
                f"the home has no {slot} pass time for {freq.code}: set one, or give the order "
                "its own times"
            )
        resolved.append(pass_times[slot])
    if len(set(resolved)) != len(resolved):
        raise ValueError(
            f"the home's pass times put two {freq.code} doses at the same time: "
            "give the order its own times"
        )
    return tuple(sorted(resolved))


# --- orders, residents, records -----------------------------------------------------------------


def _aware(at: datetime, what: str) -> datetime:
    """`at` in UTC; a naive datetime is refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class OrderSchedule:
    """A medication order as the pass needs it: `times` are already resolved (see
    `scheduled_times`); `start` and `stop` are both inclusive; `weekday` (0 = Monday) only for
    WEEKLY orders. A PRN order (`prn`, or a PRN frequency) has no scheduled doses."""

    order_id: int
    resident_id: int
    drug: str
    frequency: str
    times: tuple[time, ...]
    start: date
    stop: date | None
    prn: bool = False
    weekday: int | None = None
    # Worked out once here: the pass list asks each order for its doses on two days.
    repeat: str = field(init=False, repr=False, compare=False)
    day_times: tuple[time, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        freq = lookup_frequency(self.frequency)
        object.__setattr__(self, "repeat", freq.repeat)
        object.__setattr__(self, "day_times", tuple(sorted(set(self.times))))
        if self.weekday is not None:
            if not 0 <= self.weekday <= 6:
                raise ValueError(f"order {self.order_id}: weekday must be 0 (Monday) to 6")
            if freq.repeat != WEEKLY:
                raise ValueError(f"order {self.order_id}: a weekday is only for WEEKLY orders")
        if not self.is_prn and not self.times:
            raise ValueError(
                f"order {self.order_id} ({self.drug}): a scheduled order needs its times"
            )

    @property
    def is_prn(self) -> bool:
        return self.prn or self.repeat == AS_NEEDED


@dataclass(frozen=True)
class ResidentInfo:
    resident_id: int
    name: str
    room: str


# Outcome codes: what a MAR box says about one dose, with the legend a state surveyor expects.
# A given dose is shown with the initials of who gave it (the legend maps initials to names);
# "G" is its code in the record. Only outcomes carebench records are listed: a discontinued order
# or a self-administering resident is a property of the order, not of a dose, and a dose with no
# record at all is a missed dose (`missed_doses`), not a code.
GIVEN, REFUSED, HELD, AWAY, NOT_AVAILABLE, LATE = "G", "R", "H", "A", "N", "L"
OUTCOMES: Mapping[str, str] = MappingProxyType(
    {
        GIVEN: "Given (initials of who gave it)",
        REFUSED: "Refused by the resident",
        HELD: "Held (reason, and the vital sign for a hold parameter)",
        AWAY: "Away: leave of absence or hospital",
        NOT_AVAILABLE: "Not available (pharmacy notified)",
        LATE: "Given late (after the window; supervisor told)",
    }
)
GIVEN_OUTCOMES = frozenset({GIVEN, LATE})  # the resident took the medicine


@dataclass(frozen=True)
class DoseRecordInfo:
    """A recorded dose: `scheduled_at` is the dose it answers (None for a PRN dose). The engine
    only passes `outcome` through to `DueDose.outcome` (an `OUTCOMES` code, or the caller's own
    vocabulary); any record makes its dose DONE."""

    order_id: int
    scheduled_at: datetime | None
    outcome: str
    recorded_at: datetime

    def __post_init__(self) -> None:
        if not self.outcome.strip():
            raise ValueError("a record needs its outcome")
        if self.scheduled_at is not None:
            _aware(self.scheduled_at, "a record's scheduled time")
        _aware(self.recorded_at, "a record's time")


@dataclass(frozen=True)
class Absence:
    """Leave of absence or hospital stay, from `starts_at` up to `ends_at` (None: not back)."""

    resident_id: int
    starts_at: datetime
    ends_at: datetime | None

    def __post_init__(self) -> None:
        start = _aware(self.starts_at, "an absence's start")
        if self.ends_at is not None and _aware(self.ends_at, "an absence's end") < start:
            raise ValueError("an absence cannot end before it starts")


def given_outcome(scheduled_at: datetime, given_at: datetime, window_minutes: int = 60) -> str:
    """GIVEN, or LATE when the dose was given after its window (`scheduled_at` + window)."""
    late = _aware(given_at, "given_at") > _aware(scheduled_at, "scheduled_at") + _window(
        window_minutes
    )
    return LATE if late else GIVEN


# --- which days and times ----------------------------------------------------------------------


def doses_on(order: OrderSchedule, day: date) -> list[time]:
    """The order's wall-clock times on `day`: none before `start` or after `stop`, on the wrong
    weekday of a WEEKLY order (its `weekday`, or its start date's), on the off days of an EVERY
    OTHER DAY order (counted from `start`), or for a PRN order."""
    if order.is_prn or day < order.start or (order.stop is not None and day > order.stop):
        return []
    repeat = order.repeat
    if repeat == WEEKLY:
        weekday = order.weekday if order.weekday is not None else order.start.weekday()
        if day.weekday() != weekday:
            return []
    elif repeat == EVERY_OTHER_DAY and (day - order.start).days % 2:
        return []
    return list(order.day_times)


def _zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc


def _window(minutes: int) -> timedelta:
    if minutes < 0:
        raise ValueError("the window cannot be negative")
    return timedelta(minutes=minutes)


def _instant(day: date, at: time, tz: tzinfo) -> datetime:
    """The UTC instant of a wall-clock time: a time in the spring-forward gap is shifted forward
    by the gap (fold 0 reads it with the offset before the change); a repeated time is its
    first occurrence."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _local_days(low: datetime, high: datetime, tz: tzinfo) -> list[date]:
    """The local dates whose doses can fall in [low, high] (one day earlier too: a late-evening
    time shifted over midnight by a DST gap)."""
    first = low.astimezone(tz).date() - timedelta(days=1)
    last = high.astimezone(tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class _Instants:
    """Doses as UTC instants in one zone; each (day, time) is worked out once per call (a home's
    orders share a handful of times)."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.cache: dict[tuple[date, time, int], datetime] = {}

    def of(self, order: OrderSchedule, days: Iterable[date]) -> list[datetime]:
        """The order's doses on these days, each instant once, in order."""
        return self.on(tuple(day for day in days if doses_on(order, day)), order.day_times)

    def on(self, days: tuple[date, ...], times: tuple[time, ...]) -> list[datetime]:
        """These wall-clock times on each of these days, each instant once, in order."""
        found: set[datetime] = set()
        for day in days:
            for at in times:
                key = (day, at, at.fold)  # times compare equal whatever their fold
                instant = self.cache.get(key)
                if instant is None:
                    instant = self.cache[key] = _instant(day, at, self.tz)
                found.add(instant)
        return sorted(found)


def doses_at(order: OrderSchedule, day: date, zone: str) -> list[datetime]:
    """The order's doses on `day` as aware datetimes in the home's `zone`, as the pass list
    schedules them (a time in the spring-forward gap shifted forward, a repeated time once):
    the instants a record's `scheduled_at` must match."""
    tz = _zone(zone)
    return [at.astimezone(tz) for at in _Instants(tz).of(order, [day])]


# --- the pass list -----------------------------------------------------------------------------


class DoseStatus(StrEnum):
    UPCOMING = "upcoming"  # its window has not opened
    DUE = "due"  # within its window now, not recorded
    LATE = "late"  # its window has closed, not recorded: the supervisor is told
    DONE = "done"  # recorded (with its outcome)
    AWAY = "away"  # the resident is on leave or in hospital at the scheduled time


@dataclass(frozen=True)
class DueDose:
    order_id: int
    resident_id: int
    resident_name: str
    room: str
    drug: str
    scheduled_at: datetime  # aware, in the home's zone
    status: DoseStatus
    outcome: str | None = None  # the record's outcome code when DONE
    recorded_at: datetime | None = None

    @property
    def needs_supervisor(self) -> bool:
        return self.status is DoseStatus.LATE


_NUMBER = re.compile(r"([0-9]+)")


@lru_cache(maxsize=4096)
def room_sort_key(room: str) -> tuple[bool, tuple[tuple[int, int, str], ...]]:
    """Natural order of room names: '2' before '10', '101A' before '101B', numbers before
    letters, rooms with no name last."""
    text = room.strip().casefold()
    parts = tuple(
        (0, int(chunk), chunk) if chunk.isdigit() else (1, 0, chunk)
        for chunk in _NUMBER.split(text)
        if chunk
    )
    return (not text, parts)


def _record_index(records: Iterable[DoseRecordInfo]) -> dict[tuple[int, datetime], DoseRecordInfo]:
    """Records of scheduled doses by (order, UTC instant); the latest recorded wins."""
    index: dict[tuple[int, datetime], DoseRecordInfo] = {}
    for record in records:
        if record.scheduled_at is None:
            continue
        key = (record.order_id, record.scheduled_at.astimezone(UTC))
        current = index.get(key)
        if current is None or record.recorded_at >= current.recorded_at:
            index[key] = record
    return index


def _absence_index(
    absences: Iterable[Absence],
) -> dict[int, list[tuple[datetime, datetime | None]]]:
    index: dict[int, list[tuple[datetime, datetime | None]]] = {}
    for absence in absences:
        end = absence.ends_at.astimezone(UTC) if absence.ends_at is not None else None
        index.setdefault(absence.resident_id, []).append((absence.starts_at.astimezone(UTC), end))
    return index


def _away(spans: list[tuple[datetime, datetime | None]], at: datetime) -> bool:
    return any(start <= at and (end is None or at < end) for start, end in spans)


def _status(at: datetime, now: datetime, window: timedelta) -> DoseStatus:
    """Time alone: upcoming before at - window, due from at - window to at + window (both
    included), late after."""
    if now < at - window:
        return DoseStatus.UPCOMING
    if now <= at + window:
        return DoseStatus.DUE
    return DoseStatus.LATE


def _dose(
    order: OrderSchedule,
    person: ResidentInfo,
    local: datetime,
    status: DoseStatus,
    record: DoseRecordInfo | None = None,
) -> DueDose:
    return DueDose(
        order_id=order.order_id,
        resident_id=person.resident_id,
        resident_name=person.name,
        room=person.room,
        drug=order.drug,
        scheduled_at=local,
        status=status,
        outcome=record.outcome if record else None,
        recorded_at=record.recorded_at if record else None,
    )


def _room_order(dose: DueDose) -> tuple[object, ...]:
    return (
        room_sort_key(dose.room),
        dose.resident_name.casefold(),
        dose.resident_id,
        dose.scheduled_at.astimezone(UTC),  # same-zone datetimes compare by wall clock
        dose.drug.casefold(),
        dose.order_id,
    )


def pass_list(
    orders: Sequence[OrderSchedule],
    *,
    residents: Sequence[ResidentInfo],
    day: date,
    center: time,
    window_minutes: int = 60,
    now: datetime,
    records: Sequence[DoseRecordInfo],
    absences: Sequence[Absence],
    zone: str,
) -> list[DueDose]:
    """The doses of a pass: every scheduled dose from `center` - window to `center` + window
    (both included; `center` is a wall-clock time on `day` in the home's `zone`, so the midnight
    pass takes in the previous evening's 23:30 doses), for the `residents` listed (the home's
    census: orders of anyone else are left out), sorted by room (natural order), resident name,
    time and drug.

    Status, in this order: DONE when a record answers the dose (whatever `now` is); AWAY when an
    absence covers the scheduled time (start included, end excluded); otherwise by `now` against
    the dose's own window: UPCOMING before scheduled - window, DUE from scheduled - window to
    scheduled + window (both included), LATE after."""
    tz = _zone(zone)
    window = _window(window_minutes)
    now_utc = _aware(now, "now")
    center_at = _instant(day, center, tz)
    low, high = center_at - window, center_at + window
    days = _local_days(low, high, tz)
    instants = _Instants(tz)
    people = {person.resident_id: person for person in residents}
    done = _record_index(records)
    away = _absence_index(absences)
    # A home's orders share a handful of time lists: the doses in the window are worked out once
    # per (days the order runs, times), not once per order.
    in_window: dict[tuple[tuple[date, ...], tuple[time, ...]], list[tuple[datetime, datetime]]] = {}
    rows: list[DueDose] = []
    for order in orders:
        person = people.get(order.resident_id)
        if person is None or order.is_prn:
            continue
        key = (tuple(day for day in days if doses_on(order, day)), order.day_times)
        found = in_window.get(key)
        if found is None:
            found = in_window[key] = [
                (at, at.astimezone(tz)) for at in instants.on(*key) if low <= at <= high
            ]
        if not found:
            continue
        spans = away.get(order.resident_id, [])
        for at, local in found:
            record = done.get((order.order_id, at))
            if record is not None:
                status = DoseStatus.DONE
            elif spans and _away(spans, at):
                status = DoseStatus.AWAY
            else:
                status = _status(at, now_utc, window)
            rows.append(_dose(order, person, local, status, record))
    rows.sort(key=_room_order)
    return rows


def missed_doses(
    orders: Sequence[OrderSchedule],
    residents: Sequence[ResidentInfo],
    records: Sequence[DoseRecordInfo],
    absences: Sequence[Absence],
    *,
    since: datetime,
    now: datetime,
    window_minutes: int = 60,
    zone: str,
) -> list[DueDose]:
    """For the supervisor: every dose scheduled from `since` (included) up to `now` - window
    (excluded: a dose at exactly now - window is still DUE on the pass list) with no record, for
    the residents listed, not covered by an absence; status LATE, sorted by time, then room,
    resident and drug."""
    tz = _zone(zone)
    window = _window(window_minutes)
    since_utc = _aware(since, "since")
    until = _aware(now, "now") - window
    if until <= since_utc:
        return []
    days = _local_days(since_utc, until, tz)
    instants = _Instants(tz)
    people = {person.resident_id: person for person in residents}
    done = _record_index(records)
    away = _absence_index(absences)
    rows: list[DueDose] = []
    for order in orders:
        person = people.get(order.resident_id)
        if person is None or order.is_prn:
            continue
        spans = away.get(order.resident_id, [])
        for at in instants.of(order, days):
            if not since_utc <= at < until or (order.order_id, at) in done:
                continue
            if spans and _away(spans, at):
                continue
            rows.append(_dose(order, person, at.astimezone(tz), DoseStatus.LATE))
    rows.sort(key=lambda dose: (dose.scheduled_at.astimezone(UTC), *_room_order(dose)))
    return rows


# --- hold parameters ---------------------------------------------------------------------------

# The vitals a hold parameter may use, with the unit its limits and readings are in (US practice:
# temperature in °F), and the range a limit must fall in (a limit outside it is a slip or the
# wrong unit, e.g. a Celsius temperature).
VITALS: Mapping[str, str] = MappingProxyType(
    {
        "pulse": "beats/min",
        "systolic": "mmHg",
        "diastolic": "mmHg",
        "glucose": "mg/dL",
        "temperature": "°F",
        "respirations": "breaths/min",
        "spo2": "%",
    }
)
PLAUSIBLE_LIMITS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "pulse": (20, 250),
        "systolic": (50, 300),
        "diastolic": (20, 200),
        "glucose": (20, 600),
        "temperature": (90, 110),
        "respirations": (4, 60),
        "spo2": (50, 100),
    }
)
VITAL_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **{name: name for name in VITALS},
        "hr": "pulse",
        "heart rate": "pulse",
        "apical pulse": "pulse",
        "apical": "pulse",
        "radial pulse": "pulse",
        "sbp": "systolic",
        "sys": "systolic",
        "systolic bp": "systolic",
        "systolic blood pressure": "systolic",
        "dbp": "diastolic",
        "dia": "diastolic",
        "diastolic bp": "diastolic",
        "diastolic blood pressure": "diastolic",
        "bp": "systolic",  # "hold if bp < 100" is the systolic; "bp < 100/60" is both
        "blood pressure": "systolic",
        "bg": "glucose",
        "bs": "glucose",
        "cbg": "glucose",
        "fsbs": "glucose",
        "blood sugar": "glucose",
        "blood glucose": "glucose",
        "temp": "temperature",
        "t": "temperature",
        "resp": "respirations",
        "rr": "respirations",
        "respiratory rate": "respirations",
        "o2 sat": "spo2",
        "o2 sats": "spo2",
        "sat": "spo2",
        "sats": "spo2",
        "sao2": "spo2",
        "pulse ox": "spo2",
        "oxygen saturation": "spo2",
    }
)
OPS: Mapping[str, str] = MappingProxyType(
    {"<": "is under", "<=": "is at or under", ">": "is over", ">=": "is at or over"}
)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _number(value: Decimal | int | str, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{what}: {value!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{what}: {value!r} is not a number")
    return number


@dataclass(frozen=True)
class HoldRule:
    """Hold the dose when `vital` `op` `value` (e.g. pulse < 60), in the units of `VITALS`."""

    vital: str
    op: str
    value: Decimal

    def __post_init__(self) -> None:
        if self.vital not in VITALS:
            raise ValueError(f"{self.vital!r} is not a vital a hold can use ({', '.join(VITALS)})")
        if self.op not in OPS:
            raise ValueError(f"{self.op!r} is not a comparison ({', '.join(OPS)})")
        object.__setattr__(self, "value", _number(self.value, f"hold on {self.vital}"))

    def met_by(self, reading: Decimal) -> bool:
        if self.op == "<":
            return reading < self.value
        if self.op == "<=":
            return reading <= self.value
        if self.op == ">":
            return reading > self.value
        return reading >= self.value

    @property
    def text(self) -> str:
        """'pulse < 60'."""
        return f"{self.vital} {self.op} {_plain(self.value)}"


@dataclass(frozen=True)
class HoldCheck:
    required_vitals: tuple[str, ...]  # vitals the rules need that were not taken
    triggered: tuple[tuple[HoldRule, Decimal], ...]  # the rules met, with the reading
    message: str

    @property
    def hold(self) -> bool:
        """A hold parameter is met: the dose is held (outcome H, with the reading)."""
        return bool(self.triggered)

    @property
    def may_give(self) -> bool:
        """No hold met and every vital the rules need was taken."""
        return not self.triggered and not self.required_vitals


def hold_text(rules: Sequence[HoldRule]) -> str:
    """'hold if pulse < 60 or systolic < 100' ('' with no rules); `parse_hold` reads it back."""
    return f"hold if {' or '.join(rule.text for rule in rules)}" if rules else ""


def check_holds(rules: Sequence[HoldRule], vitals: Mapping[str, Decimal]) -> HoldCheck:
    """The hold parameters against the vitals taken (keys are vital names or their aliases;
    others are ignored). Any rule met holds the dose ("hold: pulse 52 is under 60"); a vital a
    rule needs and that was not taken must be taken before the dose can be recorded as given."""
    readings: dict[str, Decimal] = {}
    for name, value in vitals.items():
        vital = VITAL_ALIASES.get(" ".join(name.lower().split()))
        if vital is not None and value is not None:
            readings[vital] = _number(value, vital)
    required: list[str] = []
    triggered: list[tuple[HoldRule, Decimal]] = []
    for rule in rules:
        reading = readings.get(rule.vital)
        if reading is None:
            if rule.vital not in required:
                required.append(rule.vital)
        elif rule.met_by(reading):
            triggered.append((rule, reading))
    if triggered:
        message = "hold: " + "; ".join(
            f"{rule.vital} {_plain(value)} {OPS[rule.op]} {_plain(rule.value)}"
            for rule, value in triggered
        )
    elif required:
        message = f"take {' and '.join(required)} before giving ({hold_text(rules)})"
    else:
        message = ""
    return HoldCheck(tuple(required), tuple(triggered), message)


_WORD_OPS = {
    "less than or equal to": "<=",
    "greater than or equal to": ">=",
    "at or under": "<=",
    "at or below": "<=",
    "at or over": ">=",
    "at or above": ">=",
    "less than": "<",
    "under": "<",
    "below": "<",
    "greater than": ">",
    "more than": ">",
    "over": ">",
    "above": ">",
    "=<": "<=",
    "=>": ">=",
}
_OP = "|".join(re.escape(op) for op in sorted([*_WORD_OPS, *OPS], key=len, reverse=True))
_NUM = r"\d+(?:\.\d+)?"
_PART = re.compile(
    rf"^(?P<vital>[a-z][a-z0-9 ]*?)\s*(?:is\s+)?(?P<op>{_OP})\s*(?P<value>{_NUM})"
    rf"(?:\s*/\s*(?P<second>{_NUM}))?\s*(?P<unit>bpm|mmhg|mg/dl|%|°?f)?$"
)
_LEAD = re.compile(r"^(?:hold(?:\s+parameters?)?\s*:?\s*)?(?:(?:if|for|when)\s+)?")
_SPLIT = re.compile(r";|,|\n|\bor\b|\.(?=\s|$)")
_UNITS = {
    "bpm": {"pulse"},
    "mmhg": {"systolic", "diastolic"},
    "mg/dl": {"glucose"},
    "%": {"spo2"},
    "f": {"temperature"},
    "°f": {"temperature"},
}
_EXAMPLE = "write e.g. 'hold if pulse < 60 or systolic < 100'"


def _rule(part: str, vital: str, op: str, text: str) -> HoldRule:
    value = Decimal(text)
    low, high = PLAUSIBLE_LIMITS[vital]
    if not low <= value <= high:
        raise ValueError(
            f"cannot read {part!r}: {text} is not a plausible {vital} limit "
            f"({low}-{high} {VITALS[vital]})"
        )
    return HoldRule(vital, op, value)


def parse_hold(text: str) -> list[HoldRule]:
    """Hold parameters from an order's text: "hold if pulse < 60 or systolic < 100",
    "pulse<60; sbp<100", "HR less than 60, BP under 100/60" (bp N/M is systolic and
    diastolic). Conditions are joined by "or", ";", "," or a new sentence and a dose is held when
    any is met; "and" is refused (hold only when both are met? ask the prescriber). Raises
    ValueError naming the part it cannot read. No text: no rules."""
    normal = text.lower().replace("≤", "<=").replace("≥", ">=")
    rules: list[HoldRule] = []
    for raw in _SPLIT.split(normal):
        part = " ".join(raw.split())
        if not part:
            continue
        if re.search(r"\band\b|&", part):
            raise ValueError(
                f"cannot read {part!r}: 'and' is ambiguous (hold only when both are met?); "
                "ask the prescriber and write the conditions with 'or'"
            )
        condition = _LEAD.sub("", part, count=1)
        match = _PART.match(condition)
        if not match:
            raise ValueError(f"cannot read {part!r} in the hold parameters: {_EXAMPLE}")
        name = match["vital"].strip()
        vital = VITAL_ALIASES.get(name)
        if vital is None:
            raise ValueError(
                f"cannot read {part!r}: {name!r} is not a vital a hold can use "
                f"({', '.join(VITALS)})"
            )
        op = _WORD_OPS.get(match["op"], match["op"])
        unit = match["unit"]
        if match["second"] is not None:
            if name not in ("bp", "blood pressure"):
                raise ValueError(f"cannot read {part!r}: only a blood pressure is written N/M")
            found = [
                _rule(part, "systolic", op, match["value"]),
                _rule(part, "diastolic", op, match["second"]),
            ]
        else:
            found = [_rule(part, vital, op, match["value"])]
        if unit is not None and vital not in _UNITS[unit]:
            raise ValueError(f"cannot read {part!r}: {unit} is not a unit of {vital}")
        rules.extend(rule for rule in found if rule not in rules)
    return rules


# --- PRN ---------------------------------------------------------------------------------------

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class PrnCheck:
    allowed: bool
    reason: str
    next_allowed_at: datetime | None  # in the home's zone; None when allowed now


def _too_close(at: datetime, doses: Sequence[datetime], interval: timedelta) -> datetime | None:
    """The latest dose less than `interval` from `at` (before or after it)."""
    near = [dose for dose in doses if abs(at - dose) < interval]
    return max(near) if near else None


def _over_max(at: datetime, doses: Sequence[datetime], most: int) -> list[datetime] | None:
    """The earliest 24-hour window holding `at` and more than `most` doses with it: the earlier
    doses in it (first one first)."""
    everything = sorted([*doses, at])
    for start in everything:
        if start > at:
            break
        if at - start >= DAY:
            continue
        inside = [dose for dose in everything if start <= dose < start + DAY]
        if len(inside) > most:
            inside.remove(at)
            return inside
    return None


def _clock(at: datetime, tz: tzinfo, today: date) -> str:
    local = at.astimezone(tz)
    days = (local.date() - today).days
    text = local.strftime("%H:%M")
    if days == 0:
        return text
    if days == 1:
        return f"{text} tomorrow"
    if days == -1:
        return f"{text} yesterday"
    return f"{text} on {local.date().isoformat()}"


def prn_check(
    *,
    min_interval: timedelta | None,
    max_per_day: int | None,
    previous: Sequence[datetime],
    at: datetime,
    zone: str,
) -> PrnCheck:
    """May a PRN dose be given at `at`, after the doses of the same order in `previous`?

    Refused when a dose is less than `min_interval` away ("too soon: last dose 10:05, next
    allowed 14:05"; exactly the interval is allowed), or when `max_per_day` doses would be
    exceeded in **any 24 hours** (rolling, not the calendar day: a calendar day would allow four
    doses before midnight and four more after; "max 4 in 24 hours" is how a prescriber means it).
    A dose charted after `at` (a late entry) counts too. `next_allowed_at` is the earliest time
    both limits allow. Times in messages are wall-clock times in `zone`."""
    tz = _zone(zone)
    when = _aware(at, "at")
    if min_interval is not None and min_interval <= timedelta(0):
        raise ValueError("the minimum interval must be positive")
    if max_per_day is not None and max_per_day < 1:
        raise ValueError("the maximum per day must be at least 1")
    doses = sorted(_aware(dose, "a previous dose") for dose in previous)
    today = when.astimezone(tz).date()

    def clock(moment: datetime) -> str:
        return _clock(moment, tz, today)

    close = _too_close(when, doses, min_interval) if min_interval is not None else None
    crowded = _over_max(when, doses, max_per_day) if max_per_day is not None else None
    if close is None and crowded is None:
        earlier = [dose for dose in doses if dose <= when]
        parts = []
        if max_per_day is not None:
            count = sum(1 for dose in earlier if when - dose < DAY) + 1
            parts.append(f"dose {count} of at most {max_per_day} in 24 hours")
        parts.append(f"last dose {clock(earlier[-1])}" if earlier else "no earlier dose")
        return PrnCheck(True, f"allowed: {'; '.join(parts)}", None)

    candidate = when
    for _ in range(2 * len(doses) + 2):  # each step leaves one dose behind for good
        if min_interval is not None:
            last = _too_close(candidate, doses, min_interval)
            if last is not None:
                candidate = last + min_interval
                continue
        if max_per_day is not None:
            window = _over_max(candidate, doses, max_per_day)
            if window is not None:
                candidate = window[0] + DAY
                continue
        break
    reasons = []
    if close is not None:
        if close <= when:
            reasons.append(f"too soon: last dose {clock(close)}")
        else:
            reasons.append(f"too soon: a dose is charted at {clock(close)}")
    if crowded is not None:
        times = ", ".join(clock(dose) for dose in crowded)
        reasons.append(f"maximum reached: {max_per_day} doses in 24 hours ({times})")
    return PrnCheck(
        False, f"{'; '.join(reasons)}, next allowed {clock(candidate)}", candidate.astimezone(tz)
    )


def effectiveness_due(given_at: datetime, minutes: int = 60) -> datetime:
    """When a PRN dose's effectiveness check falls due: `minutes` (elapsed, across a DST change
    too) after it was given, in `given_at`'s zone. Homes check 30-60 minutes after."""
    if minutes <= 0:
        raise ValueError("the effectiveness check must come after the dose")
    due = _aware(given_at, "given_at") + timedelta(minutes=minutes)
    return due.astimezone(given_at.tzinfo)
