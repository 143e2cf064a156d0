"""Condition: the problem list (category problem-list-item), coded in ICD-10-CM.

Read, search by patient (and clinical-status, category, code), create through `add_problem`,
as US Core Condition Problems and Health Concerns. A new Condition needs an ICD-10-CM coding
(`http://hl7.org/fhir/sid/icd-10-cm`) of a billable code; other categories are refused.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.condition import Condition as FhirCondition
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.patients import services
from carebench.patients.models import Patient, Problem
from carebench.terminology.selectors import normalize_icd10

from . import datatypes as dt
from . import entries, schemas
from .auth import authorize
from .body import read_resource, request_body_schema
from .bundle import Paging
from .outcome import unprocessable
from .search import parse_token

RESOURCE = "Condition"
PROFILE = dt.US_CORE + "us-core-condition-problems-health-concerns"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
PROBLEM_LIST_ITEM = "problem-list-item"
INTERACTIONS = ["read", "search-type", "create"]
SEARCH_PARAMS = {
    "patient": "reference",
    "clinical-status": "token",
    "category": "token",
    "code": "token",
}

router = Router(tags=[RESOURCE])


class ConditionSearch(Schema):
    patient: str = Field(description="Patient/123 or 123")
    clinical_status: list[str] = Field(
        [], alias="clinical-status", description="active, recurrence, inactive, remission, resolved"
    )
    category: list[str] = Field([], description="problem-list-item (the only one kept)")
    code: list[str] = Field([], description="ICD-10-CM code, as system|code or code")


def to_fhir(problem: Problem) -> dict[str, Any]:
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(problem.pk),
            "meta": dt.meta(PROFILE, problem.updated_at),
            "clinicalStatus": dt.concept(CLINICAL, problem.status),
            "verificationStatus": dt.concept(VERIFICATION, "confirmed"),
            "category": [dt.concept(CATEGORY, PROBLEM_LIST_ITEM, "Problem List Item")],
            "code": dt.concept(
                dt.ICD10CM, problem.icd10_code, problem.description, problem.description
            ),
            "subject": dt.reference("Patient", problem.patient_id),
            "onsetDateTime": problem.onset_date.isoformat() if problem.onset_date else "",
            "abatementDateTime": problem.resolved_date.isoformat() if problem.resolved_date else "",
            "recordedDate": problem.created_at.isoformat(),
            "note": dt.notes(problem.note),
        }
    )


KIND = entries.EntryKind(
    resource_type=RESOURCE,
    model=Problem,
    to_fhir=to_fhir,
    field_paths={
        "icd10_code": "code",
        "description": "code.text",
        "status": "clinicalStatus",
        "onset_date": "onsetDateTime",
        "resolved_date": "abatementDateTime",
        "note": "note",
    },
)


@router.get("/Condition/{entry_id}", response=schemas.READ, summary="Read a Condition")
def read_condition(request: HttpRequest, entry_id: str) -> HttpResponse:
    actor = authorize(request, KIND.permission("view"))
    return entries.read(request, actor, KIND, entry_id)


@router.get("/Condition", response=schemas.SEARCH, summary="Search a patient's problem list")
def search_conditions(
    request: HttpRequest, paging: Query[Paging], params: Query[ConditionSearch]
) -> HttpResponse:
    actor = authorize(request, KIND.permission("view"))
    return entries.search(
        request,
        actor,
        KIND,
        paging,
        patient=params.patient,
        allowed=SEARCH_PARAMS,
        condition=_condition(params),
    )


def _condition(params: ConditionSearch) -> Q:
    condition = Q()
    if params.clinical_status:
        condition &= Q(status__in=params.clinical_status)
    for value in params.category:
        if parse_token(value).code != PROBLEM_LIST_ITEM:
            condition &= Q(pk__in=[])
    for value in params.code:
        token = parse_token(value)
        if token.system not in (None, dt.ICD10CM):
            condition &= Q(pk__in=[])
        else:
            condition &= Q(icd10_code=normalize_icd10(token.code))
    return condition


@router.post(
    "/Condition",
    response=schemas.CREATE,
    summary="Add a Condition to the problem list",
    openapi_extra=request_body_schema(RESOURCE),
)
def create_condition(request: HttpRequest) -> HttpResponse:
    actor = authorize(request, KIND.permission("add"))
    data = read_resource(request, FhirCondition, RESOURCE)
    patient = entries.patient_for(actor, data.get("subject"), f"{RESOURCE}.subject")
    with entries.business_rules(KIND):
        entry = _create(actor, patient, data)
    return entries.created(request, KIND, entry)


def _create(actor: Actor, patient: Patient, data: dict[str, Any]) -> Problem:
    categories = [code for c in data.get("category", []) for code in dt.codes(c, CATEGORY)]
    if categories and PROBLEM_LIST_ITEM not in categories:
        raise unprocessable(
            f"category: only {PROBLEM_LIST_ITEM} Conditions are kept here",
            expression=f"{RESOURCE}.category",
        )
    icd10 = dt.first_code(data.get("code"), dt.ICD10CM)
    if not icd10:
        raise unprocessable(
            f"code: an ICD-10-CM coding (system {dt.ICD10CM}) is required",
            expression=f"{RESOURCE}.code",
        )
    return services.add_problem(
        actor=actor,
        patient=patient,
        icd10_code=icd10,
        description=dt.concept_text(data.get("code")),
        status=dt.first_code(data.get("clinicalStatus")) or Problem.Status.ACTIVE,
        onset_date=dt.full_date(data.get("onsetDateTime"), f"{RESOURCE}.onsetDateTime"),
        resolved_date=dt.full_date(data.get("abatementDateTime"), f"{RESOURCE}.abatementDateTime"),
        note="\n".join(n.get("text", "") for n in data.get("note", [])),
    )
