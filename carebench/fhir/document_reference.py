"""DocumentReference: the documents filed in a patient's chart (read, search by patient), and
Binary: their bytes (read).

One DocumentReference per `patients.Document` (id = the row's id). The JSON never carries the
file: `content.attachment.url` is `<base>/Binary/<id>`, which returns the bytes themselves (with
the document's content type, after the same token, permission and organization checks, audited
as an export); the JSON also gives contentType, size, title and creation (the document's date).

* status `current`, or `entered-in-error` for a voided document (with the reason in
  `description`; left out of searches unless asked for); docStatus `final`.
* type: LOINC where the category has one (11488-4 Consult note, 18748-4 Diagnostic imaging
  study, 34133-9 Summary of episode note, 59284-0 Patient Consent), else text; category US Core
  `clinical-note` for clinical documents and our own category
  (`urn:carebench:document-category`) for every one.
* subject; date (when it was filed); author (the imaging center or practice that sent it back
  for an order, else who filed it: their Practitioner when they are a provider, else their name);
  context.period.start (the date of the document) and context.related (the imaging or referral
  ServiceRequest it answers).

Search: `patient` (or `subject`; required), `category` (ours or clinical-note), `type`, `date`
(when filed), `status`; newest first. `patients.view_document` is needed; reads and searches are
audited on Document; another organization's documents are 404.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core.actor import Actor
from carebench.patients import document_selectors, filetypes
from carebench.patients.document_models import Document, DocumentCategory

from . import consent, schemas
from . import datatypes as dt
from . import lab_common as lab
from . import meds_common as meds
from .auth import authorize
from .bundle import Paging, base_url, page_of, searchset
from .outcome import gone, not_found, resource_response
from .search import check_params
from .service_request import outside_id

RESOURCE = "DocumentReference"
PROFILE = dt.US_CORE + "us-core-documentreference"
INTERACTIONS = ["read", "search-type"]
SEARCH_PARAMS = {
    "patient": "reference",
    "subject": "reference",
    "category": "token",
    "type": "token",
    "date": "date",
    "status": "token",
}
PERMISSION = "patients.view_document"
LOINC = "http://loinc.org"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
OUR_CATEGORY = "urn:carebench:document-category"
TYPES = {
    DocumentCategory.CONSULT_NOTE: ("11488-4", "Consult note"),
    DocumentCategory.IMAGING_REPORT: ("18748-4", "Diagnostic imaging study"),
    DocumentCategory.OUTSIDE_RECORDS: ("34133-9", "Summary of episode note"),
    DocumentCategory.CONSENT: ("59284-0", "Patient Consent"),
}
CLINICAL = set(TYPES)
# Binary: the bytes of a document (read only; capability.py lists it).
BINARY = SimpleNamespace(
    RESOURCE="Binary",
    PROFILE="http://hl7.org/fhir/StructureDefinition/Binary",
    INTERACTIONS=["read"],
    SEARCH_PARAMS={},
)

router = Router(tags=[RESOURCE])


class DocumentReferenceSearch(Schema):
    patient: str | None = Field(None, description="Patient/123 or 123")
    subject: str | None = Field(None, description="Patient/123 (instead of patient)")
    category: list[str] = Field(
        [], description="clinical-note, or ours: consult_note, imaging_report, consent..."
    )
    type: list[str] = Field([], description="LOINC: 11488-4, 18748-4, 34133-9, 59284-0")
    date: list[str] = Field([], description="day filed, with eq/ne/gt/lt/ge/le")
    status: list[str] = Field([], description="current or entered-in-error")


def _type(document: Document) -> dict[str, Any]:
    label = DocumentCategory(document.category).label
    known = TYPES.get(DocumentCategory(document.category))
    if known is None:
        return {"text": label}
    return dt.concept(LOINC, known[0], known[1], label)


def _categories(document: Document) -> list[dict[str, Any]]:
    label = DocumentCategory(document.category).label
    ours = dt.concept(OUR_CATEGORY, document.category, label)
    if document.category in CLINICAL:
        return [dt.concept(US_CORE_CATEGORY, "clinical-note", "Clinical Note"), ours]
    return [ours]


def _author(document: Document) -> list[dict[str, Any]]:
    if document.order is not None and document.order.destination_name:
        return [{"display": document.order.destination_name}]
    person = meds.person(document.created_by)
    return [person] if person else []


def to_fhir(document: Document, base: str) -> dict[str, Any]:
    """One document (fetched by `queryset`); `base` is the API's root URL."""
    voided = document.voided_at is not None
    context = dt.compact(
        {
            "period": {"start": document.document_date.isoformat()}
            if document.document_date
            else None,
            "related": [{"reference": f"ServiceRequest/{outside_id(document.order_id)}"}]
            if document.order_id
            else None,
        }
    )
    attachment = dt.compact(
        {
            "contentType": document.content_type,
            "url": f"{base}/Binary/{document.pk}",
            "size": document.size,
            "title": document.title,
            "creation": document.document_date.isoformat() if document.document_date else None,
        }
    )
    return dt.compact(
        {
            "resourceType": RESOURCE,
            "id": str(document.pk),
            "meta": lab.meta(document.updated_at, PROFILE),
            "identifier": [
                {"system": "urn:ietf:rfc:3986", "value": f"urn:sha256:{document.sha256}"}
            ],
            "status": "entered-in-error" if voided else "current",
            "docStatus": "final",
            "type": _type(document),
            "category": _categories(document),
            "subject": dt.reference("Patient", document.patient_id),
            "date": document.created_at.isoformat(),
            "author": _author(document),
            "description": f"Entered in error: {document.void_reason}" if voided else document.note,
            "content": [{"attachment": attachment}],
            "context": context,
        }
    )


