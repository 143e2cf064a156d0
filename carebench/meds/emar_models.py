"""The eMAR's rows: residents' stays in a home, their absences, the home's pass times, the
prescribers' medication orders and refills, each dose documented at a med pass, controlled
substance count sheets and the shift-change counts, and which home a worker is assigned to.

Imported by `meds.models` (Django finds models there); the logic of the pass (times, holds,
PRN rules) is the pure engine `meds.medpass`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from carebench.core.models import Facility, OrganizationScoped, Voidable
from carebench.patients.models import Patient

ORAL_ROUTES = {
    "oral": "By mouth",
    "sublingual": "Under the tongue",
    "buccal": "In the cheek",
    "topical": "On the skin",
    "transdermal": "Patch on the skin",
    "ophthalmic": "In the eye",
    "otic": "In the ear",
    "nasal": "In the nose",
    "inhaled": "Inhaled",
    "rectal": "Rectal",
    "vaginal": "Vaginal",
    "gtube": "By feeding tube",
}
CONTROLLED_SCHEDULES = [
    ("", "Not controlled"),
    ("II", "C-II"),
    ("III", "C-III"),
    ("IV", "C-IV"),
    ("V", "C-V"),
]


class Residency(Voidable):
    """A resident's stay in an assisted-living or group home, and who prescribes and fills."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Living here"
        DISCHARGED = "discharged", "Discharged"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="residencies")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    room = models.CharField(max_length=20)
    admitted_on = models.DateField()
    discharged_on = models.DateField(null=True, blank=True)
    discharge_reason = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    prescriber = models.ForeignKey(
        "scheduling.Provider", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    prescriber_name = models.CharField(
        max_length=200, blank=True, help_text="an outside prescriber"
    )
    pharmacy_name = models.CharField(max_length=200, blank=True)
    pharmacy_phone = models.CharField(max_length=20, blank=True)
    photo = models.BinaryField(null=True, blank=True, editable=False)
    photo_type = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["facility", "room"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(status="active", voided_at__isnull=True),
                name="one_active_residency",
            ),
        ]
        indexes = [models.Index(fields=["facility", "status"], name="residency_home_status")]

    def __str__(self) -> str:
        return f"{self.patient} in {self.room}"

    @property
    def prescriber_display(self) -> str:
        if self.prescriber_id is not None:
            return self.prescriber.display_name  # type: ignore[union-attr]
        return self.prescriber_name


class Absence(OrganizationScoped):
    """Leave of absence or a hospital stay: scheduled doses in it are not due (marked away)."""

    class Kind(models.TextChoices):
        LEAVE = "leave", "Leave of absence"
        HOSPITAL = "hospital", "Hospital stay"

    residency = models.ForeignKey(Residency, on_delete=models.PROTECT, related_name="absences")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="empty while still away")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-starts_at"]


class PassTime(OrganizationScoped):
    """One of a home's standard pass times (AM 08:00, NOON 12:00, ...)."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    slot = models.CharField(max_length=10)
    at = models.TimeField()

    class Meta:
        ordering = ["facility", "at"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "slot"], name="passtime_slot"),
        ]


class ResidentOrder(Voidable):
    """A prescriber's medication order for a resident, with its scheduled times (resolved from
    the frequency and the home's pass times when written), PRN limits and hold parameters."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISCONTINUED = "discontinued", "Discontinued"

    residency = models.ForeignKey(Residency, on_delete=models.PROTECT, related_name="orders")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="resident_orders")
    drug_name = models.CharField(max_length=200)
    ndc = models.CharField("NDC", max_length=13, blank=True, help_text="on the pharmacy's card")
    strength = models.CharField(max_length=60, blank=True)
    form = models.CharField(max_length=40, blank=True, help_text="tablet, capsule, solution ...")
    dose = models.CharField(max_length=60, help_text="e.g. 1 tablet, 5 mL")
    route = models.CharField(max_length=12, choices=list(ORAL_ROUTES.items()))
    frequency = models.CharField(max_length=20, help_text="BID, TID, QHS, PRN ...")
    times = models.JSONField(default=list, help_text="scheduled times, HH:MM")
    weekday = models.PositiveSmallIntegerField(null=True, blank=True, help_text="weekly: 0=Monday")
    prn = models.BooleanField(default=False)
    prn_indication = models.CharField(max_length=200, blank=True)
    prn_min_interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    prn_max_per_day = models.PositiveSmallIntegerField(null=True, blank=True)
    start_date = models.DateField()
    stop_date = models.DateField(null=True, blank=True)
    hold_text = models.CharField(max_length=200, blank=True, help_text="hold if pulse < 60 ...")
    hold_rules = models.JSONField(default=list, blank=True)
    instructions = models.TextField(blank=True)
    prescriber = models.CharField(max_length=200)
    controlled = models.CharField(max_length=3, choices=CONTROLLED_SCHEDULES, blank=True)
    quantity_on_hand = models.IntegerField(default=0, help_text="doses in the home")
    reorder_at = models.PositiveIntegerField(default=7, help_text="warn at this many doses left")
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.ACTIVE)
    discontinued_at = models.DateTimeField(null=True, blank=True)
    discontinued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    discontinue_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["residency", "drug_name"]
        indexes = [models.Index(fields=["residency", "status"], name="resorder_residency")]

    def __str__(self) -> str:
        return f"{self.drug_name} {self.strength} {self.dose} {self.frequency}".strip()

    @property
    def needs_reorder(self) -> bool:
        return self.status == self.Status.ACTIVE and self.quantity_on_hand <= self.reorder_at


