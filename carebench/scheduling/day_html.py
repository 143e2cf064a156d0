"""The facility day grid (a column per provider, a block per visit) as HTML, built in Python.

A busy facility's day is 40 columns and a thousand visits; through Django's template engine each
visit costs tens of microseconds per variable, and the page missed its 50 ms. Here each block is
one f-string of escaped values, and what repeats (local times, visit-type names and colours,
status labels) is worked out once per page. The markup is what `day.html` showed before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from html import escape
from zoneinfo import ZoneInfo

from django.urls import reverse

from .board_html import url_prefix
from .models import Status
from .selectors import DayColumn

GRID_MINUTES = 5  # one row of the day grid
MIN_SPAN = 3  # rows: a short visit still shows its time and name


@dataclass(frozen=True)
class DayGrid:
    columns_html: str  # every provider's <section>, escaped
    hours: list[tuple[str, int]]  # ("8 AM", first row of that hour)
    rows: int
    count: int  # visits placed


class _Local:
    """Aware datetimes in one zone, each converted and formatted once per page."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.moments: dict[datetime, datetime] = {}
        self.texts: dict[tuple[datetime, str], str] = {}

    def at(self, moment: datetime) -> datetime:
        local = self.moments.get(moment)
        if local is None:
            local = self.moments[moment] = moment.astimezone(self.zone)
        return local

    def text(self, moment: datetime, pattern: str) -> str:
        key = (moment, pattern)
        found = self.texts.get(key)
        if found is None:
            found = self.texts[key] = self.at(moment).strftime(pattern)
        return found


def _escaped(cache: dict[str, str], value: str) -> str:
    found = cache.get(value)
    if found is None:
        found = cache[value] = escape(value)
    return found


def day_grid(columns: list[DayColumn], day: date, zone: str, *, facility_pk: int) -> DayGrid:
    local = _Local(ZoneInfo(zone))
    first_hour, last_hour = 7, 19
    for column in columns:
        for visit in column.appointments:
            start, end = local.at(visit.start), local.at(visit.end)
            if start.date() == day:
                first_hour = min(first_hour, start.hour)
            if end.date() == day:
                last_hour = max(last_hour, end.hour + (1 if end.minute else 0))
    origin = datetime.combine(day, time(first_hour), tzinfo=local.zone)
    rows = (last_hour - first_hour) * 60 // GRID_MINUTES
    hours = [
        (
            datetime.combine(day, time(h)).strftime("%-I %p"),
            (h - first_hour) * 60 // GRID_MINUTES + 1,
        )
        for h in range(first_hour, last_hour)
    ]
    # the same hour lines under every provider's column: built once
    hour_lines = "".join(
        f'<li class="hour-line" data-row="{row}" data-span="12" aria-hidden="true"></li>'
        for _, row in hours
    )
    link, after = url_prefix("scheduling:appointment")
    week = reverse("scheduling:week")
    shown = f"{day:%Y-%m-%d}"
    labels = {str(s.value): escape(str(s.label)) for s in Status}
    texts: dict[str, str] = {}
    sections = []
    count = 0
    for column in columns:
        blocks = []
        for visit in column.appointments:
            offset = int((visit.start - origin).total_seconds() // 60 // GRID_MINUTES)
            span = max(
                int((visit.end - visit.start).total_seconds() // 60 // GRID_MINUTES), MIN_SPAN
            )
            row = min(max(offset, 0), rows - 1) + 1
            span = min(span, rows - row + 1)
            status = _escaped(texts, visit.status)
            label = labels.get(visit.status) or status
            overbook = ' <span class="badge">overbook</span>' if visit.overbooked else ""
            blocks.append(
                f'<li class="appt-block status-{status}" data-row="{row}" data-span="{span}" '
                f'data-color="{_escaped(texts, visit.type_color)}"><a href="{link}{visit.pk}{after}">'
                f'<span class="appt-time">{local.text(visit.start, "%-I:%M %p")}–'
                f"{local.text(visit.end, '%-I:%M')}</span> "
                f'<strong class="appt-patient">{escape(visit.family_name)}, '
                f"{escape(visit.given_name)}</strong> "
                f'<span class="appt-dob">DOB {visit.birth_date:%m/%d/%Y}</span> '
                f'<span class="appt-type">{_escaped(texts, visit.type_name)}</span> '
                f'<span class="status-badge status-{status}">{label}</span>'
                f"{overbook}</a></li>"
            )
        count += len(blocks)
        provider = column.provider
        sections.append(
            f'<section class="day-col" aria-labelledby="col-{provider.pk}">\n'
            f'    <h2 class="day-col-head" id="col-{provider.pk}" '
            f'data-color="{escape(provider.color)}"><a href="{week}?facility={facility_pk}'
            f'&amp;provider={provider.pk}&amp;date={shown}">{escape(provider.display_name)}</a>'
            f' <span class="meta-inline">({len(blocks)})</span></h2>\n'
            f'    <ol class="day-slots">\n      {hour_lines}\n      {"".join(blocks)}\n'
            "    </ol>\n  </section>\n"
        )
    return DayGrid("".join(sections), hours, rows, count)
