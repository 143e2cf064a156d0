"""Injections and immunizations: the products the clinic stocks, stock by lot, orders and
standing-order protocols, each dose given, refused or reported from elsewhere, reactions, and
the registry messages sent for them.

Doses are counted in whole doses: a lot's stock is the number of doses (a 10-dose vial received
is 10 doses), and each administration takes one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models

from carebench.core.models import Facility, OrganizationScoped, Voidable
from carebench.patients.models import Patient

# HL7 table 0162 as the CDC immunization guide uses it (NCI Thesaurus codes).
ROUTES: dict[str, str] = {
    "C28161": "Intramuscular",
    "C38299": "Subcutaneous",
    "C38238": "Intradermal",
    "C38284": "Intranasal",
    "C38288": "Oral",
    "C38276": "Intravenous",
    "C38676": "Percutaneous",
}
ROUTE_SHORT: dict[str, str] = {
    "C28161": "IM",
    "C38299": "SC",
    "C38238": "ID",
    "C38284": "IN",
    "C38288": "PO",
    "C38276": "IV",
    "C38676": "PC",
}
# HL7 table 0163 (administrative site), the sites used for injections.
SITES: dict[str, str] = {
    "LD": "Left deltoid",
    "RD": "Right deltoid",
    "LA": "Left arm",
    "RA": "Right arm",
    "LT": "Left thigh",
    "RT": "Right thigh",
    "LVL": "Left vastus lateralis",
    "RVL": "Right vastus lateralis",
    "LG": "Left gluteus medius",
    "RG": "Right gluteus medius",
    "LLFA": "Left lower forearm",
    "RLFA": "Right lower forearm",
}
# Routes that have no injection site.
SITELESS_ROUTES = {"C38284", "C38288"}
# HL7 table 0064 as CDC uses it: the patient's eligibility for publicly funded vaccine.
ELIGIBILITY: dict[str, str] = {
    "V01": "Not VFC eligible",
    "V02": "VFC eligible: Medicaid or Medicaid managed care",
    "V03": "VFC eligible: uninsured",
    "V04": "VFC eligible: American Indian or Alaska Native",
    "V05": "VFC eligible: underinsured (at an FQHC or RHC)",
}
# CDC's NIP001 table: where a dose's record came from (RXA-9).
SOURCES: dict[str, str] = {
    "00": "New immunization record (given here)",
    "01": "Historical: source unspecified",
    "02": "Historical: from another provider",
    "03": "Historical: from a parent's written record",
    "04": "Historical: from a parent's recall",
    "05": "Historical: from another registry",
    "06": "Historical: from a birth certificate",
    "07": "Historical: from a school record",
    "08": "Historical: from a public agency",
}
# CDC's refusal reasons (RXA-18, CDCPHINVS).
REFUSAL_REASONS: dict[str, str] = {
    "00": "Parental decision",
    "01": "Religious exemption",
    "02": "Other",
    "03": "Patient decision",
}


class Product(OrganizationScoped):
    """A vaccine or an injectable medication the clinic stocks, with its usual dose and route."""

    class Kind(models.TextChoices):
        VACCINE = "vaccine", "Vaccine"
        INJECTABLE = "injectable", "Injectable medication"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=200, help_text="as on the label, e.g. Fluarix 2026-2027")
    vaccine_code = models.ForeignKey(
        "terminology.VaccineCode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="CVX (vaccines)",
    )
    manufacturer = models.ForeignKey(
        "terminology.Manufacturer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="MVX (vaccines)",
    )
    ndc = models.CharField("NDC", max_length=13, help_text="the unit-of-use NDC, 5-4-2 with dashes")
    strength = models.CharField(max_length=60, blank=True, help_text="e.g. 40 mg/mL")
    dose_amount = models.DecimalField(max_digits=7, decimal_places=3)
    dose_unit = models.CharField(max_length=10, default="mL")
    route = models.CharField(max_length=8, choices=list(ROUTES.items()))
    billing_code = models.CharField(
        max_length=5, blank=True, help_text="CPT product code (90686) or HCPCS (J1030)"
    )
    billing_units = models.DecimalField(
        "HCPCS units per dose",
        max_digits=8,
        decimal_places=3,
        default=Decimal(1),
        help_text="units billed for the standard dose: J1050 is per 1 mg, so 150 for 150 mg; "
        "a different amount given is billed in proportion",
    )
    vis_edition_date = models.DateField(
        "VIS edition date",
        null=True,
        blank=True,
        help_text="the current Vaccine Information Statement",
    )
    allergy_terms = models.CharField(
        max_length=300,
        blank=True,
        help_text="components a patient may be allergic to, comma-separated (egg, latex, gelatin)",
    )
    min_age_months = models.PositiveSmallIntegerField(null=True, blank=True)
    max_age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "ndc"], name="product_ndc"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_vaccine(self) -> bool:
        return self.kind == self.Kind.VACCINE

    @property
    def allergy_list(self) -> list[str]:
        return [t.strip().lower() for t in self.allergy_terms.split(",") if t.strip()]


class StorageUnit(OrganizationScoped):
    """A refrigerator, freezer or cabinet where stock is kept."""

    class Kind(models.TextChoices):
        REFRIGERATOR = "refrigerator", "Refrigerator (2-8 °C)"
        FREEZER = "freezer", "Freezer (-50 to -15 °C)"
        ROOM = "room", "Room temperature"

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["facility", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "facility", "name"], name="storageunit_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StockLot(OrganizationScoped):
    """One lot of a product, from one funding source, in one storage unit. Publicly funded
    stock (VFC, state) and private stock of the same lot are separate rows and never mix."""

    class Funding(models.TextChoices):
        PRIVATE = "private", "Private"
        VFC = "vfc", "Public: VFC"
        STATE = "state", "Public: state or 317"

    class Status(models.TextChoices):
        AVAILABLE = "available", "Available"
        QUARANTINED = "quarantined", "Quarantined"
        RETIRED = "retired", "Retired"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=40)
    expires_on = models.DateField()
    ndc = models.CharField("NDC", max_length=13, help_text="the package NDC scanned at receipt")
    funding = models.CharField(max_length=10, choices=Funding.choices)
    storage_unit = models.ForeignKey(StorageUnit, on_delete=models.PROTECT, related_name="lots")
    doses_received = models.PositiveIntegerField()
    doses_on_hand = models.IntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.AVAILABLE)
    status_reason = models.CharField(max_length=300, blank=True)
    received_on = models.DateField()

    class Meta:
        ordering = ["product", "expires_on", "lot_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "product", "lot_number", "funding", "storage_unit"],
                name="stocklot_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(doses_on_hand__gte=0), name="stock_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} lot {self.lot_number}"

    @property
    def is_public(self) -> bool:
        return self.funding != self.Funding.PRIVATE


class StockMovement(OrganizationScoped):
    """Every change in a lot's doses on hand, with who and why: the lot's ledger."""

    class Kind(models.TextChoices):
        RECEIVED = "received", "Received"
        ADMINISTERED = "administered", "Administered"
        RETURNED = "returned", "Put back (entry voided)"
        WASTED = "wasted", "Wasted"
        ADJUSTED = "adjusted", "Count adjusted"

    lot = models.ForeignKey(StockLot, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    doses = models.IntegerField(help_text="+ in, - out")
    balance = models.IntegerField(help_text="doses on hand after this movement")
    reason = models.CharField(max_length=300, blank=True)
    administration = models.ForeignKey(
        "Administration", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["lot", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.doses:+d} ({self.lot})"


class StandingOrder(OrganizationScoped):
    """A protocol the clinic's medical director signs: a MAT may give this vaccine to patients
    who meet it, and the patient's provider co-signs afterwards."""

    name = models.CharField(max_length=200)
    vaccine_group = models.CharField(
        max_length=20, blank=True, help_text="the vaccine group it covers, e.g. FLU"
    )
    products = models.ManyToManyField(Product, related_name="standing_orders")
    min_age_years = models.PositiveSmallIntegerField(default=0)
    min_age_months = models.PositiveSmallIntegerField(default=0)
    max_age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    valid_from = models.DateField(help_text="e.g. the first day of the flu season")
    valid_until = models.DateField()
    screening_questions = models.JSONField(
        default=list,
        help_text="contraindication questions; any 'yes' sends the patient to the provider",
    )
    instructions = models.TextField(blank=True, help_text="printed on the handout")
    signed_by = models.ForeignKey(
        "scheduling.Provider",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="medical director",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MedicationOrder(Voidable):
    """An order to give one dose of a product: entered by the provider, or by a MAT under a
    standing order (then the provider co-signs)."""

    class Basis(models.TextChoices):
        PROVIDER = "provider", "Provider order"
        STANDING = "standing", "Standing order"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Given"
        REFUSED = "refused", "Refused"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="med_orders")
    encounter = models.ForeignKey(
        "encounters.Encounter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orders")
    dose_amount = models.DecimalField(max_digits=7, decimal_places=3)
    dose_unit = models.CharField(max_length=10)
    route = models.CharField(max_length=8, choices=list(ROUTES.items()))
    basis = models.CharField(max_length=10, choices=Basis.choices)
    standing_order = models.ForeignKey(
        StandingOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    ordering_provider = models.ForeignKey(
        "scheduling.Provider", on_delete=models.PROTECT, related_name="med_orders"
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ordered_at = models.DateTimeField()
    allergy_reviewed = models.BooleanField(
        default=False, help_text="the provider reviewed the patient's allergies and orders anyway"
    )
    instructions = models.TextField(
        blank=True, help_text="for the patient, as the provider directed"
    )
    screening = models.JSONField(
        default=dict, blank=True, help_text="standing order: question → answer"
    )
    cancel_reason = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cosigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-ordered_at"]
        permissions = [("sign_medicationorder", "Can order as the provider and co-sign orders")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cosigned_at__isnull=True, cosigned_by__isnull=True)
                | models.Q(cosigned_at__isnull=False, cosigned_by__isnull=False),
                name="medorder_cosign_who_and_when",
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"], name="medorder_patient_status")]

    def __str__(self) -> str:
        return f"{self.product} for {self.patient}"

    @property
    def needs_cosign(self) -> bool:
        return self.basis == self.Basis.STANDING and self.cosigned_at is None


class Administration(Voidable):
    """A dose: given here, reported from elsewhere (historical), or refused. Vaccines carry
    CVX and MVX; doses given here carry the lot, who gave it and the five-rights checks."""

    class Kind(models.TextChoices):
        GIVEN = "given", "Given here"
        HISTORICAL = "historical", "Reported (given elsewhere)"
        REFUSED = "refused", "Refused"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="administrations")
    encounter = models.ForeignKey(
        "encounters.Encounter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    order = models.ForeignKey(
        MedicationOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="administrations",
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    vaccine_code = models.ForeignKey(
        "terminology.VaccineCode", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    product_name = models.CharField(max_length=200, help_text="as given or reported")
    lot = models.ForeignKey(
        StockLot, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lot_number = models.CharField(max_length=40, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    manufacturer = models.ForeignKey(
        "terminology.Manufacturer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    ndc = models.CharField("NDC", max_length=13, blank=True)
    dose_amount = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    dose_unit = models.CharField(max_length=10, blank=True)
    route = models.CharField(max_length=8, choices=list(ROUTES.items()), blank=True)
    site = models.CharField(max_length=5, choices=list(SITES.items()), blank=True)
    occurred_at = models.DateTimeField(help_text="when given (or refused); historical: the date")
    date_is_estimated = models.BooleanField(default=False)
    source = models.CharField(max_length=2, choices=list(SOURCES.items()), default="00")
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ordering_provider = models.ForeignKey(
        "scheduling.Provider", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    vis_edition_date = models.DateField("VIS edition date", null=True, blank=True)
    vis_given_on = models.DateField("VIS given on", null=True, blank=True)
    eligibility = models.CharField(max_length=3, choices=list(ELIGIBILITY.items()), blank=True)
    funding = models.CharField(max_length=10, choices=StockLot.Funding.choices, blank=True)
    observation_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    patient_check = models.CharField(
        max_length=200, blank=True, help_text="how the patient was identified (scan, name and DOB)"
    )
    screening = models.JSONField(default=dict, blank=True, help_text="question → answer")
    refusal_reason = models.CharField(
        max_length=2, choices=list(REFUSAL_REASONS.items()), blank=True
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        permissions = [("void_administration", "Can void a dose entered in error")]
        indexes = [
            models.Index(fields=["patient", "occurred_at"], name="admin_patient_time"),
            models.Index(fields=["organization", "occurred_at"], name="admin_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.product_name} ({self.get_kind_display()})"

    @property
    def is_vaccine(self) -> bool:
        return self.vaccine_code_id is not None

    @property
    def latest_registry_message(self) -> Any:
        """The last VXU sent for this dose (from the prefetched list when there is one)."""
        entries = list(self.registry_messages.all())
        return entries[-1].message if entries else None


# Reactions the CDC immunization guide names (OBX 31044-1): SNOMED CT or CDCPHINVS codes.
REACTION_CODES: dict[str, tuple[str, str]] = {
    "39579001": ("Anaphylaxis", "SCT"),
    "81308009": ("Encephalopathy (disorder of brain)", "SCT"),
    "VXC9": ("Persistent inconsolable crying over 3 hours, within 48 hours", "CDCPHINVS"),
    "VXC10": ("Collapse or shock-like state within 48 hours", "CDCPHINVS"),
    "VXC11": ("Convulsions (seizure) within 72 hours", "CDCPHINVS"),
    "VXC12": ("Fever of 40.5 °C (105 °F) or higher within 48 hours", "CDCPHINVS"),
    "VXC13": ("Guillain-Barré syndrome within 6 weeks", "CDCPHINVS"),
    "VXC14": ("Rash within 14 days", "CDCPHINVS"),
    "VXC15": ("Intussusception within 30 days", "CDCPHINVS"),
}


class AdverseReaction(OrganizationScoped):
    """A reaction after a dose, as observed or reported, and whether it went to VAERS."""

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe (emergency care)"

    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="reactions"
    )
    onset_at = models.DateTimeField()
    code = models.CharField(
        max_length=10,
        choices=[(code, label) for code, (label, _system) in REACTION_CODES.items()],
        blank=True,
        help_text="the registry's code, where one fits",
    )
    description = models.CharField(max_length=500)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    treatment = models.CharField(max_length=500, blank=True)
    reported_to_vaers = models.BooleanField(default=False)

    class Meta:
        ordering = ["-onset_at"]


class RegistryMessage(OrganizationScoped):
    """Which VXU message reported which dose, and as what: add, update or delete."""

    class Action(models.TextChoices):
        ADD = "A", "Add"
        UPDATE = "U", "Update"
        DELETE = "D", "Delete"

    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="registry_messages"
    )
    message = models.OneToOneField(
        "labs.Hl7Message", on_delete=models.PROTECT, related_name="registry_entry"
    )
    action = models.CharField(max_length=1, choices=Action.choices)

    class Meta:
        ordering = ["created_at", "pk"]


# The eMAR's models live in their own module; imported here so Django registers them.
from .emar_models import (  # noqa: E402
    Absence,
    Assignment,
    CountEntry,
    CountSheet,
    DoseRecord,
    PassTime,
    Refill,
    Residency,
    ResidentOrder,
    ShiftCount,
    ShiftCountLine,
)

__all__ = [
    "Absence",
    "Assignment",
    "CountEntry",
    "CountSheet",
    "DoseRecord",
    "PassTime",
    "Refill",
    "Residency",
    "ResidentOrder",
    "ShiftCount",
    "ShiftCountLine",
]
