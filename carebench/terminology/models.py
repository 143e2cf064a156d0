"""Code-set tables. Codes are shared by every organization (they hold no patient data)."""

from django.db import models


class Icd10CmCode(models.Model):
    """One ICD-10-CM code (with its dot, e.g. E11.9). Categories are kept for search context;
    only billable (leaf) codes may go on a problem list or a claim."""

    code = models.CharField(max_length=10, primary_key=True)
    description = models.CharField(max_length=300)
    search_text = models.CharField(max_length=320, help_text="lower-cased code and words")
    billable = models.BooleanField(default=False)
    version = models.CharField(max_length=40)

    class Meta:
        indexes = [models.Index(fields=["billable", "code"], name="icd10_billable_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class Icd10Word(models.Model):
    """One word of an ICD-10-CM code's description, for word-prefix search that uses an index
    on every database (a LIKE '%word%' scan of ~98,000 descriptions is too slow)."""

    word = models.CharField(max_length=40)
    # indexed by icd10word_of_code (code, word) below, not on its own
    code = models.ForeignKey(
        Icd10CmCode, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    billable = models.BooleanField()

    class Meta:
        indexes = [
            models.Index(fields=["word", "billable", "code"], name="icd10word_lookup"),
            models.Index(fields=["code", "word"], name="icd10word_of_code"),
        ]

    def __str__(self) -> str:
        return f"{self.word} -> {self.code_id}"


class CodeSetVersion(models.Model):
    """Which release of each code set is loaded, and when."""

    code_set = models.CharField(max_length=30, primary_key=True)
    version = models.CharField(max_length=40)
    loaded_at = models.DateTimeField(auto_now=True)
    row_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.code_set} {self.version}"


class VaccineCode(models.Model):
    """One CDC CVX code (vaccine administered), with carebench's vaccine group(s) and the CPT
    product codes that bill it. Codes are never deleted: CDC marks old ones Inactive, and
    immunization records keep pointing at them."""

    cvx = models.CharField(max_length=4, unique=True)
    short_name = models.CharField(max_length=200)
    full_name = models.CharField(max_length=500)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=20, help_text="CDC's: Active, Inactive, Non-US, ...")
    nonvaccine = models.BooleanField(default=False, help_text="immune globulins, skin tests")
    group = models.CharField(max_length=20, blank=True, help_text="main vaccine group, e.g. FLU")
    groups = models.CharField(
        max_length=100, blank=True, help_text="every group it counts for, '|MMR|VZV|'"
    )
    cpt_codes = models.CharField(max_length=100, blank=True, help_text="space-separated")
    search_text = models.CharField(max_length=900, help_text="lower-cased codes and words")
    updated = models.DateField(null=True, blank=True, help_text="CDC's last-updated date")
    version = models.CharField(max_length=40)

    class Meta:
        ordering = ["cvx"]
        indexes = [models.Index(fields=["group", "status"], name="vaccine_group_status")]

    def __str__(self) -> str:
        return f"CVX {self.cvx} {self.short_name}"

    @property
    def is_active(self) -> bool:
        return self.status == "Active"

    @property
    def group_list(self) -> list[str]:
        return [g for g in self.groups.split("|") if g]

    @property
    def cpt_list(self) -> list[str]:
        return self.cpt_codes.split()


class Manufacturer(models.Model):
    """One CDC MVX code (manufacturer of vaccines)."""

    mvx = models.CharField(max_length=4, unique=True)
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=20)
    updated = models.DateField(null=True, blank=True, help_text="CDC's last-updated date")
    version = models.CharField(max_length=40)

    class Meta:
        ordering = ["mvx"]

    def __str__(self) -> str:
        return f"{self.mvx} {self.name}"

    @property
    def is_active(self) -> bool:
        return self.status == "Active"
