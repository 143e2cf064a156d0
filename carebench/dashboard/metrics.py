"""The dashboard's numbers, from plain data (pure; no Django).

- `step_waits`: minutes patients spent in each step of today's flow (arrived -> roomed ...),
  finished steps and the ones still running, with the median, the 90th percentile and how many
  are waiting past the step's threshold now.
- `audit_anomalies`: what in a week of audit counts deserves a manager's look: access refused,
  failed sign-ins, patient records opened at night, and a user reading far more charts than
  their colleagues.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StepWait:
    step: str
    label: str
    count: int  # patients who were (or are) in the step today
    median: float  # minutes
    p90: float
    longest: float
    waiting_now: int  # in the step right now
    over_threshold: int  # of those, past the step's threshold


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def step_waits(
    visits: Iterable[tuple[str, Mapping[str, datetime]]],
    *,
    order: Sequence[str],
    labels: Mapping[str, str],
    thresholds: Mapping[str, int],
    now: datetime,
) -> list[StepWait]:
    """`visits`: (current status, {step: time entered}) per visit. A step lasts until the next
    step in `order` that the visit reached; the current step lasts until `now`. The last step
    of `order` ends the flow (done) and is not measured."""
    spans: dict[str, list[float]] = {step: [] for step in order}
    waiting: dict[str, list[float]] = {step: [] for step in order}
    for status, times in visits:
        reached = [step for step in order if step in times]
        for index, step in enumerate(reached):
            if step == order[-1]:
                break
            start = times[step]
            if index + 1 < len(reached):
                end = times[reached[index + 1]]
            elif step == status:
                end = now
                waiting[step].append(max((now - start).total_seconds() / 60, 0.0))
            else:
                continue  # left the flow (cancelled, no-show): no end to measure
            spans[step].append(max((end - start).total_seconds() / 60, 0.0))
    result = []
    for step in order:
        minutes = spans[step]
        if not minutes:
            continue
        limit = thresholds.get(step)
        result.append(
            StepWait(
                step=step,
                label=labels.get(step, step),
                count=len(minutes),
                median=round(statistics.median(minutes), 1),
                p90=round(_percentile(minutes, 90), 1),
                longest=round(max(minutes), 1),
                waiting_now=len(waiting[step]),
                over_threshold=sum(1 for m in waiting[step] if limit is not None and m >= limit),
            )
        )
    return result


@dataclass(frozen=True)
class Anomaly:
    kind: str  # denied, failed_login, night_reads, heavy_reader
    who: str
    count: int
    message: str


def audit_anomalies(
    *,
    denied: Mapping[str, int],
    failed_logins: Mapping[str, int],
    night_reads: Mapping[str, int],
    reads: Mapping[str, int],
    days: int,
    failed_login_floor: int = 5,
    heavy_factor: float = 3.0,
    heavy_floor: int = 100,
) -> list[Anomaly]:
    """The week's audit counts per user turned into what to look at, worst first."""
    found: list[Anomaly] = []
    for who, n in denied.items():
        found.append(
            Anomaly("denied", who, n, f"{who} was refused {n} time(s) (page or action not allowed)")
        )
    for who, n in failed_logins.items():
        if n >= failed_login_floor:
            found.append(
                Anomaly("failed_login", who, n, f"{n} failed sign-ins for '{who}' in {days} days")
            )
    for who, n in night_reads.items():
        found.append(
            Anomaly(
                "night_reads",
                who,
                n,
                f"{who} opened patient records {n} time(s) between 22:00 and 06:00",
            )
        )
    if len(reads) >= 2:
        for who, n in reads.items():
            others = [v for k, v in reads.items() if k != who]
            typical = statistics.median(others)
            if n >= heavy_floor and n >= heavy_factor * max(typical, 1):
                found.append(
                    Anomaly(
                        "heavy_reader",
                        who,
                        n,
                        f"{who} read {n} patient records, {n / max(typical, 1):.0f}x the "
                        f"colleagues' median ({typical:.0f})",
                    )
                )
    return sorted(found, key=lambda a: (-a.count, a.kind, a.who))
