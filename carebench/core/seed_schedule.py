"""The bench seeder's clock and clinic day: clinic-local times as the text a datetime column
stores, the slots of a clinic day and `Schedule`, which hands them out without ever booking a
provider twice at once, and the facts of the seeded organization that every chunk uses
(`Clinic`). See docs/subsystems/seed.md for the layout of a day.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from .seed_rows import Dice

# --- time ----------------------------------------------------------------------------------------


class Clock:
    """Clinic-local (day ordinal, minute of the day) to the text a datetime column stores in UTC:
    SQLite 'YYYY-MM-DD HH:MM:SS' (as Django writes it), PostgreSQL with '+00:00'."""

    def __init__(self, zone: ZoneInfo, vendor: str) -> None:
        self.zone = zone
        suffix = "+00:00" if vendor == "postgresql" else ""
        self._hm = [f" {m // 60:02d}:{m % 60:02d}:00{suffix}" for m in range(1440)]
        self._dates: dict[int, str] = {}
        self._offsets: dict[int, int] = {}
        self._cache: dict[int, str] = {}

    def date(self, ordinal: int) -> str:
        text = self._dates.get(ordinal)
        if text is None:
            text = self._dates[ordinal] = date.fromordinal(ordinal).isoformat()
        return text

    def at(self, ordinal: int, minute: int) -> str:
        key = (ordinal << 12) + minute
        text = self._cache.get(key)
        if text is None:
            if len(self._cache) > 400_000:  # bounded: a million patients span many days
                self._cache.clear()
            text = self._cache[key] = self._at(ordinal, minute)
        return text

    def _at(self, ordinal: int, minute: int) -> str:
        offset = self._offsets.get(ordinal)
        if offset is None:
            noon = datetime.combine(date.fromordinal(ordinal), time(12), self.zone)
            delta = noon.utcoffset() or timedelta(0)
            offset = self._offsets[ordinal] = -int(delta.total_seconds() // 60)
        minute += offset
        while minute >= 1440:
            ordinal, minute = ordinal + 1, minute - 1440
        while minute < 0:
            ordinal, minute = ordinal - 1, minute + 1440
        return self.date(ordinal) + self._hm[minute]

    def instant(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone)
        return self.at(local.toordinal(), local.hour * 60 + local.minute)


# --- the clinic day ----------------------------------------------------------------------------

PROVIDERS = 40
SHORT_CELLS = 20  # per provider: 09:20-12:00 and 13:00-17:00 in 20-minute cells
LONG_PAIRS = 2  # per provider: 08:00-08:40 and 08:40-09:20, the 40-minute visits
SHORT_SLOTS = PROVIDERS * SHORT_CELLS
LONG_SLOTS = PROVIDERS * LONG_PAIRS
PAST_FILL = 0.85  # how full a past day may get
FUTURE_FILL = 0.45  # future days keep more than half their slots free for bookings
FUTURE_DAYS = 112  # appointments are booked up to 16 weeks ahead
PAST_VISITS_PER_PATIENT = 1.95  # a little above the mean, to size the history


def short_start(cell: int) -> int:
    """Minute of the day a short-visit cell starts."""
    return 560 + 20 * cell if cell < 8 else 780 + 20 * (cell - 8)


def weekdays(first: int, last: int) -> list[int]:
    """Ordinals of the Monday-Friday days from `first` to `last` (both included)."""
    return [o for o in range(first, last + 1) if date.fromordinal(o).weekday() < 5]


def history_weekdays(patients: int) -> int:
    """How many weekdays of history hold this many patients' visits at about 60% full (two
    years at least: the providers' templates start two years back)."""
    needed = int(patients * PAST_VISITS_PER_PATIENT / ((SHORT_SLOTS + LONG_SLOTS) * 0.6)) + 1
    return max(needed, 522)


