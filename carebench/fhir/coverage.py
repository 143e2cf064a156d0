"""Coverage: the patient's insurance. Read, search by patient, create, as US Core Coverage.

The payer is `payor[0]` by name (`display`, with its X12 payer ID as `identifier.value`); creating
a Coverage finds or adds that payer (`get_or_create_payer`) then calls `add_coverage`. The member
ID is `subscriberId` (and a member-number identifier); group and plan are `class` entries.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.coverage import Coverage as FhirCoverage
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.patients import services
from carebench.patients.models import Coverage, Patient

from . import datatypes as dt
from . import entries, schemas
from .auth import authorize
from .body import read_resource, request_body_schema
from .bundle import Paging
from .outcome import unprocessable

RESOURCE = "Coverage"
PROFILE = dt.US_CORE + "us-core-coverage"
RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
INTERACTIONS = ["read", "search-type", "create"]
SEARCH_PARAMS = {"patient": "reference", "status": "token"}

router = Router(tags=[RESOURCE])


class CoverageSearch(Schema):
    patient: str = Field(description="Patient/123 or 123")
    status: list[str] = Field([], description="active (the only status kept)")


def to_fhir(coverage: Coverage) -> dict[str, Any]:
    payer = coverage.payer
    payor = dt.compact(
        {
            "display": payer.name,
            "identifier": {"value": payer.payer_code} if payer.payer_code else None,
        }
    )
    classes = []
    if coverage.group_number:
        classes.append(
            {"type": dt.concept(CLASS, "group", "Group"), "value": coverage.group_number}
        )
    if coverage.plan_name:
        classes.append(
            {
                "type": dt.concept(CLASS, "plan", "Plan"),
                "value": coverage.plan_name,
                "name": coverage.plan_name,
            }
        )
    is_self = coverage.relationship == Coverage.Relationship.SELF
    period = dt.compact(
        {
            "start": coverage.start_date.isoformat() if coverage.start_date else "",
            "end": coverage.end_date.isoformat() if coverage.end_date else "",
        }
    )
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(coverage.pk),
            "meta": dt.meta(PROFILE, coverage.updated_at),
            "identifier": [
                {"type": dt.concept(dt.V2_0203, "MB", "Member Number"), "value": coverage.member_id}
            ],
            "status": "active",
            "subscriber": dt.reference("Patient", coverage.patient_id)
            if is_self
            else dt.compact({"display": coverage.subscriber_name}),
            "subscriberId": coverage.member_id,
            "beneficiary": dt.reference("Patient", coverage.patient_id),
            "relationship": dt.concept(
                RELATIONSHIP, coverage.relationship, coverage.get_relationship_display()
            ),
            "period": period,
            "payor": [payor],
            "class": classes,
            "order": coverage.priority,
        }
    )


KIND = entries.EntryKind(
    resource_type=RESOURCE,
    model=Coverage,
    to_fhir=to_fhir,
    field_paths={
        "payer": "payor",
        "member_id": "subscriberId",
        "plan_name": "class",
        "group_number": "class",
        "priority": "order",
        "relationship": "relationship",
        "subscriber_name": "subscriber",
        "start_date": "period.start",
        "end_date": "period.end",
        "subscriber_birth_date": "subscriber",
    },
    related=("payer",),
)


@router.get("/Coverage/{entry_id}", response=schemas.READ, summary="Read a Coverage")
def read_coverage(request: HttpRequest, entry_id: str) -> HttpResponse:
    actor = authorize(request, KIND.permission("view"))
    return entries.read(request, actor, KIND, entry_id)


@router.get("/Coverage", response=schemas.SEARCH, summary="Search a patient's Coverage")
def search_coverage(
    request: HttpRequest, paging: Query[Paging], params: Query[CoverageSearch]
) -> HttpResponse:
    actor = authorize(request, KIND.permission("view"))
    condition = None
    if params.status and "active" not in params.status:
        condition = Q(pk__in=[])
    return entries.search(
        request,
        actor,
        KIND,
        paging,
        patient=params.patient,
        allowed=SEARCH_PARAMS,
        condition=condition,
    )


@router.post(
    "/Coverage",
    response=schemas.CREATE,
    summary="Add a Coverage",
    openapi_extra=request_body_schema(RESOURCE),
)
def create_coverage(request: HttpRequest) -> HttpResponse:
    actor = authorize(request, KIND.permission("add"))
    data = read_resource(request, FhirCoverage, RESOURCE)
    patient = entries.patient_for(actor, data.get("beneficiary"), f"{RESOURCE}.beneficiary")
    with entries.business_rules(KIND):
        entry = _create(actor, patient, data)
    return entries.created(request, KIND, entry)


def _create(actor: Actor, patient: Patient, data: dict[str, Any]) -> Coverage:
    payors = data.get("payor", [])
    payor = payors[0] if payors else {}
    if not payor.get("display"):
        raise unprocessable(
            "payor: the payer's name (payor[0].display) is required", expression=f"{RESOURCE}.payor"
        )
    relationship = dt.first_code(data.get("relationship"), RELATIONSHIP) or "self"
    if relationship not in Coverage.Relationship.values:
        relationship = Coverage.Relationship.OTHER
    classes = {dt.first_code(c.get("type"), CLASS): c for c in data.get("class", [])}
    member_ids = [
        i.get("value", "")
        for i in data.get("identifier", [])
        if "MB" in dt.codes(i.get("type"), dt.V2_0203)
    ]
    priority = data.get("order") or Coverage.Priority.PRIMARY
    if priority not in Coverage.Priority.values:
        raise unprocessable(
            "order: must be 1 (primary), 2 (secondary) or 3 (tertiary)",
            expression=f"{RESOURCE}.order",
        )
    payer_code = (payor.get("identifier") or {}).get("value", "")
    if len(payor["display"]) > 200 or len(payer_code) > 20:
        raise unprocessable(
            "payor: the name is at most 200 characters and the payer ID 20",
            expression=f"{RESOURCE}.payor",
        )
    period = data.get("period", {})
    payer = services.get_or_create_payer(actor=actor, name=payor["display"], payer_code=payer_code)
    return services.add_coverage(
        actor=actor,
        patient=patient,
        payer=payer,
        member_id=data.get("subscriberId") or (member_ids[0] if member_ids else ""),
        plan_name=classes.get("plan", {}).get("name") or classes.get("plan", {}).get("value", ""),
        group_number=classes.get("group", {}).get("value", ""),
        priority=priority,
        relationship=relationship,
        subscriber_name=(data.get("subscriber") or {}).get("display", ""),
        start_date=dt.full_date(period.get("start"), f"{RESOURCE}.period.start"),
        end_date=dt.full_date(period.get("end"), f"{RESOURCE}.period.end"),
    )
