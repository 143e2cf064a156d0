"""The flow board's visit rows as HTML, built in Python rather than in the template.

The board is the page every MAT's browser polls every 15 seconds, and a busy facility's day holds
hundreds of visits: Django's template engine spends ~1 ms on each row (a dozen variables, three
URL reversals, a form with its CSRF token). Here a row is one f-string of escaped values, with the
same markup `board.html` had. Every text value passes through `escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse

from .models import Resource, Status

TERMINAL = (Status.DONE, Status.NO_SHOW)


@dataclass(frozen=True)
class BoardMarkup:
    """What every row shares: the viewer's permissions, the CSRF field, the rooms ready now."""

    zone: ZoneInfo
    csrf_input: str  # the hidden csrfmiddlewaretoken field, as HTML
    may_advance: bool  # scheduling.change_appointment
    may_open_encounter: bool  # encounters.view_encounter
    ready_rooms: Sequence[Resource]
    error_row: int | None = None

    def room_options(self) -> str:
        if not self.ready_rooms:
            return '<option value="">no room ready</option>'
        return "".join(
            f'<option value="{room.pk}">{escape(room.name)}</option>' for room in self.ready_rooms
        )


def url_prefix(name: str) -> tuple[str, str]:
    """A URL with one integer argument as (before, after) the argument: one reversal per page."""
    sample = reverse(name, args=[987654321])
    before, _, after = sample.partition("987654321")
    return before, after


def _clock(moment: datetime, zone: ZoneInfo, with_meridiem: bool = True) -> str:
    local = moment.astimezone(zone)
    return f"{local:%-I:%M %p}" if with_meridiem else f"{local:%-I:%M}"


def _wait(row: Any) -> str:
    appt = row.appointment
    minutes = row.minutes_in_step
    if appt.status == Status.BOOKED:
        if minutes <= 0:
            return "—"
        flag = ' <span class="overdue-flag">not arrived</span>' if row.overdue else ""
        return f"late {minutes} min{flag}"
    if appt.status in TERMINAL:
        return "—"
    flag = ' <span class="overdue-flag">long wait</span>' if row.overdue else ""
    return f"{minutes} min{flag}"


def rows_html(rows: Sequence[Any], markup: BoardMarkup) -> str:
    """The `<tr>` of each board row (a `selectors.BoardRow` with the view's `next`, `steps` and
    `encounter_id` set), in order."""
    appt_before, appt_after = url_prefix("scheduling:appointment")
    advance_before, advance_after = url_prefix("scheduling:advance")
    encounter_before, encounter_after = url_prefix("encounters:encounter")
    zone = markup.zone
    room_options = None
    parts = []
    for row in rows:
        appt = row.appointment
        family = escape(appt.family_name)
        classes = "board-row"
        if row.overdue:
            classes += " is-overdue"
        if row.alerts:
            classes += " has-alert"
        if markup.error_row == appt.pk:
            classes += " has-error"
        alerts = "".join(
            f'<span class="alert-badge"><span aria-hidden="true">⚠ </span>{escape(m)}</span>'
            for m in row.alerts
        )
        steps = "".join(
            f'<span class="step"><abbr title="{escape(str(step["label"]))}">{step["short"]}</abbr>'
            f" {_clock(step['at'], zone, with_meridiem=False)}</span>"
            for step in row.steps
        )
        room = escape(appt.room_name) if appt.room_name else "—"
        action = ""
        if row.next and markup.may_advance:
            advance = f"{advance_before}{appt.pk}{advance_after}"
            extra = ""
            if appt.status == Status.BOOKED:
                extra = (
                    '<label class="compact-field">Copay $ <input type="number" '
                    'name="copay_amount" step="0.01" min="0" inputmode="decimal" '
                    f'class="input-copay" aria-label="Copay for {family}"></label>'
                    '<label class="compact-check"><input type="checkbox" name="copay_collected" '
                    'value="on"> collected</label>'
                )
            elif appt.status == Status.ARRIVED:
                if room_options is None:
                    room_options = markup.room_options()
                extra = (
                    '<label class="compact-field">Room <select name="room" '
                    f'aria-label="Room for {family}">{room_options}</select></label>'
                )
            action = (
                f'<form method="post" action="{advance}" hx-post="{advance}" hx-target="#board" '
                f'hx-swap="outerHTML" class="advance-form">{markup.csrf_input}'
                f'<input type="hidden" name="to" value="{escape(str(row.next[0]))}">{extra}'
                f'<button type="submit" class="button-primary button-small">'
                f"{escape(str(row.next[1]))}</button></form>"
            )
        if row.encounter_id and markup.may_open_encounter:
            action += (
                f'<a class="action-link" href="{encounter_before}{row.encounter_id}'
                f'{encounter_after}">Rooming &amp; vitals</a>'
            )
        parts.append(
            f'<tr id="row-{appt.pk}" class="{classes}">'
            f'<td class="nowrap">{_clock(appt.start, zone)}</td>'
            f'<th scope="row"><a href="{appt_before}{appt.pk}{appt_after}">{family}, '
            f"{escape(appt.given_name)}</a> "
            f'<span class="meta">DOB {appt.birth_date:%m/%d/%Y}</span>{alerts}</th>'
            f'<td>{escape(appt.provider_name)}<span class="meta">'
            f'<span class="type-dot" data-color="{escape(appt.type_color)}" '
            f'aria-hidden="true"></span>{escape(appt.type_name)}</span></td>'
            f"<td>{room}</td>"
            f'<td class="step-times">{steps}</td>'
            f'<td class="wait nowrap">{_wait(row)}</td>'
            f'<td class="next-step">{action}</td></tr>'
        )
    return "".join(parts)
