"""ServiceRequest: the tests of lab orders (read, search by patient).

One ServiceRequest per ordered test (labs.LabOrderItem); its id is the item's id. The order's
number is the `requisition` (a placer identifier, v2-0203 PLAC) that groups the tests ordered
together, and the reference lab's number, once known, an `identifier` (FILL).

* status: the order's: active, completed (every test resulted final), revoked (cancelled);
  a voided order reads as entered-in-error and is left out of searches.
* intent `order`; category SNOMED 108252007 (Laboratory procedure); priority routine or stat.
* code: LOINC (when the catalog has it) and our catalog code (`urn:carebench:lab-test`).
* subject, encounter, authoredOn (when ordered), requester (the ordering Practitioner),
  reasonCode (ICD-10-CM), specimen (the tubes drawn for the test), performer (the performing
  lab, by name), note (the order's note).

Imaging and referral orders (`patients.OutsideOrder`) are ServiceRequests too, with the id
`outside-<row id>` (a plain number is always a lab test; an id of one kind never reads as the
other); `patients.view_outsideorder` is needed, reads and searches are audited on OutsideOrder:

* status: `active` (ordered, sent, scheduled), `completed` (the result or consult note came back,
  reviewed or not), `revoked` (cancelled, the reason in a note), `entered-in-error` (voided).
* intent `order`; category SNOMED 363679005 (Imaging) or 3457005 (Patient referral); priority
  routine, urgent or stat.
* code: CPT (`http://www.ama-assn.org/go/cpt`) when the order has one; text the modality or
  specialty and the study or specialist asked for.
* subject, authoredOn, requester (the ordering Practitioner), reasonCode (ICD-10-CM),
  occurrenceDateTime (the date it is scheduled for), performerType (a referral's specialty, as
  text), performer (the imaging center or practice by name), patientInstruction (preparation),
  note (the note to the destination, how it was sent, the prior-authorization warnings, the
  review, the cancellation's reason). The result is a DocumentReference whose
  `context.related` points here.

Search: `patient` (or `subject`), `category` (108252007, 363679005, 3457005), `code` (LOINC,
catalog code or CPT), `status`, `authored` (the day ordered, eq/ne/gt/lt/ge/le), newest first;
lab tests and outside orders are merged by the time they were ordered, each kind only when the
user may see it (403 with neither). Reads are audited, and searches once per kind they found
rows of (at least once); another organization's orders are 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, Prefetch, Q, Value
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.labs.models import LabOrder, LabOrderItem, Specimen
from carebench.patients.referral_models import OutsideOrder

from . import datatypes as dt
from . import lab_common as lab
from . import meds_common, schemas
from .auth import authorize
from .bundle import Paging, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params

RESOURCE = "ServiceRequest"
PROFILE = dt.US_CORE + "us-core-servicerequest"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "patient": "reference",
    "subject": "reference",
    "category": "token",
    "code": "token",
    "status": "token",
    "authored": "date",
}
LAB_CATEGORY_CODE = "108252007"
CATEGORY = dt.concept(dt.SNOMED, LAB_CATEGORY_CODE, "Laboratory procedure")
STATUS = {
    LabOrder.Status.ACTIVE: "active",
    LabOrder.Status.COMPLETED: "completed",
    LabOrder.Status.CANCELLED: "revoked",
}

router = Router(tags=[RESOURCE])


class ServiceRequestSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123")
    subject: str | None = Field(None, description="Patient/123 (instead of patient)")
    category: list[str] = Field(
        [], description="SNOMED 108252007 (lab), 363679005 (imaging), 3457005 (referral)"
    )
    code: list[str] = Field([], description="LOINC, catalog or CPT code: system|code or code")
    status: list[str] = Field([], description="active, completed or revoked")
    authored: list[str] = Field([], description="day ordered, with eq/ne/gt/lt/ge/le")


def status_of(order: LabOrder) -> str:
    if order.voided_at is not None:
        return "entered-in-error"
    return STATUS.get(order.status, "unknown")  # type: ignore[call-overload,no-any-return]


def to_fhir(item: LabOrderItem) -> dict[str, Any]:
    """One ordered test (fetched by `queryset`: its order, provider and specimens loaded)."""
    order = item.order
    provider = order.ordering_provider
    identifiers = []
    if order.filler_number:
        identifiers.append(
            {
                "type": dt.concept(dt.V2_0203, "FILL", "Filler Identifier"),
                "value": order.filler_number,
            }
        )
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(item.pk),
            "meta": lab.meta(max(item.updated_at, order.updated_at), PROFILE),
            "identifier": identifiers,
            "requisition": {
                "type": dt.concept(dt.V2_0203, "PLAC", "Placer Identifier"),
                "value": order.number,
            },
            "status": status_of(order),
            "intent": "order",
            "category": [CATEGORY],
            "priority": "stat" if order.priority == LabOrder.Priority.STAT else "routine",
            "code": lab.test_code(item.loinc, item.code, item.name),
            "subject": dt.reference("Patient", order.patient_id),
            "encounter": dt.reference("Encounter", order.encounter_id)
            if order.encounter_id
            else None,
            "authoredOn": order.ordered_at.isoformat(),
            "requester": {
                "reference": f"Practitioner/{provider.pk}",
                "display": provider.display_name,
            },
            "performer": [{"display": item.performed}] if item.performed else None,
            "reasonCode": [
                {"coding": [dt.coding(dt.ICD10CM, code)], "text": code}
                for code in order.diagnosis_codes or []
            ],
            "specimen": [dt.reference("Specimen", s.pk) for s in item.specimens.all()],
            "note": dt.notes(order.note),
        }
    )


def queryset(actor: Actor) -> Any:
    return (
        LabOrderItem.objects.for_org(actor.organization)
        .select_related("order", "order__ordering_provider", "order__patient")
        .prefetch_related(
            Prefetch("specimens", queryset=Specimen.objects.only("pk").order_by("pk"))
        )
    )


@router.get(
    "/ServiceRequest/{request_id}", response=schemas.READ, summary="Read a lab ServiceRequest"
)
def read_service_request(request: HttpRequest, request_id: str) -> HttpResponse:
    if request_id.startswith(OUTSIDE_PREFIX):
        return _read_outside_order(request, request_id)
    actor = authorize(request, lab.ORDER_PERMISSION)
    row = dt.row_id(request_id)
    item = queryset(actor).filter(pk=row).first() if row is not None else None
    if item is None:
        raise not_found(RESOURCE, request_id)
    if item.order.patient.voided_at is not None:
        raise gone(RESOURCE, request_id)
    resource = to_fhir(item)
    lab.audit_read(
        actor,
        patient_id=item.order.patient_id,
        model="LabOrderItem",
        pk=item.pk,
        fhir_id=f"{RESOURCE}/{item.pk}",
    )
    return resource_response(resource)


@router.get(
    "/ServiceRequest", response=schemas.SEARCH, summary="Search a patient's lab ServiceRequests"
)
def search_service_requests(
    request: HttpRequest, paging: Query[Paging], params: Query[ServiceRequestSearch]
) -> HttpResponse:
    actor, (lab_allowed, outside_allowed) = meds_common.authorize_kinds(
        request, [lab.ORDER_PERMISSION, OUTSIDE_PERMISSION]
    )
    used = check_params(request, SEARCH_PARAMS)
    patient_id = lab.patient_id(params.patient, params.subject)
    wanted = _wanted_categories(params.category)
    sources: list[tuple[Any, str, str]] = []
    if lab_allowed:
        qs = queryset(actor).filter(
            order__patient_id=patient_id,
            order__voided_at__isnull=True,
            order__patient__voided_at__isnull=True,
        )
        if wanted is not None and LAB_CATEGORY_CODE not in wanted:
            qs = qs.none()
        qs = qs.filter(lab.code_filter(params.code, "loinc", "code"))
        for group in lab.tokens(params.status):
            states = {t.code for t in group}
            qs = qs.filter(
                order__status__in=[ours for ours, fhir in STATUS.items() if fhir in states]
            )
        qs = qs.filter(lab.day_filter(actor, "order__ordered_at", params.authored, "authored"))
        sources.append((qs, "order__ordered_at", "LabOrderItem"))
    if outside_allowed:
        qs = outside_queryset(actor).filter(
            patient_id=patient_id, voided_at__isnull=True, patient__voided_at__isnull=True
        )
        if wanted is not None:
            qs = qs.filter(kind__in=[k for k, c in OUTSIDE_CATEGORY_CODES.items() if c in wanted])
        qs = qs.filter(_outside_code_filter(params.code))
        for group in lab.tokens(params.status):
            states = {t.code for t in group}
            qs = qs.filter(
                status__in=[ours for ours, fhir in OUTSIDE_STATUS.items() if fhir in states]
            )
        qs = qs.filter(lab.day_filter(actor, "ordered_at", params.authored, "authored"))
        sources.append((qs, "ordered_at", "OutsideOrder"))
    rows, counts = _page(sources, paging)
    _audit_search(actor, sources, counts, rows, patient_id, used)
    bundle = searchset(request, RESOURCE, rows, sum(counts), paging, _resource_of, used)
    return resource_response(bundle)


def _page(sources: list[tuple[Any, str, str]], paging: Paging) -> tuple[list[Any], list[int]]:
    """One page over the kinds searched: one kind alone keeps its own order (a lab order's
    tests in order); with both, the kinds merge by the time ordered."""
    counts = _counts(sources)
    live = [i for i, count in enumerate(counts) if count]
    if len(live) > 1:
        return meds_common.merged_page([(qs, when) for qs, when, _ in sources], paging)
    if not live or paging.size == 0 or paging.start >= counts[live[0]]:
        return [], counts
    qs, when, model = sources[live[0]]
    order = (
        ("-order__ordered_at", "order_id", "pk") if model == "LabOrderItem" else (f"-{when}", "-pk")
    )
    return list(qs.order_by(*order)[paging.start : paging.start + paging.size]), counts


def _counts(sources: list[tuple[Any, str, str]]) -> list[int]:
    """Each kind's count, in one query."""
    if len(sources) == 1:
        return [sources[0][0].count()]
    parts: Any = None
    for index, (qs, _, _) in enumerate(sources):
        part = (
            qs.order_by()
            .prefetch_related(None)
            .annotate(fhir_source=Value(index, output_field=IntegerField()))
            .values("fhir_source")
            .annotate(fhir_count=Count("pk"))
            .values_list("fhir_source", "fhir_count")
        )
        parts = part if parts is None else parts.union(part, all=True)
    found = dict(parts)
    return [found.get(index, 0) for index in range(len(sources))]