class Refill(OrganizationScoped):
    """Doses the pharmacy delivered for an order."""

    order = models.ForeignKey(ResidentOrder, on_delete=models.PROTECT, related_name="refills")
    quantity = models.PositiveIntegerField()
    received_on = models.DateField()
    rx_number = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-received_on"]


class DoseRecord(Voidable):
    """One dose documented at a med pass: given, refused, held (with the reason and the vital
    that triggered the hold), resident away, or not available; a PRN dose with its reason and
    the effectiveness check that follows."""

    class Outcome(models.TextChoices):
        GIVEN = "given", "Given"
        REFUSED = "refused", "Refused"
        HELD = "held", "Held"
        AWAY = "away", "Resident away"
        NOT_AVAILABLE = "not_available", "Not available"

    class Effect(models.TextChoices):
        EFFECTIVE = "effective", "Effective"
        PARTLY = "partly", "Partly effective"
        NOT_EFFECTIVE = "not_effective", "Not effective"

    order = models.ForeignKey(ResidentOrder, on_delete=models.PROTECT, related_name="doses")
    residency = models.ForeignKey(Residency, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    scheduled_at = models.DateTimeField(null=True, blank=True, help_text="empty for a PRN dose")
    recorded_at = models.DateTimeField()
    outcome = models.CharField(max_length=14, choices=Outcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    vital_name = models.CharField(max_length=20, blank=True, help_text="the vital that held it")
    vital_value = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    vitals = models.JSONField(default=dict, blank=True, help_text="vitals taken at the pass")
    late = models.BooleanField(default=False)
    prn_reason = models.CharField(max_length=300, blank=True)
    effectiveness_due_at = models.DateTimeField(null=True, blank=True)
    effectiveness = models.CharField(max_length=14, choices=Effect.choices, blank=True)
    effectiveness_note = models.CharField(max_length=300, blank=True)
    effectiveness_at = models.DateTimeField(null=True, blank=True)
    effectiveness_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at"]
        permissions = [("void_doserecord", "Can void a dose documented in error")]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "scheduled_at"],
                condition=models.Q(scheduled_at__isnull=False, voided_at__isnull=True),
                name="one_record_per_scheduled_dose",
            ),
        ]
        indexes = [
            models.Index(fields=["residency", "recorded_at"], name="dose_residency_time"),
            # the pass: a home's records in a two-hour window
            models.Index(fields=["organization", "scheduled_at"], name="dose_org_scheduled"),
            models.Index(fields=["organization", "effectiveness_due_at"], name="dose_prn_checks"),
        ]


class CountSheet(OrganizationScoped):
    """The count sheet of one card or bottle of a controlled substance."""

    order = models.ForeignKey(ResidentOrder, on_delete=models.PROTECT, related_name="count_sheets")
    label = models.CharField(max_length=60, help_text="card or bottle, e.g. card 2 of 3")
    balance = models.IntegerField()
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["order", "opened_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="count_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.order.drug_name} · {self.label}"


class CountEntry(OrganizationScoped):
    """Every change on a count sheet: received, a dose taken out, wasted, corrected."""

    class Kind(models.TextChoices):
        RECEIVED = "received", "Received"
        DOSE = "dose", "Dose"
        WASTED = "wasted", "Wasted (witnessed)"
        CORRECTION = "correction", "Correction after a count"

    sheet = models.ForeignKey(CountSheet, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    change = models.IntegerField()
    balance = models.IntegerField()
    dose = models.ForeignKey(
        DoseRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["sheet", "created_at", "pk"]


class ShiftCount(OrganizationScoped):
    """The shift-change count of a home's controlled substances, by the outgoing and the
    incoming worker. A discrepancy blocks the hand-off until a supervisor resolves it."""

    class Status(models.TextChoices):
        MATCHED = "matched", "Counts match: handed off"
        DISCREPANCY = "discrepancy", "Discrepancy: hand-off blocked"
        RESOLVED = "resolved", "Discrepancy resolved: handed off"

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    counted_at = models.DateTimeField()
    outgoing = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    incoming = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-counted_at"]


class ShiftCountLine(OrganizationScoped):
    shift_count = models.ForeignKey(ShiftCount, on_delete=models.PROTECT, related_name="lines")
    sheet = models.ForeignKey(CountSheet, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField()
    counted = models.IntegerField()

    class Meta:
        ordering = ["shift_count", "pk"]

    @property
    def matches(self) -> bool:
        return self.expected == self.counted


class Assignment(OrganizationScoped):
    """A worker assigned to a home (or clinic). Scope rules decide who may be assigned where."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["facility", "user"]
