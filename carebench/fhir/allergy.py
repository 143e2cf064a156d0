"""AllergyIntolerance: read, search by patient, create, as US Core AllergyIntolerance.

"No known allergies" is an AllergyIntolerance coded SNOMED CT 716186003; creating one goes
through `record_no_known_allergies`, anything else through `add_allergy`. The model keeps one
substance code without its system: we send it as RxNorm for medication allergies and SNOMED CT
otherwise, and on create take the RxNorm or SNOMED CT coding we are given.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.allergyintolerance import AllergyIntolerance as FhirAllergy
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.patients import services
from carebench.patients.models import Allergy, Patient

from . import datatypes as dt
from . import entries, schemas
from .auth import authorize
from .body import read_resource, request_body_schema
from .bundle import Paging
from .outcome import unprocessable

RESOURCE = "AllergyIntolerance"
PROFILE = dt.US_CORE + "us-core-allergyintolerance"
CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
NO_KNOWN_ALLERGY = "716186003"
INTERACTIONS = ["read", "search-type", "create"]
SEARCH_PARAMS = {"patient": "reference", "clinical-status": "token"}

router = Router(tags=[RESOURCE])


class AllergySearch(Schema):
    patient: str = Field(description="Patient/123 or 123")
    clinical_status: list[str] = Field(
        [], alias="clinical-status", description="active, inactive or resolved"
    )


def to_fhir(allergy: Allergy) -> dict[str, Any]:
    no_known = allergy.kind == Allergy.Kind.NO_KNOWN
    reaction = []
    if allergy.reaction or allergy.severity:
        reaction = [
            dt.compact(
                {
                    "manifestation": [{"text": allergy.reaction or "Unspecified"}],
                    "severity": allergy.severity,
                }
            )
        ]
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(allergy.pk),
            "meta": dt.meta(PROFILE, allergy.updated_at),
            "clinicalStatus": dt.concept(CLINICAL, allergy.status),
            "verificationStatus": dt.concept(VERIFICATION, "confirmed"),
            "type": "" if no_known else allergy.kind,
            "category": [allergy.category] if allergy.category else [],
            "code": _code(allergy),
            "patient": dt.reference("Patient", allergy.patient_id),
            "onsetDateTime": allergy.onset_date.isoformat() if allergy.onset_date else "",
            "recordedDate": allergy.created_at.isoformat(),
            "reaction": reaction,
            "note": dt.notes(allergy.note),
        }
    )


def _code(allergy: Allergy) -> dict[str, Any]:
    if allergy.kind == Allergy.Kind.NO_KNOWN:
        return dt.concept(dt.SNOMED, NO_KNOWN_ALLERGY, "No known allergy", allergy.substance)
    if not allergy.substance_code:
        return {"text": allergy.substance}
    system = dt.RXNORM if allergy.category == Allergy.Category.MEDICATION else dt.SNOMED
    return dt.concept(system, allergy.substance_code, allergy.substance, allergy.substance)


KIND = entries.EntryKind(
    resource_type=RESOURCE,
    model=Allergy,
    to_fhir=to_fhir,
    field_paths={
        "kind": "code",
        "substance": "code",
        "substance_code": "code.coding",
        "category": "category",
        "reaction": "reaction.manifestation",
        "severity": "reaction.severity",
        "status": "clinicalStatus",
        "onset_date": "onsetDateTime",
        "note": "note",
    },
)


@router.get(
    "/AllergyIntolerance/{entry_id}", response=schemas.READ, summary="Read an AllergyIntolerance"
)
def read_allergy(request: HttpRequest, entry_id: str) -> HttpResponse:
    actor = authorize(request, KIND.permission("view"))
    return entries.read(request, actor, KIND, entry_id)


@router.get(
    "/AllergyIntolerance", response=schemas.SEARCH, summary="Search a patient's AllergyIntolerances"
)
def search_allergies(
    request: HttpRequest, paging: Query[Paging], params: Query[AllergySearch]
) -> HttpResponse:
    actor = authorize(request, KIND.permission("view"))
    condition = Q(status__in=params.clinical_status) if params.clinical_status else None
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
    "/AllergyIntolerance",
    response=schemas.CREATE,
    summary="Create an AllergyIntolerance",
    openapi_extra=request_body_schema(RESOURCE),
)
def create_allergy(request: HttpRequest) -> HttpResponse:
    actor = authorize(request, KIND.permission("add"))
    data = read_resource(request, FhirAllergy, RESOURCE)
    patient = entries.patient_for(actor, data.get("patient"), f"{RESOURCE}.patient")
    with entries.business_rules(KIND):
        entry = _create(actor, patient, data)
    return entries.created(request, KIND, entry)


def _create(actor: Actor, patient: Patient, data: dict[str, Any]) -> Allergy:
    code = data.get("code")
    if not code:
        raise unprocessable(
            "code: is required (the substance, or SNOMED CT 716186003 for no known allergies)",
            expression=f"{RESOURCE}.code",
        )
    verification = dt.first_code(data.get("verificationStatus"))
    if verification in ("entered-in-error", "refuted"):
        raise unprocessable(
            f"verificationStatus: a new entry cannot be {verification}",
            expression=f"{RESOURCE}.verificationStatus",
        )
    if NO_KNOWN_ALLERGY in dt.codes(code):
        return services.record_no_known_allergies(actor=actor, patient=patient)
    kind = data.get("type") or Allergy.Kind.ALLERGY
    if kind not in (Allergy.Kind.ALLERGY, Allergy.Kind.INTOLERANCE):
        raise unprocessable(
            f"type: must be allergy or intolerance, not '{kind}'", expression=f"{RESOURCE}.type"
        )
    reactions = data.get("reaction", [])
    reaction = reactions[0] if reactions else {}
    manifestations = reaction.get("manifestation", [])
    return services.add_allergy(
        actor=actor,
        patient=patient,
        substance=dt.concept_text(code) or dt.first_code(code),
        substance_code=dt.first_code(code, dt.RXNORM) or dt.first_code(code, dt.SNOMED),
        kind=kind,
        category=(data.get("category") or [""])[0],
        reaction=dt.concept_text(manifestations[0]) if manifestations else "",
        severity=reaction.get("severity", ""),
        status=dt.first_code(data.get("clinicalStatus")) or Allergy.Status.ACTIVE,
        onset_date=dt.full_date(data.get("onsetDateTime"), f"{RESOURCE}.onsetDateTime"),
        note="\n".join(n.get("text", "") for n in data.get("note", [])),
    )
