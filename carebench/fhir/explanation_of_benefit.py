"""ExplanationOfBenefit: a claim and everything its payer paid and adjusted on it, one per claim
with at least one posted 835 payment (id = the claim's id; a claim without payments is 404
here), read and search.

* status as the Claim's (`active`; `cancelled` for a voided claim); type `professional`, use
  `claim`; identifier the claim number; patient; billablePeriod; created when the last 835 for
  the claim was imported; insurer the claim's payer; provider the rendering Practitioner;
  facility; claim `Claim/<id>`; claimResponse the latest ClaimResponse; insurance the focal
  Coverage; diagnosis as the Claim's.
* outcome `partial` when the latest payment denies the claim (CLP02 4) or a line was denied
  over all the payments (nothing paid and nothing left to the patient), else `complete`;
  disposition the latest payment's CLP02 in words.
* item: every claim line as on the Claim, with adjudication summed over the claim's payments
  (a reversal and its repost net out): submitted (the line's charge), eligible (the allowed
  amounts, when the payer sent any), benefit (paid), and the CAS adjustments summed by group and
  reason. Payments for services matched to no line are addItems. Claim-level adjustments are
  the header adjudication.
* total: submitted (the claim's charge), eligible (when every line has an allowed amount),
  benefit (paid), the patient's share (CARIN `memberliability`); payment: the amount paid, the
  latest payment's date and trace number.

Reads and searches need `billing.view_claimpayment` and are audited on `Claim` (the FHIR id in
the detail); another organization's claims are 404 and never in a search; a voided patient's
are 410 and left out. Search: `patient` (required), newest service first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.billing.models import Claim, ClaimLine, ClaimPayment, LinePayment
from carebench.core.actor import Actor

from . import billing_common as bc
from . import claim as claims
from . import claim_response, location, practitioner, schemas
from . import datatypes as dt
from .auth import authorize
from .bundle import Paging, page_of, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params

RESOURCE = "ExplanationOfBenefit"
PROFILE = "http://hl7.org/fhir/StructureDefinition/ExplanationOfBenefit"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {"patient": "reference"}

router = Router(tags=[RESOURCE])


class ExplanationOfBenefitSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123 (required)")


def _item(line: ClaimLine, paid_lines: list[LinePayment], place: str) -> dict[str, Any]:
    allowed_values = [p.allowed for p in paid_lines if p.allowed is not None]
    allowed = sum(allowed_values, bc.ZERO) if allowed_values else None
    paid = sum((p.paid for p in paid_lines), bc.ZERO)
    totals = bc.summed_adjustments(p.adjustments for p in paid_lines)
    return dt.compact(
        {
            "sequence": line.number,
            "diagnosisSequence": list(line.pointers),
            "productOrService": bc.product(line.code, line.description),
            "modifier": [bc.modifier(code) for code in line.modifiers],
            "servicedDate": line.service_date.isoformat(),
            "locationCodeableConcept": bc.place_of_service(place),
            "quantity": bc.quantity(line.units),
            "net": bc.money(line.charge),
            "adjudication": bc.amounts(line.charge, allowed, paid, bc.adjustment_list(totals))
            if paid_lines
            else [bc.adjudication("submitted", line.charge)],
        }
    )


def _line_denied(line: ClaimLine, paid_lines: list[LinePayment]) -> bool:
    if not paid_lines or not line.charge:
        return False
    paid = sum((p.paid for p in paid_lines), bc.ZERO)
    return bc.is_denied(paid, bc.summed_adjustments(p.adjustments for p in paid_lines))


def _total(claim: Claim, lines: list[ClaimLine], by_line: dict[int, list[LinePayment]]) -> Any:
    payments = list(claim.payments.all())
    total = [bc.adjudication("submitted", claim.total_charge)]
    allowed: Decimal | None = bc.ZERO
    for line in lines:
        values = [p.allowed for p in by_line.get(line.pk, []) if p.allowed is not None]
        if not values or allowed is None:
            allowed = None
            break
        allowed += sum(values, bc.ZERO)
    if lines and allowed is not None:
        total.append(bc.adjudication("eligible", allowed))
    total.append(bc.adjudication("benefit", sum((p.paid for p in payments), bc.ZERO)))
    share = sum((p.patient_responsibility for p in payments), bc.ZERO)
    if share:
        total.append(bc.member_liability(share))
    return total


def to_fhir(claim: Claim, names: dict[str, str] | None = None) -> dict[str, Any]:
    """One claim with its payments (fetched by `queryset`)."""
    if names is None:
        names = bc.icd_names(claim.diagnosis_codes)
    payments = list(claim.payments.all())
    latest = payments[-1]
    lines = list(claim.lines.all())
    by_line: dict[int, list[LinePayment]] = {}
    unmatched: list[LinePayment] = []
    for payment in payments:
        for paid_line in payment.lines.all():
            if paid_line.line_id is None:
                unmatched.append(paid_line)
            else:
                by_line.setdefault(paid_line.line_id, []).append(paid_line)
    denied = latest.status_code == bc.DENIED or any(
        _line_denied(line, by_line.get(line.pk, [])) for line in lines
    )
    paid = sum((p.paid for p in payments), bc.ZERO)
    remittance = latest.remittance
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(claim.pk),
            "meta": bc.meta(max([claim.updated_at, *(p.updated_at for p in payments)])),
            "identifier": [
                {"system": bc.claim_number_system(claim.organization), "value": claim.number}
            ],
            "status": bc.claim_status(claim),
            "type": bc.claim_type(),
            "use": "claim",
            "patient": dt.reference("Patient", claim.patient_id),
            "billablePeriod": bc.billable_period(claim),
            "created": max(p.remittance.imported_at for p in payments).isoformat(),
            "insurer": bc.insurer(claim.payer.name, claim.payer.payer_code),
            "provider": practitioner.reference(claim.rendering_provider),
            "facility": location.facility_reference(claim.facility),
            "claim": dt.reference("Claim", claim.pk),
            "claimResponse": dt.reference("ClaimResponse", latest.pk),
            "outcome": "partial" if denied else "complete",
            "disposition": bc.disposition(latest.status_code),
            "diagnosis": bc.diagnoses(claim, names),
            "insurance": bc.insurance(claim, sequence=False),
            "item": [
                _item(line, by_line.get(line.pk, []), claim.place_of_service) for line in lines
            ],
            "addItem": [claim_response.line_item(line) for line in unmatched],
            "adjudication": bc.adjustment_list(
                bc.summed_adjustments(p.adjustments for p in payments)
            ),
            "total": _total(claim, lines, by_line),
            "payment": bc.payment(paid, remittance.payment_date, remittance.trace_number),
        }
    )


def converter(rows: list[Claim]) -> Any:
    names = bc.icd_names(code for claim in rows for code in claim.diagnosis_codes)
    return lambda claim: to_fhir(claim, names)


def queryset(actor: Actor) -> QuerySet[Claim]:
    """The organization's claims with at least one payment, ready for `to_fhir`."""
    payments = (
        ClaimPayment.objects.for_org(actor.organization)
        .select_related("remittance")
        .prefetch_related(claim_response.line_payments())
        .order_by("remittance__imported_at", "pk")
    )
    return (  # type: ignore[no-any-return]
        claims.queryset(actor)
        .filter(
            Exists(ClaimPayment.objects.for_org(actor.organization).filter(claim=OuterRef("pk")))
        )
        .prefetch_related(Prefetch("payments", queryset=payments))
    )