def _audit_search(
    actor: Actor,
    sources: list[tuple[Any, str, str]],
    counts: list[int],
    rows: list[Any],
    patient_id: int,
    used: list[tuple[str, str]],
) -> None:
    """One audit event per kind the search found rows of (at least one per search)."""
    found = [i for i, count in enumerate(counts) if count] or [0]
    for index in found:
        model = sources[index][2]
        kind = OutsideOrder if model == "OutsideOrder" else LabOrderItem
        lab.audit_search(
            actor,
            patient_id=patient_id,
            model=model,
            used=used,
            total=counts[index],
            ids=[row.pk for row in rows if isinstance(row, kind)],
        )


def _resource_of(row: LabOrderItem | OutsideOrder) -> dict[str, Any]:
    if isinstance(row, OutsideOrder):
        return outside_to_fhir(row)
    return to_fhir(row)


def _wanted_categories(values: list[str]) -> set[str] | None:
    """The SNOMED category codes asked for (None: every category)."""
    wanted: set[str] | None = None
    for group in lab.tokens(values):
        codes = {t.code for t in group if t.system in (None, dt.SNOMED)}
        wanted = codes if wanted is None else wanted & codes
    return wanted


# --- imaging and referral orders (patients.OutsideOrder) ----------------------------------------

OUTSIDE_PREFIX = "outside-"
OUTSIDE_PERMISSION = "patients.view_outsideorder"
CPT = "http://www.ama-assn.org/go/cpt"
OUTSIDE_CATEGORY_CODES = {
    OutsideOrder.Kind.IMAGING: "363679005",
    OutsideOrder.Kind.REFERRAL: "3457005",
}
OUTSIDE_CATEGORY = {
    OutsideOrder.Kind.IMAGING: dt.concept(dt.SNOMED, "363679005", "Imaging", "Imaging"),
    OutsideOrder.Kind.REFERRAL: dt.concept(dt.SNOMED, "3457005", "Patient referral", "Referral"),
}
OUTSIDE_STATUS = {
    OutsideOrder.Status.ORDERED: "active",
    OutsideOrder.Status.SENT: "active",
    OutsideOrder.Status.SCHEDULED: "active",
    OutsideOrder.Status.RESULT_RECEIVED: "completed",
    OutsideOrder.Status.REVIEWED: "completed",
    OutsideOrder.Status.CANCELLED: "revoked",
}


