"""Billing records: procedure codes and fee schedules, claims with their lines and trail,
837P batches sent, remittances (835) posted, eligibility checks (270/271) and prior
authorizations.

Nothing here is deleted: a claim that should not go is voided by status, a wrong payment is
reversed by the payer's next 835, and every status change leaves a `ClaimEvent`.
Money is `Decimal` with two places; ICD-10-CM codes are kept as the code table writes them
(with the dot), procedure codes upper case.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from carebench.core.models import Facility, OrganizationScoped, TimeStamped
from carebench.patients.models import Coverage, Patient, Payer

ZERO = Decimal("0.00")


class ProcedureCode(OrganizationScoped):
    """A CPT or HCPCS Level II code the clinic bills, with the clinic's own short label.

    CPT descriptions are licensed by the AMA, so labels are the clinic's (imported from its own
    code file); the demo ships only codes with carebench's short labels.
    """

    class Kind(models.TextChoices):
        CPT = "cpt", "CPT"
        HCPCS = "hcpcs", "HCPCS Level II"

    code = models.CharField(max_length=5)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    label = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    source = models.CharField(max_length=200, blank=True, help_text="the file it came from")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="procedurecode_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class FeeSchedule(OrganizationScoped):
    """The charges for codes: the clinic's standard schedule (no payer) or one payer's."""

    name = models.CharField(max_length=200)
    payer = models.ForeignKey(
        Payer, on_delete=models.PROTECT, null=True, blank=True, related_name="fee_schedules"
    )
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="feeschedule_name"),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True)
                | models.Q(effective_to__gte=models.F("effective_from")),
                name="feeschedule_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Fee(models.Model):
    """One code's charge in a fee schedule (a modifier may price differently, e.g. 26)."""

    schedule = models.ForeignKey(FeeSchedule, on_delete=models.CASCADE, related_name="fees")
    code = models.CharField(max_length=5)
    modifier = models.CharField(max_length=2, blank=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["code", "modifier"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "code", "modifier"], name="fee_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code}{'-' + self.modifier if self.modifier else ''} {self.amount}"


class BillingProfile(OrganizationScoped):
    """Who the organization is on its claims: the submitter, the clearinghouse, the billing
    provider's address (ZIP+4) and taxonomy, and the running control numbers."""

    submitter_name = models.CharField(max_length=60)
    submitter_id = models.CharField("submitter ETIN", max_length=80)
    contact_name = models.CharField(max_length=60)
    contact_phone = models.CharField(max_length=20, blank=True)
    contact_email = models.CharField(max_length=80, blank=True)
    receiver_name = models.CharField("clearinghouse name", max_length=60)
    receiver_id = models.CharField("clearinghouse ID", max_length=80)
    billing_name = models.CharField(max_length=60)
    address_line = models.CharField(max_length=55)
    city = models.CharField(max_length=30)
    state = models.CharField(max_length=2)
    postal_code = models.CharField("ZIP+4", max_length=10)
    phone = models.CharField(max_length=20, blank=True)
    taxonomy = models.CharField(max_length=10, blank=True)
    place_of_service = models.CharField(max_length=2, default="11")
    usage = models.CharField(
        max_length=1, default="T", help_text="ISA15: T test or P production interchanges"
    )
    clearinghouse_outbox = models.CharField(
        max_length=300, blank=True, help_text="folder the 837 and 270 files are dropped in"
    )
    clearinghouse_inbox = models.CharField(
        max_length=300,
        blank=True,
        help_text="folder the 999, 277CA, 271 and 835 files come back to",
    )
    next_claim_number = models.PositiveIntegerField(default=1)
    next_interchange_control = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="billingprofile_one_per_org"),
        ]

    def __str__(self) -> str:
        return self.billing_name


class ClaimBatch(OrganizationScoped):
    """One 837P interchange written: the claims in it, its control numbers and the file."""

    class Status(models.TextChoices):
        WRITTEN = "written", "Written"
        ACCEPTED = "accepted", "Accepted (999)"
        PARTIAL = "partial", "Partly accepted (999)"
        REJECTED = "rejected", "Rejected (999)"

    interchange_control = models.PositiveIntegerField()
    group_control = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    claim_count = models.PositiveIntegerField(default=0)
    total_charge = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WRITTEN)
    content = models.TextField(help_text="the 837P as written")
    file_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "interchange_control"], name="claimbatch_isa13_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"837P {self.interchange_control:09d}"


