"""The clinic's compliance logs: equipment with its maintenance and calibration plans and
service records; vaccine storage temperatures with the excursions they open (and the lots each
excursion held); autoclave cycles with their loads, indicators and recalls, and where each
instrument set was used.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from carebench.core.models import Facility, OrganizationScoped


class Device(OrganizationScoped):
    """A piece of equipment the clinic keeps on its inventory."""

    class Kind(models.TextChoices):
        EKG_MACHINE = "ekg_machine", "EKG machine"
        CENTRIFUGE = "centrifuge", "Centrifuge"
        GLUCOMETER = "glucometer", "Glucometer"
        ANALYZER = "analyzer", "Analyzer"
        SCALE = "scale", "Scale"
        BP_CUFF = "bp_cuff", "BP cuff"
        AUTOCLAVE = "autoclave", "Autoclave / sterilizer"
        REFRIGERATOR = "refrigerator", "Refrigerator"
        FREEZER = "freezer", "Freezer"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        IN_SERVICE = "in_service", "In service"
        OUT_OF_SERVICE = "out_of_service", "Out of service"
        RETIRED = "retired", "Retired"

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=100, help_text="e.g. Glucometer room 3")
    make = models.CharField(max_length=100, blank=True)
    model_name = models.CharField("model", max_length=100, blank=True)
    serial_number = models.CharField(max_length=60)
    location = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_SERVICE)
    status_reason = models.CharField(max_length=300, blank=True)
    poc_device = models.ForeignKey(
        "labs.PocDevice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    storage_unit = models.ForeignKey(
        "meds.StorageUnit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "serial_number"], name="device_serial_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.serial_number})"


class MaintenancePlan(OrganizationScoped):
    """A recurring duty on a device: calibration, preventive maintenance or inspection."""

    class Kind(models.TextChoices):
        CALIBRATION = "calibration", "Calibration"
        PREVENTIVE = "preventive", "Preventive maintenance"
        INSPECTION = "inspection", "Inspection"

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="plans")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    interval_days = models.PositiveIntegerField(help_text="every N days")
    next_due = models.DateField()
    instructions = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["next_due", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["device", "kind"], name="maintenanceplan_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.device.name}"

    @property
    def duty(self) -> str:
        """The duty in a sentence: "calibration", "preventive maintenance"."""
        return self.get_kind_display().lower()


class ServiceRecord(OrganizationScoped):
    """A calibration, maintenance or inspection done, by a user or a vendor, pass or fail."""

    class Result(models.TextChoices):
        PASS = "pass", "Pass"
        FAIL = "fail", "Fail"

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="service_records")
    plan = models.ForeignKey(
        MaintenancePlan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_records",
    )
    done_on = models.DateField()
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    vendor = models.CharField(max_length=200, blank=True)
    result = models.CharField(max_length=4, choices=Result.choices)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-done_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(performed_by__isnull=False) | ~models.Q(vendor=""),
                name="servicerecord_who",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device.name} on {self.done_on}"


class Excursion(OrganizationScoped):
    """A storage unit out of its range: opened by the first reading outside it, joined by the
    later ones, and resolved by someone who records what was done and decides for each lot."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Contacted(models.TextChoices):
        MANUFACTURER = "manufacturer", "The manufacturer"
        VFC = "vfc", "The state VFC program"
        BOTH = "both", "The manufacturer and the state VFC program"
        OTHER = "other", "Other (say who)"

    storage_unit = models.ForeignKey(
        "meds.StorageUnit", on_delete=models.PROTECT, related_name="excursions"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(help_text="when the first reading out of range was taken")
    lowest_c = models.DecimalField(max_digits=5, decimal_places=1)
    highest_c = models.DecimalField(max_digits=5, decimal_places=1)
    contacted = models.CharField(max_length=20, choices=Contacted.choices, blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    answer = models.TextField(blank=True, help_text="what they said")
    action = models.TextField(blank=True, help_text="what was done")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["storage_unit"],
                condition=models.Q(status="open"),
                name="excursion_one_open_per_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"Excursion of {self.storage_unit} from {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class ExcursionLot(OrganizationScoped):
    """A lot an excursion quarantined, and what became of it."""

    class Decision(models.TextChoices):
        RELEASE = "release", "Release (back to available)"
        DISCARD = "discard", "Discard (waste and retire)"

    excursion = models.ForeignKey(Excursion, on_delete=models.PROTECT, related_name="held_lots")
    lot = models.ForeignKey("meds.StockLot", on_delete=models.PROTECT, related_name="+")
    doses_held = models.IntegerField()
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["excursion", "lot"], name="excursionlot_unique"),
        ]


class TemperatureReading(OrganizationScoped):
    """One reading of a storage unit: the current temperature and, from a min/max
    thermometer, the lowest and highest since it was last reset (°C)."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Read by staff"
        LOGGER = "logger", "Data logger"

    storage_unit = models.ForeignKey(
        "meds.StorageUnit", on_delete=models.PROTECT, related_name="temperature_readings"
    )
    taken_at = models.DateTimeField()
    current_c = models.DecimalField(max_digits=5, decimal_places=1)
    min_c = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    max_c = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    excursion = models.ForeignKey(
        Excursion, on_delete=models.PROTECT, null=True, blank=True, related_name="readings"
    )

    class Meta:
        ordering = ["-taken_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["storage_unit", "taken_at", "source"], name="reading_unique_time"
            ),
        ]
        indexes = [models.Index(fields=["storage_unit", "taken_at"], name="reading_unit_time")]

    def __str__(self) -> str:
        return f"{self.storage_unit} {self.current_c} °C at {self.taken_at:%Y-%m-%d %H:%M}"


class InstrumentSet(OrganizationScoped):
    """A tray or pack of instruments that is sterilized and used as one (barcoded)."""

    name = models.CharField(max_length=100, help_text="e.g. Suture removal kit 2")
    barcode = models.CharField(max_length=60)
    contents = models.TextField(blank=True, help_text="what is in it")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "barcode"], name="instrumentset_barcode"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.barcode})"


class SterilizerCycle(OrganizationScoped):
    """One run of an autoclave: its load, its parameters, its indicators and its status."""

    class Indicator(models.TextChoices):
        PASS = "pass", "Pass"
        FAIL = "fail", "Fail"

    class Biological(models.TextChoices):
        NONE = "none", "No BI in this load"
        PENDING = "pending", "Pending (incubating)"
        PASS = "pass", "Pass (no growth)"
        FAIL = "fail", "Fail (growth)"

    class Status(models.TextChoices):
        RELEASED = "released", "Released"
        QUARANTINED = "quarantined", "Quarantined (BI pending)"
        RECALLED = "recalled", "Recalled"

    autoclave = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="cycles")
    cycle_number = models.CharField(max_length=20)
    run_at = models.DateTimeField()
    instrument_sets = models.ManyToManyField(InstrumentSet, related_name="cycles", blank=True)
    load_notes = models.CharField(max_length=300, blank=True, help_text="anything else loaded")
    duration_minutes = models.PositiveSmallIntegerField()
    temperature_c = models.DecimalField(max_digits=4, decimal_places=1)
    pressure_psi = models.DecimalField(max_digits=4, decimal_places=1)
    chemical_indicator = models.CharField(max_length=4, choices=Indicator.choices)
    biological_indicator = models.CharField(max_length=8, choices=Biological.choices)
    bi_read_at = models.DateTimeField(null=True, blank=True)
    bi_read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices)
    recall_reason = models.CharField(max_length=300, blank=True)
    recalled_at = models.DateTimeField(null=True, blank=True)
    recalled_with = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recalled_loads",
        help_text="the cycle whose failed indicator recalled this load too",
    )

    class Meta:
        ordering = ["-run_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["autoclave", "cycle_number"], name="cycle_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.autoclave.name} cycle {self.cycle_number}"


class InstrumentSetUse(OrganizationScoped):
    """An instrument set opened for a patient, and the load it came from."""

    instrument_set = models.ForeignKey(InstrumentSet, on_delete=models.PROTECT, related_name="uses")
    cycle = models.ForeignKey(SterilizerCycle, on_delete=models.PROTECT, related_name="uses")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    encounter = models.ForeignKey(
        "encounters.Encounter", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    used_at = models.DateTimeField()
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["used_at", "pk"]
        constraints = [
            # A set is opened once per load: after use it goes back to be cleaned and sterilized.
            models.UniqueConstraint(
                fields=["instrument_set", "cycle"], name="setuse_once_per_load"
            ),
        ]
