"""What vaccines are due: a simplified forecast from rules kept as data (pure: no Django).

Input: date of birth, sex, the as-of date, the immunization history (given here or reported
elsewhere) as (CVX code or vaccine group, date given), and optional flags (`pregnant`,
`immunocompromised`). Output: per vaccine group a status (up to date, due now, overdue, not yet
due, complete, not recommended by age, needs clinician review), the number of the next dose and
how many the series has, the earliest and the recommended date of the next dose, the date it
becomes overdue, and the reason in plain words.

The rules are in `data/schedule.json` (dose series with minimum ages, minimum intervals,
recommended ages and intervals), following the CDC child/adolescent and adult immunization
schedules for 2025 as carebench's authors read them, for the routine vaccines: hepatitis B,
DTaP/Tdap/Td, pneumococcal, MMR, varicella, hepatitis A, HPV, influenza, zoster and COVID-19.

THIS IS A SIMPLIFICATION AND A CLINICIAN DECIDES. In particular:
- no contraindications or precautions (allergies, egg, latex, prior reactions, blood products,
  recent live vaccines and the 28-day spacing between live vaccines);
- no risk-based indications (medical conditions, jobs, travel, outbreaks): the `pregnant` and
  `immunocompromised` flags only turn the groups they affect into "needs clinician review";
- catch-up is approximated: the next dose is due at the later of its routine age and the minimum
  interval; CDC's catch-up tables (reduced PCV series by age at first dose, Tdap catch-up from 7,
  the HPV third dose after a too-early second dose) are not modeled beyond what the data says;
- no product-specific series (Heplisav-B 2 doses, Recombivax 2-dose adolescent, Twinrix
  accelerated, MenB/MenACWY, Hib and rotavirus are not forecast at all): such doses ask for review;
- doses given too early (before the minimum age or interval, less CDC's 4-day grace) do not
  count and are listed as invalid; the next dose is spaced from the last valid dose only;
- influenza and COVID-19 seasons run July 1 - June 30; the COVID-19 recommendation changes every
  season and is shown as "needs clinician review" unless a dose was given this season.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from carebench.terminology.cdc import normalize_cvx, read_cvx_groups

SCHEDULE_FILE = Path(__file__).resolve().parent / "data" / "schedule.json"
FLAGS = frozenset({"pregnant", "immunocompromised"})


class Status(StrEnum):
    UP_TO_DATE = "up to date"
    DUE = "due now"
    OVERDUE = "overdue"
    NOT_YET_DUE = "not yet due"
    COMPLETE = "complete"
    NOT_RECOMMENDED = "not recommended by age"
    REVIEW = "needs clinician review"


@dataclass(frozen=True)
class Dose:
    """One dose in the history: `vaccine` is a CVX code ('03', '187') or a group ('FLU')."""

    vaccine: str
    given: date


@dataclass(frozen=True)
class GroupForecast:
    group: str
    label: str
    status: Status
    reason: str
    dose_number: int | None = None  # the next dose's number in its series
    doses_in_series: int | None = None
    earliest: date | None = None
    recommended: date | None = None
    overdue_from: date | None = None
    invalid_doses: tuple[date, ...] = ()

    @property
    def needs_clinician(self) -> bool:
        return self.status is Status.REVIEW


@dataclass(frozen=True)
class Forecast:
    as_of: date
    groups: tuple[GroupForecast, ...]
    not_forecast: tuple[Dose, ...] = ()  # vaccines this forecast does not cover (Hib, polio, 999)

    def get(self, group: str) -> GroupForecast:
        for item in self.groups:
            if item.group.lower() == group.lower():
                return item
        raise KeyError(group)


# --- data ------------------------------------------------------------------------------------

_DURATION = re.compile(r"^(\d+)([dwmy])$")


@lru_cache(maxsize=256)
def duration(text: str) -> relativedelta:
    """'6w' -> 6 weeks; units d, w, m (calendar months), y."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 28d, 6w, 2m, 4y)")
    n, unit = int(match.group(1)), match.group(2)
    return {
        "d": relativedelta(days=n),
        "w": relativedelta(weeks=n),
        "m": relativedelta(months=n),
        "y": relativedelta(years=n),
    }[unit]


def load_schedule(path: Path = SCHEDULE_FILE) -> dict[str, Any]:
    schedule: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schedule