class Claim(OrganizationScoped):
    """One professional claim: a visit billed to one coverage."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        READY = "ready", "Ready to send"
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted by the payer"
        REJECTED = "rejected", "Rejected"
        PAID = "paid", "Paid"
        DENIED = "denied", "Denied"
        APPEALED = "appealed", "Appealed"
        VOID = "void", "Voided"

    number = models.CharField(max_length=20, help_text="CLM01, e.g. CB000042")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="claims")
    encounter = models.ForeignKey(
        "encounters.Encounter",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims",
    )
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="claims")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="claims")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    rendering_provider = models.ForeignKey(
        "scheduling.Provider", on_delete=models.PROTECT, related_name="claims"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    service_date = models.DateField()
    place_of_service = models.CharField(max_length=2, default="11")
    diagnosis_codes = models.JSONField(
        default=list,
        help_text="ICD-10-CM as in the code table (E11.9), principal first, at most 12",
    )
    total_charge = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    patient_paid = models.DecimalField(
        "copay collected", max_digits=10, decimal_places=2, default=ZERO
    )
    prior_auth_number = models.CharField(max_length=50, blank=True)
    frequency = models.CharField(
        max_length=1, default="1", help_text="1 original, 7 replacement, 8 void"
    )
    payer_claim_number = models.CharField(max_length=50, blank=True)
    batch = models.ForeignKey(
        ClaimBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="claims"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    paid_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    adjustment_amount = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    patient_responsibility = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    problems = models.JSONField(
        default=list, help_text="the last check's failures: [{field, message, fix}]"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-service_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="claim_number_unique"),
            models.CheckConstraint(
                condition=models.Q(total_charge__gte=0), name="claim_total_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="claim_org_status"),
            models.Index(fields=["patient", "service_date"], name="claim_patient_date"),
        ]
        permissions = [
            ("submit_claim", "Can write 837P batches and send claims"),
            ("post_remittance", "Can import 835 remittances and acknowledgments"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def balance(self) -> Decimal:
        return (
            self.total_charge
            - self.paid_amount
            - self.adjustment_amount
            - self.patient_responsibility
        )


class ClaimLine(OrganizationScoped):
    """One service line (SV1): the code, modifiers, units, charge and diagnosis pointers, and
    what documented it (`source`, e.g. "specimen:12", "ekg:3", "administration:5")."""

    class Status(models.TextChoices):
        OPEN = "open", "Not yet adjudicated"
        PAID = "paid", "Paid"
        DENIED = "denied", "Denied"

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="lines")
    number = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=5)
    modifiers = models.JSONField(default=list, help_text="up to four two-character modifiers")
    units = models.DecimalField(max_digits=8, decimal_places=3, default=Decimal(1))
    charge = models.DecimalField(max_digits=10, decimal_places=2, help_text="the line's total")
    pointers = models.JSONField(default=list, help_text="1-4 positions in the claim's diagnoses")
    service_date = models.DateField()
    description = models.CharField(max_length=200, blank=True)
    ndc = models.CharField("NDC", max_length=13, blank=True)
    ndc_quantity = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    ndc_unit = models.CharField(max_length=2, blank=True, default="UN")
    source = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    paid_amount = models.DecimalField(max_digits=10, decimal_places=2, default=ZERO)
    allowed_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    adjustment_amount = models.DecimalField(max_digits=10, decimal_places=2, default=ZERO)
    patient_responsibility = models.DecimalField(max_digits=10, decimal_places=2, default=ZERO)

    class Meta:
        ordering = ["claim", "number"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "number"], name="claimline_number_unique"),
            models.CheckConstraint(condition=models.Q(charge__gte=0), name="claimline_charge"),
            models.CheckConstraint(condition=models.Q(units__gt=0), name="claimline_units"),
        ]

    @property
    def control_number(self) -> str:
        """REF*6R on the 837, echoed on the 835: how a payment finds its line."""
        return f"{self.claim.number}-{self.number}"


class ClaimEvent(TimeStamped):
    """The claim's trail: every status change and note, who made it and from which file."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    note = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=200, blank=True, help_text="file or batch it came from")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["claim", "at"], name="claimevent_claim_at")]


class Remittance(OrganizationScoped):
    """One 835 payment (a check or EFT) posted: the payer, trace number, amount and file."""

    payer = models.ForeignKey(
        Payer, on_delete=models.PROTECT, null=True, blank=True, related_name="remittances"
    )
    payer_name = models.CharField(max_length=200)
    trace_number = models.CharField(max_length=50)
    payment_date = models.DateField(null=True, blank=True)
    payment_method = models.CharField(max_length=3, blank=True)
    total_paid = models.DecimalField(max_digits=14, decimal_places=2)
    provider_adjustments = models.JSONField(
        default=list, help_text="PLB: [{reason, reference, amount}]"
    )
    balance_problems = models.JSONField(default=list)
    file_name = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField()
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    claim_count = models.PositiveIntegerField(default=0)
    unmatched_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-imported_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "payer_name", "trace_number"],
                name="remittance_trace_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payer_name} {self.trace_number}"


