from django.core.management import call_command

from carebench.terminology.models import CodeSetVersion, Icd10CmCode
from carebench.terminology.selectors import search_icd10
from carebench.terminology.services import load_icd10cm

ROWS = [
    ("E11", "Type 2 diabetes mellitus", False),
    ("E11.9", "Type 2 diabetes mellitus without complications", True),
    ("I10", "Essential (primary) hypertension", True),
]


def test_load_is_idempotent_and_version_stamped(db):
    load_icd10cm(ROWS, version="simple-icd-10-cm 1.5.0 (test rows)")
    load_icd10cm(ROWS, version="simple-icd-10-cm 1.5.0 (test rows)")
    assert Icd10CmCode.objects.count() == 3
    assert CodeSetVersion.objects.get(code_set="icd10cm").row_count == 3


def test_search_by_code_and_words_billable_only(db):
    load_icd10cm(ROWS, version="t")
    assert [c.code for c in search_icd10("e11")] == ["E11.9"]
    assert [c.code for c in search_icd10("diabetes type")] == ["E11.9"]
    assert [c.code for c in search_icd10("e11", billable_only=False)] == ["E11", "E11.9"]


def test_full_load_from_the_package(db):
    call_command("carebench_terminology", "load", "icd10cm")
    assert Icd10CmCode.objects.filter(billable=True).count() > 70000
    assert Icd10CmCode.objects.get(code="E11.9").billable
