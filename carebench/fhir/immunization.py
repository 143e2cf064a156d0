"""Immunization: vaccine doses given here, reported from elsewhere, or refused (read, search by
patient, create for history), as US Core Immunization.

One Immunization per `meds.Administration` that has a CVX code (doses of other injectables are
MedicationAdministrations, medication_administration.py); its id is the row's id.

* status: `completed` (given here, or reported), `not-done` (refused; statusReason v3 ActReason
  PATOBJ with CDC's refusal code, NIP002, beside it), `entered-in-error` (voided: still readable,
  with a note giving the reason, and left out of searches unless `status=entered-in-error`).
* vaccineCode: CVX, plus the NDC when known (doses given here); text the product as given.
* patient, encounter, occurrenceDateTime (a dose given here: the instant; a reported dose: the
  date only, in the clinic's time zone), recorded, location (the facility).
* primarySource: true for doses given or refused here; false for reported ones, whose
  reportOrigin is HL7's immunization-origin code with CDC's NIP001 code beside it.
* manufacturer (MVX: identifier `http://hl7.org/fhir/sid/mvx` and the name), lotNumber,
  expirationDate, site (HL7 table 0163), route (NCI Thesaurus), doseQuantity (UCUM).
* performer: the administering person (function AP: their Practitioner when they are a
  provider, else their name) and the ordering provider (OP, Practitioner).
* reaction: one per reaction recorded: date (onset), detail (display: what happened, the
  severity and whether it went to VAERS), reported (true when it began after the observation
  period, so the patient reported it; false when staff saw it during the observation period).
  Reactions are shown only to users who may see them (`meds.view_adversereaction`).
* education: the VIS given (publicationDate the edition, presentationDate the day given).
* programEligibility: HL7 table 0064 (V01-V05); fundingSource: HL7 immunization-funding-source
  (private or public) with CDC's code (PHC70, VXC51, VXC52) beside it.

Create (`POST /Immunization`) records history only: a dose given elsewhere, with status
`completed`, primarySource false, a CVX vaccineCode and occurrenceDateTime (a full date); it is
written by `meds.services.record_historical` (which also tells the registry). reportOrigin
(immunization-origin `provider`, `record`, `recall`, `school`, or a NIP001 code 01-08) gives
the source (01, unspecified, without it); lotNumber and manufacturer (MVX) are kept.

Search: `patient` (required), `date` (the day of the dose in the clinic's time zone, with
eq/ne/gt/lt/ge/le), `vaccine-code` (CVX or NDC: `system|code` or `code`; comma-separated: any),
`status`. Newest first. Reads and searches are audited (Administration); the
`meds.view_administration` permission is needed to read, `meds.add_administration` to create.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.immunization import Immunization as FhirImmunization
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.meds import services
from carebench.meds.models import ELIGIBILITY, SOURCES, Administration, AdverseReaction, StockLot
from carebench.patients.models import Patient
from carebench.terminology.models import Manufacturer, VaccineCode

from . import datatypes as dt
from . import entries, location, schemas
from . import meds_common as meds
from .appointment import zone_of
from .auth import authorize
from .body import read_resource, request_body_schema
from .bundle import Paging, page_of, searchset
from .outcome import gone, not_found, resource_response, unprocessable
from .search import check_params

RESOURCE = "Immunization"
PROFILE = dt.US_CORE + "us-core-immunization"
CREATE_PERMISSION = "meds.add_administration"
INTERACTIONS = ["read", "search-type", "create"]
SEARCH_PARAMS = {
    "patient": "reference",
    "date": "date",
    "vaccine-code": "token",
    "status": "token",
}
ORIGIN = "http://terminology.hl7.org/CodeSystem/immunization-origin"
FUNDING = "http://terminology.hl7.org/CodeSystem/immunization-funding-source"
# NIP001 (where a reported dose's record came from) <-> HL7 immunization-origin.
ORIGIN_OF_SOURCE = {
    "02": ("provider", "Other Provider"),
    "03": ("record", "Written Record"),
    "04": ("recall", "Parent/Guardian/Patient Recall"),
    "05": ("record", "Written Record"),
    "06": ("record", "Written Record"),
    "07": ("school", "School Record"),
    "08": ("record", "Written Record"),
}
SOURCE_OF_ORIGIN = {"provider": "02", "record": "03", "recall": "04", "school": "07"}
FUNDING_SOURCE = {
    StockLot.Funding.PRIVATE: ("private", "Private", "PHC70", "Private funds"),
    StockLot.Funding.VFC: ("public", "Public", "VXC51", "Public VFC"),
    StockLot.Funding.STATE: ("public", "Public", "VXC52", "Public non-VFC"),
}
STATUS_CONDITIONS = {
    "completed": Q(
        kind__in=[Administration.Kind.GIVEN, Administration.Kind.HISTORICAL],
        voided_at__isnull=True,
    ),
    "not-done": Q(kind=Administration.Kind.REFUSED, voided_at__isnull=True),
    meds.ENTERED_IN_ERROR: Q(voided_at__isnull=False),
}
FIELD_PATHS = {
    "vaccine_code": "vaccineCode",
    "given_on": "occurrenceDateTime",
    "source": "reportOrigin",
    "lot_number": "lotNumber",
    "manufacturer": "manufacturer",
    "note": "note",
    "patient": "patient",
}

router = Router(tags=[RESOURCE])


class ImmunizationSearch(Schema):
    patient: str = Field(description="Patient/123 or 123")
    date: list[str] = Field([], description="day of the dose, with eq/ne/gt/lt/ge/le")
    vaccine_code: list[str] = Field(
        [],
        alias="vaccine-code",
        description="CVX (http://hl7.org/fhir/sid/cvx|140 or 140) or NDC; comma-separated: any",
    )
    status: list[str] = Field([], description="completed, not-done or entered-in-error")


# --- Administration -> Immunization -------------------------------------------------------------


def _zone(administration: Administration) -> ZoneInfo:
    facility = administration.facility
    if facility is not None:
        return ZoneInfo(facility.time_zone)
    return zone_of(administration.organization)


def status_of(administration: Administration) -> str:
    if administration.voided_at is not None:
        return meds.ENTERED_IN_ERROR
    if administration.kind == Administration.Kind.REFUSED:
        return "not-done"
    return "completed"


def _vaccine_code(administration: Administration) -> dict[str, Any]:
    code = administration.vaccine_code
    assert code is not None
    codings = [dt.coding(meds.CVX, code.cvx, code.short_name)]
    if administration.ndc:
        codings.append(dt.coding(meds.NDC, administration.ndc, administration.product_name))
    return {"coding": codings, "text": administration.product_name or code.short_name}


def _occurrence(administration: Administration) -> str:
    if administration.kind == Administration.Kind.HISTORICAL:
        return administration.occurred_at.astimezone(_zone(administration)).date().isoformat()
    return administration.occurred_at.isoformat()


def _report_origin(administration: Administration) -> dict[str, Any] | None:
    if administration.kind != Administration.Kind.HISTORICAL:
        return None
    source = administration.source
    codings = []
    if source in ORIGIN_OF_SOURCE:
        codings.append(dt.coding(ORIGIN, *ORIGIN_OF_SOURCE[source]))
    codings.append(dt.coding(meds.CDC_NIP001, source, SOURCES.get(source, "")))
    return {"coding": codings, "text": SOURCES.get(source, source)}


def _manufacturer(administration: Administration) -> dict[str, Any] | None:
    maker = administration.manufacturer
    if maker is None:
        return None
    return {"identifier": {"system": meds.MVX, "value": maker.mvx}, "display": maker.name}


def _performers(administration: Administration) -> list[dict[str, Any]]:
    performers = []
    if administration.kind == Administration.Kind.GIVEN:
        giver = meds.person(administration.given_by)
        if giver is not None:
            performers.append(
                {
                    "function": dt.concept(meds.V2_0443, "AP", "Administering Provider"),
                    "actor": giver,
                }
            )
    ordering = meds.provider_reference(administration.ordering_provider)
    if ordering is not None and administration.kind != Administration.Kind.HISTORICAL:
        performers.append(
            {"function": dt.concept(meds.V2_0443, "OP", "Ordering Provider"), "actor": ordering}
        )
    return performers


def _reaction(administration: Administration, reaction: AdverseReaction) -> dict[str, Any]:
    detail = f"{reaction.description} ({reaction.get_severity_display().lower()}"  # type: ignore[attr-defined]
    if reaction.treatment:
        detail += f"; treated: {reaction.treatment}"
    if reaction.reported_to_vaers:
        detail += "; reported to VAERS"
    detail += ")"
    watched = administration.observation_minutes or 0
    during_observation = reaction.onset_at <= administration.occurred_at + timedelta(
        minutes=watched
    )
    return {
        "date": reaction.onset_at.isoformat(),
        "detail": {"display": detail},
        "reported": not (administration.kind == Administration.Kind.GIVEN and during_observation),
    }


def _education(administration: Administration) -> list[dict[str, Any]]:
    if administration.vis_edition_date is None and administration.vis_given_on is None:
        return []
    code = administration.vaccine_code
    subject = (code.group or code.short_name) if code is not None else ""
    return [
        dt.compact(
            {
                "documentType": f"Vaccine Information Statement ({subject})"
                if subject
                else "Vaccine Information Statement",
                "publicationDate": administration.vis_edition_date.isoformat()
                if administration.vis_edition_date
                else None,
                "presentationDate": administration.vis_given_on.isoformat()
                if administration.vis_given_on
                else None,
            }
        )
    ]


def _funding(administration: Administration) -> dict[str, Any] | None:
    found = FUNDING_SOURCE.get(administration.funding)  # type: ignore[call-overload]
    if found is None:
        return None
    code, display, cdc, cdc_display = found
    return {
        "coding": [dt.coding(FUNDING, code, display), dt.coding(meds.CDCPHINVS, cdc, cdc_display)],
        "text": cdc_display,
    }


def _notes(administration: Administration) -> list[dict[str, str]]:
    notes = dt.notes(administration.note)
    if administration.date_is_estimated:
        notes.append({"text": "The date is estimated."})
    if administration.voided_at is not None:
        notes.append({"text": f"Entered in error: {administration.void_reason}"})
    return notes


def to_fhir(administration: Administration, *, reactions: bool = True) -> dict[str, Any]:
    """One vaccine dose (fetched by `queryset`); `reactions` False leaves them out."""
    found: list[AdverseReaction] = (
        list(administration.reactions.all())  # type: ignore[attr-defined]
        if reactions
        else []
    )
    updated = max([administration.updated_at, *(r.updated_at for r in found)])
    eligibility = administration.eligibility
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(administration.pk),
            "meta": meds.meta(updated, PROFILE),
            "status": status_of(administration),
            "statusReason": meds.refusal_reason(administration.refusal_reason)
            if administration.kind == Administration.Kind.REFUSED
            else None,
            "vaccineCode": _vaccine_code(administration),
            "patient": dt.reference("Patient", administration.patient_id),
            "encounter": dt.reference("Encounter", administration.encounter_id)
            if administration.encounter_id
            else None,
            "occurrenceDateTime": _occurrence(administration),
            "recorded": administration.created_at.isoformat(),
            "primarySource": administration.kind != Administration.Kind.HISTORICAL,
            "reportOrigin": _report_origin(administration),
            "location": location.facility_reference(administration.facility)
            if administration.facility is not None
            and administration.kind != Administration.Kind.HISTORICAL
            else None,
            "manufacturer": _manufacturer(administration),
            "lotNumber": administration.lot_number,
            "expirationDate": administration.expires_on.isoformat()
            if administration.expires_on
            else None,
            "site": meds.site_concept(administration.site),
            "route": meds.route_concept(administration.route),
            "doseQuantity": meds.dose_quantity(
                administration.dose_amount, administration.dose_unit
            ),
            "performer": _performers(administration),
            "note": _notes(administration),
            "education": _education(administration),
            "programEligibility": [
                dt.concept(meds.V2_0064, eligibility, ELIGIBILITY[eligibility], "")
            ]
            if eligibility in ELIGIBILITY
            else None,
            "fundingSource": _funding(administration),
            "reaction": [_reaction(administration, r) for r in found],
        }
    )


def queryset(actor: Actor) -> QuerySet[Administration]:
    """Vaccine doses (with a CVX code) of the actor's organization, ready for `to_fhir`."""
    return (  # type: ignore[no-any-return]
        Administration.objects.for_org(actor.organization)
        .filter(vaccine_code__isnull=False)
        .select_related(
            "patient",
            "organization",
            "vaccine_code",
            "manufacturer",
            "given_by__provider",
            "ordering_provider",
            "facility",
        )
        .prefetch_related(
            Prefetch("reactions", queryset=AdverseReaction.objects.order_by("onset_at", "pk"))
        )
    )


