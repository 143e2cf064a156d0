"""ClaimResponse: the payer's decision on a claim, one per posted 835 claim payment (CLP) matched
to a claim (`billing.ClaimPayment`, id = its id), read and search.

* status `active`, type `professional`, use `claim`; patient the claim's; created when the 835
  was imported; insurer the payer by name as the 835 names it (X12 payer ID as its identifier);
  requestor the claim's rendering Practitioner; request `Claim/<id>`; identifier the payer's
  claim control number (CLP07).
* outcome `complete`, or `partial` when the payer denied the claim (CLP02 4) or any line
  (nothing paid and nothing left to the patient); disposition CLP02 in words ("Processed as
  primary", "Denied"...).
* item (one per SVC matched to a claim line; itemSequence the line number): adjudication
  submitted (charge), eligible (allowed, when sent), benefit (paid), then each CAS adjustment
  (category the X12 group code, reason the CARC, amount). An SVC matched to no line is an
  addItem with its code. Claim-level CAS adjustments are the header adjudication.
* total: submitted, eligible (the lines' allowed, when every line has one), benefit, and the
  patient's share (CARIN `memberliability`) when there is one; payment: amount (this claim's
  share of the check or EFT), date, identifier the trace number (TRN02).

Reads and searches need `billing.view_claimpayment` and are audited on `ClaimPayment`; another
organization's rows are 404 and never in a search; a voided patient's are 410 and left out.
Search: `patient` or `request` (one is required), oldest 835 first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.billing.models import Claim, ClaimPayment, LinePayment
from carebench.core.actor import Actor

from . import billing_common as bc
from . import datatypes as dt
from . import practitioner, schemas
from .auth import authorize
from .bundle import Paging, page_of, searchset
from .outcome import bad_request, gone, not_found, resource_response
from .search import check_params, parse_reference_id

RESOURCE = "ClaimResponse"
PROFILE = "http://hl7.org/fhir/StructureDefinition/ClaimResponse"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {"patient": "reference", "request": "reference"}

router = Router(tags=[RESOURCE])


class ClaimResponseSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123")
    request: str | None = Field(None, description="Claim/123 or 123 (instead of patient)")


def _line_totals(line: LinePayment) -> dict[tuple[str, str], Decimal]:
    return bc.summed_adjustments([line.adjustments])


def outcome(payment: ClaimPayment) -> str:
    if payment.status_code == bc.DENIED:
        return "partial"
    for line in payment.lines.all():
        if line.charge and bc.is_denied(line.paid, _line_totals(line)):
            return "partial"
    return "complete"


def line_item(line: LinePayment) -> dict[str, Any]:
    adjudication = bc.amounts(
        line.charge, line.allowed, line.paid, bc.adjustment_list(_line_totals(line))
    )
    if line.line is not None:
        return {"itemSequence": line.line.number, "adjudication": adjudication}
    return dt.compact(
        {
            "productOrService": bc.product(line.code),
            "modifier": [bc.modifier(code) for code in line.modifiers],
            "quantity": bc.quantity(line.units),
            "net": bc.money(line.charge),
            "adjudication": adjudication,
        }
    )


def _total(payment: ClaimPayment, lines: list[LinePayment]) -> list[dict[str, Any]]:
    total = [bc.adjudication("submitted", payment.charge)]
    if lines and all(line.allowed is not None for line in lines):
        allowed = sum((line.allowed for line in lines if line.allowed is not None), bc.ZERO)
        total.append(bc.adjudication("eligible", allowed))
    total.append(bc.adjudication("benefit", payment.paid))
    if payment.patient_responsibility:
        total.append(bc.member_liability(payment.patient_responsibility))
    return total


def to_fhir(payment: ClaimPayment) -> dict[str, Any]:
    """One claim payment matched to a claim (fetched by `queryset`)."""
    claim = payment.claim
    assert claim is not None  # queryset() keeps matched payments only
    remittance = payment.remittance
    lines = list(payment.lines.all())
    payer_code = remittance.payer.payer_code if remittance.payer is not None else ""
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(payment.pk),
            "meta": bc.meta(payment.updated_at),
            "identifier": [{"value": payment.payer_claim_number}]
            if payment.payer_claim_number
            else None,
            "status": "active",
            "type": bc.claim_type(),
            "use": "claim",
            "patient": dt.reference("Patient", claim.patient_id),
            "created": remittance.imported_at.isoformat(),
            "insurer": bc.insurer(remittance.payer_name, payer_code),
            "requestor": practitioner.reference(claim.rendering_provider),
            "request": dt.reference("Claim", claim.pk),
            "outcome": outcome(payment),
            "disposition": bc.disposition(payment.status_code),
            "item": [line_item(line) for line in lines if line.line is not None],
            "addItem": [line_item(line) for line in lines if line.line is None],
            "adjudication": bc.adjustment_list(bc.summed_adjustments([payment.adjustments])),
            "total": _total(payment, lines),
            "payment": bc.payment(payment.paid, remittance.payment_date, remittance.trace_number),
        }
    )


def line_payments() -> Prefetch[Any]:
    return Prefetch(
        "lines", queryset=LinePayment.objects.select_related("line").order_by("payment", "id")
    )


def queryset(actor: Actor) -> QuerySet[ClaimPayment]:
    """The organization's claim payments matched to one of its claims, ready for `to_fhir`."""
    return (  # type: ignore[no-any-return]
        ClaimPayment.objects.for_org(actor.organization)
        .filter(claim__organization=actor.organization)
        .select_related("remittance__payer", "claim__rendering_provider", "claim__patient")
        .prefetch_related(line_payments())
    )


