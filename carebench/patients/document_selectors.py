"""Reads for documents: a chart's list (without the bytes), one document, and its bytes."""

from __future__ import annotations

from django.db.models import QuerySet

from carebench.core.models import Organization

from .document_models import Document, DocumentContent
from .models import Patient

RECENT = 10


def documents(organization: Organization | int) -> QuerySet[Document]:
    return Document.objects.for_org(organization).select_related(  # type: ignore[no-any-return]
        "created_by", "voided_by", "order"
    )


def documents_for(
    organization: Organization | int, patient: Patient, *, include_voided: bool = False
) -> list[Document]:
    """The patient's documents, newest first (by the document's date, then upload time)."""
    qs = documents(organization).filter(patient=patient)
    if not include_voided:
        qs = qs.filter(voided_at__isnull=True)
    return list(qs.order_by("-document_date", "-created_at", "-pk"))


def get_document(organization: Organization | int, pk: int) -> Document:
    """One document of the organization, with its patient (DoesNotExist otherwise)."""
    return documents(organization).select_related("patient").get(pk=pk)  # type: ignore[no-any-return]


def content_of(document: Document) -> bytes:
    """The document's bytes."""
    row = DocumentContent.objects.only("data").get(
        document_id=document.pk, organization_id=document.organization_id
    )
    return bytes(row.data)
