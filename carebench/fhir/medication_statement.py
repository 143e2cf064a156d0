"""MedicationStatement: the patient's medication list. Read, search by patient, create.

The medication is a `medicationCodeableConcept` (RxNorm coding when the code is known; the text
is the drug, strength and form). Dose, route and frequency travel in `dosage[0]` as its text,
route text and timing code text. Created through `add_medication`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.medicationstatement import MedicationStatement as FhirMedicationStatement
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.patients import services
from carebench.patients.models import MedicationStatement, Patient

from . import datatypes as dt
from . import entries, schemas
from .auth import authorize
from .body import read_resource, request_body_schema
from .bundle import Paging
from .outcome import unprocessable

RESOURCE = "MedicationStatement"
PROFILE = "http://hl7.org/fhir/StructureDefinition/MedicationStatement"
INTERACTIONS = ["read", "search-type", "create"]
SEARCH_PARAMS = {"patient": "reference", "status": "token"}

router = Router(tags=[RESOURCE])


class MedicationSearch(Schema):
    patient: str = Field(description="Patient/123 or 123")
    status: list[str] = Field([], description="active, on-hold, stopped or completed")


def to_fhir(med: MedicationStatement) -> dict[str, Any]:
    medication = (
        dt.concept(dt.RXNORM, med.rxnorm_code, med.medication, med.medication)
        if med.rxnorm_code
        else {"text": med.medication}
    )
    dosage = dt.compact(
        {
            "text": med.dose,
            "route": {"text": med.route} if med.route else None,
            "timing": {"code": {"text": med.frequency}} if med.frequency else None,
        }
    )
    period = dt.compact(
        {
            "start": med.start_date.isoformat() if med.start_date else "",
            "end": med.end_date.isoformat() if med.end_date else "",
        }
    )
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(med.pk),
            "meta": {
                "versionId": dt.version_id(med.updated_at),
                "lastUpdated": med.updated_at.isoformat(),
            },
            "status": med.status,
            "medicationCodeableConcept": medication,
            "subject": dt.reference("Patient", med.patient_id),
            "effectivePeriod": period,
            "dateAsserted": med.created_at.isoformat(),
            "dosage": [dosage] if dosage else [],
            "note": dt.notes(med.note),
        }
    )


KIND = entries.EntryKind(
    resource_type=RESOURCE,
    model=MedicationStatement,
    to_fhir=to_fhir,
    field_paths={
        "medication": "medicationCodeableConcept.text",
        "rxnorm_code": "medicationCodeableConcept.coding",
        "dose": "dosage.text",
        "route": "dosage.route",
        "frequency": "dosage.timing.code",
        "status": "status",
        "start_date": "effectivePeriod.start",
        "end_date": "effectivePeriod.end",
        "prescriber": "informationSource",
        "note": "note",
    },
)


@router.get(
    "/MedicationStatement/{entry_id}", response=schemas.READ, summary="Read a MedicationStatement"
)
def read_medication(request: HttpRequest, entry_id: str) -> HttpResponse:
    actor = authorize(request, KIND.permission("view"))
    return entries.read(request, actor, KIND, entry_id)


@router.get(
    "/MedicationStatement", response=schemas.SEARCH, summary="Search a patient's medication list"
)
def search_medications(
    request: HttpRequest, paging: Query[Paging], params: Query[MedicationSearch]
) -> HttpResponse:
    actor = authorize(request, KIND.permission("view"))
    condition = Q(status__in=params.status) if params.status else None
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
    "/MedicationStatement",
    response=schemas.CREATE,
    summary="Add a MedicationStatement",
    openapi_extra=request_body_schema(RESOURCE),
)
def create_medication(request: HttpRequest) -> HttpResponse:
    actor = authorize(request, KIND.permission("add"))
    data = read_resource(request, FhirMedicationStatement, RESOURCE)
    patient = entries.patient_for(actor, data.get("subject"), f"{RESOURCE}.subject")
    with entries.business_rules(KIND):
        entry = _create(actor, patient, data)
    return entries.created(request, KIND, entry)


def _create(actor: Actor, patient: Patient, data: dict[str, Any]) -> MedicationStatement:
    medication = data.get("medicationCodeableConcept")
    if not medication:
        raise unprocessable(
            "medicationCodeableConcept: is required (medicationReference is not supported)",
            expression=f"{RESOURCE}.medicationCodeableConcept",
        )
    dosages = data.get("dosage", [])
    dosage = dosages[0] if dosages else {}
    period = data.get("effectivePeriod", {})
    start = data.get("effectiveDateTime") or period.get("start")
    return services.add_medication(
        actor=actor,
        patient=patient,
        medication=dt.concept_text(medication),
        rxnorm_code=dt.first_code(medication, dt.RXNORM),
        dose=dosage.get("text", ""),
        route=dt.concept_text(dosage.get("route")),
        frequency=dt.concept_text(dosage.get("timing", {}).get("code")),
        status=data.get("status") or MedicationStatement.Status.ACTIVE,
        start_date=dt.full_date(start, f"{RESOURCE}.effectivePeriod.start"),
        end_date=dt.full_date(period.get("end"), f"{RESOURCE}.effectivePeriod.end"),
        note="\n".join(n.get("text", "") for n in data.get("note", [])),
    )
