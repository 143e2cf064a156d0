"""Loading the test catalog from CSV: every row checked, all or nothing."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from carebench.audit.models import AuditEvent
from carebench.labs import demo, draw, services
from carebench.labs.models import LabTest
from carebench.testing import actor_for

HEADER = "code,name,loinc,specimen_type,container,min_volume_ml,fasting,performed,timing_note\n"


def test_shipped_catalog_loads_with_valid_loinc_codes(org, mat):
    loaded = services.load_shipped_catalog(actor=actor_for(mat))
    assert loaded.created >= 40 and loaded.updated == 0
    tests = {t.code: t for t in LabTest.objects.for_org(org)}
    assert tests["CBC"].loinc == "58410-2"
    assert tests["CBCD"].loinc == "57021-8"
    assert tests["CMP"].loinc == "24323-8"
    assert tests["A1C"].loinc == "4548-4" and tests["A1C"].container == "lavender"
    assert tests["TSH"].loinc == "3016-3"
    assert tests["UA"].loinc == "24356-8" and tests["UA"].container == "urine_cup"
    assert tests["LIPID"].fasting_required
    assert tests["PTINR"].container == "light_blue"
    assert tests["RSTREP"].point_of_care and not tests["CBC"].point_of_care
    for test in tests.values():
        assert test.container in draw.CONTAINERS
        if test.loinc:
            assert services.loinc_check_digit_ok(test.loinc), test.code
        else:
            assert "LOINC left blank" in test.notes, test.code
    assert AuditEvent.objects.filter(resource_type="LabTest").count() == 1


def test_loading_again_updates_by_code(org, mat):
    actor = actor_for(mat)
    services.load_shipped_catalog(actor=actor)
    again = services.load_catalog_csv(
        actor=actor, text=HEADER + "CBC,CBC (new name),58410-2,whole blood,lavender,2,no,Lab,\n"
    )
    assert (again.created, again.updated) == (0, 1)
    cbc = LabTest.objects.for_org(org).get(code="CBC")
    assert cbc.name == "CBC (new name)" and cbc.min_volume_ml == Decimal("2.0")


@pytest.mark.parametrize(
    "row,column",
    [
        ("CBC,CBC,58410-3,whole blood,lavender,1,no,Lab,", "loinc"),  # wrong check digit
        ("CBC,CBC,5841O-2,whole blood,lavender,1,no,Lab,", "loinc"),
        ("CBC,CBC,58410-2,whole blood,purple,1,no,Lab,", "container"),
        ("CBC,CBC,58410-2,whole blood,lavender,-1,no,Lab,", "min_volume_ml"),
        ("CBC,CBC,58410-2,whole blood,lavender,lots,no,Lab,", "min_volume_ml"),
        ("CBC,CBC,58410-2,whole blood,lavender,1,maybe,Lab,", "fasting"),
        (",CBC,58410-2,whole blood,lavender,1,no,Lab,", "code"),
        ("CBC,,58410-2,whole blood,lavender,1,no,Lab,", "name"),
    ],
)
def test_a_bad_row_is_named_by_row_and_column_and_nothing_is_loaded(org, mat, row, column):
    text = HEADER + "TSH,TSH,3016-3,serum,gold_sst,1,no,Lab,\n" + row + "\n"
    with pytest.raises(ValidationError) as caught:
        services.load_catalog_csv(actor=actor_for(mat), text=text)
    messages = caught.value.message_dict["file"]
    assert any(m.startswith(f"row 3, column {column}:") for m in messages), messages
    assert not LabTest.objects.for_org(org).exists()


def test_every_bad_row_is_reported_and_duplicates_are_named(org, mat):
    text = HEADER + "TSH,TSH,3016-3,serum,gold_sst,1,no,Lab,\nTSH,TSH,3016-3,serum,x,1,no,Lab,\n"
    with pytest.raises(ValidationError) as caught:
        services.load_catalog_csv(actor=actor_for(mat), text=text)
    messages = caught.value.message_dict["file"]
    assert "row 3, column code: TSH is already on row 2" in messages
    assert any(m.startswith("row 3, column container") for m in messages)


def test_missing_columns_are_named(org, mat):
    with pytest.raises(ValidationError, match="missing column"):
        services.load_catalog_csv(actor=actor_for(mat), text="code,name\nCBC,CBC\n")


def test_catalogs_are_per_organization(org, other_org, mat, other_mat):
    services.load_shipped_catalog(actor=actor_for(mat))
    assert not LabTest.objects.for_org(other_org).exists()
    services.load_shipped_catalog(actor=actor_for(other_mat))
    assert LabTest.objects.for_org(other_org).count() == LabTest.objects.for_org(org).count()


def test_management_command_and_demo_loader(org, tmp_path):
    out = io.StringIO()
    call_command("load_lab_catalog", "--org", org.slug, stdout=out)
    assert "tests added" in out.getvalue()
    assert demo.load_catalog(org) == 0  # already there: nothing to do
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "CBC,CBC,1-1,whole blood,lavender,1,no,Lab,\n")
    with pytest.raises(CommandError, match="row 2, column loinc"):
        call_command("load_lab_catalog", str(bad), "--org", org.slug)


def test_demo_loader_loads_once(org):
    assert demo.load_catalog(org) >= 40
    assert demo.load_catalog(org) == 0


def test_shipped_csv_has_about_forty_rows_and_notes_column():
    rows = list(csv.DictReader(services.CATALOG_FILE.open(encoding="utf-8")))
    assert 40 <= len(rows) <= 60
    assert {"notes", "cpt_hint", "stability"} <= set(rows[0])