KIND = entries.EntryKind(
    resource_type=RESOURCE, model=Administration, to_fhir=to_fhir, field_paths=FIELD_PATHS
)


def _converter(actor: Actor) -> Any:
    assert actor.user is not None
    return partial(to_fhir, reactions=actor.user.has_perm(meds.REACTION_PERMISSION))


# --- views --------------------------------------------------------------------------------------


@router.get(
    "/Immunization/{immunization_id}", response=schemas.READ, summary="Read an Immunization"
)
def read_immunization(request: HttpRequest, immunization_id: str) -> HttpResponse:
    actor = authorize(request, meds.ADMINISTRATION_PERMISSION)
    row = dt.row_id(immunization_id)
    administration = queryset(actor).filter(pk=row).first() if row is not None else None
    if administration is None:
        raise not_found(RESOURCE, immunization_id)
    if administration.patient.voided_at is not None:
        raise gone(RESOURCE, immunization_id)
    resource = _converter(actor)(administration)
    meds.audit_read(
        actor,
        patient_id=administration.patient_id,
        model="Administration",
        pk=administration.pk,
        fhir_id=f"{RESOURCE}/{administration.pk}",
    )
    return resource_response(resource)


@router.get("/Immunization", response=schemas.SEARCH, summary="Search a patient's Immunizations")
def search_immunizations(
    request: HttpRequest, paging: Query[Paging], params: Query[ImmunizationSearch]
) -> HttpResponse:
    actor = authorize(request, meds.ADMINISTRATION_PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    patient_id = meds.patient_id(params.patient, None)
    status, wants_voided = meds.status_filter(params.status, STATUS_CONDITIONS)
    qs = (
        queryset(actor)
        .filter(patient_id=patient_id, patient__voided_at__isnull=True)
        .filter(meds.voided_condition(wants_voided))
        .filter(status)
        .filter(_vaccine_code_filter(params.vaccine_code))
        .filter(meds.day_filter(actor, "occurred_at", params.date))
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
    return resource_response(
        searchset(request, RESOURCE, rows, total, paging, _converter(actor), used)
    )


def _vaccine_code_filter(values: list[str]) -> Q:
    condition = Q()
    for group in meds.tokens(values):
        match = Q(pk__in=[])
        for token in group:
            if token.system in (None, meds.CVX):
                match |= Q(vaccine_code__cvx=token.code)
            if token.system in (None, meds.NDC):
                match |= Q(ndc=token.code)
        condition &= match
    return condition


@router.post(
    "/Immunization",
    response=schemas.CREATE,
    summary="Record a dose given elsewhere (history)",
    openapi_extra=request_body_schema(RESOURCE),
)
def create_immunization(request: HttpRequest) -> HttpResponse:
    actor = authorize(request, CREATE_PERMISSION)
    data = read_resource(request, FhirImmunization, RESOURCE)
    patient = entries.patient_for(actor, data.get("patient"), f"{RESOURCE}.patient")
    fields = _historical_fields(data)
    with entries.business_rules(KIND):
        created = _record(actor, patient, fields)
    return entries.created(request, KIND, queryset(actor).get(pk=created.pk))


def _record(actor: Actor, patient: Patient, fields: dict[str, Any]) -> Administration:
    return services.record_historical(
        actor=actor, patient=patient, channel_detail="FHIR Immunization", **fields
    )


def _historical_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The arguments of `record_historical` from an Immunization (422 naming the element)."""
    if data.get("status") != "completed":
        raise unprocessable(
            f"{RESOURCE}.status: only a completed dose given elsewhere can be recorded here, "
            f"not '{data.get('status')}' (refusals are recorded at the chair)",
            expression=f"{RESOURCE}.status",
        )
    if data.get("primarySource") is not False:
        raise unprocessable(
            f"{RESOURCE}.primarySource: must be false: this API records doses given elsewhere "
            "(history); doses given here are recorded at the chair, with the lot scanned",
            expression=f"{RESOURCE}.primarySource",
        )
    return {
        "vaccine_code": _cvx(data.get("vaccineCode")),
        "given_on": _given_on(data),
        "source": _source(data.get("reportOrigin")),
        "lot_number": _lot_number(data.get("lotNumber")),
        "manufacturer": _maker(data.get("manufacturer")),
        "note": _note(data.get("note", [])),
    }


def _note(notes: list[dict[str, Any]]) -> str:
    element = f"{RESOURCE}.note"
    text = "\n".join(n.get("text", "") for n in notes).strip()
    if len(text) > 500:
        raise unprocessable(f"{element}: at most 500 characters", expression=element)
    return text


def _cvx(value: dict[str, Any] | None) -> VaccineCode:
    element = f"{RESOURCE}.vaccineCode"
    code = dt.first_code(value, meds.CVX)
    if not code:
        raise unprocessable(
            f"{element}: a CVX coding (system {meds.CVX}) is required", expression=element
        )
    found = VaccineCode.objects.filter(cvx=code).first()
    if found is None:
        raise unprocessable(
            f"{element}: CVX {code} is not a known vaccine code", expression=element
        )
    return found


def _given_on(data: dict[str, Any]) -> Any:
    element = f"{RESOURCE}.occurrenceDateTime"
    value = data.get("occurrenceDateTime")
    if not value:
        raise unprocessable(
            f"{element}: the date of the dose is required (occurrenceString is not accepted)",
            expression=element,
        )
    return dt.full_date(value, element)


def _source(value: dict[str, Any] | None) -> str:
    element = f"{RESOURCE}.reportOrigin"
    if not value:
        return "01"
    origin = dt.first_code(value, ORIGIN)
    if origin:
        if origin not in SOURCE_OF_ORIGIN:
            raise unprocessable(
                f"{element}: unknown immunization-origin code '{origin}' (provider, record, "
                "recall or school)",
                expression=element,
            )
        return SOURCE_OF_ORIGIN[origin]
    cdc = dt.first_code(value, meds.CDC_NIP001)
    if cdc:
        if cdc not in SOURCES or cdc == "00":
            raise unprocessable(
                f"{element}: NIP001 code '{cdc}' is not a history source (01-08)",
                expression=element,
            )
        return cdc
    raise unprocessable(
        f"{element}: a coding of {ORIGIN} (provider, record, recall, school) is required",
        expression=element,
    )


def _lot_number(value: str | None) -> str:
    element = f"{RESOURCE}.lotNumber"
    lot = (value or "").strip()
    if len(lot) > 40:
        raise unprocessable(f"{element}: at most 40 characters", expression=element)
    return lot


def _maker(value: dict[str, Any] | None) -> Manufacturer | None:
    element = f"{RESOURCE}.manufacturer"
    if not value:
        return None
    identifier = value.get("identifier") or {}
    mvx = identifier.get("value", "") if identifier.get("system") == meds.MVX else ""
    if not mvx:
        if value.get("display") and not value.get("reference"):
            found = Manufacturer.objects.filter(name__iexact=value["display"].strip()).first()
            if found is not None:
                return found
        raise unprocessable(
            f"{element}: identify the manufacturer by its MVX code (identifier.system {meds.MVX})",
            expression=element,
        )
    maker = Manufacturer.objects.filter(mvx=mvx.strip().upper()).first()
    if maker is None:
        raise unprocessable(f"{element}: MVX {mvx} is not a known manufacturer", expression=element)
    return maker
