"""Consent: the consents signed for procedures (read, search by patient), and their signed
images as Binary (`Binary/consent-<id>`).

One Consent per `encounters.ProcedureConsent` (id = the row's id).

* status `active`; `entered-in-error` when the procedure was voided (left out of searches).
* scope consent-scope `treatment`; category LOINC 59284-0 (Patient Consent); policyRule v3
  ActCode OPTIN (the patient agreed); provision `permit` with the procedure (text, and a
  reference to the Procedure in provision.data).
* patient; dateTime (when signed); performer (who signed: the patient, or a parent, guardian or
  agent, by name); organization; sourceAttachment: the signature drawn on screen (PNG) or the
  scanned paper form, by url (`<base>/Binary/consent-<id>`: the bytes stay out of the JSON),
  contentType, creation, title (who signed, in what capacity, and the witness).

Search: `patient` (required), `date` (the day signed), `status`; newest first.
`encounters.view_procedureconsent` is needed; reads, searches and image reads are audited on
ProcedureConsent; another organization's are 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core.actor import Actor
from carebench.encounters.procedure_models import ProcedureConsent

from . import datatypes as dt
from . import lab_common as lab
from . import meds_common as meds
from . import schemas
from .auth import authorize
from .bundle import Paging, base_url, page_of, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params

RESOURCE = "Consent"
PROFILE = "http://hl7.org/fhir/StructureDefinition/Consent"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {"patient": "reference", "date": "date", "status": "token"}
PERMISSION = "encounters.view_procedureconsent"
BINARY_PREFIX = "consent-"
SCOPE = dt.concept("http://terminology.hl7.org/CodeSystem/consentscope", "treatment", "Treatment")
CATEGORY = dt.concept("http://loinc.org", "59284-0", "Patient Consent")
POLICY_RULE = dt.concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN", "opt-in")
STATUS_CONDITIONS = {
    "active": Q(procedure__voided_at__isnull=True),
    meds.ENTERED_IN_ERROR: Q(procedure__voided_at__isnull=False),
}

router = Router(tags=[RESOURCE])


class ConsentSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123")
    date: list[str] = Field([], description="day signed, with eq/ne/gt/lt/ge/le")
    status: list[str] = Field([], description="active or entered-in-error")


def to_fhir(consent: ProcedureConsent, base: str) -> dict[str, Any]:
    """One consent (fetched by `queryset`); `base` is the API's root URL."""
    procedure = consent.procedure
    voided = procedure.voided_at is not None
    who = consent.signer_name
    if consent.relationship != ProcedureConsent.Relationship.SELF:
        who += f" ({consent.get_relationship_display().lower()})"
    witness = consent.witness.display_name if consent.witness is not None else ""
    title = f"{consent.get_method_display()} by {who}" + (
        f", witnessed by {witness}" if witness else ""
    )
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(consent.pk),
            "meta": lab.meta(max(consent.updated_at, procedure.updated_at), PROFILE),
            "status": meds.ENTERED_IN_ERROR if voided else "active",
            "scope": SCOPE,
            "category": [CATEGORY],
            "patient": dt.reference("Patient", procedure.patient_id),
            "dateTime": consent.signed_at.isoformat(),
            "performer": [{"display": who}],
            "organization": [{"display": consent.organization.name}],
            "sourceAttachment": dt.compact(
                {
                    "contentType": consent.image_type,
                    "url": f"{base}/Binary/{BINARY_PREFIX}{consent.pk}",
                    "title": title,
                    "creation": consent.signed_at.isoformat(),
                }
            ),
            "policyRule": POLICY_RULE,
            "provision": {
                "type": "permit",
                "code": [{"text": procedure.name}],
                "data": [
                    {"meaning": "related", "reference": dt.reference("Procedure", procedure.pk)}
                ],
            },
        }
    )


def queryset(actor: Actor) -> QuerySet[ProcedureConsent]:
    return (  # type: ignore[no-any-return]
        ProcedureConsent.objects.for_org(actor.organization)
        .select_related("procedure__patient", "witness", "organization")
        .defer("image")
    )


def _consent(actor: Actor, consent_id: str, resource: str = RESOURCE) -> ProcedureConsent:
    row = dt.row_id(consent_id)
    consent = queryset(actor).filter(pk=row).first() if row is not None else None
    if consent is None:
        raise not_found(resource, consent_id)
    if consent.procedure.patient.voided_at is not None:
        raise gone(resource, consent_id)
    return consent


@router.get("/Consent/{consent_id}", response=schemas.READ, summary="Read a Consent")
def read_consent(request: HttpRequest, consent_id: str) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    consent = _consent(actor, consent_id)
    resource = to_fhir(consent, base_url(request))
    lab.audit_read(
        actor,
        patient_id=consent.procedure.patient_id,
        model="ProcedureConsent",
        pk=consent.pk,
        fhir_id=f"{RESOURCE}/{consent.pk}",
    )
    return resource_response(resource)


@router.get("/Consent", response=schemas.SEARCH, summary="Search a patient's Consents")
def search_consents(
    request: HttpRequest, paging: Query[Paging], params: Query[ConsentSearch]
) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    patient_id = lab.patient_id(params.patient, None)
    status, wants_voided = meds.status_filter(params.status, STATUS_CONDITIONS)
    qs = (
        queryset(actor)
        .filter(procedure__patient_id=patient_id, procedure__patient__voided_at__isnull=True)
        .filter(Q() if wants_voided else Q(procedure__voided_at__isnull=True))
        .filter(status)
        .filter(lab.day_filter(actor, "signed_at", params.date, "date"))
    )
    rows, total = page_of(qs.order_by("-signed_at", "-pk"), paging)
    lab.audit_search(
        actor,
        patient_id=patient_id,
        model="ProcedureConsent",
        used=used,
        total=total,
        ids=[row.pk for row in rows],
    )
    base = base_url(request)
    bundle = searchset(request, RESOURCE, rows, total, paging, lambda row: to_fhir(row, base), used)
    return resource_response(bundle)


def read_binary(request: HttpRequest, binary_id: str) -> HttpResponse:
    """`Binary/consent-<id>`: the signature (PNG) or the scanned form, as itself (the Binary
    route in document_reference.py dispatches here)."""
    actor = authorize(request, PERMISSION)
    consent = _consent(actor, binary_id[len(BINARY_PREFIX) :], "Binary")
    data = bytes(ProcedureConsent.objects.values_list("image", flat=True).get(pk=consent.pk))
    audit.record_for_actor(
        actor,
        action=Action.EXPORT,
        patient_id=consent.procedure.patient_id,
        resource_type="ProcedureConsent",
        resource_id=consent.pk,
        detail={"fhir": f"Binary/{binary_id}", "bytes": len(data)},
    )
    response = HttpResponse(data, content_type=consent.image_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
