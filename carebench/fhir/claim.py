"""Claim: the organization's professional claims (`billing.Claim` and its lines), read and search.

* status: `cancelled` for a voided claim; every other billing status (draft, ready, submitted,
  accepted, rejected, paid, denied, appealed) is `active`: the claim is a live request for
  payment whatever the payer has said so far (what the payer said is the ClaimResponse).
* type `professional` (837P), use `claim`, priority `normal`; identifier our claim number
  (CLM01, system `urn:carebench:claim:<organization slug>`); created when the claim was made;
  billablePeriod the date of service.
* patient; provider the rendering Practitioner; insurer the payer by name (X12 payer ID as its
  identifier); facility the Location; insurance the claim's Coverage (focal, with the prior
  authorization number as preAuthRef).
* diagnosis: ICD-10-CM with the dot (E119 -> E11.9), in the claim's order (principal first);
  the lines' diagnosis pointers are these sequences.
* item: sequence (the line number), diagnosisSequence, productOrService (CPT or HCPCS Level II),
  modifier, servicedDate, locationCodeableConcept (CMS place of service), quantity (units),
  unitPrice (charge / units), net (the line's charge); total the claim's charge.

Reads and searches need `billing.view_claim` and are audited on `Claim`; another organization's
claims are 404 and never in a search; a voided patient's claims are 410 and left out of searches.
Search: `patient` (required), `status`, `use`, `created` (days in the clinic's time zone;
eq/ne/gt/lt/ge/le), `identifier` (the claim number), newest service first.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.billing.models import Claim, ClaimLine
from carebench.core.actor import Actor

from . import billing_common as bc
from . import datatypes as dt
from . import lab_common, location, practitioner, schemas
from .auth import authorize
from .bundle import Paging, page_of, searchset
from .outcome import bad_request, gone, not_found, resource_response
from .search import check_params, parse_token

RESOURCE = "Claim"
PROFILE = "http://hl7.org/fhir/StructureDefinition/Claim"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "patient": "reference",
    "status": "token",
    "use": "token",
    "created": "date",
    "identifier": "token",
}
STATUS_CONDITIONS = {
    "active": ~Q(status=Claim.Status.VOID),
    "cancelled": Q(status=Claim.Status.VOID),
}
USE_CONDITIONS = {"claim": Q(pk__isnull=False)}  # every claim (an empty Q would vanish)

router = Router(tags=[RESOURCE])


class ClaimSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123 (required)")
    status: list[str] = Field([], description="active or cancelled (a voided claim)")
    use: list[str] = Field([], description="claim (the only use)")
    created: list[str] = Field(
        [], description="when the claim was made: YYYY[-MM[-DD]], prefixes eq, ne, gt, lt, ge, le"
    )
    identifier: list[str] = Field([], description="the claim number: system|value or value")


def _line(line: ClaimLine, place: str) -> dict[str, Any]:
    unit_price = (line.charge / line.units).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return dt.compact(
        {
            "sequence": line.number,
            "diagnosisSequence": list(line.pointers),
            "productOrService": bc.product(line.code, line.description),
            "modifier": [bc.modifier(code) for code in line.modifiers],
            "servicedDate": line.service_date.isoformat(),
            "locationCodeableConcept": bc.place_of_service(place),
            "quantity": bc.quantity(line.units),
            "unitPrice": bc.money(unit_price),
            "net": bc.money(line.charge),
        }
    )


def to_fhir(claim: Claim, names: dict[str, str] | None = None) -> dict[str, Any]:
    """One claim (fetched by `queryset`); `names`: ICD-10-CM descriptions (else looked up)."""
    if names is None:
        names = bc.icd_names(claim.diagnosis_codes)
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(claim.pk),
            "meta": bc.meta(claim.updated_at),
            "identifier": [
                {"system": bc.claim_number_system(claim.organization), "value": claim.number}
            ],
            "status": bc.claim_status(claim),
            "type": bc.claim_type(),
            "use": "claim",
            "patient": dt.reference("Patient", claim.patient_id),
            "billablePeriod": bc.billable_period(claim),
            "created": claim.created_at.isoformat(),
            "insurer": bc.insurer(claim.payer.name, claim.payer.payer_code),
            "provider": practitioner.reference(claim.rendering_provider),
            "priority": dt.concept(bc.PROCESS_PRIORITY, "normal", "Normal"),
            "facility": location.facility_reference(claim.facility),
            "diagnosis": bc.diagnoses(claim, names),
            "insurance": bc.insurance(claim),
            "item": [_line(line, claim.place_of_service) for line in claim.lines.all()],
            "total": bc.money(claim.total_charge),
        }
    )


def converter(claims: list[Claim]) -> Callable[[Claim], dict[str, Any]]:
    """`to_fhir` for a page of claims, their diagnoses' names looked up once."""
    names = bc.icd_names(code for claim in claims for code in claim.diagnosis_codes)
    return lambda claim: to_fhir(claim, names)


