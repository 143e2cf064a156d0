"""A provider's calendar as an ICS feed (icalendar). Patient names are left out: the feed
may end up on a phone, so each event says only the visit type and the room."""

from __future__ import annotations

from icalendar import Calendar, Event

from .models import Appointment, Provider


def provider_calendar(
    provider: Provider, appointments: list[Appointment], *, host: str = "carebench"
) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//carebench//schedule//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{provider.display_name}: clinic schedule")
    for appt in appointments:
        event = Event()
        event.add("uid", f"appointment-{appt.pk}@{host}")
        event.add("dtstart", appt.start)
        event.add("dtend", appt.end)
        event.add("dtstamp", appt.updated_at)
        event.add("summary", appt.appointment_type.name)
        if appt.room is not None:  # no query when room_id is unset
            event.add("location", appt.room.name)
        event.add("status", "CANCELLED" if appt.status == "cancelled" else "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()
