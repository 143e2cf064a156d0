"""MedicationAdministration: doses of injectable medications (not vaccines) given or refused
here, and doses documented at the eMAR's med passes in assisted-living and group homes (read,
search by patient).

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

Residents' doses (`meds.DoseRecord`, id `emar-<id>`; `meds.view_doserecord` is needed, reads and
searches are audited on DoseRecord):

* status: `completed` (given), `not-done` (refused, held, resident away, not available:
  statusReason text says which and why, e.g. "Held: pulse 52 is under 60" with the vital that
  triggered a hold parameter; a refusal also carries v3 ActReason PATOBJ), `entered-in-error`
  (voided, with a note giving the reason).
* medicationCodeableConcept: the order's (drug, strength and form; NDC when known); subject;
  effectiveDateTime (when documented); request `MedicationRequest/emar-<order id>`; performer
  who documented it (their Practitioner when they are a provider, else their name), for every
  outcome (the MAR's initials).
* dosage (given doses): text ("1 tablet by mouth"), route, dose when the order's dose starts
  with an amount (else the dose is a note: a dosage needs its dose, mad-1).
* reasonCode: a PRN dose's reason, as text.
* note: the scheduled time (and that it was documented late), the PRN reason, the
  effectiveness check (its result and note, with who and when as the annotation's author and
  time; or when it is due), the vitals taken at the pass.

Search: `patient` (or `subject`; one is required), `status`, `effective-time` (days in the
clinic's or the home's time zone; eq/ne/gt/lt/ge/le), newest first (clinic and residents' doses
merged by time). Reads and searches are audited (Administration, DoseRecord);
`meds.view_administration` is needed for clinic doses and `meds.view_doserecord` for residents'
(a search returns the kinds the user may see; 403 with neither).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.meds.emar_models import DoseRecord
from carebench.meds.models import ROUTE_SHORT, SITES, Administration

from . import datatypes as dt
from . import meds_common as meds
from . import schemas
from .auth import authorize
from .bundle import Paging, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params

RESOURCE = "MedicationAdministration"
PROFILE = "http://hl7.org/fhir/StructureDefinition/MedicationAdministration"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "patient": "reference",
    "subject": "reference",
    "status": "token",
    "effective-time": "date",
}
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
    effective_time: list[str] = Field(
        [],
        alias="effective-time",
        description="when given: YYYY[-MM[-DD]], prefixes eq, ne, gt, lt, ge, le",
    )


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


# --- residents' doses (the eMAR) ----------------------------------------------------------------

DOSE_STATUS_CONDITIONS = {
    "completed": Q(outcome=DoseRecord.Outcome.GIVEN, voided_at__isnull=True),
    "not-done": Q(voided_at__isnull=True) & ~Q(outcome=DoseRecord.Outcome.GIVEN),
    meds.ENTERED_IN_ERROR: Q(voided_at__isnull=False),
}


def dose_status(record: DoseRecord) -> str:
    if record.voided_at is not None:
        return meds.ENTERED_IN_ERROR
    return "completed" if record.outcome == DoseRecord.Outcome.GIVEN else "not-done"


def _plain(value: Any) -> str:
    return format(value.normalize(), "f")


def _dose_status_reason(record: DoseRecord) -> list[dict[str, Any]] | None:
    """Why the dose was not given: which outcome, the reason, and the vital that held it."""
    if record.outcome == DoseRecord.Outcome.GIVEN:
        return None
    text = record.get_outcome_display()
    reason = record.reason
    if record.outcome == DoseRecord.Outcome.HELD and reason.lower().startswith("hold:"):
        reason = reason[len("hold:") :].strip()  # "hold: pulse 52 is under 60"
    if reason:
        text += f": {reason}"
    if record.vital_name and record.vital_value is not None:
        vital = f"{record.vital_name} {_plain(record.vital_value)}"
        if vital not in text:
            text += f" ({vital})"
    concept: dict[str, Any] = {"text": text}
    if record.outcome == DoseRecord.Outcome.REFUSED:
        concept = {"coding": [dt.coding(meds.ACT_REASON, "PATOBJ", "patient objection")], **concept}
    return [concept]


def _local(record: DoseRecord, moment: Any) -> str:
    zone = ZoneInfo(record.residency.facility.time_zone)
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M %Z}"


def _dose_notes(record: DoseRecord) -> list[dict[str, str]]:
    notes: list[dict[str, str]] = []
    if record.scheduled_at is not None:
        text = f"Scheduled for {_local(record, record.scheduled_at)}"
        notes.append({"text": text + ("; documented late" if record.late else "")})
    if record.prn_reason:
        notes.append({"text": f"PRN reason: {record.prn_reason}"})
    if record.effectiveness:
        text = f"PRN effectiveness check: {record.get_effectiveness_display()}"
        if record.effectiveness_note:
            text += f": {record.effectiveness_note}"
        note = {"text": text}
        if record.effectiveness_by is not None:
            note["authorString"] = record.effectiveness_by.display_name
        if record.effectiveness_at is not None:
            note["time"] = record.effectiveness_at.isoformat()
        notes.append(note)
    elif record.effectiveness_due_at is not None and record.voided_at is None:
        due = _local(record, record.effectiveness_due_at)
        notes.append({"text": f"PRN effectiveness check due by {due}"})
    if record.vitals:
        readings = ", ".join(f"{name} {value}" for name, value in sorted(record.vitals.items()))
        notes.append({"text": f"Vitals at the pass: {readings}"})
    if (
        record.outcome == DoseRecord.Outcome.GIVEN
        and meds.parse_dose(record.order.dose) is None
        and record.order.dose
    ):
        notes.append({"text": f"Dose: {meds.resident_dose_text(record.order)}"})
    if record.voided_at is not None:
        notes.append({"text": f"Entered in error: {record.void_reason}"})
    return notes


def _dose_dosage(record: DoseRecord) -> dict[str, Any] | None:
    if record.outcome != DoseRecord.Outcome.GIVEN:
        return None
    dose = meds.parse_dose(record.order.dose)
    if dose is None:  # a dosage needs its dose (mad-1): the dose goes into a note
        return None
    return dt.compact(
        {
            "text": meds.resident_dose_text(record.order),
            "route": meds.resident_route(record.order.route),
            "dose": dose,
        }
    )


def dose_to_fhir(record: DoseRecord) -> dict[str, Any]:
    """One dose documented at a med pass (fetched by `dose_queryset`)."""
    documented_by = meds.person(record.created_by)
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": meds.emar_id(record.pk),
            "meta": meds.meta(record.updated_at),
            "status": dose_status(record),
            "statusReason": _dose_status_reason(record),
            "medicationCodeableConcept": meds.resident_medication(record.order),
            "subject": dt.reference("Patient", record.patient_id),
            "effectiveDateTime": record.recorded_at.isoformat(),
            "performer": [{"actor": documented_by}] if documented_by is not None else None,
            "reasonCode": [{"text": record.prn_reason}] if record.prn_reason else None,
            "request": {"reference": f"MedicationRequest/{meds.emar_id(record.order_id)}"},
            "note": _dose_notes(record),
            "dosage": _dose_dosage(record),
        }
    )


def dose_queryset(actor: Actor) -> QuerySet[DoseRecord]:
    """Doses documented at the organization's med passes, ready for `dose_to_fhir`."""
    return (  # type: ignore[no-any-return]
        DoseRecord.objects.for_org(actor.organization).select_related(
            "patient",
            "order",
            "residency__facility",
            "created_by__provider",
            "effectiveness_by",
        )
    )


