"""The procedure room: the clinic's procedure templates, a procedure documented for a visit
(set-up and tray, consent, time-out, anaesthetic, supplies, specimens, vitals, completion),
and wound care (wounds per patient and their assessments over time, with photographs).

Imported at the bottom of `encounters/models.py`, so Django sees these models in the
encounters app.

The tray opened for a procedure is an `compliance.InstrumentSetUse` (it ties the patient to the
sterilizer load, so a recall finds them); it is kept here by its id (`tray_use_id`), with the set
and load written beside it for reading, so this app's migrations do not depend on compliance's.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from carebench.core.models import OrganizationScoped, Voidable
from carebench.patients.models import Patient

from .models import Encounter, VitalSigns


class ProcedureTemplate(OrganizationScoped):
    """What the clinic sets up for one kind of procedure; each clinic edits its own copy."""

    key = models.SlugField(max_length=40, help_text="stable name, e.g. laceration-repair")
    name = models.CharField(max_length=100)
    tray = models.CharField(
        max_length=100, blank=True, help_text="the instrument set to open, e.g. Laceration tray"
    )
    sterile_tray = models.BooleanField(
        default=True, help_text="a sterilized instrument set must be scanned at set-up"
    )
    supplies = models.JSONField(default=list, help_text="supplies to set out, one per item")
    consent_text = models.TextField(blank=True)
    timeout_items = models.JSONField(default=list, help_text="extra time-out checks")
    codes = models.JSONField(
        default=list, help_text='usual billing codes: [{"code": "12001", "label": "..."}]'
    )
    vitals_before_after = models.BooleanField(default=False)
    specimen_usual = models.BooleanField(default=False)
    aftercare_en = models.TextField("aftercare (English)", blank=True)
    aftercare_es = models.TextField("aftercare (Spanish)", blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="proctemplate_key"),
        ]

    def __str__(self) -> str:
        return self.name


class Procedure(Voidable):
    """One procedure done (or planned) in a visit, walked through its steps."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        PREPARED = "prepared", "Room and tray set up"
        TIMED_OUT = "timed_out", "Time-out done"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        ABANDONED = "abandoned", "Abandoned"

    class Side(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"
        BILATERAL = "bilateral", "Both sides"
        MIDLINE = "midline", "Midline"
        NOT_APPLICABLE = "na", "Not applicable"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="procedures")
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="procedures")
    template = models.ForeignKey(
        ProcedureTemplate, on_delete=models.PROTECT, related_name="procedures"
    )
    name = models.CharField(max_length=100)
    site = models.CharField(max_length=100, help_text="body site, e.g. left forearm, volar")
    side = models.CharField(max_length=10, choices=Side.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    # set-up
    room = models.ForeignKey(
        "scheduling.Resource", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tray_use_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="the compliance.InstrumentSetUse opened for this"
    )
    tray_label = models.CharField(max_length=160, blank=True)
    tray_load = models.CharField(max_length=160, blank=True, help_text="autoclave and cycle")
    prepared_at = models.DateTimeField(null=True, blank=True)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    performed_by = models.ForeignKey(
        "scheduling.Provider", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assistants = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # time-out
    timeout_at = models.DateTimeField(null=True, blank=True)
    timeout_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    timeout_checks = models.JSONField(default=list, help_text="the checks confirmed")
    # anaesthetic
    anaesthetic_name = models.CharField(max_length=100, blank=True)
    anaesthetic_lot = models.CharField(max_length=40, blank=True)
    anaesthetic_expires_on = models.DateField(null=True, blank=True)
    anaesthetic_amount = models.CharField(max_length=40, blank=True, help_text="e.g. 3 mL")
    # doing it
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    vitals_before = models.ForeignKey(
        VitalSigns, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    vitals_after = models.ForeignKey(
        VitalSigns, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    complications = models.CharField(max_length=500, blank=True, help_text="'none' or what")
    note = models.TextField(blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)
    abandon_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["encounter", "created_at"], name="proc_encounter"),
            models.Index(fields=["patient", "created_at"], name="proc_patient"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="completed") | models.Q(completed_at__isnull=False),
                name="proc_completed_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(started_at__isnull=True) | models.Q(timeout_at__isnull=False),
                name="proc_started_after_timeout",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.COMPLETED, self.Status.ABANDONED)


class ProcedureConsent(OrganizationScoped):
    """The signed consent: drawn on screen (a PNG) or signed on paper and scanned."""

    class Method(models.TextChoices):
        DRAWN = "drawn", "Signed on screen"
        PAPER = "paper", "Signed on paper, scanned"

    class Relationship(models.TextChoices):
        SELF = "self", "Patient"
        PARENT = "parent", "Parent"
        GUARDIAN = "guardian", "Legal guardian"
        PROXY = "proxy", "Health-care agent"
        OTHER = "other", "Other legal representative"

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="consents")
    method = models.CharField(max_length=6, choices=Method.choices)
    signer_name = models.CharField(max_length=120)
    relationship = models.CharField(max_length=10, choices=Relationship.choices)
    signed_at = models.DateTimeField()
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    consent_text = models.TextField(help_text="the text signed, as it was")
    image = models.BinaryField(editable=False)
    image_type = models.CharField(max_length=20)

    class Meta:
        ordering = ["-signed_at", "-pk"]

    def __str__(self) -> str:
        return f"Consent by {self.signer_name} at {self.signed_at:%Y-%m-%d %H:%M}"


class ProcedureSupply(OrganizationScoped):
    """A supply used, counted (for billing and stock)."""

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="supplies")
    name = models.CharField(max_length=100)
    quantity = models.PositiveSmallIntegerField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="supply_qty_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class ProcedureSpecimen(OrganizationScoped):
    """Tissue sent to pathology: a lab order and its specimen in the lab's tracking."""

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="specimens")
    description = models.CharField(max_length=200)
    lab_order = models.ForeignKey("labs.LabOrder", on_delete=models.PROTECT, related_name="+")
    specimen = models.ForeignKey("labs.Specimen", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.description


# --- wound care ---------------------------------------------------------------------------------


class Wound(Voidable):
    class Kind(models.TextChoices):
        SURGICAL = "surgical", "Surgical"
        PRESSURE = "pressure", "Pressure injury"
        VENOUS = "venous", "Venous ulcer"
        ARTERIAL = "arterial", "Arterial ulcer"
        DIABETIC = "diabetic", "Diabetic foot ulcer"
        TRAUMATIC = "traumatic", "Traumatic"

    class Stage(models.TextChoices):
        STAGE_1 = "1", "Stage 1"
        STAGE_2 = "2", "Stage 2"
        STAGE_3 = "3", "Stage 3"
        STAGE_4 = "4", "Stage 4"
        UNSTAGEABLE = "unstageable", "Unstageable"
        DTI = "dti", "Deep tissue injury"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        HEALED = "healed", "Healed"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="wounds")
    location = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    onset_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    healed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-created_at"]
        indexes = [models.Index(fields=["patient", "status"], name="wound_patient")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="pressure") | models.Q(stage=""),
                name="wound_stage_pressure_only",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} wound, {self.location}"