@lru_cache(maxsize=1)
def _default_schedule() -> dict[str, Any]:
    return load_schedule()


@lru_cache(maxsize=1)
def _default_cvx_groups() -> dict[str, tuple[str, ...]]:
    return read_cvx_groups()


# --- history ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Given:
    given: date
    cvx: str | None  # None when the history names only a group
    groups: frozenset[str]


def _resolve(
    history: Iterable[Dose | tuple[str, date]],
    cvx_groups: Mapping[str, tuple[str, ...]],
    known_groups: set[str],
    birth: date,
    as_of: date,
) -> tuple[list[_Given], list[Dose]]:
    by_name = {g.lower(): g for g in known_groups}
    resolved: list[_Given] = []
    not_forecast: list[Dose] = []
    for item in history:
        dose = item if isinstance(item, Dose) else Dose(str(item[0]), item[1])
        if dose.given < birth:
            raise ValueError(f"history: {dose.vaccine} on {dose.given} is before the birth date")
        if dose.given > as_of:
            continue  # recorded ahead of the as-of date: not given yet at that date
        code = dose.vaccine.strip()
        if code.isdigit():
            cvx = normalize_cvx(code)
            groups = cvx_groups.get(cvx)
            if not groups:
                not_forecast.append(dose)
                continue
            resolved.append(_Given(dose.given, cvx, frozenset(groups)))
        elif code.lower() in by_name:
            resolved.append(_Given(dose.given, None, frozenset({by_name[code.lower()]})))
        else:
            raise ValueError(f"history: {dose.vaccine!r} is neither a CVX code nor a vaccine group")
    resolved.sort(key=lambda g: g.given)
    return resolved, not_forecast


# --- evaluation ------------------------------------------------------------------------------


@dataclass
class _Context:
    birth: date
    as_of: date
    grace: timedelta
    overdue_grace: relativedelta

    def at(self, age: str) -> date:
        return self.birth + duration(age)

    def age_below(self, on: date, age: str) -> bool:
        return on < self.at(age)


@dataclass
class _Series:
    valid: list[date] = field(default_factory=list)
    invalid: list[tuple[date, str]] = field(default_factory=list)
    complete: bool = False


def _minimum(spec: Mapping[str, Any], valid: list[date], ctx: _Context) -> tuple[date, str]:
    """The earliest valid date of a dose, and what sets it."""
    bounds: list[tuple[date, str]] = [(ctx.birth, "birth")]
    if "min_age" in spec:
        bounds.append((ctx.at(spec["min_age"]), f"the minimum age ({_words(spec['min_age'])})"))
    if valid and "min_interval" in spec:
        bounds.append(
            (
                valid[-1] + duration(spec["min_interval"]),
                f"the minimum interval ({_words(spec['min_interval'])} after the previous dose)",
            )
        )
    if valid and "min_interval_from_first" in spec:
        bounds.append(
            (
                valid[0] + duration(spec["min_interval_from_first"]),
                f"the minimum interval ({_words(spec['min_interval_from_first'])} after dose 1)",
            )
        )
    return max(bounds, key=lambda b: b[0])


def _not_needed(spec: Mapping[str, Any], valid: list[date], ctx: _Context) -> bool:
    age = spec.get("not_needed_if_previous_age_at_least")
    return bool(age and valid and valid[-1] >= ctx.at(age))


def _evaluate(doses: list[Mapping[str, Any]], given: list[date], ctx: _Context) -> _Series:
    series = _Series()
    for when in given:
        n = len(series.valid)
        if n >= len(doses) or _not_needed(doses[n], series.valid, ctx):
            break
        minimum, why = _minimum(doses[n], series.valid, ctx)
        if when >= minimum - ctx.grace:
            series.valid.append(when)
        else:
            series.invalid.append((when, why))
    n = len(series.valid)
    series.complete = n >= len(doses) or _not_needed(doses[n], series.valid, ctx)
    return series


@dataclass
class _Next:
    number: int
    total: int
    earliest: date
    recommended: date
    overdue: date | None