def outside_id(pk: int) -> str:
    """The logical id of an imaging or referral order: `outside-<id>`."""
    return f"{OUTSIDE_PREFIX}{pk}"


def outside_row_id(text: str) -> int | None:
    if not text.startswith(OUTSIDE_PREFIX):
        return None
    return dt.row_id(text[len(OUTSIDE_PREFIX) :])


def outside_status(order: OutsideOrder) -> str:
    if order.voided_at is not None:
        return "entered-in-error"
    return OUTSIDE_STATUS.get(order.status, "unknown")  # type: ignore[call-overload,no-any-return]


def _outside_code(order: OutsideOrder) -> dict[str, Any]:
    text = f"{order.what}: {order.requested}"
    if order.cpt_code:
        return {"coding": [dt.coding(CPT, order.cpt_code)], "text": text}
    return {"text": text}


def _outside_notes(order: OutsideOrder) -> list[dict[str, str]]:
    notes = dt.notes(order.note)
    if order.sent_at is not None:
        via = f" by {order.sent_via}" if order.sent_via else ""
        notes.append({"text": f"Sent{via} on {order.sent_at:%Y-%m-%d %H:%M} UTC"})
    notes += [{"text": f"Prior authorization: {w}"} for w in order.prior_auth_warnings or []]
    if order.reviewed_at is not None:
        who = order.reviewed_by.display_name if order.reviewed_by is not None else ""
        review = f"Result reviewed on {order.reviewed_at:%Y-%m-%d %H:%M} UTC"
        review += f" by {who}" if who else ""
        review += f": {order.review_note}" if order.review_note else ""
        notes.append({"text": review})
    if order.status == OutsideOrder.Status.CANCELLED and order.cancel_reason:
        notes.append({"text": f"Cancelled: {order.cancel_reason}"})
    if order.voided_at is not None and order.void_reason:
        notes.append({"text": f"Entered in error: {order.void_reason}"})
    return notes


