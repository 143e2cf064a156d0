"""The visit: the encounter, its rooming checklist, vital-sign sets and their observations,
and alerts for the provider.

Each vital is one `Observation` row with its LOINC code and UCUM unit (blood pressure is one row,
the 85354-9 panel, holding systolic in `value` and diastolic in `value2`), so trends and the FHIR
API read one table.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from carebench.core.models import Facility, OrganizationScoped, Voidable
from carebench.patients.models import Patient


class Encounter(OrganizationScoped):
    class Status(models.TextChoices):
        IN_PROGRESS = "in-progress", "In progress"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    appointment = models.OneToOneField(
        "scheduling.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="encounter",
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(
        "scheduling.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="encounters",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    chief_complaint = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["patient", "started_at"], name="enc_patient_start"),
            models.Index(fields=["organization", "started_at"], name="enc_org_start"),
        ]

    def __str__(self) -> str:
        return f"Encounter {self.pk} ({self.patient_id})"


class RoomingItem(OrganizationScoped):
    """One rooming checklist item done: who did it, when, and its result."""

    class Item(models.TextChoices):
        VITALS = "vitals", "Vital signs taken"
        ALLERGIES = "allergies", "Allergies reviewed"
        MEDICATIONS = "medications", "Medication list reconciled"
        HISTORY = "history", "History updated"
        PHQ2 = "phq2", "Depression screen (PHQ-2)"
        FALL_RISK = "fall_risk", "Fall-risk screen"

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="rooming")
    item = models.CharField(max_length=12, choices=Item.choices)
    done_at = models.DateTimeField()
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    score = models.SmallIntegerField(null=True, blank=True)
    result = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["encounter", "done_at"]

    def __str__(self) -> str:
        return f"{self.item} at {self.done_at:%H:%M}"


class VitalSigns(Voidable):
    """One set of vital signs as taken, with how it was taken (position, cuff, route)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="vital_signs")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="vital_signs"
    )
    taken_at = models.DateTimeField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    bp_position = models.CharField(max_length=10, blank=True)
    bp_arm = models.CharField(max_length=10, blank=True)
    bp_cuff_size = models.CharField(max_length=15, blank=True)
    temperature_route = models.CharField(max_length=10, blank=True)
    units = models.JSONField(default=dict, help_text="the units the values were entered in")
    bp_category = models.CharField(max_length=10, blank=True)
    bmi_category = models.CharField(max_length=12, blank=True)
    critical = models.BooleanField(default=False)
    recheck_due_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-taken_at"]
        verbose_name_plural = "vital signs"
        permissions = [("void_vitalsigns", "Can void vital signs entered in error")]
        indexes = [
            models.Index(fields=["patient", "taken_at"], name="vitals_patient_taken"),
            # the visit page's prefetch; most sets belong to a visit, but those that do not
            # (history, walk-in vitals) share one NULL, which can make a planner skip the FK index
            models.Index(fields=["encounter", "taken_at"], name="vitals_encounter_taken"),
        ]

    def __str__(self) -> str:
        return f"Vitals {self.pk} at {self.taken_at:%Y-%m-%d %H:%M}"


class Observation(Voidable):
    """One measured vital sign, coded in LOINC, in its canonical UCUM unit."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="observations")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="observations"
    )
    vital_signs = models.ForeignKey(
        VitalSigns, on_delete=models.PROTECT, null=True, blank=True, related_name="observations"
    )
    category = models.CharField(max_length=20, default="vital-signs")
    code = models.CharField("LOINC code", max_length=10)
    name = models.CharField(max_length=40, help_text="our short name, e.g. heart_rate")
    value = models.DecimalField(max_digits=10, decimal_places=3)
    value2 = models.DecimalField(
        max_digits=10,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="the diastolic pressure of a blood-pressure panel",
    )
    unit = models.CharField(max_length=12)
    flag = models.CharField(max_length=14, default="normal")
    flag2 = models.CharField(max_length=14, blank=True)
    note = models.CharField(max_length=200, blank=True)
    effective_at = models.DateTimeField()

    class Meta:
        ordering = ["-effective_at"]
        permissions = [("void_observation", "Can void an observation entered in error")]
        indexes = [
            models.Index(fields=["patient", "code", "effective_at"], name="obs_patient_code_time"),
            models.Index(fields=["organization", "effective_at"], name="obs_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.value} {self.unit}"


class Alert(OrganizationScoped):
    """Something the provider must see now (a critical vital), until acknowledged."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="alerts")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alerts",
    )
    message = models.CharField(max_length=300)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at"]
        indexes = [
            models.Index(fields=["organization", "acknowledged_at", "raised_at"], name="alert_open")
        ]

    def __str__(self) -> str:
        return self.message


from .procedure_models import (  # noqa: E402,F401  (procedures and wound care: see that module)
    Procedure,
    ProcedureConsent,
    ProcedureSpecimen,
    ProcedureSupply,
    ProcedureTemplate,
    Wound,
    WoundAssessment,
)
