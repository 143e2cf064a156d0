"""Schedule: one per provider (`Schedule/<provider pk>`), its actor the Practitioner and the
Locations (facilities) where the provider works.

The provider's availability rules (iCalendar RRULEs) are the schedule's planning; clients ask
for its open time with `GET /fhir/Slot?schedule=Schedule/<id>`. Another organization's provider
is 404. Not patient data: reads are not audited.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.scheduling.models import Provider

from . import datatypes as dt
from . import location, practitioner, schemas
from .auth import authorize
from .bundle import Paging, page_of, searchset
from .outcome import bad_request, resource_response
from .search import check_params

RESOURCE = "Schedule"
PROFILE = "http://hl7.org/fhir/StructureDefinition/Schedule"
PERMISSION = "scheduling.view_availabilityrule"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {"_id": "token", "actor": "reference", "active": "token"}

router = Router(tags=[RESOURCE])


class ScheduleSearch(Schema):
    id: list[str] = Field([], alias="_id", description="logical id (the provider's id)")
    actor: list[str] = Field([], description="Practitioner/3 or Location/5 (a facility)")
    active: list[str] = Field([], description="true or false")


def reference(provider: Provider) -> dict[str, str]:
    return {**dt.reference(RESOURCE, provider.pk), "display": provider.display_name}


def to_fhir(provider: Provider) -> dict[str, Any]:
    facilities = sorted(provider.facilities.all(), key=lambda f: f.pk)
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(provider.pk),
            "meta": dt.meta(PROFILE, provider.updated_at),
            "active": provider.is_active,
            "specialty": [{"text": provider.specialty}] if provider.specialty else [],
            "actor": [
                practitioner.reference(provider),
                *(
                    location.facility_reference(f)
                    for f in facilities
                    if f.organization_id == provider.organization_id
                ),
            ],
            "comment": f"Open time of {provider.display_name}: GET Slot?schedule=Schedule/"
            f"{provider.pk}",
        }
    )


@router.get("/Schedule/{schedule_id}", response=schemas.READ, summary="Read a Schedule")
def read_schedule(request: HttpRequest, schedule_id: str) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    return resource_response(to_fhir(practitioner.get(actor, schedule_id)))


@router.get("/Schedule", response=schemas.SEARCH, summary="Search Schedules")
def search_schedules(
    request: HttpRequest, paging: Query[Paging], params: Query[ScheduleSearch]
) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    rows, total = page_of(_search(actor, params), paging)
    return resource_response(searchset(request, RESOURCE, rows, total, paging, to_fhir, used))


def _search(actor: Actor, params: ScheduleSearch) -> QuerySet[Provider]:
    qs = Provider.objects.for_org(actor.organization).prefetch_related("facilities")
    for value in params.actor:
        kind, _, ident = value.rstrip("/").rpartition("/")
        kind = kind.rsplit("/", 1)[-1]
        row = dt.row_id(ident)
        if kind not in ("Practitioner", "Location") or row is None:
            raise bad_request(
                f"actor: '{value}' is not a Practitioner/<id> or Location/<id> reference",
                expression="actor",
            )
        qs = qs.filter(pk=row) if kind == "Practitioner" else qs.filter(facilities__pk=row)
    for value in params.active:
        qs = qs.filter(is_active=value == "true")
    for value in params.id:
        row = dt.row_id(value)
        qs = qs.none() if row is None else qs.filter(pk=row)
    return qs.order_by("family_name", "given_name", "pk").distinct()
