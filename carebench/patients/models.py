"""The patient and their chart: coverage, allergies, medications, problems and history.

Every table carries its organization. Clinical rows are voided or replaced, never deleted.
Search keys (`family_key`, `given_key`, `mobile_key`, `home_key`) are kept normalized by the services.
"""

from __future__ import annotations

from datetime import date

from django.db import models

from carebench.core.models import Facility, OrganizationScoped, Voidable


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class SexAtBirth(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "UNK", "Unknown"
    ASKED_DECLINED = "ASKU", "Asked but declined"


class GenderIdentity(models.TextChoices):
    # SNOMED CT codes used by US Core for gender identity
    MALE = "446151000124109", "Identifies as male"
    FEMALE = "446141000124107", "Identifies as female"
    NONBINARY = "33791000087105", "Identifies as nonbinary"
    OTHER = "OTH", "Other"
    DECLINED = "ASKU", "Asked but declined"
    UNKNOWN = "UNK", "Unknown"


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    CHINESE = "zh", "Chinese"
    VIETNAMESE = "vi", "Vietnamese"
    TAGALOG = "tl", "Tagalog"
    ARABIC = "ar", "Arabic"
    FRENCH = "fr", "French"
    KOREAN = "ko", "Korean"
    RUSSIAN = "ru", "Russian"
    GERMAN = "de", "German"
    HAITIAN_CREOLE = "ht", "Haitian Creole"
    PORTUGUESE = "pt", "Portuguese"
    POLISH = "pl", "Polish"
    SOMALI = "so", "Somali"
    HMONG = "hmn", "Hmong"
    OTHER = "other", "Other"


class Patient(Voidable):
    mrn = models.CharField("MRN", max_length=20)
    family_name = models.CharField("last name", max_length=100)
    given_name = models.CharField("first name", max_length=100)
    middle_name = models.CharField(max_length=100, blank=True)
    suffix = models.CharField(max_length=20, blank=True)
    preferred_name = models.CharField(max_length=100, blank=True)
    birth_date = models.DateField("date of birth")
    sex = models.CharField("administrative sex", max_length=10, choices=Sex.choices)
    sex_at_birth = models.CharField(max_length=4, choices=SexAtBirth.choices, blank=True)
    gender_identity = models.CharField(max_length=20, choices=GenderIdentity.choices, blank=True)
    phone_mobile = models.CharField("mobile phone", max_length=20, blank=True)
    phone_home = models.CharField("home phone", max_length=20, blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField("ZIP code", max_length=10, blank=True)
    preferred_language = models.CharField(
        max_length=5, choices=Language.choices, default=Language.ENGLISH
    )
    emergency_contact_name = models.CharField(max_length=200, blank=True)
    emergency_contact_relationship = models.CharField(max_length=50, blank=True)
    emergency_contact_phone = models.CharField(max_length=20, blank=True)
    reminders_opt_out = models.BooleanField(
        "no appointment reminders",
        default=False,
        help_text="the patient asked not to get appointment reminders",
    )
    home_facility = models.ForeignKey(
        Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Normalized search keys (lower-case ASCII letters; phone digits), kept by the services.
    family_key = models.CharField(max_length=100, editable=False)
    given_key = models.CharField(max_length=100, editable=False)
    preferred_key = models.CharField(max_length=100, editable=False, blank=True)
    mobile_key = models.CharField(max_length=16, editable=False, blank=True)
    home_key = models.CharField(max_length=16, editable=False, blank=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "mrn"], name="patient_mrn_unique"),
            models.CheckConstraint(
                condition=models.Q(birth_date__gte=date(1880, 1, 1)), name="patient_birth_date_sane"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "family_key", "given_key"],
                name="pt_org_family",
                opclasses=["", "text_pattern_ops", "text_pattern_ops"],
            ),
            models.Index(
                fields=["organization", "given_key", "family_key"],
                name="pt_org_given",
                opclasses=["", "text_pattern_ops", "text_pattern_ops"],
            ),
            models.Index(
                fields=["organization", "preferred_key", "family_key"],
                name="pt_org_preferred",
                opclasses=["", "text_pattern_ops", "text_pattern_ops"],
            ),
            models.Index(fields=["organization", "birth_date"], name="pt_org_birth"),
            models.Index(
                fields=["organization", "mobile_key"],
                name="pt_org_mobile",
                opclasses=["", "text_pattern_ops"],
            ),
            models.Index(
                fields=["organization", "home_key"],
                name="pt_org_home",
                opclasses=["", "text_pattern_ops"],
            ),
        ]
        permissions = [("void_patient", "Can void a patient registered in error")]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def display_name(self) -> str:
        preferred = f" “{self.preferred_name}”" if self.preferred_name else ""
        return f"{self.family_name}, {self.given_name}{preferred}"

    def age_on(self, on: date) -> int:
        years = on.year - self.birth_date.year
        if (on.month, on.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


class Payer(OrganizationScoped):
    """An insurance payer the clinic bills (its X12 payer ID goes on claims)."""

    name = models.CharField(max_length=200)
    payer_code = models.CharField("payer ID", max_length=20, blank=True)
    filing_indicator = models.CharField(
        "claim filing indicator",
        max_length=2,
        default="CI",
        help_text="SBR09: CI commercial, MB Medicare Part B, MC Medicaid, BL Blue Cross, HM HMO",
    )
    timely_filing_days = models.PositiveSmallIntegerField(
        default=365, help_text="days after the service a claim must reach the payer"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="payer_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Coverage(Voidable):
    class Relationship(models.TextChoices):
        SELF = "self", "Self"
        SPOUSE = "spouse", "Spouse"
        CHILD = "child", "Child"
        OTHER = "other", "Other"

    class Priority(models.IntegerChoices):
        PRIMARY = 1, "Primary"
        SECONDARY = 2, "Secondary"
        TERTIARY = 3, "Tertiary"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="coverages")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="+")
    plan_name = models.CharField(max_length=200, blank=True)
    member_id = models.CharField("member ID", max_length=40)
    group_number = models.CharField(max_length=40, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.PRIMARY)
    relationship = models.CharField(
        "subscriber relationship",
        max_length=10,
        choices=Relationship.choices,
        default=Relationship.SELF,
    )
    subscriber_name = models.CharField(max_length=200, blank=True)
    subscriber_birth_date = models.DateField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["priority", "-start_date"]
        permissions = [("void_coverage", "Can void coverage")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(start_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="coverage_dates_ordered",
            ),
        ]


