"""MedicationAdministration: doses of injectable medications (not vaccines) given or refused
here (read, search by patient).

One MedicationAdministration per `meds.Administration` without a CVX code (vaccine doses are
Immunizations, immunization.py; an Immunization id read here is 404, and the other way round).

* status: `completed` (given), `not-done` (refused; statusReason v3 ActReason PATOBJ with
  CDC's refusal code beside it), `entered-in-error` (voided: still readable, with a note giving
  the reason; left out of searches unless `status=entered-in-error`).
* medicationCodeableConcept: the NDC of the lot given (else the product's) and the product's
  name as text.
* subject, context (the encounter), effectiveDateTime (when given or refused).
* performer: who gave it (their Practitioner when they are a provider, else their name).
* request: the MedicationRequest (the order) the dose was given against.
* dosage: route (NCI Thesaurus), site (HL7 table 0163), dose (UCUM where the unit is one we
  know) and text ("30 mg IM, right gluteus medius"); a refused dose has no dosage.
* note: the note, the lot and its expiry.

Search: `patient` (or `subject`; one is required) and `status`, newest first. Reads and
searches are audited (Administration); `meds.view_administration` is needed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.meds.models import ROUTE_SHORT, SITES, Administration

from . import datatypes as dt
from . import meds_common as meds
from . import schemas
from .auth import authorize
from .bundle import Paging, page_of, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params

RESOURCE = "MedicationAdministration"
PROFILE = "http://hl7.org/fhir/StructureDefinition/MedicationAdministration"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {"patient": "reference", "subject": "reference", "status": "token"}
STATUS_CONDITIONS = {
    "completed": Q(kind=Administration.Kind.GIVEN, voided_at__isnull=True),
    "not-done": Q(kind=Administration.Kind.REFUSED, voided_at__isnull=True),
    meds.ENTERED_IN_ERROR: Q(voided_at__isnull=False),
}

router = Router(tags=[RESOURCE])


class MedicationAdministrationSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123")
    subject: str | None = Field(None, description="Patient/123 (instead of patient)")
    status: list[str] = Field([], description="completed, not-done or entered-in-error")


def status_of(administration: Administration) -> str:
    if administration.voided_at is not None:
        return meds.ENTERED_IN_ERROR
    if administration.kind == Administration.Kind.REFUSED:
        return "not-done"
    return "completed"


def medication(administration: Administration) -> dict[str, Any]:
    product = administration.product
    ndc = administration.ndc or (product.ndc if product is not None else "")
    name = administration.product_name or (product.name if product is not None else "")
    if not ndc:
        return {"text": name}
    return dt.concept(meds.NDC, ndc, name, name)


def _dosage(administration: Administration) -> dict[str, Any] | None:
    dose = meds.dose_quantity(administration.dose_amount, administration.dose_unit)
    if dose is None:  # a dosage needs its dose (mad-1): refusals have none
        return None
    words = [f"{dose['value']} {administration.dose_unit}".strip()]
    if administration.route:
        words.append(ROUTE_SHORT.get(administration.route, administration.route))
    text = " ".join(words)
    if administration.site:
        text += f", {SITES.get(administration.site, administration.site).lower()}"
    return dt.compact(
        {
            "text": text,
            "site": meds.site_concept(administration.site),
            "route": meds.route_concept(administration.route),
            "dose": dose,
        }
    )


def _notes(administration: Administration) -> list[dict[str, str]]:
    notes = dt.notes(administration.note)
    if administration.lot_number:
        lot = f"Lot {administration.lot_number}"
        if administration.expires_on:
            lot += f", expires {administration.expires_on:%Y-%m-%d}"
        notes.append({"text": lot})
    if administration.voided_at is not None:
        notes.append({"text": f"Entered in error: {administration.void_reason}"})
    return notes


def to_fhir(administration: Administration) -> dict[str, Any]:
    """One dose of an injectable (fetched by `queryset`)."""
    giver = (
        meds.person(administration.given_by)
        if administration.kind == Administration.Kind.GIVEN
        else None
    )
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(administration.pk),
            "meta": meds.meta(administration.updated_at),
            "status": status_of(administration),
            "statusReason": [meds.refusal_reason(administration.refusal_reason)]
            if administration.kind == Administration.Kind.REFUSED
            else None,
            "medicationCodeableConcept": medication(administration),
            "subject": dt.reference("Patient", administration.patient_id),
            "context": dt.reference("Encounter", administration.encounter_id)
            if administration.encounter_id
            else None,
            "effectiveDateTime": administration.occurred_at.isoformat(),
            "performer": [{"actor": giver}] if giver is not None else None,
            "request": dt.reference("MedicationRequest", administration.order_id)
            if administration.order_id
            else None,
            "note": _notes(administration),
            "dosage": _dosage(administration),
        }
    )


def queryset(actor: Actor) -> QuerySet[Administration]:
    """Doses of injectables (no CVX code) of the actor's organization, ready for `to_fhir`."""
    return (  # type: ignore[no-any-return]
        Administration.objects.for_org(actor.organization)
        .filter(vaccine_code__isnull=True)
        .select_related("patient", "product", "given_by__provider")
    )


@router.get(
    "/MedicationAdministration/{administration_id}",
    response=schemas.READ,
    summary="Read a MedicationAdministration (an injectable dose)",
)
def read_medication_administration(request: HttpRequest, administration_id: str) -> HttpResponse:
    actor = authorize(request, meds.ADMINISTRATION_PERMISSION)
    row = dt.row_id(administration_id)
    administration = queryset(actor).filter(pk=row).first() if row is not None else None
    if administration is None:
        raise not_found(RESOURCE, administration_id)
    if administration.patient.voided_at is not None:
        raise gone(RESOURCE, administration_id)
    resource = to_fhir(administration)
    meds.audit_read(
        actor,
        patient_id=administration.patient_id,
        model="Administration",
        pk=administration.pk,
        fhir_id=f"{RESOURCE}/{administration.pk}",
    )
    return resource_response(resource)


@router.get(
    "/MedicationAdministration",
    response=schemas.SEARCH,
    summary="Search a patient's MedicationAdministrations (injectable doses)",
)
def search_medication_administrations(
    request: HttpRequest, paging: Query[Paging], params: Query[MedicationAdministrationSearch]
) -> HttpResponse:
    actor = authorize(request, meds.ADMINISTRATION_PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    patient_id = meds.patient_id(params.patient, params.subject)
    status, wants_voided = meds.status_filter(params.status, STATUS_CONDITIONS)
    qs = (
        queryset(actor)
        .filter(patient_id=patient_id, patient__voided_at__isnull=True)
        .filter(meds.voided_condition(wants_voided))
        .filter(status)
    )
    rows, total = page_of(qs.order_by("-occurred_at", "-pk"), paging)
    meds.audit_search(
        actor,
        patient_id=patient_id,
        model="Administration",
        used=used,
        total=total,
        ids=[row.pk for row in rows],
    )
    return resource_response(searchset(request, RESOURCE, rows, total, paging, to_fhir, used))
