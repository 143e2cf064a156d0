"""The lab corner: the test catalog, orders (one item per test), specimens (one per tube) with
their chain-of-custody events, and courier manifests.

Results will attach to `LabOrderItem` (one per ordered test) and to `Specimen` (by accession);
the HL7 placer number is the order's `number`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from carebench.core.models import Organization, OrganizationScoped, Voidable
from carebench.patients.models import Patient

from . import draw


class Container(models.TextChoices):
    BLOOD_CULTURE = "blood_culture", "Blood culture bottles"
    LIGHT_BLUE = "light_blue", "Light-blue top (citrate)"
    RED = "red", "Red top (serum, no gel)"
    GOLD_SST = "gold_sst", "Gold top SST (serum)"
    GREEN = "green", "Green top (heparin)"
    LAVENDER = "lavender", "Lavender top (EDTA)"
    GREY = "grey", "Grey top (fluoride/oxalate)"
    URINE_CUP = "urine_cup", "Urine cup (midstream)"
    URINE_FIRST_CATCH = "urine_first_catch", "Urine cup (first-catch)"
    SWAB = "swab", "Swab"
    CAPILLARY = "capillary", "Fingerstick (capillary)"


assert set(Container.values) == set(draw.CONTAINERS), "containers and draw data must agree"

IN_HOUSE = "In-house (POC)"


def is_in_house(performed: str) -> bool:
    """Whether a catalog's "performed" value means a point-of-care test done in the clinic."""
    return (performed or "").strip().lower().startswith("in-house")


class LabTest(OrganizationScoped):
    """One orderable test of the clinic's catalog (each clinic edits its own copy)."""

    code = models.CharField(max_length=20, help_text="short code printed on labels, e.g. CBC")
    name = models.CharField(max_length=200)
    loinc = models.CharField("LOINC code", max_length=10, blank=True)
    specimen_type = models.CharField(max_length=40)
    container = models.CharField(max_length=20, choices=Container.choices)
    min_volume_ml = models.DecimalField(
        "minimum volume (mL)",
        max_digits=6,
        decimal_places=1,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
    )
    fasting_required = models.BooleanField(default=False)
    timing_note = models.CharField(max_length=200, blank=True)
    stability = models.CharField(max_length=200, blank=True)
    performed = models.CharField(
        max_length=100, default="Reference lab", help_text=f"'{IN_HOUSE}' or the lab's name"
    )
    cpt_hint = models.CharField("CPT hint", max_length=40, blank=True)
    notes = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="labtest_unique_code"),
            models.CheckConstraint(
                condition=models.Q(min_volume_ml__gte=0), name="labtest_volume_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def point_of_care(self) -> bool:
        return is_in_house(self.performed)


class LabCounter(models.Model):
    """Per-organization sequences for order, accession and manifest numbers (taken under lock)."""

    organization = models.OneToOneField(Organization, on_delete=models.PROTECT, related_name="+")
    next_order = models.PositiveBigIntegerField(default=1)
    next_specimen = models.PositiveBigIntegerField(default=1)
    next_manifest = models.PositiveBigIntegerField(default=1)

    def __str__(self) -> str:
        return f"lab numbers of organization {self.organization_id}"


class LabOrder(Voidable):
    class Basis(models.TextChoices):
        PROVIDER = "provider", "Entered by the provider"
        STANDING = "standing", "Standing order"
        VERBAL = "verbal", "Verbal order"

    class Priority(models.TextChoices):
        ROUTINE = "routine", "Routine"
        STAT = "stat", "STAT"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=20, help_text="placer order number, e.g. L000042")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lab_orders")
    encounter = models.ForeignKey(
        "encounters.Encounter",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lab_orders",
    )
    ordering_provider = models.ForeignKey(
        "scheduling.Provider", on_delete=models.PROTECT, related_name="lab_orders"
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ordered_at = models.DateTimeField()
    basis = models.CharField(max_length=10, choices=Basis.choices)
    cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cosigned_at = models.DateTimeField(null=True, blank=True)
    diagnosis_codes = models.JSONField(default=list, help_text="ICD-10-CM codes, billable")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    fasting_confirmed = models.BooleanField(
        null=True, blank=True, help_text="the patient says they fasted: yes, no or not asked"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    note = models.CharField(max_length=300, blank=True)
    filler_number = models.CharField(
        max_length=40, blank=True, help_text="the reference lab's number, from its first result"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-ordered_at"]
        permissions = [
            ("sign_laborder", "Can order labs as the provider and co-sign orders"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="laborder_number"),
            models.CheckConstraint(
                condition=models.Q(cosigned_at__isnull=True, cosigned_by__isnull=True)
                | models.Q(cosigned_at__isnull=False, cosigned_by__isnull=False),
                name="laborder_cosign_who_and_when",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "ordered_at"], name="laborder_patient_time"),
            models.Index(
                fields=["organization", "basis", "cosigned_at"], name="laborder_cosign_queue"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def needs_cosign(self) -> bool:
        return self.basis != self.Basis.PROVIDER and self.cosigned_at is None


class LabOrderItem(OrganizationScoped):
    """One ordered test, with the catalog's facts copied as ordered (results attach here)."""

    order = models.ForeignKey(LabOrder, on_delete=models.PROTECT, related_name="items")
    test = models.ForeignKey(LabTest, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    loinc = models.CharField(max_length=10, blank=True)
    container = models.CharField(max_length=20, choices=Container.choices)
    min_volume_ml = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal(0))
    fasting_required = models.BooleanField(default=False)
    timing_note = models.CharField(max_length=200, blank=True)
    performed = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["order", "test"], name="laborderitem_once"),
        ]

    def __str__(self) -> str:
        return self.code


class Manifest(OrganizationScoped):
    """A courier pickup: the specimens packed for the reference lab."""

    class Status(models.TextChoices):
        OPEN = "open", "Packing"
        PICKED_UP = "picked_up", "Picked up"

    number = models.CharField(max_length=20)
    courier = models.CharField(max_length=100)
    pickup_at = models.DateTimeField(null=True, blank=True, help_text="expected or actual")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    destination = models.CharField(max_length=100, default="Reference lab")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="manifest_number"),
        ]

    def __str__(self) -> str:
        return self.number


