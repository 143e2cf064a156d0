"""EKG recordings: the original file, what the computer measured, and the provider's reading.

The original bytes are kept in the row (`data`, a BinaryField) rather than on disk: they are
patient data, so they travel with the database (backups, PostgreSQL) and leave only through
permission-checked, audited views. A recording is "awaiting review" until a provider confirms or
corrects the measurements, writes the interpretation and signs; the computer's numbers stay as
they were (`measurements`), the provider's are `confirmed_measurements`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from carebench.core.models import Voidable
from carebench.encounters.models import Encounter
from carebench.patients.models import Patient

# The numbers a provider may confirm or correct, with their label and unit.
MEASUREMENTS: dict[str, tuple[str, str]] = {
    "heart_rate_bpm": ("Heart rate", "bpm"),
    "pr_ms": ("PR interval", "ms"),
    "qrs_ms": ("QRS duration", "ms"),
    "qt_ms": ("QT interval", "ms"),
    "qtc_bazett_ms": ("QTc (Bazett)", "ms"),
    "qtc_fridericia_ms": ("QTc (Fridericia)", "ms"),
    "axis_deg": ("QRS axis", "°"),
}


class EkgRecording(Voidable):
    class Status(models.TextChoices):
        AWAITING_REVIEW = "awaiting_review", "Awaiting review"
        CONFIRMED = "confirmed", "Confirmed"
        SIGNED = "signed", "Signed"

    class Billing(models.TextChoices):
        GLOBAL = "93000", "93000: 12-lead tracing with interpretation and report"
        SPLIT = "93005+93010", "93005 tracing here + 93010 interpretation billed by the reader"
        RHYTHM = "93040", "93040: rhythm EKG, 1-3 leads, with interpretation and report"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="ekgs")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="ekgs"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acquired_at = models.DateTimeField()
    source_format = models.CharField(max_length=20)
    original_filename = models.CharField(max_length=255)
    sampling_rate_hz = models.FloatField()
    lead_names = models.JSONField(default=list)
    derived_leads = models.JSONField(default=list)
    duration_s = models.FloatField()
    device = models.CharField(max_length=200, blank=True)
    data = models.BinaryField(help_text="the file as received (a .zip for a WFDB record)")
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING_REVIEW)
    measurements = models.JSONField(
        default=dict, help_text="computer-measured (analysis.to_dict() less rr_ms and r_peaks)"
    )
    r_peaks = models.JSONField(default=list, help_text="sample index of every detected beat")
    confirmed_measurements = models.JSONField(default=dict, blank=True)
    interpretation = models.TextField(blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    billing_code = models.CharField(max_length=12, choices=Billing.choices, default=Billing.GLOBAL)

    class Meta:
        ordering = ["-acquired_at"]
        permissions = [
            ("sign_ekgrecording", "Can confirm, correct and sign an EKG"),
            ("void_ekgrecording", "Can void an EKG attached in error"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "sha256"],
                condition=models.Q(voided_at__isnull=True),
                name="ekg_same_file_once_per_patient",
            ),
            models.CheckConstraint(
                condition=models.Q(status="signed", signed_at__isnull=False)
                | ~models.Q(status="signed"),
                name="ekg_signed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "acquired_at"], name="ekg_patient_time"),
            models.Index(fields=["organization", "status", "acquired_at"], name="ekg_org_queue"),
        ]

    def __str__(self) -> str:
        return f"EKG {self.pk} ({self.patient_id})"

    @property
    def is_signed(self) -> bool:
        return self.status == self.Status.SIGNED

    @property
    def shown_measurements(self) -> dict[str, Any]:
        """What to show and print: the provider's numbers once signed, else the computer's."""
        values = dict(self.measurements)
        if self.is_signed:
            values.update(self.confirmed_measurements)
        return values