def _next_dose(doses: list[Mapping[str, Any]], series: _Series, ctx: _Context) -> _Next:
    n = len(series.valid)
    spec = doses[n]
    earliest, _ = _minimum(spec, series.valid, ctx)
    recommended = [earliest]
    overdue = []
    if "rec_age" in spec:
        recommended.append(ctx.at(spec["rec_age"]))
    if series.valid and "rec_interval" in spec:
        recommended.append(series.valid[-1] + duration(spec["rec_interval"]))
    if series.valid and "rec_interval_from_first" in spec:
        recommended.append(series.valid[0] + duration(spec["rec_interval_from_first"]))
    rec = max(recommended)
    if "overdue_age" in spec:
        overdue.append(ctx.at(spec["overdue_age"]))
    if series.valid and "overdue_interval" in spec:
        overdue.append(series.valid[-1] + duration(spec["overdue_interval"]))
    due_by = max([*overdue, rec + ctx.overdue_grace]) if overdue else None
    return _Next(n + 1, len(doses), earliest, rec, due_by)


def _timing(nxt: _Next, ctx: _Context) -> tuple[Status, str]:
    if ctx.as_of < nxt.recommended:
        if nxt.earliest < nxt.recommended:
            text = f"Not yet due: recommended from {nxt.recommended} (earliest {nxt.earliest})."
        else:
            text = f"Not yet due: from {nxt.recommended}."
        return Status.NOT_YET_DUE, text
    if nxt.overdue is not None and ctx.as_of >= nxt.overdue:
        return Status.OVERDUE, f"Overdue since {nxt.overdue} (recommended {nxt.recommended})."
    return Status.DUE, f"Due now (recommended from {nxt.recommended})."


def _invalid_text(invalid: list[tuple[date, str]]) -> str:
    return " ".join(
        f"The dose on {when} does not count: it was given before {why}." for when, why in invalid
    )


def _result(
    group: Mapping[str, Any],
    status: Status,
    reason: str,
    nxt: _Next | None = None,
    invalid: list[tuple[date, str]] | None = None,
) -> GroupForecast:
    bad = invalid or []
    text = " ".join(part for part in (reason, _invalid_text(bad)) if part)
    return GroupForecast(
        group=group["key"],
        label=group["label"],
        status=status,
        reason=text,
        dose_number=nxt.number if nxt else None,
        doses_in_series=nxt.total if nxt else None,
        earliest=nxt.earliest if nxt else None,
        recommended=nxt.recommended if nxt else None,
        overdue_from=nxt.overdue if nxt else None,
        invalid_doses=tuple(when for when, _ in bad),
    )


def _select_variant(
    group: Mapping[str, Any], given: list[_Given], ctx: _Context
) -> tuple[Mapping[str, Any], str | None]:
    """The variant of the series that applies, and the age its band starts at (if any)."""
    on = ctx.as_of
    if group.get("select_by") == "first_dose_age" and given:
        on = given[0].given
    band_start = None
    for variant in group["variants"]:
        below = variant.get("age_below")
        if below is None or ctx.age_below(on, below):
            return variant, band_start
        band_start = below
    return group["variants"][-1], band_start