def queryset(actor: Actor) -> QuerySet[Document]:
    return Document.objects.for_org(actor.organization).select_related(  # type: ignore[no-any-return]
        "patient", "order", "created_by__provider"
    )


def _category_filter(values: list[str]) -> Q:
    condition = Q()
    for group in lab.tokens(values):
        match = Q(pk__in=[])
        for token in group:
            if token.system in (None, US_CORE_CATEGORY) and token.code == "clinical-note":
                match |= Q(category__in=list(CLINICAL))
            if token.system in (None, OUR_CATEGORY) and token.code in DocumentCategory.values:
                match |= Q(category=token.code)
        condition &= match
    return condition


def _type_filter(values: list[str]) -> Q:
    by_loinc = {code: category for category, (code, _) in TYPES.items()}
    condition = Q()
    for group in lab.tokens(values):
        match = Q(pk__in=[])
        for token in group:
            if token.system in (None, LOINC) and token.code in by_loinc:
                match |= Q(category=by_loinc[token.code])
        condition &= match
    return condition


def _document(actor: Actor, document_id: str) -> Document:
    row = dt.row_id(document_id)
    document = queryset(actor).filter(pk=row).first() if row is not None else None
    if document is None:
        raise not_found(RESOURCE, document_id)
    if document.patient.voided_at is not None:
        raise gone(RESOURCE, document_id)
    return document


@router.get(
    "/DocumentReference/{document_id}", response=schemas.READ, summary="Read a DocumentReference"
)
def read_document_reference(request: HttpRequest, document_id: str) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    document = _document(actor, document_id)
    resource = to_fhir(document, base_url(request))
    lab.audit_read(
        actor,
        patient_id=document.patient_id,
        model="Document",
        pk=document.pk,
        fhir_id=f"{RESOURCE}/{document.pk}",
    )
    return resource_response(resource)


@router.get(
    "/DocumentReference",
    response=schemas.SEARCH,
    summary="Search a patient's DocumentReferences",
)
def search_document_references(
    request: HttpRequest, paging: Query[Paging], params: Query[DocumentReferenceSearch]
) -> HttpResponse:
    actor = authorize(request, PERMISSION)
    used = check_params(request, SEARCH_PARAMS)
    patient_id = lab.patient_id(params.patient, params.subject)
    conditions = {
        "current": Q(voided_at__isnull=True),
        "entered-in-error": Q(voided_at__isnull=False),
    }
    status, wants_voided = meds.status_filter(params.status, conditions)
    qs = (
        queryset(actor)
        .filter(patient_id=patient_id, patient__voided_at__isnull=True)
        .filter(meds.voided_condition(wants_voided))
        .filter(status)
        .filter(_category_filter(params.category))
        .filter(_type_filter(params.type))
        .filter(lab.day_filter(actor, "created_at", params.date, "date"))
    )
    rows, total = page_of(qs.order_by("-created_at", "-pk"), paging)
    lab.audit_search(
        actor,
        patient_id=patient_id,
        model="Document",
        used=used,
        total=total,
        ids=[row.pk for row in rows],
    )
    base = base_url(request)
    bundle = searchset(request, RESOURCE, rows, total, paging, lambda row: to_fhir(row, base), used)
    return resource_response(bundle)


# A Binary answers with the file itself: its 200 is documented with the files' own types.
_FILE = {"schema": {"type": "string", "format": "binary"}}
BINARY_RESPONSES = {
    "responses": {
        200: {
            "content": dict.fromkeys(
                (filetypes.PDF, filetypes.JPEG, filetypes.PNG, filetypes.TIFF), _FILE
            )
        }
    }
}


@router.get(
    "/Binary/{binary_id}",
    response=schemas.READ,
    summary="The bytes of a document (its own content type)",
    openapi_extra=BINARY_RESPONSES,
)
def read_binary(request: HttpRequest, binary_id: str) -> HttpResponse:
    """The file of `DocumentReference/<id>` as itself (PDF, JPEG, PNG, TIFF), never cached; a
    voided document's file is 404. `Binary/consent-<id>` is a signed consent (consent.py)."""
    if binary_id.startswith(consent.BINARY_PREFIX):
        return consent.read_binary(request, binary_id)
    actor = authorize(request, PERMISSION)
    row = dt.row_id(binary_id)
    document = queryset(actor).filter(pk=row).first() if row is not None else None
    if document is None or document.voided_at is not None:
        raise not_found("Binary", binary_id)
    if document.patient.voided_at is not None:
        raise gone("Binary", binary_id)
    data = document_selectors.content_of(document)
    audit.record_for_actor(
        actor,
        action=Action.EXPORT,
        patient_id=document.patient_id,
        resource_type="Document",
        resource_id=document.pk,
        detail={"fhir": f"Binary/{document.pk}", "bytes": len(data)},
    )
    name = filetypes.safe_filename(document.original_name or document.title, document.content_type)
    response = HttpResponse(data, content_type=document.content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
