"""Practitioner: read and search the organization's providers (scheduling.Provider), US Core.

The NPI is the identifier (system http://hl7.org/fhir/sid/us-npi); credentials (MD, NP...) are
the name's suffix. Providers are a directory, not patient data: reads are not audited (the
reads of Appointments, Encounters and Observations that name them are). Another organization's
provider is 404, like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.scheduling.models import Provider

from . import datatypes as dt
from . import schemas
from .auth import authorize
from .bundle import Paging, page_of, searchset
from .outcome import not_found, resource_response
from .search import check_params, parse_token

RESOURCE = "Practitioner"
PROFILE = dt.US_CORE + "us-core-practitioner"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
PERMISSION = "scheduling.view_provider"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "_id": "token",
    "name": "string",
    "family": "string",
    "given": "string",
    "identifier": "token",
    "active": "token",
}

router = Router(tags=[RESOURCE])


class PractitionerSearch(Schema):
    id: list[str] = Field([], alias="_id", description="logical id")
    name: list[str] = Field([], description="start of the first or last name")
    family: list[str] = Field([], description="start of the last name")
    given: list[str] = Field([], description="start of the first name")
    identifier: list[str] = Field([], description="the NPI: system|value or value")
    active: list[str] = Field([], description="true or false")


def to_fhir(provider: Provider) -> dict[str, Any]:
    name = dt.compact(
        {
            "use": "official",
            "text": provider.display_name,
            "family": provider.family_name,
            "given": [provider.given_name] if provider.given_name else [],
            "suffix": [provider.credentials] if provider.credentials else [],
        }
    )
    qualification = []
    if provider.credentials:
        qualification = [{"code": {"text": provider.credentials}}]
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(provider.pk),
            "meta": dt.meta(PROFILE, provider.updated_at),
            "identifier": [{"system": NPI_SYSTEM, "value": provider.npi}],
            "active": provider.is_active,
            "name": [name],
            "qualification": qualification,
        }
    )


def reference(provider: Provider) -> dict[str, str]:
    return {**dt.reference(RESOURCE, provider.pk), "display": provider.display_name}


@router.get("/Practitioner/{practitioner_id}", response=schemas.READ, summary="Read a Practitioner")
def read_practitioner(request: HttpRequest, practitioner_id: str) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    return resource_response(to_fhir(get(actor, practitioner_id)))


@router.get("/Practitioner", response=schemas.SEARCH, summary="Search Practitioners")
def search_practitioners(
    request: HttpRequest, paging: Query[Paging], params: Query[PractitionerSearch]
) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    rows, total = page_of(_search(actor, params), paging)
    return resource_response(searchset(request, RESOURCE, rows, total, paging, to_fhir, used))


def get(actor: Actor, practitioner_id: str) -> Provider:
    row = dt.row_id(practitioner_id)
    provider = None
    if row is not None:
        provider = Provider.objects.for_org(actor.organization).filter(pk=row).first()
    if provider is None:
        raise not_found(RESOURCE, practitioner_id)
    return provider


def _search(actor: Actor, params: PractitionerSearch) -> QuerySet[Provider]:
    qs = Provider.objects.for_org(actor.organization)
    for value in params.name:
        qs = qs.filter(Q(family_name__istartswith=value) | Q(given_name__istartswith=value))
    for value in params.family:
        qs = qs.filter(family_name__istartswith=value)
    for value in params.given:
        qs = qs.filter(given_name__istartswith=value)
    for value in params.identifier:
        token = parse_token(value)
        if token.system not in (None, NPI_SYSTEM):
            return qs.none()
        if token.code:
            qs = qs.filter(npi=token.code)
    for value in params.active:
        qs = qs.filter(is_active=value == "true")
    for value in params.id:
        row = dt.row_id(value)
        qs = qs.none() if row is None else qs.filter(pk=row)
    return qs.order_by("family_name", "given_name", "pk")
