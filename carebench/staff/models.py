"""The workforce: credential types (data per organization), each worker's credentials with their
proof, continuing-education hours, the expiry notices sent, and the scope-of-practice rules that
say who may document which task where."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from carebench.core.models import Facility, OrganizationScoped, Voidable


class Task(models.TextChoices):
    VENIPUNCTURE = "venipuncture", "Venipuncture"
    EKG = "ekg", "EKG"
    INJECTION = "injection", "Injection"
    IMMUNIZATION = "immunization", "Immunization"
    POC_TEST = "poc_test", "Point-of-care test"
    MED_PASS = "med_pass", "Med pass"
    VITALS = "vitals", "Vital signs"
    SPECIMEN_PROCESSING = "specimen_processing", "Specimen processing"
    ASSIGNMENT = "assignment", "Working at this kind of facility"


class CredentialType(OrganizationScoped):
    """A certification or licence the clinic tracks (CMA, RMA, CCMA, the state certificate ...)."""

    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    issuer = models.CharField(max_length=200)
    renewal_months = models.PositiveSmallIntegerField(help_text="renewal period in months")
    ce_hours = models.DecimalField("CE hours per period", max_digits=5, decimal_places=1, default=0)
    is_state_certificate = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="staff_credentialtype_unique_code"
            ),
            models.CheckConstraint(
                condition=models.Q(renewal_months__gte=1) & models.Q(renewal_months__lte=120),
                name="staff_credentialtype_renewal_range",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Credential(Voidable):
    """One worker's credential: number, dates, proof (a PDF or image kept in the database),
    verified by a manager. Never deleted: voided with a reason."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credentials"
    )
    credential_type = models.ForeignKey(
        CredentialType, on_delete=models.PROTECT, related_name="credentials"
    )
    number = models.CharField(max_length=60)
    issued_on = models.DateField()
    expires_on = models.DateField()
    proof = models.BinaryField(null=True, blank=True, editable=False)
    proof_type = models.CharField(max_length=30, blank=True)
    proof_name = models.CharField(max_length=200, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["expires_on", "pk"]
        permissions = [
            ("verify_credential", "Can verify a worker's credential"),
            ("void_credential", "Can void a worker's credential"),
        ]
        indexes = [models.Index(fields=["organization", "expires_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gte=models.F("issued_on")),
                name="staff_credential_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credential_type_id} {self.number}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class CeEntry(Voidable):
    """Continuing-education hours a worker completed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ce_entries"
    )
    taken_on = models.DateField()
    hours = models.DecimalField(max_digits=5, decimal_places=2)
    title = models.CharField(max_length=200)
    provider = models.CharField("CE provider", max_length=200, blank=True)
    credential_type = models.ForeignKey(
        CredentialType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-taken_on", "-pk"]
        verbose_name = "CE entry"
        verbose_name_plural = "CE entries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gt=0), name="staff_ceentry_hours_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.hours} h)"


class CredentialNotice(OrganizationScoped):
    """A warning sent (or superseded by a nearer one) before a credential expires: one per
    credential and threshold, never twice."""

    credential = models.ForeignKey(Credential, on_delete=models.PROTECT, related_name="notices")
    threshold_days = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    recipients = models.TextField(blank=True)
    superseded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "threshold_days"], name="staff_notice_once_per_threshold"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credential_id} @ {self.threshold_days} days"


class ScopeRule(OrganizationScoped):
    """Who may document a task, by state and kind of facility (blank = any).

    When active rules of the organization match a task at a facility, the worker must satisfy
    at least one: hold one of its roles and, when it lists credential types, a current, verified
    credential of one of them. When none match, the task is allowed."""

    state = models.CharField("state (USPS code; blank = any)", max_length=2, blank=True)
    facility_kind = models.CharField(
        "facility kind (blank = any)", max_length=30, choices=Facility.Kind.choices, blank=True
    )
    task = models.CharField(max_length=30, choices=Task.choices)
    roles = models.JSONField(default=list)
    credential_types = models.ManyToManyField(CredentialType, blank=True, related_name="+")
    requires_cosign = models.BooleanField("a provider must co-sign", default=False)
    is_example = models.BooleanField(default=False)
    note = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["task", "state", "facility_kind", "pk"]
        indexes = [models.Index(fields=["organization", "task", "active"])]

    def __str__(self) -> str:
        return (
            f"{self.get_task_display()} {self.state or 'any state'} {self.facility_kind or 'any'}"
        )


class CosignRequest(OrganizationScoped):
    """A task a scope rule lets the worker do only with a provider's co-signature: written when
    the task is documented, closed when a provider co-signs it."""

    task = models.CharField(max_length=30, choices=Task.choices)
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    patient_id = models.BigIntegerField(null=True, blank=True)
    rule_note = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField()
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cosigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        permissions = [("cosign_cosignrequest", "Can co-sign a task done under a provider")]
        indexes = [models.Index(fields=["organization", "cosigned_at"], name="cosign_open")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cosigned_at__isnull=True, cosigned_by__isnull=True)
                | models.Q(cosigned_at__isnull=False, cosigned_by__isnull=False),
                name="cosign_who_and_when",
            ),
        ]
