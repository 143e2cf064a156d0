"""Writes for documents in the chart: uploading a file (its type checked by its content, its
size limited) and voiding one filed in error.

Keyword-only with the `Actor` first, one transaction, one audit event; bad input raises a
`ValidationError` naming the field and the rule before anything is written; another
organization's rows raise `PermissionError`.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors

from . import filetypes
from .document_models import Document, DocumentCategory, DocumentContent
from .models import Patient

if TYPE_CHECKING:
    from .referral_models import OutsideOrder

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_TITLE = 200


def max_document_bytes() -> int:
    return int(getattr(settings, "CAREBENCH_MAX_DOCUMENT_BYTES", MAX_DOCUMENT_BYTES))


def organization_today(actor: Actor) -> date:
    """Today in the organization's (first facility's) time zone."""
    facility = actor.organization.facilities.first()
    return clock.today(facility.time_zone if facility is not None else None)


def check_file(data: bytes, errors: FieldErrors, field: str = "file") -> str | None:
    """The file's real content type, or None with the reason added to `errors`."""
    limit = max_document_bytes()
    if not data:
        errors.add(field, "the file is empty: choose the scanned PDF or image")
        return None
    if len(data) > limit:
        errors.add(
            field,
            f"the file is {len(data) / 1_048_576:.1f} MB; the limit is "
            f"{limit // 1_048_576} MB: scan at a lower resolution or split it",
        )
        return None
    kind = filetypes.sniff(data)
    if kind is None:
        errors.add(
            field,
            f"only PDF, JPEG, PNG or TIFF files are kept; this one is {filetypes.describe(data)}",
        )
    elif not filetypes.is_complete(data, kind):
        errors.add(field, "the PDF is cut short (it has no end marker): save or scan it again")
        return None
    return kind


def check_details(
    actor: Actor,
    errors: FieldErrors,
    *,
    category: str,
    title: str,
    document_date: date | None,
) -> str:
    """Check the category, title and date; returns the title to store."""
    if category not in DocumentCategory.values:
        errors.add("category", "choose a category (consult note, imaging report, ...)")
    title = " ".join(title.split())
    if len(title) > MAX_TITLE:
        errors.add("title", f"at most {MAX_TITLE} characters")
    if document_date is not None and document_date > organization_today(actor):
        errors.add("document_date", "cannot be in the future")
    return title


def store(
    actor: Actor,
    *,
    patient: Patient,
    data: bytes,
    content_type: str,
    filename: str,
    category: str,
    title: str,
    document_date: date | None,
    note: str = "",
    order: OutsideOrder | None = None,
) -> Document:
    """Insert the document and its bytes (checked already; inside the caller's transaction,
    which writes the audit event)."""
    if not title:
        label = DocumentCategory(category).label
        title = f"{label} {document_date:%m/%d/%Y}" if document_date else label
    document = Document.objects.create(
        organization=actor.organization,
        created_by=actor.user,
        patient=patient,
        category=category,
        title=title,
        document_date=document_date,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        original_name=filename.strip()[:255],
        note=note.strip(),
        order=order,
    )
    DocumentContent.objects.create(
        organization=actor.organization, created_by=actor.user, document=document, data=data
    )
    return document


def upload_document(
    *,
    actor: Actor,
    patient: Patient,
    data: bytes,
    filename: str,
    category: str,
    title: str = "",
    document_date: date | None = None,
    note: str = "",
) -> Document:
    """File a scanned or uploaded document in the patient's chart. The type is what the bytes
    are (PDF, JPEG, PNG, TIFF), whatever the file's name says; at most 20 MB."""
    actor.check_owns(patient, "patient")
    errors = FieldErrors()
    if patient.voided_at is not None:
        errors.add("__all__", "this patient was registered in error (voided)")
    kind = check_file(data, errors)
    title = check_details(
        actor, errors, category=category, title=title, document_date=document_date
    )
    errors.raise_if_any()
    assert kind is not None
    with transaction.atomic():
        document = store(
            actor,
            patient=patient,
            data=data,
            content_type=kind,
            filename=filename,
            category=category,
            title=title,
            document_date=document_date,
            note=note,
        )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            patient_id=patient.pk,
            resource_type="Document",
            resource_id=document.pk,
            detail={
                "category": category,
                "content_type": kind,
                "bytes": len(data),
                "sha256": document.sha256,
            },
        )
    return document


def void_document(*, actor: Actor, document: Document, reason: str) -> Document:
    """A document filed in error (wrong chart, wrong file): kept, with who, when and why, and
    left out of the chart."""
    actor.check_owns(document, "document")
    errors = FieldErrors()
    reason = " ".join(reason.split())
    if not reason:
        errors.add("reason", "is required: say why this document is voided")
    if document.voided_at is not None:
        errors.add("__all__", "this document is already voided")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        if not Document.objects.filter(pk=document.pk, voided_at__isnull=True).update(
            voided_at=now, voided_by=actor.user, void_reason=reason, updated_at=now
        ):
            errors.add("__all__", "this document is already voided")
            errors.raise_if_any()
        audit.record_for_actor(
            actor,
            action=Action.VOID,
            patient_id=document.patient_id,
            resource_type="Document",
            resource_id=document.pk,
            detail={"reason": reason},
        )
    document.voided_at, document.voided_by, document.void_reason = now, actor.user, reason
    return document