@router.get(
    "/ExplanationOfBenefit/{eob_id}",
    response=schemas.READ,
    summary="Read an ExplanationOfBenefit",
)
def read_explanation_of_benefit(request: HttpRequest, eob_id: str) -> HttpResponse:
    actor = authorize(request, bc.PAYMENT_PERMISSION)
    row = dt.row_id(eob_id)
    claim = queryset(actor).filter(pk=row).first() if row is not None else None
    if claim is None:
        raise not_found(RESOURCE, eob_id)
    if claim.patient.voided_at is not None:
        raise gone(RESOURCE, eob_id)
    bc.audit_read(
        actor,
        patient_id=claim.patient_id,
        model="Claim",
        pk=claim.pk,
        fhir_id=f"{RESOURCE}/{claim.pk}",
    )
    return resource_response(to_fhir(claim))


@router.get(
    "/ExplanationOfBenefit",
    response=schemas.SEARCH,
    summary="Search a patient's ExplanationOfBenefits",
)
def search_explanations_of_benefit(
    request: HttpRequest, paging: Query[Paging], params: Query[ExplanationOfBenefitSearch]
) -> HttpResponse:
    actor = authorize(request, bc.PAYMENT_PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    patient_id = claims.required_patient(params.patient)
    qs = (
        queryset(actor)
        .filter(patient_id=patient_id, patient__voided_at__isnull=True)
        .order_by("-service_date", "-pk")
    )
    rows, total = page_of(qs, paging)
    bc.audit_search(
        actor,
        patient_id=patient_id,
        model="Claim",
        used=used,
        total=total,
        ids=[row.pk for row in rows],
        fhir=RESOURCE,
    )
    return resource_response(
        searchset(request, RESOURCE, rows, total, paging, converter(rows), used)
    )