def queryset(actor: Actor) -> QuerySet[Claim]:
    """The organization's claims, ready for `to_fhir`."""
    return (  # type: ignore[no-any-return]
        Claim.objects.for_org(actor.organization)
        .select_related("organization", "patient", "payer", "rendering_provider", "facility")
        .prefetch_related("lines")
    )


def get(actor: Actor, claim_id: str, resource_type: str = RESOURCE) -> Claim:
    """This organization's claim (404 otherwise; 410 when its patient was voided)."""
    row = dt.row_id(claim_id)
    claim = queryset(actor).filter(pk=row).first() if row is not None else None
    if claim is None:
        raise not_found(resource_type, claim_id)
    if claim.patient.voided_at is not None:
        raise gone(resource_type, claim_id)
    return claim


def required_patient(value: str | None) -> int:
    found = bc.patient_id(value)
    if found is None:
        raise bad_request(
            "patient: this search needs the patient (patient=Patient/123)",
            expression="patient",
            code="required",
        )
    return found


def token_filter(values: list[str], conditions: dict[str, Q]) -> Q:
    """Token search values (comma-separated: any of them; repeated: all of them)."""
    condition = Q()
    for group in lab_common.tokens(values):
        match = Q(pk__in=[])
        for token in group:
            match |= conditions.get(token.code, Q(pk__in=[]))
        condition &= match
    return condition


def _identifier_filter(actor: Actor, values: list[str]) -> Q:
    system = bc.claim_number_system(actor.organization)
    condition = Q()
    for value in values:
        token = parse_token(value)
        if token.system not in (None, system):
            return Q(pk__in=[])
        condition &= Q(number=token.code)
    return condition


@router.get("/Claim/{claim_id}", response=schemas.READ, summary="Read a Claim")
def read_claim(request: HttpRequest, claim_id: str) -> HttpResponse:
    actor = authorize(request, bc.CLAIM_PERMISSION)
    claim = get(actor, claim_id)
    bc.audit_read(
        actor,
        patient_id=claim.patient_id,
        model="Claim",
        pk=claim.pk,
        fhir_id=f"{RESOURCE}/{claim.pk}",
    )
    return resource_response(to_fhir(claim))


@router.get("/Claim", response=schemas.SEARCH, summary="Search a patient's Claims")
def search_claims(
    request: HttpRequest, paging: Query[Paging], params: Query[ClaimSearch]
) -> HttpResponse:
    actor = authorize(request, bc.CLAIM_PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    patient_id = required_patient(params.patient)
    qs = (
        queryset(actor)
        .filter(patient_id=patient_id, patient__voided_at__isnull=True)
        .filter(token_filter(params.status, STATUS_CONDITIONS))
        .filter(token_filter(params.use, USE_CONDITIONS))
        .filter(lab_common.day_filter(actor, "created_at", params.created, "created"))
        .filter(_identifier_filter(actor, params.identifier))
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
