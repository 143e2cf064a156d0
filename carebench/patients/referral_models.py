"""Imaging and referral orders: a study or a specialist outside the clinic, tracked until the
result or consult note comes back and a provider has reviewed it.

ordered -> sent -> scheduled -> result received -> reviewed; or cancelled (with a reason) before
the result is in. The result comes back as a `Document` whose `order` is this order.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from carebench.core.models import Voidable

from .models import Patient


class OutsideOrder(Voidable):
    class Kind(models.TextChoices):
        IMAGING = "imaging", "Imaging"
        REFERRAL = "referral", "Referral"

    class Modality(models.TextChoices):
        XRAY = "xray", "X-ray"
        ULTRASOUND = "ultrasound", "Ultrasound"
        CT = "ct", "CT"
        MRI = "mri", "MRI"
        MAMMOGRAM = "mammogram", "Mammogram"
        DEXA = "dexa", "DEXA (bone density)"
        OTHER = "other", "Other imaging"

    class Priority(models.TextChoices):
        ROUTINE = "routine", "Routine"
        URGENT = "urgent", "Urgent"
        STAT = "stat", "STAT"

    class Status(models.TextChoices):
        ORDERED = "ordered", "Ordered"
        SENT = "sent", "Sent"
        SCHEDULED = "scheduled", "Scheduled"
        RESULT_RECEIVED = "result_received", "Result received"
        REVIEWED = "reviewed", "Reviewed"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="outside_orders")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    modality = models.CharField(max_length=12, choices=Modality.choices, blank=True)
    specialty = models.CharField(max_length=100, blank=True)
    requested = models.CharField("study or specialist asked for", max_length=300)
    cpt_code = models.CharField("CPT code", max_length=5, blank=True)
    diagnosis_codes = models.JSONField("reason (ICD-10-CM)", default=list)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    destination_name = models.CharField("facility or practice", max_length=200, blank=True)
    destination_phone = models.CharField("phone", max_length=20, blank=True)
    destination_fax = models.CharField("fax", max_length=20, blank=True)
    ordering_provider = models.ForeignKey(
        "scheduling.Provider", on_delete=models.PROTECT, related_name="outside_orders"
    )
    patient_instructions = models.TextField("notes for the patient (preparation)", blank=True)
    note = models.TextField("note to the destination", blank=True)
    needs_prior_auth = models.BooleanField(default=False)
    prior_auth_warnings = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ORDERED)
    ordered_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_via = models.CharField(max_length=40, blank=True)
    scheduled_on = models.DateField(null=True, blank=True)
    result_received_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_note = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-ordered_at", "-pk"]
        permissions = [
            ("review_outsideorder", "Can review the result of an imaging or referral order"),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "ordered_at"], name="outside_waiting"),
            models.Index(fields=["patient", "voided_at"], name="outside_patient"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="imaging", specialty="") & ~models.Q(modality="")
                | models.Q(kind="referral", modality="") & ~models.Q(specialty=""),
                name="outside_kind_fields",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="cancelled") | ~models.Q(cancel_reason=""),
                name="outside_cancel_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="scheduled") | models.Q(scheduled_on__isnull=False),
                name="outside_scheduled_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.requested}"

    @property
    def what(self) -> str:
        """'X-ray' or 'Cardiology' (the modality or the specialty)."""
        return self.get_modality_display() if self.kind == self.Kind.IMAGING else self.specialty