def _series_group(group: Mapping[str, Any], given: list[_Given], ctx: _Context) -> GroupForecast:
    variant, band_start = _select_variant(group, given, ctx)
    describe = variant.get("describe", "")
    born_before = variant.get("presumed_immune_born_before")
    if born_before and ctx.birth.year < born_before:
        return _result(
            group,
            Status.COMPLETE,
            f"Born before {born_before}: presumed immune (CDC counts this as evidence of "
            f"immunity). Rule: {describe}.",
        )
    counts_cvx = set(variant.get("counts_cvx", ()))
    ignore_cvx: Mapping[str, str] = variant.get("ignore_cvx", {})
    review_cvx: Mapping[str, str] = variant.get("review_cvx", {})
    notes: list[str] = []
    review: list[str] = []
    counted: list[date] = []
    for g in given:
        if "counts_from_age" in variant and ctx.age_below(g.given, variant["counts_from_age"]):
            continue
        if g.cvx is not None and g.cvx in ignore_cvx:
            notes.append(ignore_cvx[g.cvx])
            continue
        if g.cvx is not None and g.cvx in review_cvx:
            review.append(review_cvx[g.cvx])
        if counts_cvx:
            if g.cvx is None:
                if variant.get("unknown_product") != "count":
                    review.append(
                        f"A dose on {g.given} was recorded without its product (CVX): "
                        "a clinician checks which vaccine it was."
                    )
                    continue
            elif g.cvx not in counts_cvx:
                if g.cvx not in review_cvx:
                    review.append(f"CVX {g.cvx} on {g.given} does not count for this rule.")
                continue
        counted.append(g.given)
    doses: list[Mapping[str, Any]] = variant["doses"]
    series = _evaluate(doses, counted, ctx)
    at_or_after = variant.get("complete_if_dose_at_or_after_age")
    if at_or_after and any(d >= ctx.at(at_or_after) for d in series.valid):
        series.complete = True
    note = " ".join(notes)
    if series.complete and doses:
        return _result(
            group,
            Status.COMPLETE,
            f"Complete: {describe} ({_count(len(series.valid))}). {note}".strip(),
            invalid=series.invalid,
        )
    if not doses:
        status = (
            Status.REVIEW
            if variant.get("incomplete_status") == "review"
            else (Status.NOT_RECOMMENDED)
        )
        return _result(group, status, f"{describe[:1].upper()}{describe[1:]}. {note}".strip())
    max_age = variant.get("max_age")
    if max_age and not ctx.age_below(ctx.as_of, max_age):
        return _result(
            group,
            Status.NOT_RECOMMENDED,
            f"Not recommended by age: the series ({describe}) is given through age "
            f"{_words(max_age, minus_one=True)}; {_count(len(series.valid))}. {note}".strip(),
            invalid=series.invalid,
        )
    nxt = _next_dose(doses, series, ctx)
    if band_start and nxt.recommended < ctx.at(band_start):
        # An adult rule: recommended from the age the rule starts at, not from infancy.
        nxt.recommended = ctx.at(band_start)
        if nxt.overdue is not None:
            nxt.overdue = max(nxt.overdue, nxt.recommended + ctx.overdue_grace)
    status, timing = _timing(nxt, ctx)
    reason = f"Dose {nxt.number} of {nxt.total}: {describe}. {timing} {note}".strip()
    incomplete = variant.get("incomplete_status")
    if review or incomplete == "review":
        status = Status.REVIEW
        reason = " ".join([*review, reason, "A clinician decides."])
    elif incomplete == "not_recommended":
        status = Status.NOT_RECOMMENDED
    return _result(group, status, reason, nxt, series.invalid)


def _tetanus_group(group: Mapping[str, Any], given: list[_Given], ctx: _Context) -> GroupForecast:
    child: Mapping[str, Any] = group["child_series"]
    doses: list[Mapping[str, Any]] = child["doses"]
    dates = [g.given for g in given]
    series = _evaluate(doses, dates, ctx)
    if ctx.age_below(ctx.as_of, group["child_series_below"]):
        if series.complete:
            # Only possible with dose 4 at 4 years or later, or all 5 doses: wait for Tdap at 11.
            pass
        else:
            nxt = _next_dose(doses, series, ctx)
            status, timing = _timing(nxt, ctx)
            return _result(
                group,
                status,
                f"DTaP dose {nxt.number} of {nxt.total}: {child['describe']}. {timing}",
                nxt,
                series.invalid,
            )
    tdap: Mapping[str, Any] = group["adolescent_tdap"]
    tdap_groups = set(group["tdap_groups"])
    later = [g for g in given if not ctx.age_below(g.given, tdap["counts_from_age"])]
    primary_done = series.complete or bool(later)
    if not primary_done:
        if not given:
            text = (
                "No DTaP, Tdap or Td on record. If the childhood series is undocumented, a "
                "catch-up series (Tdap, then Td or Tdap 4 weeks and 6-12 months later) may be "
                "needed: a clinician decides."
            )
        else:
            text = (
                f"The childhood series is incomplete ({_count(len(series.valid))}) at 7 or "
                "older: catch-up with Tdap, then Td or Tdap (3 doses in all, the last 6-12 months "
                "after the one before) as a clinician plans it."
            )
        earliest = max(ctx.as_of, series.valid[-1] + duration("4w")) if series.valid else ctx.as_of
        nxt = _Next(len(series.valid) + 1, 3, earliest, earliest, None)
        return _result(group, Status.REVIEW, text, nxt, series.invalid)
    had_tdap = any(g.groups & tdap_groups for g in later)
    if not had_tdap:
        nxt = _Next(
            1,
            1,
            ctx.at(tdap["min_age"]),
            ctx.at(tdap["rec_age"]),
            ctx.at(tdap["overdue_age"]),
        )
        status, timing = _timing(nxt, ctx)
        return _result(
            group,
            status,
            "One dose of Tdap at 11-12 years (or now, for an adult with no Tdap on record at "
            f"10 or older), then Td or Tdap every 10 years. {timing}",
            nxt,
            series.invalid,
        )
    last = given[-1].given
    due = last + duration(group["booster_interval"])
    nxt = _Next(1, 1, due, due, due + ctx.overdue_grace)
    if ctx.as_of < due:
        return _result(
            group,
            Status.UP_TO_DATE,
            f"Up to date: last tetanus-containing dose {last}; Td or Tdap booster due {due} "
            "(every 10 years).",
            nxt,
            series.invalid,
        )
    status, timing = _timing(nxt, ctx)
    return _result(
        group,
        status,
        f"Td or Tdap booster (every 10 years; last dose {last}). {timing}",
        nxt,
        series.invalid,
    )


