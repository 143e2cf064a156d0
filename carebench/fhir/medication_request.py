"""MedicationRequest: orders to give one dose of a vaccine or an injectable (read, search by
patient), as US Core MedicationRequest.

One MedicationRequest per `meds.MedicationOrder`; its id is the row's id.

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

Search: `patient` (or `subject`; one is required), `status`, `category` (`standing`,
`provider`, `outpatient`), newest first. Reads and searches are audited (MedicationOrder);
`meds.view_medicationorder` is needed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.meds.models import REFUSAL_REASONS, ROUTE_SHORT, Administration, MedicationOrder

from . import datatypes as dt
from . import meds_common as meds
from . import schemas
from .auth import authorize
from .bundle import Paging, page_of, searchset
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
    category: list[str] = Field([], description="standing, provider or outpatient")


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
    if order.status == MedicationOrder.Status.CANCELLED and order.void_reason:
        return {"text": order.void_reason}
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


@router.get(
    "/MedicationRequest/{request_id}", response=schemas.READ, summary="Read a MedicationRequest"
)
def read_medication_request(request: HttpRequest, request_id: str) -> HttpResponse:
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
    "/MedicationRequest", response=schemas.SEARCH, summary="Search a patient's MedicationRequests"
)
def search_medication_requests(
    request: HttpRequest, paging: Query[Paging], params: Query[MedicationRequestSearch]
) -> HttpResponse:
    actor = authorize(request, meds.ORDER_PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    patient_id = meds.patient_id(params.patient, params.subject)
    status, wants_voided = meds.status_filter(params.status, STATUS_CONDITIONS)
    qs = (
        queryset(actor)
        .filter(patient_id=patient_id, patient__voided_at__isnull=True)
        .filter(meds.voided_condition(wants_voided))
        .filter(status)
        .filter(_category_filter(params.category))
    )
    rows, total = page_of(qs.order_by("-ordered_at", "-pk"), paging)
    meds.audit_search(
        actor,
        patient_id=patient_id,
        model="MedicationOrder",
        used=used,
        total=total,
        ids=[row.pk for row in rows],
    )
    return resource_response(searchset(request, RESOURCE, rows, total, paging, to_fhir, used))