def outside_to_fhir(order: OutsideOrder) -> dict[str, Any]:
    """One imaging or referral order (fetched by `outside_queryset`)."""
    provider = order.ordering_provider
    referral = order.kind == OutsideOrder.Kind.REFERRAL
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": outside_id(order.pk),
            "meta": lab.meta(order.updated_at, PROFILE),
            "status": outside_status(order),
            "intent": "order",
            "category": [OUTSIDE_CATEGORY[OutsideOrder.Kind(order.kind)]],
            "priority": order.priority,
            "code": _outside_code(order),
            "subject": dt.reference("Patient", order.patient_id),
            "occurrenceDateTime": order.scheduled_on.isoformat() if order.scheduled_on else None,
            "authoredOn": order.ordered_at.isoformat(),
            "requester": {
                "reference": f"Practitioner/{provider.pk}",
                "display": provider.display_name,
            },
            "performerType": {"text": order.specialty} if referral and order.specialty else None,
            "performer": [{"display": order.destination_name}] if order.destination_name else None,
            "reasonCode": [
                {"coding": [dt.coding(dt.ICD10CM, code)], "text": code}
                for code in order.diagnosis_codes or []
            ],
            "patientInstruction": order.patient_instructions,
            "note": _outside_notes(order),
        }
    )


def outside_queryset(actor: Actor) -> Any:
    return OutsideOrder.objects.for_org(actor.organization).select_related(
        "patient", "ordering_provider", "reviewed_by"
    )


def _outside_code_filter(values: list[str]) -> Q:
    condition = Q()
    for group in lab.tokens(values):
        match = Q(pk__in=[])
        for token in group:
            if token.system in (None, CPT):
                match |= Q(cpt_code=token.code.upper())
        condition &= match
    return condition


def _read_outside_order(request: HttpRequest, request_id: str) -> HttpResponse:
    actor = authorize(request, OUTSIDE_PERMISSION)
    row = outside_row_id(request_id)
    order = outside_queryset(actor).filter(pk=row).first() if row is not None else None
    if order is None:
        raise not_found(RESOURCE, request_id)
    if order.patient.voided_at is not None:
        raise gone(RESOURCE, request_id)
    resource = outside_to_fhir(order)
    lab.audit_read(
        actor,
        patient_id=order.patient_id,
        model="OutsideOrder",
        pk=order.pk,
        fhir_id=f"{RESOURCE}/{resource['id']}",
    )
    return resource_response(resource)
