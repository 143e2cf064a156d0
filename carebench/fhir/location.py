"""Location: read and search the organization's facilities and their rooms, US Core Location.

One id scheme for both (FHIR ids are one namespace per resource type):
- a facility (core.Facility) is `Location/<facility pk>`, physicalType `si` (site);
- a room (scheduling.Resource of kind room) is `Location/room-<resource pk>`, physicalType
  `ro` (room), `partOf` its facility, and its turnover state as `operationalStatus`
  (v2-0116: U ready/clean, O occupied, H needs turnover, C out of service).
Equipment (a scheduling.Resource of kind equipment) is not a Location and is not served.
Locations are a directory, not patient data: reads are not audited. Another organization's
facility or room is 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.core.models import Facility
from carebench.scheduling.models import Resource

from . import datatypes as dt
from . import schemas
from .auth import authorize
from .bundle import Paging, searchset
from .outcome import not_found, resource_response
from .search import check_params, parse_reference_id

RESOURCE = "Location"
PROFILE = dt.US_CORE + "us-core-location"
PERMISSION = "scheduling.view_resource"
ROOM_PREFIX = "room-"
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
BED_STATUS = "http://terminology.hl7.org/CodeSystem/v2-0116"
ROOM_STATUS: dict[str, tuple[str, str]] = {
    Resource.RoomStatus.READY: ("U", "Unoccupied"),
    Resource.RoomStatus.CLEAN: ("U", "Unoccupied"),
    Resource.RoomStatus.OCCUPIED: ("O", "Occupied"),
    Resource.RoomStatus.NEEDS_TURNOVER: ("H", "Housekeeping"),
    Resource.RoomStatus.OUT_OF_SERVICE: ("C", "Closed"),
}
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {"_id": "token", "name": "string", "partof": "reference"}

router = Router(tags=[RESOURCE])


class LocationSearch(Schema):
    id: list[str] = Field([], alias="_id", description="logical id (5, or room-12)")
    name: list[str] = Field([], description="part of the name, case ignored")
    partof: list[str] = Field([], description="Location/5: the rooms of facility 5")


# --- references used by other resources --------------------------------------------------------


def facility_reference(facility: Facility) -> dict[str, str]:
    return {**dt.reference(RESOURCE, facility.pk), "display": facility.name}


def room_reference(room: Resource) -> dict[str, str]:
    return {"reference": f"{RESOURCE}/{ROOM_PREFIX}{room.pk}", "display": room.name}


def parse_id(text: str) -> tuple[str, int] | None:
    """`5` -> ("facility", 5), `room-12` -> ("room", 12), anything else -> None."""
    if text.startswith(ROOM_PREFIX):
        row = dt.row_id(text.removeprefix(ROOM_PREFIX))
        return None if row is None else ("room", row)
    row = dt.row_id(text)
    return None if row is None else ("facility", row)


def find(actor: Actor, location_id: str) -> Facility | Resource | None:
    parsed = parse_id(location_id)
    if parsed is None:
        return None
    kind, row = parsed
    if kind == "room":
        return (
            Resource.objects.for_org(actor.organization)
            .filter(pk=row, kind=Resource.Kind.ROOM)
            .select_related("facility")
            .first()
        )
    return Facility.objects.filter(organization=actor.organization, pk=row).first()


# --- model -> FHIR ------------------------------------------------------------------------------


def facility_to_fhir(facility: Facility) -> dict[str, Any]:
    address = dt.compact(
        {
            "use": "work",
            "line": [facility.address_line] if facility.address_line else [],
            "city": facility.city,
            "state": facility.state,
            "postalCode": facility.postal_code,
            "country": "US",
        }
    )
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(facility.pk),
            "meta": {"profile": [PROFILE]},
            "identifier": (
                [{"system": "http://hl7.org/fhir/sid/us-npi", "value": facility.npi}]
                if facility.npi
                else []
            ),
            "status": "active" if facility.is_active else "inactive",
            "name": facility.name,
            "mode": "instance",
            "type": [{"text": facility.get_kind_display()}],
            "telecom": [{"system": "phone", "value": facility.phone, "use": "work"}]
            if facility.phone
            else [],
            "address": address,
            "physicalType": dt.concept(PHYSICAL_TYPE, "si", "Site"),
        }
    )


def room_to_fhir(room: Resource) -> dict[str, Any]:
    status_code, status_display = ROOM_STATUS.get(room.status, ("U", "Unoccupied"))
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": f"{ROOM_PREFIX}{room.pk}",
            "meta": dt.meta(PROFILE, room.updated_at),
            "status": "active" if room.is_active else "inactive",
            "operationalStatus": dt.coding(BED_STATUS, status_code, status_display),
            "name": room.name,
            "mode": "instance",
            "type": [{"text": room.get_room_type_display()}] if room.room_type else [],
            "physicalType": dt.concept(PHYSICAL_TYPE, "ro", "Room"),
            "partOf": facility_reference(room.facility),
        }
    )


def to_fhir(row: Facility | Resource) -> dict[str, Any]:
    return room_to_fhir(row) if isinstance(row, Resource) else facility_to_fhir(row)


# --- views --------------------------------------------------------------------------------------


@router.get("/Location/{location_id}", response=schemas.READ, summary="Read a Location")
def read_location(request: HttpRequest, location_id: str) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    row = find(actor, location_id)
    if row is None:
        raise not_found(RESOURCE, location_id)
    return resource_response(to_fhir(row))


@router.get("/Location", response=schemas.SEARCH, summary="Search Locations")
def search_locations(
    request: HttpRequest, paging: Query[Paging], params: Query[LocationSearch]
) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    rows = _search(actor, params)
    page = rows[paging.start : paging.start + paging.size] if paging.size else []
    return resource_response(searchset(request, RESOURCE, page, len(rows), paging, to_fhir, used))


def _search(actor: Actor, params: LocationSearch) -> list[Facility | Resource]:
    """Facilities first (by name), then rooms (by facility, order, name): a short list."""
    facilities = Facility.objects.filter(organization=actor.organization)
    rooms = (
        Resource.objects.for_org(actor.organization)
        .filter(kind=Resource.Kind.ROOM)
        .select_related("facility")
    )
    for value in params.name:
        facilities = facilities.filter(name__icontains=value)
        rooms = rooms.filter(name__icontains=value)
    for value in params.partof:
        facility_id = parse_reference_id(value, RESOURCE, "partof")
        facilities = facilities.none()
        rooms = rooms.filter(facility_id=facility_id)
    for value in params.id:
        parsed = parse_id(value)
        if parsed is None or parsed[0] == "room":
            facilities = facilities.none()
        else:
            facilities = facilities.filter(pk=parsed[1])
        if parsed is None or parsed[0] == "facility":
            rooms = rooms.none()
        else:
            rooms = rooms.filter(pk=parsed[1])
    return [
        *facilities.order_by("name", "pk"),
        *rooms.order_by("facility__name", "sort_order", "name", "pk"),
    ]