def _resource_of(row: Administration | DoseRecord) -> dict[str, Any]:
    if isinstance(row, DoseRecord):
        return dose_to_fhir(row)
    return to_fhir(row)


# --- views --------------------------------------------------------------------------------------


def _read_dose(request: HttpRequest, administration_id: str) -> HttpResponse:
    actor = authorize(request, meds.DOSE_RECORD_PERMISSION)
    row = meds.emar_row_id(administration_id)
    record = dose_queryset(actor).filter(pk=row).first() if row is not None else None
    if record is None:
        raise not_found(RESOURCE, administration_id)
    if record.patient.voided_at is not None:
        raise gone(RESOURCE, administration_id)
    resource = dose_to_fhir(record)
    meds.audit_read(
        actor,
        patient_id=record.patient_id,
        model="DoseRecord",
        pk=record.pk,
        fhir_id=f"{RESOURCE}/{resource['id']}",
    )
    return resource_response(resource)


@router.get(
    "/MedicationAdministration/{administration_id}",
    response=schemas.READ,
    summary="Read a MedicationAdministration (an injectable dose, or a resident's dose)",
)
def read_medication_administration(request: HttpRequest, administration_id: str) -> HttpResponse:
    if administration_id.startswith(meds.EMAR_PREFIX):
        return _read_dose(request, administration_id)
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
    summary="Search a patient's MedicationAdministrations (injectable and residents' doses)",
)
def search_medication_administrations(
    request: HttpRequest, paging: Query[Paging], params: Query[MedicationAdministrationSearch]
) -> HttpResponse:
    actor, (clinic_allowed, resident_allowed) = meds.authorize_kinds(
        request, [meds.ADMINISTRATION_PERMISSION, meds.DOSE_RECORD_PERMISSION]
    )
    used = check_params(request, SEARCH_PARAMS)
    patient_id = meds.patient_id(params.patient, params.subject)
    sources: list[tuple[QuerySet[Any], str]] = []
    models: list[str] = []
    if clinic_allowed:
        status, wants_voided = meds.status_filter(params.status, STATUS_CONDITIONS)
        when = meds.day_filter(actor, "occurred_at", params.effective_time, "effective-time")
        sources.append(
            (
                queryset(actor)
                .filter(patient_id=patient_id, patient__voided_at__isnull=True)
                .filter(meds.voided_condition(wants_voided))
                .filter(status)
                .filter(when),
                "occurred_at",
            )
        )
        models.append("Administration")
    if resident_allowed:
        status, wants_voided = meds.status_filter(params.status, DOSE_STATUS_CONDITIONS)
        when = meds.home_day_filter(
            actor,
            "recorded_at",
            params.effective_time,
            "effective-time",
            "residency__facility__time_zone",
        )
        sources.append(
            (
                dose_queryset(actor)
                .filter(patient_id=patient_id, patient__voided_at__isnull=True)
                .filter(meds.voided_condition(wants_voided))
                .filter(status)
                .filter(when),
                "recorded_at",
            )
        )
        models.append("DoseRecord")
    rows, counts = meds.merged_page(sources, paging)
    for model, count in zip(models, counts, strict=True):
        kind = DoseRecord if model == "DoseRecord" else Administration
        meds.audit_search(
            actor,
            patient_id=patient_id,
            model=model,
            used=used,
            total=count,
            ids=[row.pk for row in rows if isinstance(row, kind)],
        )
    bundle = searchset(request, RESOURCE, rows, sum(counts), paging, _resource_of, used)
    return resource_response(bundle)