class Specimen(OrganizationScoped):
    """One tube (or cup, or swab), with its accession barcode and where it is in its life."""

    class Status(models.TextChoices):
        PENDING = "pending", "To collect"
        COLLECTED = "collected", "Collected"
        PROCESSED = "processed", "Processed"
        STORED = "stored", "Stored"
        PACKED = "packed", "Packed for courier"
        IN_TRANSIT = "in_transit", "With the courier"
        RECEIVED = "received", "Received by the lab"
        REJECTED = "rejected", "Rejected"

    class Rejection(models.TextChoices):
        HEMOLYZED = "hemolyzed", "Haemolysed"
        UNLABELED = "unlabeled", "Unlabelled or mislabelled"
        QNS = "qns", "Insufficient quantity (QNS)"
        CLOTTED = "clotted", "Clotted"
        OTHER = "other", "Other"

    class Temperature(models.TextChoices):
        ROOM = "room", "Room temperature (15-25 °C)"
        REFRIGERATED = "refrigerated", "Refrigerated (2-8 °C)"
        FROZEN = "frozen", "Frozen (-20 °C or colder)"

    accession = models.CharField(max_length=20, help_text="barcode id, e.g. S000123")
    order = models.ForeignKey(LabOrder, on_delete=models.PROTECT, related_name="specimens")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="specimens")
    items = models.ManyToManyField(LabOrderItem, related_name="specimens")
    container = models.CharField(max_length=20, choices=Container.choices)
    volume_ml = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal(0))
    draw_sequence = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    recollect_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="recollection"
    )
    collected_at = models.DateTimeField(null=True, blank=True)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    collection_site = models.CharField(max_length=60, blank=True)
    attempts = models.PositiveSmallIntegerField(null=True, blank=True)
    centrifuged = models.BooleanField(default=False)
    aliquoted = models.BooleanField(default=False)
    storage_temperature = models.CharField(max_length=12, choices=Temperature.choices, blank=True)
    manifest = models.ForeignKey(
        Manifest, on_delete=models.PROTECT, null=True, blank=True, related_name="specimens"
    )
    received_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=10, choices=Rejection.choices, blank=True)
    rejection_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["order", "draw_sequence", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "accession"], name="specimen_accession_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending") | models.Q(collected_at__isnull=False),
                name="specimen_collected_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"], name="specimen_work"),
        ]

    def __str__(self) -> str:
        return self.accession

    @property
    def is_recollection(self) -> bool:
        return self.recollect_of_id is not None

    @property
    def container_type(self) -> draw.ContainerType:
        return draw.CONTAINERS[self.container]