def _season_start(on: date, month_day: str) -> date:
    month, day = (int(part) for part in month_day.split("-"))
    start = date(on.year, month, day)
    return start if on >= start else date(on.year - 1, month, day)


def _in_season(season: date, month_day: str) -> date:
    """The first date on or after `season` with this month-day."""
    month, day = (int(part) for part in month_day.split("-"))
    when = date(season.year, month, day)
    return when if when >= season else date(season.year + 1, month, day)


def _seasonal_group(group: Mapping[str, Any], given: list[_Given], ctx: _Context) -> GroupForecast:
    min_age = ctx.at(group["min_age"])
    dates = [g.given for g in given if g.given >= min_age - ctx.grace]
    invalid = [
        (g.given, f"the minimum age ({_words(group['min_age'])})")
        for g in given
        if g.given < min_age - ctx.grace
    ]
    season = _season_start(ctx.as_of, group["season_start"])
    next_season = date(season.year + 1, season.month, season.day)
    label = f"{season.year}-{season.year + 1}"
    this_season = [d for d in dates if d >= season]
    before = [d for d in dates if d < season]
    needed = 1
    if (
        "two_doses_below" in group
        and ctx.age_below(ctx.as_of, group["two_doses_below"])
        and len(before) < group["prior_doses_for_one"]
    ):
        needed = 2
    if ctx.as_of < min_age:
        nxt = _Next(1, needed, min_age, min_age, None)
        return _result(
            group,
            Status.NOT_YET_DUE,
            f"Not yet due: from 6 months of age ({min_age}), then every season.",
            nxt,
            invalid,
        )
    if len(this_season) >= needed:
        start = max(next_season, min_age)
        rec = max(start, _in_season(next_season, group.get("recommended_from", "07-01")))
        nxt = _Next(1, 1, start, rec, None)
        return _result(
            group,
            Status.UP_TO_DATE,
            f"Up to date for the {label} season ({len(this_season)} dose(s) this season). "
            f"Next season's dose from {start}.",
            nxt,
            invalid,
        )
    if "review_unless_current" in group:
        earliest = max(season, min_age)
        nxt = _Next(1, 1, earliest, earliest, None)
        return _result(
            group,
            Status.REVIEW,
            f"No dose this season ({label}). {group['review_unless_current']}",
            nxt,
            invalid,
        )
    if this_season:
        first = this_season[0]
        earliest = first + duration(group["second_dose_interval"])
        nxt = _Next(2, 2, earliest, earliest, None)
        status, timing = _timing(nxt, ctx)
        return _result(
            group,
            status,
            "Dose 2 of 2 this season: children 6 months-8 years who had fewer than 2 doses "
            f"before this season need 2 doses, 4 weeks apart. {timing}",
            nxt,
            invalid,
        )
    earliest = max(season, min_age)
    if needed == 2:
        # Two-dose children start as soon as vaccine is available.
        nxt = _Next(1, 2, earliest, earliest, None)
        why = (
            "Dose 1 of 2 this season: children 6 months-8 years who had fewer than 2 doses "
            "before this season need 2 doses, 4 weeks apart, starting as soon as vaccine is "
            "available."
        )
    else:
        rec = max(earliest, _in_season(season, group["recommended_from"]))
        overdue = max(
            _in_season(season, group["overdue_after"]) + timedelta(days=1), rec + ctx.overdue_grace
        )
        nxt = _Next(1, 1, earliest, rec, overdue)
        why = (
            f"One dose for the {label} season, ideally in September or October (CDC advises by "
            "the end of October; it is still worth giving later in the season)."
        )
    status, timing = _timing(nxt, ctx)
    return _result(group, status, f"{why} {timing}", nxt, invalid)


