"""Documents in the patient's chart: scanned or uploaded PDFs and images.

The bytes live in their own table (`DocumentContent`), so listing a chart's documents never
loads them; they are served only through the download view, which checks the permission and the
organization. A document is voided with a reason, never deleted.
"""

from __future__ import annotations

from django.db import models

from carebench.core.models import OrganizationScoped, Voidable

from .models import Patient


class DocumentCategory(models.TextChoices):
    CONSULT_NOTE = "consult_note", "Consult note"
    IMAGING_REPORT = "imaging_report", "Imaging report"
    OUTSIDE_RECORDS = "outside_records", "Outside records"
    CONSENT = "consent", "Consent"
    INSURANCE_CARD = "insurance_card", "Insurance card"
    ID = "id", "Photo ID"
    OTHER = "other", "Other"


class Document(Voidable):
    """One uploaded file: what it is (checked by its content), its category and title, the date
    written on it, and who uploaded it when (`created_by`, `created_at`)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="documents")
    category = models.CharField(max_length=20, choices=DocumentCategory.choices)
    title = models.CharField(max_length=200)
    document_date = models.DateField("date of the document", null=True, blank=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField("size in bytes")
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField("file name as uploaded", max_length=255, blank=True)
    note = models.TextField(blank=True)
    # The imaging or referral order this document answers (its result or consult note).
    order = models.ForeignKey(
        "patients.OutsideOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("void_document", "Can void a document filed in error")]
        indexes = [models.Index(fields=["patient", "voided_at"], name="document_patient")]
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gt=0), name="document_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title


class DocumentContent(OrganizationScoped):
    """The bytes of one document (loaded only to serve them)."""

    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="content")
    data = models.BinaryField(editable=False)