class Schedule:
    """Hands out appointment slots: per weekday a count of used slots in each pool (short and
    long visits), slot `n` of a day being a fixed permutation of (provider, cell). Slots taken
    by anything else (bookings made after an earlier seeding) are skipped on future days."""

    def __init__(
        self,
        past_days: list[int],
        future_days: list[int],
        used: Counter[tuple[int, bool]],
        taken: dict[tuple[int, int], list[tuple[int, int]]],
    ) -> None:
        self.past_days = past_days
        self.future_days = future_days
        self.used = used
        self.taken = taken

    def _slot(self, ordinal: int, long: bool, cap: int) -> tuple[int, int] | None:
        """(provider index, start minute) of the next free slot of the day, or None when full."""
        key = (ordinal, long)
        count = self.used[key]
        while count < cap:
            if long:
                position = (count * 27 + ordinal * 7) % LONG_SLOTS
                provider, start, minutes = position % PROVIDERS, 480 + 40 * (position // 40), 40
            else:
                position = (count * 263 + ordinal * 7919) % SHORT_SLOTS
                provider, start, minutes = position % PROVIDERS, short_start(position // 40), 20
            count += 1
            busy = self.taken.get((ordinal, provider))
            if busy and any(s < start + minutes and start < e for s, e in busy):
                continue
            self.used[key] = count
            return provider, start
        self.used[key] = count
        return None

    def past(
        self, rng: Dice, after: int, long: bool, avoid: set[int]
    ) -> tuple[int, int, int] | None:
        """A past slot on a weekday after `after` (the day of birth) not in `avoid`."""
        days = self.past_days
        low = bisect_left(days, after + 1)
        span = len(days) - low
        if span <= 0:
            return None
        cap = int((LONG_SLOTS if long else SHORT_SLOTS) * PAST_FILL)
        for _ in range(6):
            ordinal = days[low + int(rng.random() * span)]
            if ordinal in avoid:
                continue
            found = self._slot(ordinal, long, cap)
            if found is not None:
                return ordinal, found[0], found[1]
        return None

    def future(self, rng: Dice, long: bool) -> tuple[int, int, int] | None:
        days = self.future_days
        cap = int((LONG_SLOTS if long else SHORT_SLOTS) * FUTURE_FILL)
        for _ in range(6):
            ordinal = days[int(rng.random() * len(days))]
            found = self._slot(ordinal, long, cap)
            if found is not None:
                return ordinal, found[0], found[1]
        return None


# --- the organization as the chunks see it ------------------------------------------------------


@dataclass(frozen=True)
class VaccineStock:
    product_id: int
    name: str
    vaccine_code_id: int
    manufacturer_id: int
    ndc: str
    dose: str
    cpt: str
    vis: str
    lot_id: int
    lot_number: str
    expires_on: str


@dataclass(frozen=True)
class LabTestInfo:
    id: int
    code: str
    name: str
    loinc: str
    container: str
    min_volume_ml: str
    fasting_required: bool
    timing_note: str
    performed: str


@dataclass(frozen=True)
class TubePlan:
    container: str
    volume_ml: str
    sequence: int
    tests: tuple[int, ...]  # positions in the order's tests
    label: str  # "Lavender top (EDTA): CBCD, A1C", the label event's detail


@dataclass
class Clinic:
    """Ids and facts of the seeded organization that every chunk uses."""

    vendor: str
    seed: int
    organization_id: int
    facility_id: int
    facility_name: str
    zone: ZoneInfo
    anchor: date  # the first seeding day: visits before it are history, after it bookings
    chosen: date  # the full future day (1,000 visits), kept out of the general schedule
    mat_id: int
    frontdesk_id: int
    biller_id: int
    providers: list[tuple[int, int]]  # (provider id, its user id) in provider order
    visit_types: dict[str, tuple[int, int]]  # name -> (id, minutes)
    exam_rooms: list[int]
    lab_room: int
    ekg_room: int
    payers: dict[str, int]
    lab_tests: dict[str, LabTestInfo]
    vaccines: dict[str, VaccineStock]
    fees: dict[str, int]  # code -> cents
    code_labels: dict[str, str]
    icd_descriptions: dict[str, str]