class SpecimenEvent(OrganizationScoped):
    """One step of a specimen's chain of custody (append-only): who, when, what, where."""

    class Kind(models.TextChoices):
        LABELED = "labeled", "Label created"
        COLLECTED = "collected", "Collected"
        PROCESSED = "processed", "Processed"
        STORED = "stored", "Stored"
        PACKED = "packed", "Packed on manifest"
        PICKED_UP = "picked_up", "Picked up by courier"
        RECEIVED = "received", "Received by the lab"
        REJECTED = "rejected", "Rejected"
        RECOLLECT = "recollect", "Re-collection requested"

    specimen = models.ForeignKey(Specimen, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    location = models.CharField(max_length=100, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["specimen", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


# --- point-of-care kits, devices and quality control -------------------------------------------


class PocDevice(OrganizationScoped):
    """A point-of-care meter or analyser (glucometer, A1c or haemoglobin analyser)."""

    name = models.CharField(max_length=100, help_text="e.g. Glucometer room 3")
    model_name = models.CharField("model", max_length=100, blank=True)
    serial_number = models.CharField(max_length=60)
    tests = models.ManyToManyField(LabTest, related_name="poc_devices", blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "serial_number"], name="pocdevice_serial_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.serial_number})"


class PocKitLot(OrganizationScoped):
    """One lot of test kits or strips for an in-house test, with its expiry."""

    test = models.ForeignKey(LabTest, on_delete=models.PROTECT, related_name="kit_lots")
    kit_name = models.CharField(max_length=100)
    manufacturer = models.CharField(max_length=100, blank=True)
    lot_number = models.CharField(max_length=40)
    expires_on = models.DateField()
    received_on = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["test", "expires_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "test", "lot_number"], name="pockitlot_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kit_name} lot {self.lot_number}"


class QcRun(OrganizationScoped):
    """One quality-control run on a kit lot or a device: each control level, pass or fail."""

    test = models.ForeignKey(LabTest, on_delete=models.PROTECT, related_name="qc_runs")
    kit_lot = models.ForeignKey(
        PocKitLot, on_delete=models.PROTECT, null=True, blank=True, related_name="qc_runs"
    )
    device = models.ForeignKey(
        PocDevice, on_delete=models.PROTECT, null=True, blank=True, related_name="qc_runs"
    )
    run_at = models.DateTimeField()
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    levels = models.JSONField(
        default=list, help_text="[{level, expected, observed, passed}] one per control level"
    )
    passed = models.BooleanField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-run_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kit_lot__isnull=False) | models.Q(device__isnull=False),
                name="qcrun_on_kit_or_device",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "test", "run_at"], name="qcrun_test_time"),
        ]

    def __str__(self) -> str:
        return f"QC {self.test_id} at {self.run_at:%Y-%m-%d %H:%M}: {'pass' if self.passed else 'fail'}"


# --- results ------------------------------------------------------------------------------------


