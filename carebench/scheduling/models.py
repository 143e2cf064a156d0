"""Providers, resources (rooms, machines), availability rules, appointment types, appointments.

Availability is kept as iCalendar recurrence rules (RFC 5545 RRULE, expanded with dateutil):
`available` rules open time, `blocked` rules (holidays, leave) close it. Appointments keep every
flow step they pass through (`AppointmentStep`), so the board shows when each step began.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models

from carebench.core.models import Facility, OrganizationScoped, TimeStamped
from carebench.patients.models import Patient


class Provider(OrganizationScoped):
    """A clinician who sees patients (physician, NP, PA), with their NPI."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="provider",
    )
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100)
    credentials = models.CharField(max_length=30, blank=True, help_text="MD, DO, NP, PA-C")
    npi = models.CharField("NPI", max_length=10)
    specialty = models.CharField(max_length=100, blank=True)
    facilities = models.ManyToManyField(Facility, related_name="providers")
    color = models.CharField(max_length=7, default="#2f6f8f")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "npi"], name="provider_npi_unique"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_of(self.given_name, self.family_name, self.credentials)

    @staticmethod
    def name_of(given_name: str, family_name: str, credentials: str) -> str:
        """How a provider is shown: 'Ana Lopez, MD' (for rows read as values)."""
        suffix = f", {credentials}" if credentials else ""
        return f"{given_name} {family_name}{suffix}"


class RoomType(models.TextChoices):
    EXAM = "exam", "Exam room"
    PROCEDURE = "procedure", "Procedure room"
    LAB = "lab", "Lab / draw chair"
    EKG = "ekg", "EKG"
    ANY = "", "Any room"


class Resource(OrganizationScoped):
    """A room or a machine that can be booked or occupied."""

    class Kind(models.TextChoices):
        ROOM = "room", "Room"
        EQUIPMENT = "equipment", "Equipment"

    class RoomStatus(models.TextChoices):
        READY = "ready", "Ready"
        OCCUPIED = "occupied", "Occupied"
        NEEDS_TURNOVER = "needs_turnover", "Needs turnover"
        CLEAN = "clean", "Clean"
        OUT_OF_SERVICE = "out_of_service", "Out of service"

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="resources")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ROOM)
    room_type = models.CharField(max_length=10, choices=RoomType.choices, blank=True)
    status = models.CharField(max_length=15, choices=RoomStatus.choices, default=RoomStatus.READY)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["facility", "sort_order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "name"], name="resource_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class AppointmentType(OrganizationScoped):
    name = models.CharField(max_length=100)
    duration_minutes = models.PositiveSmallIntegerField()
    color = models.CharField(max_length=7, default="#4a7fb0")
    room_type = models.CharField(max_length=10, choices=RoomType.choices, blank=True)
    allow_overbook = models.BooleanField(default=False, help_text="may overlap other appointments")
    procedure_codes = models.CharField(
        max_length=100,
        blank=True,
        help_text="CPT/HCPCS codes the visit usually bills, space-separated (prior-auth check)",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="appttype_unique_name"),
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=5) & models.Q(duration_minutes__lte=480),
                name="appttype_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min)"


class AvailabilityRule(OrganizationScoped):
    """When a provider works at a facility (available), or does not (blocked: holiday, leave).

    `rrule` is an RFC 5545 recurrence rule such as FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR, applied from
    `starts_on` to `ends_on`, each occurrence from `start_time` to `end_time` in the facility's
    time zone.
    """

    class Kind(models.TextChoices):
        AVAILABLE = "available", "Available"
        BLOCKED = "blocked", "Blocked (holiday, leave)"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="rules")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.AVAILABLE)
    rrule = models.CharField(max_length=300)
    start_time = models.TimeField()
    end_time = models.TimeField()
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["provider", "kind", "starts_on"]
        indexes = [models.Index(fields=["provider", "kind"], name="rule_provider_kind")]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.rrule} {self.start_time}-{self.end_time}"


class AppointmentSeries(OrganizationScoped):
    """A recurring set of appointments booked together (e.g. weekly allergy shots)."""

    rrule = models.CharField(max_length=300)
    note = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.rrule


class Status(models.TextChoices):
    BOOKED = "booked", "Scheduled"
    ARRIVED = "arrived", "Arrived"
    ROOMED = "roomed", "Roomed"
    READY = "ready", "Ready for provider"
    WITH_PROVIDER = "with_provider", "With provider"
    CHECKOUT = "checkout", "Checkout"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


ACTIVE_STATUSES = [s for s in Status.values if s not in (Status.CANCELLED, Status.NO_SHOW)]
FLOW_ORDER = [
    Status.BOOKED,
    Status.ARRIVED,
    Status.ROOMED,
    Status.READY,
    Status.WITH_PROVIDER,
    Status.CHECKOUT,
    Status.DONE,
]


class Appointment(OrganizationScoped):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="appointments")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="+"
    )
    room = models.ForeignKey(
        Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    series = models.ForeignKey(
        AppointmentSeries,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appointments",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.BOOKED)
    status_changed_at = models.DateTimeField()
    reason = models.CharField("reason for visit", max_length=200, blank=True)
    note = models.CharField(max_length=300, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    copay_amount = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    copay_collected = models.BooleanField(default=False)
    overbooked = models.BooleanField(default=False)
    rescheduled_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["provider", "start"], name="appt_provider_start"),
            models.Index(fields=["patient", "start"], name="appt_patient_start"),
            models.Index(fields=["organization", "facility", "start"], name="appt_facility_start"),
            # the room board: who is in each room now
            models.Index(fields=["room", "status"], name="appt_room_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="appt_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} {self.patient_id} with {self.provider_id}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class AppointmentStep(TimeStamped):
    """One step of an appointment's flow (arrived, roomed ...), with who moved it and when."""

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.PROTECT, related_name="+"
    )
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="steps")
    status = models.CharField(max_length=15, choices=Status.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    room = models.ForeignKey(
        Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["appointment", "at"]

    def __str__(self) -> str:
        return f"{self.appointment_id} {self.status} at {self.at:%H:%M}"


class Reminder(OrganizationScoped):
    """A reminder sent (or tried) for an appointment through one channel."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (opted out or no contact)"

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="reminders")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    lead_hours = models.PositiveIntegerField()
    sent_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    destination = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "channel", "lead_hours"], name="reminder_once_per_lead"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.lead_hours}h {self.outcome}"


# The longest visit a type may last (its check constraint); overlap searches use it as a lower
# bound on `start`, so an index range scan replaces a scan of the whole history.
LONGEST_VISIT = timedelta(minutes=480)


def overlap_filter(start: datetime, end: datetime) -> models.Q:
    """Appointments that overlap [start, end)."""
    return models.Q(start__lt=end, start__gt=start - LONGEST_VISIT, end__gt=start)