class Allergy(Voidable):
    """An allergy or intolerance, or the explicit statement "no known allergies"."""

    class Kind(models.TextChoices):
        ALLERGY = "allergy", "Allergy"
        INTOLERANCE = "intolerance", "Intolerance"
        NO_KNOWN = "no_known", "No known allergies"

    class Category(models.TextChoices):
        MEDICATION = "medication", "Medication"
        FOOD = "food", "Food"
        ENVIRONMENT = "environment", "Environment"
        BIOLOGIC = "biologic", "Biologic"

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        RESOLVED = "resolved", "Resolved"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="allergies")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.ALLERGY)
    category = models.CharField(max_length=12, choices=Category.choices, blank=True)
    substance = models.CharField(max_length=200)
    substance_code = models.CharField(max_length=20, blank=True, help_text="RxNorm or SNOMED CT")
    reaction = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    onset_date = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "allergies"
        permissions = [("void_allergy", "Can void an allergy entered in error")]
        indexes = [models.Index(fields=["patient", "voided_at"], name="allergy_patient")]


class MedicationStatement(Voidable):
    """An entry on the patient's current medication list."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Taking"
        ON_HOLD = "on-hold", "On hold"
        STOPPED = "stopped", "Stopped"
        COMPLETED = "completed", "Completed"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    medication = models.CharField(max_length=200, help_text="drug, strength and form")
    rxnorm_code = models.CharField("RxNorm code", max_length=20, blank=True)
    dose = models.CharField(max_length=100, blank=True)
    route = models.CharField(max_length=50, blank=True)
    frequency = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    prescriber = models.CharField(max_length=200, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconciled_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["status", "medication"]
        permissions = [("void_medicationstatement", "Can void a medication entered in error")]
        indexes = [models.Index(fields=["patient", "voided_at"], name="med_patient")]


class Problem(Voidable):
    """A problem-list entry coded in ICD-10-CM (billable codes only)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RECURRENCE = "recurrence", "Recurrence"
        INACTIVE = "inactive", "Inactive"
        REMISSION = "remission", "Remission"
        RESOLVED = "resolved", "Resolved"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="problems")
    icd10_code = models.CharField("ICD-10-CM code", max_length=10)
    description = models.CharField(max_length=300)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    onset_date = models.DateField(null=True, blank=True)
    resolved_date = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["status", "icd10_code"]
        permissions = [("void_problem", "Can void a problem entered in error")]
        indexes = [models.Index(fields=["patient", "voided_at"], name="problem_patient")]


class TobaccoStatus(models.TextChoices):
    # SNOMED CT codes used by US Core smoking status (LOINC 72166-2)
    EVERY_DAY = "449868002", "Current every day smoker"
    SOME_DAYS = "428041000124106", "Current some day smoker"
    FORMER = "8517006", "Former smoker"
    NEVER = "266919005", "Never smoker"
    UNKNOWN_CURRENT = "77176002", "Smoker, current status unknown"
    UNKNOWN = "266927001", "Unknown if ever smoked"


class HistoryEntry(Voidable):
    """Past medical, surgical, family or social history, or the tobacco status."""

    class Kind(models.TextChoices):
        MEDICAL = "medical", "Past medical"
        SURGICAL = "surgical", "Past surgical"
        FAMILY = "family", "Family"
        SOCIAL = "social", "Social"
        TOBACCO = "tobacco", "Tobacco use"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="history")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.CharField(max_length=300)
    icd10_code = models.CharField("ICD-10-CM code", max_length=10, blank=True)
    relative = models.CharField(max_length=50, blank=True, help_text="family history: who")
    tobacco_status = models.CharField(max_length=20, choices=TobaccoStatus.choices, blank=True)
    occurred = models.CharField(max_length=40, blank=True, help_text="year or date, as known")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["kind", "-created_at"]
        verbose_name_plural = "history entries"
        permissions = [("void_historyentry", "Can void a history entry entered in error")]
        indexes = [models.Index(fields=["patient", "voided_at"], name="history_patient")]


from . import document_models, referral_models  # noqa: E402, F401  (their models register here)