class WoundAssessment(Voidable):
    class Exudate(models.TextChoices):
        NONE = "none", "None"
        SCANT = "scant", "Scant"
        SMALL = "small", "Small"
        MODERATE = "moderate", "Moderate"
        LARGE = "large", "Large"

    wound = models.ForeignKey(Wound, on_delete=models.PROTECT, related_name="assessments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assessed_at = models.DateTimeField()
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    length_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    width_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    depth_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    area_cm2 = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    exudate = models.CharField(max_length=10, choices=Exudate.choices, blank=True)
    tissue = models.CharField(max_length=200, blank=True, help_text="e.g. 80% granulation")
    dressing = models.CharField(max_length=200, blank=True, help_text="the dressing applied")
    note = models.CharField(max_length=500, blank=True)
    photo = models.BinaryField(null=True, blank=True, editable=False)
    photo_type = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-assessed_at", "-pk"]
        indexes = [models.Index(fields=["wound", "assessed_at"], name="woundassess_wound")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    (models.Q(length_cm__isnull=True) | models.Q(length_cm__gte=Decimal(0)))
                    & (models.Q(width_cm__isnull=True) | models.Q(width_cm__gte=Decimal(0)))
                    & (models.Q(depth_cm__isnull=True) | models.Q(depth_cm__gte=Decimal(0)))
                ),
                name="woundassess_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Assessment {self.pk} of wound {self.wound_id}"