class ClaimPayment(OrganizationScoped):
    """One CLP of an 835: the payer's decision on one claim (matched, or held unmatched)."""

    remittance = models.ForeignKey(Remittance, on_delete=models.PROTECT, related_name="payments")
    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    patient_control_number = models.CharField(max_length=38)
    status_code = models.CharField(max_length=2)
    charge = models.DecimalField(max_digits=12, decimal_places=2)
    paid = models.DecimalField(max_digits=12, decimal_places=2)
    patient_responsibility = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    payer_claim_number = models.CharField(max_length=50, blank=True)
    adjustments = models.JSONField(default=list, help_text="[{group, reason, amount}]")
    remark_codes = models.JSONField(default=list)

    class Meta:
        ordering = ["remittance", "id"]
        indexes = [models.Index(fields=["claim"], name="claimpayment_claim")]


class LinePayment(OrganizationScoped):
    """One SVC of an 835: what was paid and adjusted on one service line."""

    payment = models.ForeignKey(ClaimPayment, on_delete=models.PROTECT, related_name="lines")
    line = models.ForeignKey(
        ClaimLine, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    code = models.CharField(max_length=5)
    modifiers = models.JSONField(default=list)
    charge = models.DecimalField(max_digits=10, decimal_places=2)
    paid = models.DecimalField(max_digits=10, decimal_places=2)
    allowed = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    units = models.DecimalField(max_digits=8, decimal_places=3, default=Decimal(1))
    adjustments = models.JSONField(default=list, help_text="[{group, reason, amount}]")
    remark_codes = models.JSONField(default=list)

    class Meta:
        ordering = ["payment", "id"]


class EligibilityCheck(OrganizationScoped):
    """One 270 sent for a coverage and the 271 read back, in plain words."""

    class Status(models.TextChoices):
        SENT = "sent", "Waiting for the 271"
        ACTIVE = "active", "Coverage active"
        INACTIVE = "inactive", "Coverage not active"
        REJECTED = "rejected", "Rejected (AAA)"
        ERROR = "error", "Could not be read"

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="eligibility_checks"
    )
    coverage = models.ForeignKey(
        Coverage, on_delete=models.PROTECT, related_name="eligibility_checks"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="eligibility_checks",
    )
    service_date = models.DateField()
    trace_number = models.CharField(max_length=50, help_text="TRN02: matches the 271 back")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    request_270 = models.TextField()
    response_271 = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=list, help_text="the 271 in plain sentences")
    result = models.JSONField(default=dict, help_text="the 271 read, as JSON")

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "trace_number"], name="eligibility_trace_unique"
            ),
        ]
        indexes = [models.Index(fields=["coverage", "requested_at"], name="elig_coverage_time")]


class PriorAuthRule(OrganizationScoped):
    """When a payer needs a prior authorization: a code (or a code range) for a payer, or for
    every payer when `payer` is empty."""

    payer = models.ForeignKey(
        Payer, on_delete=models.PROTECT, null=True, blank=True, related_name="prior_auth_rules"
    )
    code_from = models.CharField(max_length=5)
    code_to = models.CharField(max_length=5, blank=True, help_text="empty: just code_from")
    note = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code_from"]

    def __str__(self) -> str:
        codes = f"{self.code_from}-{self.code_to}" if self.code_to else self.code_from
        return f"{codes} ({self.payer or 'every payer'})"


class PriorAuth(OrganizationScoped):
    """A prior authorization request and the payer's answer: number, units, dates."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        PENDING = "pending", "Pending with the payer"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        APPEALED = "appealed", "Appealed"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prior_auths")
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="prior_auths")
    codes = models.JSONField(default=list, help_text="the CPT/HCPCS codes it covers")
    diagnosis_codes = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    number = models.CharField("authorization number", max_length=50, blank=True)
    units_approved = models.PositiveIntegerField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    submitted_at = models.DateTimeField()
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(
        max_length=100, blank=True, help_text="the payer's case or call reference"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="approved")
                | (models.Q(start_date__isnull=False) & ~models.Q(number="")),
                name="priorauth_approved_has_number_and_start",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(start_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="priorauth_dates_ordered",
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"], name="priorauth_patient_status")]
