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

Search: `patient` (or `subject`), `code`, `status`, `authored` (the day ordered, eq/ne/gt/lt/ge/
le), newest first. Reads and searches are audited; another organization's orders are 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.core.actor import Actor
from carebench.labs.models import LabOrder, LabOrderItem, Specimen

from . import datatypes as dt
from . import lab_common as lab
from . import schemas
from .auth import authorize
from .bundle import Paging, page_of, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params

RESOURCE = "ServiceRequest"
PROFILE = dt.US_CORE + "us-core-servicerequest"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "patient": "reference",
    "subject": "reference",
    "code": "token",
    "status": "token",
    "authored": "date",
}
CATEGORY = dt.concept(dt.SNOMED, "108252007", "Laboratory procedure")
STATUS = {
    LabOrder.Status.ACTIVE: "active",
    LabOrder.Status.COMPLETED: "completed",
    LabOrder.Status.CANCELLED: "revoked",
}

router = Router(tags=[RESOURCE])


class ServiceRequestSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123")
    subject: str | None = Field(None, description="Patient/123 (instead of patient)")
    code: list[str] = Field([], description="LOINC or catalog code: system|code or code")
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
    actor = authorize(request, lab.ORDER_PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    patient_id = lab.patient_id(params.patient, params.subject)
    qs = queryset(actor).filter(
        order__patient_id=patient_id,
        order__voided_at__isnull=True,
        order__patient__voided_at__isnull=True,
    )
    qs = qs.filter(lab.code_filter(params.code, "loinc", "code"))
    for group in lab.tokens(params.status):
        wanted = {t.code for t in group}
        qs = qs.filter(order__status__in=[ours for ours, fhir in STATUS.items() if fhir in wanted])
    qs = qs.filter(lab.day_filter(actor, "order__ordered_at", params.authored, "authored"))
    rows, total = page_of(qs.order_by("-order__ordered_at", "order_id", "pk"), paging)
    lab.audit_search(
        actor,
        patient_id=patient_id,
        model="LabOrderItem",
        used=used,
        total=total,
        ids=[row.pk for row in rows],
    )
    return resource_response(searchset(request, RESOURCE, rows, total, paging, to_fhir, used))
