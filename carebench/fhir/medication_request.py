"""MedicationRequest: the clinic's orders to give one dose of a vaccine or an injectable, and the
eMAR's orders for residents of assisted-living and group homes (read, search by patient), as US
Core MedicationRequest.

One MedicationRequest per `meds.MedicationOrder` (its id is the row's id) and one per
`meds.ResidentOrder` (id `emar-<row id>`; see "Residents' orders" below).

* status: `active` (not given yet; a standing order waiting for its co-signature is active, as
  the protocol lets the MAT give it), `completed` (the dose was given), `cancelled` (cancelled,
  with the reason as statusReason text; or refused: FHIR's `cancelled` is "withdrawn before any
  administrations have occurred", which is what a refusal does to a one-dose order, while
  `completed` would claim the dose was given and `stopped` that some doses were; the
  statusReason is v3 ActReason PATOBJ with the refusal reason as text, and the refusal itself
  is the `not-done` Immunization or MedicationAdministration whose `request` points here),
  `entered-in-error` (voided; still readable, left out of searches unless asked for).
* intent `order`; reportedBoolean false (our own record); medicationCodeableConcept: the product's NDC, and its CVX for a vaccine; text
  the product's name.
* subject, encounter, authoredOn (when ordered), requester (the ordering provider's
  Practitioner: the provider who ordered, or for a standing order the provider who co-signs),
  recorder (who entered it: their Practitioner when they are a provider, else their name).
* dosageInstruction: one dose: text ("0.5 mL IM once"), timing (count 1), route (NCI
  Thesaurus), doseAndRate doseQuantity (UCUM where the unit is one we know).
* category: `outpatient` (HL7 medicationrequest-category) and the order's basis under
  `urn:carebench:medication-order-basis`: `provider` (a provider's order) or `standing` (a MAT
  ran a standing-order protocol), with the protocol's name as text. `basedOn` cannot carry
  it (it points to requests: CarePlan, ServiceRequest, MedicationRequest...), and a protocol
  would be a PlanDefinition (`instantiatesCanonical`), which this server does not serve; a
  category is machine-readable without an extension and can be searched.
* note: the instructions for the patient; for a standing order, its co-signature (who and
  when, or that it is awaited).

Residents' orders (`meds.ResidentOrder`, id `emar-<id>`; `meds.view_residentorder` is needed,
reads and searches are audited on ResidentOrder):

* status: `active`, `completed` (still active in the eMAR but past its stop date: no dose is
  due any more), `stopped` (discontinued, with the reason as statusReason text; discharge
  discontinues a resident's orders), `entered-in-error` (voided, with the reason).
* intent `order`; category `community` (HL7 medicationrequest-category: medicines taken where
  the patient lives, a home or assisted living); reportedBoolean false.
* medicationCodeableConcept: text the drug, strength and form; NDC (the pharmacy card's) when
  the order has one.
* subject; requester the prescriber by name (`display`: prescribers are outside doctors written
  on the order, not Practitioners here); recorder who transcribed it; authoredOn when it was
  entered.
* dosageInstruction: text ("1 tablet by mouth BID at 08:00, 20:00; hold if pulse < 60");
  timing: repeat with boundsPeriod (start and stop dates), frequency/period (per day, every
  other day, weekly with dayOfWeek) and timeOfDay (the order's scheduled times), code text the
  frequency; a PRN order has asNeededCodeableConcept (the indication as text), repeat one dose
  per its minimum interval, and maxDosePerPeriod (its maximum doses per 1 day); route (text,
  NCI Thesaurus for oral and nasal); doseAndRate doseQuantity when the dose starts with an
  amount ("1 tablet", "5 mL"); additionalInstruction: the hold parameters and the special
  instructions, as text.
* note: a controlled substance's schedule; who discontinued it and when; why it was voided.

Search: `patient` (or `subject`; one is required), `status`, `category` (`standing`,
`provider`, `outpatient`: clinic orders; `community`: residents' orders), `authoredon` (days in
the clinic's or the home's time zone; eq/ne/gt/lt/ge/le), newest first (clinic and residents'
orders merged by the time they were written). Reads and searches are audited
(MedicationOrder, ResidentOrder); `meds.view_medicationorder` is needed for clinic orders and
`meds.view_residentorder` for residents' (a search returns the kinds the user may see; 403 with
neither).
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core import clock
from carebench.core.actor import Actor
from carebench.meds import medpass
from carebench.meds.emar_models import CONTROLLED_SCHEDULES, ResidentOrder
from carebench.meds.models import REFUSAL_REASONS, ROUTE_SHORT, Administration, MedicationOrder

from . import datatypes as dt
from . import meds_common as meds
from . import schemas
from .auth import authorize
from .bundle import Paging, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params

RESOURCE = "MedicationRequest"
PROFILE = dt.US_CORE + "us-core-medicationrequest"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "patient": "reference",
    "subject": "reference",
    "status": "token",
    "category": "token",
    "authoredon": "date",
}
CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
BASIS = "urn:carebench:medication-order-basis"
STATUS = {
    MedicationOrder.Status.ACTIVE: "active",
    MedicationOrder.Status.COMPLETED: "completed",
    MedicationOrder.Status.REFUSED: "cancelled",
    MedicationOrder.Status.CANCELLED: "cancelled",
}
STATUS_CONDITIONS = {
    "active": Q(status=MedicationOrder.Status.ACTIVE, voided_at__isnull=True),
    "completed": Q(status=MedicationOrder.Status.COMPLETED, voided_at__isnull=True),
    "cancelled": Q(
        status__in=[MedicationOrder.Status.REFUSED, MedicationOrder.Status.CANCELLED],
        voided_at__isnull=True,
    ),
    meds.ENTERED_IN_ERROR: Q(voided_at__isnull=False),
}

router = Router(tags=[RESOURCE])


class MedicationRequestSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123")
    subject: str | None = Field(None, description="Patient/123 (instead of patient)")
    status: list[str] = Field(
        [], description="active, completed, cancelled or entered-in-error (comma: any)"
    )
    category: list[str] = Field(
        [], description="standing, provider or outpatient (clinic); community (residents)"
    )
    authoredon: list[str] = Field(
        [], description="when written: YYYY[-MM[-DD]], prefixes eq, ne, gt, lt, ge, le"
    )


def status_of(order: MedicationOrder) -> str:
    if order.voided_at is not None:
        return meds.ENTERED_IN_ERROR
    return STATUS.get(order.status, "unknown")  # type: ignore[call-overload,no-any-return]


def _status_reason(order: MedicationOrder) -> dict[str, Any] | None:
    if order.voided_at is not None:
        return {"text": order.void_reason} if order.void_reason else None
    if order.status == MedicationOrder.Status.REFUSED:
        refusals: list[Administration] = order.refusals  # type: ignore[attr-defined]
        reason = refusals[0].refusal_reason if refusals else ""
        return {
            "coding": [dt.coding(meds.ACT_REASON, "PATOBJ", "patient objection")],
            "text": f"Refused: {REFUSAL_REASONS.get(reason, 'the patient declined')}",
        }
    if order.status == MedicationOrder.Status.CANCELLED:
        reason = order.cancel_reason or order.void_reason  # older rows kept it in void_reason
        return {"text": reason} if reason else None
    return None


def medication(order: MedicationOrder) -> dict[str, Any]:
    product = order.product
    codings = [dt.coding(meds.NDC, product.ndc, product.name)]
    if product.vaccine_code is not None:
        codings.append(
            dt.coding(meds.CVX, product.vaccine_code.cvx, product.vaccine_code.short_name)
        )
    return {"coding": codings, "text": product.name}


def _categories(order: MedicationOrder) -> list[dict[str, Any]]:
    outpatient = dt.concept(CATEGORY, "outpatient", "Outpatient")
    if order.basis == MedicationOrder.Basis.STANDING:
        protocol = order.standing_order
        text = f"Standing order: {protocol.name}" if protocol is not None else "Standing order"
        basis = dt.concept(BASIS, "standing", "Standing order", text)
    else:
        basis = dt.concept(BASIS, "provider", "Provider order", "Provider order")
    return [outpatient, basis]


def _dosage(order: MedicationOrder) -> dict[str, Any]:
    dose = meds.dose_quantity(order.dose_amount, order.dose_unit)
    assert dose is not None
    route = ROUTE_SHORT.get(order.route, order.route)
    return dt.compact(
        {
            "text": f"{dose['value']} {order.dose_unit} {route} once",
            "timing": {"repeat": {"count": 1}},
            "route": meds.route_concept(order.route),
            "doseAndRate": [{"doseQuantity": dose}],
        }
    )


def _notes(order: MedicationOrder) -> list[dict[str, str]]:
    notes = dt.notes(order.instructions)
    if order.basis == MedicationOrder.Basis.STANDING:
        provider = order.ordering_provider.display_name
        if order.cosigned_at is not None:
            notes.append(
                {"text": f"Co-signed by {provider} on {order.cosigned_at:%Y-%m-%d %H:%M} UTC"}
            )
        else:
            notes.append({"text": f"Awaiting co-signature by {provider}"})
    return notes


def to_fhir(order: MedicationOrder) -> dict[str, Any]:
    """One order (fetched by `queryset`)."""
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(order.pk),
            "meta": meds.meta(order.updated_at, PROFILE),
            "status": status_of(order),
            "statusReason": _status_reason(order),
            "intent": "order",
            "category": _categories(order),
            "medicationCodeableConcept": medication(order),
            "subject": dt.reference("Patient", order.patient_id),
            "encounter": dt.reference("Encounter", order.encounter_id)
            if order.encounter_id
            else None,
            "reportedBoolean": False,
            "authoredOn": order.ordered_at.isoformat(),
            "requester": meds.provider_reference(order.ordering_provider),
            "recorder": meds.person(order.entered_by),
            "note": _notes(order),
            "dosageInstruction": [_dosage(order)],
        }
    )


def queryset(actor: Actor) -> QuerySet[MedicationOrder]:
    refusals = Administration.objects.filter(
        kind=Administration.Kind.REFUSED, voided_at__isnull=True
    ).order_by("-occurred_at", "-pk")
    return (  # type: ignore[no-any-return]
        MedicationOrder.objects.for_org(actor.organization)
        .select_related(
            "patient",
            "product__vaccine_code",
            "ordering_provider",
            "entered_by__provider",
            "standing_order",
        )
        .prefetch_related(Prefetch("administrations", queryset=refusals, to_attr="refusals"))
    )


def _category_filter(values: list[str]) -> Q:
    condition = Q()
    for group in meds.tokens(values):
        if any(t.system in (None, CATEGORY) and t.code == "outpatient" for t in group):
            continue  # every order is an outpatient one
        match = Q(pk__in=[])
        for token in group:
            if token.system in (None, BASIS) and token.code in MedicationOrder.Basis.values:
                match |= Q(basis=token.code)
        condition &= match
    return condition


# --- residents' orders (the eMAR) ---------------------------------------------------------------

COMMUNITY = "community"
DAYS_OF_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
UCUM_DAY = {"value": 1, "unit": "day", "system": meds.UCUM, "code": "d"}
SCHEDULES = dict(CONTROLLED_SCHEDULES)


def resident_status(order: ResidentOrder) -> str:
    """The status of a resident's order (fetched by `resident_queryset`: its home's zone
    decides whether its stop date has passed)."""
    if order.voided_at is not None:
        return meds.ENTERED_IN_ERROR
    if order.status == ResidentOrder.Status.DISCONTINUED:
        return "stopped"
    today = clock.today(order.residency.facility.time_zone)
    if order.stop_date is not None and order.stop_date < today:
        return "completed"
    return "active"


def _resident_status_conditions(actor: Actor) -> dict[str, Q]:
    ended = reduce(
        operator.or_,
        (
            Q(residency__facility__time_zone=zone, stop_date__lt=clock.today(zone))
            for zone in meds.organization_zones(actor)
        ),
    )
    live = Q(status=ResidentOrder.Status.ACTIVE, voided_at__isnull=True)
    return {
        "active": live & ~ended,
        "completed": live & ended,
        "stopped": Q(status=ResidentOrder.Status.DISCONTINUED, voided_at__isnull=True),
        meds.ENTERED_IN_ERROR: Q(voided_at__isnull=False),
    }


def _resident_status_reason(order: ResidentOrder) -> dict[str, Any] | None:
    if order.voided_at is not None:
        return {"text": order.void_reason} if order.void_reason else None
    if order.status == ResidentOrder.Status.DISCONTINUED and order.discontinue_reason:
        return {"text": order.discontinue_reason}
    return None


def _hours_or_minutes(minutes: int) -> dict[str, Any]:
    if minutes % 60 == 0:
        return {"period": minutes // 60, "periodUnit": "h"}
    return {"period": minutes, "periodUnit": "min"}


def _frequency(order: ResidentOrder) -> medpass.Frequency | None:
    try:
        return medpass.lookup_frequency(order.frequency)
    except ValueError:
        return None


def _weekday(order: ResidentOrder) -> int:
    return order.weekday if order.weekday is not None else order.start_date.weekday()


def _resident_timing(order: ResidentOrder) -> dict[str, Any]:
    frequency = _frequency(order)
    repeat: dict[str, Any] = {
        "boundsPeriod": dt.compact(
            {
                "start": order.start_date.isoformat(),
                "end": order.stop_date.isoformat() if order.stop_date else None,
            }
        )
    }
    if order.prn:
        if order.prn_min_interval_minutes:  # "every 6 hours as needed"
            repeat.update(frequency=1, **_hours_or_minutes(order.prn_min_interval_minutes))
    else:
        times = [f"{at}:00" if len(at) == 5 else at for at in order.times]
        kind = frequency.repeat if frequency is not None else medpass.DAILY
        if kind == medpass.WEEKLY:
            repeat.update(frequency=1, period=1, periodUnit="wk")
            repeat["dayOfWeek"] = [DAYS_OF_WEEK[_weekday(order)]]
        elif kind == medpass.EVERY_OTHER_DAY:
            repeat.update(frequency=1, period=2, periodUnit="d")
        elif times:
            repeat.update(frequency=len(times), period=1, periodUnit="d")
        if times:
            repeat["timeOfDay"] = times
    code = f"{frequency.code} ({frequency.label})" if frequency is not None else order.frequency
    return {"repeat": repeat, "code": {"text": code}}


def _resident_sig(order: ResidentOrder) -> str:
    """'1 tablet by mouth BID at 08:00, 20:00; hold if pulse < 60'."""
    text = meds.resident_dose_text(order)
    if order.prn:
        text += f" as needed for {order.prn_indication}" if order.prn_indication else " as needed"
        limits = []
        if order.prn_min_interval_minutes:
            period = _hours_or_minutes(order.prn_min_interval_minutes)
            limits.append(f"at least {period['period']} {period['periodUnit']} apart")
        if order.prn_max_per_day:
            limits.append(f"at most {order.prn_max_per_day} a day")
        if limits:
            text += f" ({', '.join(limits)})"
    else:
        text += f" {order.frequency}"
        frequency = _frequency(order)
        if frequency is not None and frequency.repeat == medpass.WEEKLY:
            text += f" on {DAY_NAMES[_weekday(order)]}"
        if order.times:
            text += f" at {', '.join(order.times)}"
    if order.hold_text:
        text += f"; {order.hold_text}"
    return text


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _resident_dosage(order: ResidentOrder) -> dict[str, Any]:
    dose = meds.parse_dose(order.dose)
    additional = [{"text": _capitalized(t)} for t in (order.hold_text, order.instructions) if t]
    dosage: dict[str, Any] = {
        "text": _resident_sig(order),
        "additionalInstruction": additional,
        "timing": _resident_timing(order),
        "route": meds.resident_route(order.route),
        "doseAndRate": [{"doseQuantity": dose}] if dose is not None else None,
    }
    if order.prn:
        if order.prn_indication:
            dosage["asNeededCodeableConcept"] = {"text": order.prn_indication}
        else:
            dosage["asNeededBoolean"] = True
        if order.prn_max_per_day:
            dosage["maxDosePerPeriod"] = {
                "numerator": {"value": order.prn_max_per_day, "unit": "doses"},
                "denominator": UCUM_DAY,
            }
    return dt.compact(dosage)


def _resident_notes(order: ResidentOrder) -> list[dict[str, str]]:
    notes = []
    if order.controlled:
        schedule = SCHEDULES.get(order.controlled, order.controlled)
        notes.append({"text": f"Controlled substance, schedule {schedule}"})
    if order.status == ResidentOrder.Status.DISCONTINUED and order.discontinued_at is not None:
        who = order.discontinued_by.display_name if order.discontinued_by is not None else ""
        when = f"{order.discontinued_at:%Y-%m-%d %H:%M} UTC"
        notes.append({"text": f"Discontinued on {when}" + (f" by {who}" if who else "")})
    if order.voided_at is not None:
        notes.append({"text": f"Entered in error: {order.void_reason}"})
    return notes


def resident_to_fhir(order: ResidentOrder) -> dict[str, Any]:
    """One resident's order (fetched by `resident_queryset`)."""
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": meds.emar_id(order.pk),
            "meta": meds.meta(order.updated_at, PROFILE),
            "status": resident_status(order),
            "statusReason": _resident_status_reason(order),
            "intent": "order",
            "category": [dt.concept(CATEGORY, COMMUNITY, "Community", "Community")],
            "medicationCodeableConcept": meds.resident_medication(order),
            "subject": dt.reference("Patient", order.patient_id),
            "reportedBoolean": False,
            "authoredOn": order.created_at.isoformat(),
            "requester": {"display": order.prescriber},
            "recorder": meds.person(order.created_by),
            "note": _resident_notes(order),
            "dosageInstruction": [_resident_dosage(order)],
        }
    )