class LabResult(Voidable):
    """One resulted analyte (a point-of-care entry or an OBX of an ORU), with its flag.

    Matched results point at the ordered test (`order_item`) and, when known, the specimen.
    Corrections are new rows that `replaces` the old one, which is voided.
    """

    class Flag(models.TextChoices):
        NORMAL = "N", "Normal"
        LOW = "L", "Low"
        HIGH = "H", "High"
        CRITICAL_LOW = "LL", "Critical low"
        CRITICAL_HIGH = "HH", "Critical high"
        ABNORMAL = "A", "Abnormal"
        CRITICAL = "AA", "Critical abnormal"

    class Status(models.TextChoices):
        PRELIMINARY = "preliminary", "Preliminary"
        FINAL = "final", "Final"
        CORRECTED = "corrected", "Corrected"

    class Source(models.TextChoices):
        POC = "poc", "Point-of-care entry"
        INTERFACE = "hl7", "Lab interface (HL7)"
        MANUAL = "manual", "Transcribed from a paper report"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lab_results")
    order = models.ForeignKey(
        LabOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="results"
    )
    order_item = models.ForeignKey(
        LabOrderItem, on_delete=models.PROTECT, null=True, blank=True, related_name="results"
    )
    specimen = models.ForeignKey(
        Specimen, on_delete=models.PROTECT, null=True, blank=True, related_name="results"
    )
    sequence = models.PositiveSmallIntegerField(default=0, help_text="order within the report")
    code = models.CharField("LOINC or local code", max_length=20)
    code_system = models.CharField(max_length=10, default="LN", help_text="LN for LOINC")
    name = models.CharField(max_length=200)
    value_numeric = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    value_text = models.CharField(max_length=500, blank=True)
    comparator = models.CharField(max_length=2, blank=True, help_text="<, <=, > or >=")
    unit = models.CharField(max_length=30, blank=True)
    reference_low = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    reference_high = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    reference_text = models.CharField(max_length=60, blank=True)
    flag = models.CharField(max_length=2, choices=Flag.choices, default=Flag.NORMAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.FINAL)
    source = models.CharField(max_length=6, choices=Source.choices)
    observed_at = models.DateTimeField()
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    performing_lab = models.CharField(max_length=100, blank=True)
    kit_lot = models.ForeignKey(
        PocKitLot, on_delete=models.PROTECT, null=True, blank=True, related_name="results"
    )
    device = models.ForeignKey(
        PocDevice, on_delete=models.PROTECT, null=True, blank=True, related_name="results"
    )
    qc_run = models.ForeignKey(
        QcRun, on_delete=models.PROTECT, null=True, blank=True, related_name="results"
    )
    message = models.ForeignKey(
        "Hl7Message", on_delete=models.PROTECT, null=True, blank=True, related_name="results"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["order", "sequence", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(value_numeric__isnull=True, value_text=""),
                name="labresult_has_value",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "code", "observed_at"], name="labresult_trend"),
            models.Index(fields=["organization", "observed_at"], name="labresult_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.display_value}"

    @property
    def display_value(self) -> str:
        if self.value_numeric is None:
            return self.value_text
        number = format(self.value_numeric.normalize(), "f")
        return f"{self.comparator}{number} {self.unit}".strip()

    @property
    def is_critical(self) -> bool:
        return self.flag in {"LL", "HH", "AA"}

    @property
    def is_abnormal(self) -> bool:
        return self.flag != "N"


class ResultReview(OrganizationScoped):
    """The provider's sign-off of an order's results (a new review after a corrected result)."""

    order = models.ForeignKey(LabOrder, on_delete=models.PROTECT, related_name="reviews")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField()
    comment = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-reviewed_at"]

    def __str__(self) -> str:
        return f"review of {self.order_id} at {self.reviewed_at:%Y-%m-%d %H:%M}"


# --- the HL7 v2 interface -----------------------------------------------------------------------


class Hl7Message(OrganizationScoped):
    """One HL7 v2 message in or out: the raw text, what it was about and what became of it."""

    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued to send"
        SENT = "sent", "Sent"
        ACCEPTED = "accepted", "Accepted (processed)"
        UNMATCHED = "unmatched", "Unmatched: waiting for a person"
        ERROR = "error", "Error"
        REJECTED = "rejected", "Rejected"

    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_type = models.CharField(max_length=20, help_text="e.g. ORM^O01, ORU^R01")
    control_id = models.CharField(max_length=40)
    raw = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices)
    order = models.ForeignKey(
        LabOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="hl7_messages"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="hl7_messages"
    )
    ack_code = models.CharField(max_length=2, blank=True, help_text="AA, AE or AR")
    error = models.CharField(max_length=500, blank=True)
    placer_number = models.CharField(max_length=40, blank=True)
    filler_number = models.CharField(max_length=40, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "direction", "control_id"], name="hl7message_control_id"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"], name="hl7message_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.message_type} {self.control_id}"