@router.get("/ClaimResponse/{response_id}", response=schemas.READ, summary="Read a ClaimResponse")
def read_claim_response(request: HttpRequest, response_id: str) -> HttpResponse:
    actor = authorize(request, bc.PAYMENT_PERMISSION)
    row = dt.row_id(response_id)
    payment = queryset(actor).filter(pk=row).first() if row is not None else None
    if payment is None or payment.claim is None:
        raise not_found(RESOURCE, response_id)
    if payment.claim.patient.voided_at is not None:
        raise gone(RESOURCE, response_id)
    bc.audit_read(
        actor,
        patient_id=payment.claim.patient_id,
        model="ClaimPayment",
        pk=payment.pk,
        fhir_id=f"{RESOURCE}/{payment.pk}",
    )
    return resource_response(to_fhir(payment))


@router.get("/ClaimResponse", response=schemas.SEARCH, summary="Search a patient's ClaimResponses")
def search_claim_responses(
    request: HttpRequest, paging: Query[Paging], params: Query[ClaimResponseSearch]
) -> HttpResponse:
    actor = authorize(request, bc.PAYMENT_PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    if not params.patient and not params.request:
        raise bad_request(
            "patient: this search needs the patient (patient=Patient/123) or the claim "
            "(request=Claim/123)",
            expression="patient",
            code="required",
        )
    qs = queryset(actor).filter(claim__patient__voided_at__isnull=True)
    patient_id = bc.patient_id(params.patient)
    if patient_id is not None:
        qs = qs.filter(claim__patient_id=patient_id)
    if params.request:
        claim_id = parse_reference_id(params.request, "Claim", "request")
        qs = qs.filter(claim_id=claim_id)
        if patient_id is None:  # the audit names the claim's patient
            patient_id = (
                Claim.objects.for_org(actor.organization)
                .filter(pk=claim_id)
                .values_list("patient_id", flat=True)
                .first()
            )
    rows, total = page_of(qs.order_by("remittance__imported_at", "pk"), paging)
    bc.audit_search(
        actor,
        patient_id=patient_id,
        model="ClaimPayment",
        used=used,
        total=total,
        ids=[row.pk for row in rows],
        fhir=RESOURCE,
    )
    return resource_response(searchset(request, RESOURCE, rows, total, paging, to_fhir, used))
