"""Slot: search the open (free) time of providers, computed from their availability rules and
appointments by `scheduling.selectors.next_open_slots`. Slots are not stored: search only.

Parameters: `schedule` (Schedule/<provider id>) or `schedule.actor` (Practitioner/<id>); none
means every active provider. `start` takes full dates (YYYY-MM-DD) with ge/gt/le/lt/eq, read
as days in the organization's time zone; the default is the next 14 days, at most 62 days are
searched at once. `service-type` (or `appointment-type`) names the visit type by id (or
`urn:carebench:appointment-type|<id>`); slots are as long as that type. Without it the shortest
active type is used (so every bookable start is listed). `status` other than `free` finds
nothing. At most 2000 slots are counted per search.

A slot's id is `<provider id>-<type id>-<start, Unix seconds>`: book it with
`POST /fhir/Appointment` (its start, the practitioner and the serviceType). Not patient data:
searches are not audited.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core import clock
from carebench.core.actor import Actor
from carebench.scheduling import selectors
from carebench.scheduling.models import AppointmentType, Provider
from carebench.scheduling.selectors import OpenSlot

from . import datatypes as dt
from . import schedule as schedule_module
from . import schemas
from .appointment import TYPE_SYSTEM, type_concept, zone_of
from .auth import authorize
from .bundle import Paging, searchset
from .outcome import bad_request, resource_response
from .search import check_params, parse_reference_id, parse_token

RESOURCE = "Slot"
PROFILE = "http://hl7.org/fhir/StructureDefinition/Slot"
PERMISSION = "scheduling.view_availabilityrule"
INTERACTIONS = ["search-type"]
SEARCH_PARAMS = {
    "schedule": "reference",
    "schedule.actor": "reference",
    "start": "date",
    "status": "token",
    "service-type": "token",
    "appointment-type": "token",
}
DEFAULT_DAYS = 14
MAX_DAYS = 62
MAX_SLOTS = 2000
_START = re.compile(r"^(eq|gt|lt|ge|le)?(\d{4}-\d{2}-\d{2})$")

router = Router(tags=[RESOURCE])


class SlotSearch(Schema):
    schedule: list[str] = Field([], description="Schedule/3 or 3")
    schedule_actor: list[str] = Field([], alias="schedule.actor", description="Practitioner/3")
    start: list[str] = Field([], description="YYYY-MM-DD with ge/gt/le/lt/eq")
    status: list[str] = Field([], description="free")
    service_type: list[str] = Field(
        [], alias="service-type", description="the appointment type: id or system|id"
    )
    appointment_type: list[str] = Field(
        [], alias="appointment-type", description="the same as service-type"
    )


def to_fhir(slot: OpenSlot, kind: AppointmentType) -> dict[str, Any]:
    return {
        "resourceType": RESOURCE,
        "id": f"{slot.provider.pk}-{kind.pk}-{int(slot.start.timestamp())}",
        "serviceType": [type_concept(kind)],
        "appointmentType": type_concept(kind),
        "schedule": schedule_module.reference(slot.provider),
        "status": "free",
        "start": slot.start.isoformat(),
        "end": slot.end.isoformat(),
    }


@router.get("/Slot", response=schemas.SEARCH, summary="Search free Slots")
def search_slots(
    request: HttpRequest, paging: Query[Paging], params: Query[SlotSearch]
) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    kind = _appointment_type(actor, [*params.service_type, *params.appointment_type])
    providers = _providers(actor, params)
    zone = zone_of(actor.organization)
    first, last = _date_range(params.start, clock.now().astimezone(zone).date())
    found: list[OpenSlot] = []
    if kind is not None and providers and first <= last and all(s == "free" for s in params.status):
        # A day's margin each side: the selector's days are UTC, ours the clinic's.
        candidates = selectors.next_open_slots(
            actor.organization,
            kind,
            date_from=first - timedelta(days=1),
            date_to=last + timedelta(days=1),
            providers=providers,
            limit=MAX_SLOTS,
        )
        found = [s for s in candidates if first <= s.start.astimezone(zone).date() <= last]
    page = found[paging.start : paging.start + paging.size] if paging.size else []

    def entry(slot: OpenSlot) -> dict[str, Any]:
        assert kind is not None  # slots are found only for a visit type
        return to_fhir(slot, kind)

    return resource_response(searchset(request, RESOURCE, page, len(found), paging, entry, used))


def _providers(actor: Actor, params: SlotSearch) -> list[Provider]:
    qs = Provider.objects.for_org(actor.organization).filter(is_active=True)
    for value in params.schedule:
        qs = qs.filter(pk=parse_reference_id(value, "Schedule", "schedule"))
    for value in params.schedule_actor:
        qs = qs.filter(pk=parse_reference_id(value, "Practitioner", "schedule.actor"))
    return list(qs.order_by("family_name", "pk"))


def _appointment_type(actor: Actor, values: list[str]) -> AppointmentType | None:
    qs = AppointmentType.objects.for_org(actor.organization).filter(is_active=True)
    for value in values:
        token = parse_token(value)
        row = dt.row_id(token.code)
        if token.system not in (None, TYPE_SYSTEM) or row is None:
            return None
        qs = qs.filter(pk=row)
    return qs.order_by("duration_minutes", "name", "pk").first()


def _date_range(values: list[str], today: date) -> tuple[date, date]:
    first: date | None = None
    last: date | None = None
    for value in values:
        match = _START.match(value)
        try:
            day = date.fromisoformat(match.group(2)) if match else None
        except ValueError:
            day = None
        if match is None or day is None:
            raise bad_request(
                f"start: '{value}' is not a date search value (YYYY-MM-DD, "
                "optionally prefixed ge, gt, le, lt or eq)",
                expression="start",
            )
        prefix = match.group(1) or "eq"
        if prefix in ("ge", "gt", "eq"):
            low = day + timedelta(days=1) if prefix == "gt" else day
            first = max(first, low) if first else low
        if prefix in ("le", "lt", "eq"):
            high = day - timedelta(days=1) if prefix == "lt" else day
            last = min(last, high) if last else high
    if first is None:
        first = max(today, last - timedelta(days=DEFAULT_DAYS - 1)) if last else today
    if last is None:
        last = first + timedelta(days=DEFAULT_DAYS - 1)
    if (last - first).days >= MAX_DAYS:
        raise bad_request(
            f"start: at most {MAX_DAYS} days of slots are searched at once", expression="start"
        )
    return first, last