def resident_queryset(actor: Actor) -> QuerySet[ResidentOrder]:
    return (  # type: ignore[no-any-return]
        ResidentOrder.objects.for_org(actor.organization).select_related(
            "patient", "residency__facility", "created_by__provider", "discontinued_by"
        )
    )


def _resident_category_filter(values: list[str]) -> Q:
    """Residents' orders are all `community` ones: any other category leaves them out."""
    for group in meds.tokens(values):
        if not any(t.system in (None, CATEGORY) and t.code == COMMUNITY for t in group):
            return Q(pk__in=[])
    return Q()


def _resource_of(row: MedicationOrder | ResidentOrder) -> dict[str, Any]:
    if isinstance(row, ResidentOrder):
        return resident_to_fhir(row)
    return to_fhir(row)


# --- views --------------------------------------------------------------------------------------


def _read_resident_order(request: HttpRequest, request_id: str) -> HttpResponse:
    actor = authorize(request, meds.RESIDENT_ORDER_PERMISSION)
    row = meds.emar_row_id(request_id)
    order = resident_queryset(actor).filter(pk=row).first() if row is not None else None
    if order is None:
        raise not_found(RESOURCE, request_id)
    if order.patient.voided_at is not None:
        raise gone(RESOURCE, request_id)
    resource = resident_to_fhir(order)
    meds.audit_read(
        actor,
        patient_id=order.patient_id,
        model="ResidentOrder",
        pk=order.pk,
        fhir_id=f"{RESOURCE}/{resource['id']}",
    )
    return resource_response(resource)