_KINDS = {"series": _series_group, "tetanus": _tetanus_group, "seasonal": _seasonal_group}


def _apply_flags(group: Mapping[str, Any], item: GroupForecast, flags: set[str]) -> GroupForecast:
    if item.status in (Status.COMPLETE, Status.UP_TO_DATE):
        return item
    reasons = [text for flag, text in group.get("review_flags", {}).items() if flag in flags]
    if not reasons:
        return item
    return GroupForecast(
        group=item.group,
        label=item.label,
        status=Status.REVIEW,
        reason=" ".join([*reasons, "A clinician decides.", item.reason]),
        dose_number=item.dose_number,
        doses_in_series=item.doses_in_series,
        earliest=item.earliest,
        recommended=item.recommended,
        overdue_from=item.overdue_from,
        invalid_doses=item.invalid_doses,
    )


def forecast(
    *,
    birth_date: date,
    as_of: date,
    history: Iterable[Dose | tuple[str, date]] = (),
    sex: str = "",
    flags: Iterable[str] = (),
    schedule: Mapping[str, Any] | None = None,
    cvx_groups: Mapping[str, tuple[str, ...]] | None = None,
) -> Forecast:
    """The forecast for every vaccine group in the schedule, in the schedule's order.

    `sex` is accepted for rules that may need it; no routine 2025 rule here depends on it (HPV is
    for everyone). Unknown flags raise ValueError; so does a history entry that is neither a CVX
    code nor a vaccine group, or a dose dated before birth. Doses dated after `as_of` are left
    out; doses of vaccines not forecast here (Hib, polio, CVX 999) come back in `not_forecast`.
    """
    if as_of < birth_date:
        raise ValueError("as_of: the as-of date is before the birth date")
    flag_set = {f.strip().lower() for f in flags if f.strip()}
    unknown = flag_set - FLAGS
    if unknown:
        raise ValueError(
            f"flags: unknown {', '.join(sorted(unknown))}; known: {', '.join(sorted(FLAGS))}"
        )
    rules = schedule if schedule is not None else _default_schedule()
    groups_of = cvx_groups if cvx_groups is not None else _default_cvx_groups()
    known = {name for g in rules["groups"] for name in g["history_groups"]}
    known |= {name for names in groups_of.values() for name in names}
    resolved, not_forecast = _resolve(history, groups_of, known, birth_date, as_of)
    ctx = _Context(
        birth=birth_date,
        as_of=as_of,
        grace=timedelta(days=int(rules.get("grace_days", 0))),
        overdue_grace=duration(rules.get("overdue_grace", "0d")),
    )
    forecast_groups = {name for g in rules["groups"] for name in g["history_groups"]}
    not_forecast += [
        Dose(g.cvx or "", g.given) for g in resolved if g.cvx and not g.groups & forecast_groups
    ]
    items = []
    for group in rules["groups"]:
        mine = set(group["history_groups"])
        given = [g for g in resolved if g.groups & mine]
        item = _KINDS[group["kind"]](group, given, ctx)
        items.append(_apply_flags(group, item, flag_set))
    return Forecast(as_of=as_of, groups=tuple(items), not_forecast=tuple(not_forecast))


def _words(text: str, *, minus_one: bool = False) -> str:
    """'6w' -> '6 weeks'; with minus_one, '27y' -> '26' (the last age included)."""
    match = _DURATION.match(text)
    if not match:
        return text
    n, unit = int(match.group(1)), match.group(2)
    if minus_one:
        return str(n - 1)
    name = {"d": "day", "w": "week", "m": "month", "y": "year"}[unit]
    return f"{n} {name}{'' if n == 1 else 's'}"


def _count(n: int) -> str:
    return f"{n} valid dose{'' if n == 1 else 's'}"
