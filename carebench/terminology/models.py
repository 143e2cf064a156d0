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


class CodeSetVersion(models.Model):
    """Which release of each code set is loaded, and when."""

    code_set = models.CharField(max_length=30, primary_key=True)
    version = models.CharField(max_length=40)
    loaded_at = models.DateTimeField(auto_now=True)
    row_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.code_set} {self.version}"