@router.get(
    "/MedicationRequest/{request_id}", response=schemas.READ, summary="Read a MedicationRequest"
)
def read_medication_request(request: HttpRequest, request_id: str) -> HttpResponse:
    if request_id.startswith(meds.EMAR_PREFIX):
        return _read_resident_order(request, request_id)
    actor = authorize(request, meds.ORDER_PERMISSION)
    row = dt.row_id(request_id)
    order = queryset(actor).filter(pk=row).first() if row is not None else None
    if order is None:
        raise not_found(RESOURCE, request_id)
    if order.patient.voided_at is not None:
        raise gone(RESOURCE, request_id)
    resource = to_fhir(order)
    meds.audit_read(
        actor,
        patient_id=order.patient_id,
        model="MedicationOrder",
        pk=order.pk,
        fhir_id=f"{RESOURCE}/{order.pk}",
    )
    return resource_response(resource)


@router.get(
    "/MedicationRequest",
    response=schemas.SEARCH,
    summary="Search a patient's MedicationRequests (clinic and residents' orders)",
)
def search_medication_requests(
    request: HttpRequest, paging: Query[Paging], params: Query[MedicationRequestSearch]
) -> HttpResponse:
    actor, (clinic_allowed, resident_allowed) = meds.authorize_kinds(
        request, [meds.ORDER_PERMISSION, meds.RESIDENT_ORDER_PERMISSION]
    )
    used = check_params(request, SEARCH_PARAMS)
    patient_id = meds.patient_id(params.patient, params.subject)
    sources: list[tuple[QuerySet[Any], str]] = []
    models: list[str] = []
    if clinic_allowed:
        status, wants_voided = meds.status_filter(params.status, STATUS_CONDITIONS)
        sources.append(
            (
                queryset(actor)
                .filter(patient_id=patient_id, patient__voided_at__isnull=True)
                .filter(meds.voided_condition(wants_voided))
                .filter(status)
                .filter(_category_filter(params.category))
                .filter(meds.day_filter(actor, "ordered_at", params.authoredon, "authoredon")),
                "ordered_at",
            )
        )
        models.append("MedicationOrder")
    if resident_allowed:
        conditions = _resident_status_conditions(actor) if params.status else {}
        status, wants_voided = meds.status_filter(params.status, conditions)
        authored = meds.home_day_filter(
            actor, "created_at", params.authoredon, "authoredon", "residency__facility__time_zone"
        )
        sources.append(
            (
                resident_queryset(actor)
                .filter(patient_id=patient_id, patient__voided_at__isnull=True)
                .filter(meds.voided_condition(wants_voided))
                .filter(status)
                .filter(_resident_category_filter(params.category))
                .filter(authored),
                "created_at",
            )
        )
        models.append("ResidentOrder")
    rows, counts = meds.merged_page(sources, paging)
    for model, count in zip(models, counts, strict=True):
        kind = ResidentOrder if model == "ResidentOrder" else MedicationOrder
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
