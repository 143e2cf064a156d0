"""CVX and MVX: CDC's file format, the shipped lists, the loaders, selectors and the command."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from carebench.terminology import cdc
from carebench.terminology.models import CodeSetVersion, Manufacturer, VaccineCode
from carebench.terminology.selectors import (
    get_manufacturer,
    get_vaccine,
    search_manufacturers,
    search_vaccines,
    vaccine_groups,
    vaccines_for_cpt,
)
from carebench.terminology.services import load_cvx, load_mvx, read_cvx_file, read_mvx_file

# As CDC publishes it: a header row, CRLF line ends, CDC's date format, no comments.
CDC_CVX = (
    "cvx_code|short_description|full_vaccine_name|notes|vaccine_status|nonvaccine|"
    "last_updated_date\r\n"
    "03|MMR|measles, mumps and rubella virus vaccine||Active|False|2008/05/28\r\n"
    "187|zoster recombinant|zoster vaccine recombinant||Active|False|2017/10/20\r\n"
    "999|unknown|unknown vaccine or immune globulin|rarely used|Inactive|True|2010/09/30\r\n"
)
CDC_MVX = (
    "mvx_code|manufacturer_name|notes|status|last_updated_date\r\n"
    "SKB|GlaxoSmithKline||Active|2010/05/28\r\n"
    "WAL|Wyeth|acquired by Pfizer|Inactive|2010/05/28\r\n"
)


# --- the pure reader ------------------------------------------------------------------------


def test_cdc_cvx_file_is_read_with_its_header_row_and_dates():
    parsed = cdc.parse_cvx(CDC_CVX)
    assert [r.cvx for r in parsed.rows] == ["03", "187", "999"]
    assert parsed.rows[2].nonvaccine is True
    assert parsed.rows[1].updated == date(2017, 10, 20)
    assert parsed.version("CVX") == "CDC CVX 2017-10-20"


def test_cdc_file_saved_with_bom_and_windows_1252_decodes():
    text = "\ufeff" + CDC_CVX.replace("immune globulin", "immune globulin \u2013 any")
    assert cdc.parse_cvx(cdc.decode(text.encode("utf-8")))
    assert "\u2013" in cdc.parse_cvx(cdc.decode(text[1:].encode("cp1252"))).rows[2].full_name


def test_a_line_with_too_many_fields_names_the_line():
    with pytest.raises(cdc.CdcFileError, match="line 2"):
        cdc.parse_cvx("03|MMR|x||Active|False|\n04|M/R|y||Inactive|False||extra\n")


def test_a_duplicate_cvx_is_refused():
    with pytest.raises(cdc.CdcFileError, match="twice"):
        cdc.parse_cvx("03|MMR|x||Active|False|\n03|MMR|x||Active|False|\n")


def test_shipped_cvx_list_carries_its_date_and_covers_the_routine_groups():
    version, rows = read_cvx_file()
    assert version == "CDC CVX 2025-01-13"
    groups = cdc.read_cvx_groups()
    covered = {g for row in rows for g in groups.get(row.cvx, ())}
    assert covered >= {"FLU", "TDAP", "TD", "DTAP", "MMR", "VZV", "HPV", "HepA", "HepB"}
    assert covered >= {"PNEUMO", "ZOSTER", "COVID-19"}


def test_every_grouped_or_billed_cvx_is_in_the_shipped_list():
    _, rows = read_cvx_file()
    codes = {row.cvx for row in rows}
    assert set(cdc.read_cvx_groups()) <= codes
    assert set(cdc.read_cvx_cpt()) <= codes


def test_shipped_mvx_list_reads():
    version, rows = read_mvx_file()
    assert version == "CDC MVX 2025-01-13"
    assert {"PMC", "MSD", "SKB", "PFR", "SEQ", "MOD", "UNK"} <= {r.mvx for r in rows}


# --- loading --------------------------------------------------------------------------------


def test_shipped_cvx_load_is_idempotent_and_version_stamped(db):
    version, rows = read_cvx_file()
    first = load_cvx(rows, version=version)
    again = load_cvx(rows, version=version)
    assert len(first.created) == len(rows) == VaccineCode.objects.count()
    assert (again.created, again.updated, again.unchanged) == ([], [], len(rows))
    stamp = CodeSetVersion.objects.get(code_set="cvx")
    assert (stamp.version, stamp.row_count) == (version, len(rows))


def test_loaded_vaccine_has_its_groups_and_cpt_codes(db):
    version, rows = read_cvx_file()
    load_cvx(rows, version=version)
    mmrv = get_vaccine("94")
    assert (mmrv.group, mmrv.group_list) == ("MMR", ["MMR", "VZV"])
    assert mmrv.cpt_list == ["90710"]
    assert get_vaccine("3").short_name == "MMR"


def test_cdc_file_updates_a_changed_description_and_keeps_other_codes(db):
    version, rows = read_cvx_file()
    load_cvx(rows, version=version)
    load_cvx(cdc.parse_cvx(CDC_CVX).rows, version="CDC CVX 2017-10-20")
    changed = CDC_CVX.replace(
        "zoster vaccine recombinant", "zoster vaccine recombinant, adjuvanted"
    )
    parsed = cdc.parse_cvx(changed)
    result = load_cvx(parsed.rows, version=parsed.version("CVX"))
    assert result.updated == ["187"]
    assert result.created == []
    assert get_vaccine("187").full_name == "zoster vaccine recombinant, adjuvanted"
    assert get_vaccine("187").group == "ZOSTER"  # groups from the sidecar survive
    assert get_vaccine("21") is not None  # codes missing from the file are kept
    assert CodeSetVersion.objects.get(code_set="cvx").version == "CDC CVX 2017-10-20"


def test_mvx_load_is_idempotent_and_updates_names(db):
    parsed = cdc.parse_mvx(CDC_MVX)
    load_mvx(parsed.rows, version="v1")
    assert load_mvx(parsed.rows, version="v1").unchanged == 2
    renamed = cdc.parse_mvx(CDC_MVX.replace("GlaxoSmithKline|", "GSK plc|"))
    assert load_mvx(renamed.rows, version="v2").updated == ["SKB"]
    assert Manufacturer.objects.get(mvx="SKB").name == "GSK plc"


def test_a_version_label_is_required(db):
    with pytest.raises(ValueError, match="version"):
        load_cvx([], version="")


# --- selectors ------------------------------------------------------------------------------


@pytest.fixture
def vaccines(db):
    version, rows = read_cvx_file()
    load_cvx(rows, version=version)
    version, mvx_rows = read_mvx_file()
    load_mvx(mvx_rows, version=version)


def test_search_vaccines_by_cvx_code(vaccines):
    assert [v.cvx for v in search_vaccines("115")] == ["115"]


def test_search_vaccines_by_cpt_code(vaccines):
    assert [v.cvx for v in search_vaccines("90750")] == ["187"]
    assert sorted(v.cvx for v in vaccines_for_cpt("90662")) == ["135", "197"]


def test_search_vaccines_by_words(vaccines):
    assert "165" in [v.cvx for v in search_vaccines("papillomavirus 9")]


def test_search_vaccines_within_a_group_active_only(vaccines):
    found = search_vaccines(group="ZOSTER", active_only=True)
    assert [v.cvx for v in found] == ["187"]


def test_combination_vaccine_is_found_in_each_of_its_groups(vaccines):
    assert "110" in [v.cvx for v in search_vaccines(group="HepB", limit=100)]
    assert "110" in [v.cvx for v in search_vaccines(group="DTAP", limit=100)]


def test_nonvaccine_codes_are_left_out_unless_asked(vaccines):
    assert search_vaccines("999") == []
    assert [v.cvx for v in search_vaccines("999", include_nonvaccine=True)] == ["999"]


def test_vaccine_groups_lists_the_groups(vaccines):
    assert {"FLU", "COVID-19", "PNEUMO"} <= set(vaccine_groups())


def test_manufacturer_lookup_and_search(vaccines):
    assert get_manufacturer("pmc").name == "sanofi pasteur"
    assert [m.mvx for m in search_manufacturers("merck")] == ["MSD"]
    assert "WAL" not in [m.mvx for m in search_manufacturers()]


# --- the command ----------------------------------------------------------------------------


def test_command_loads_the_shipped_cvx_and_mvx_lists(db):
    out = StringIO()
    call_command("carebench_terminology", "load", "cvx", stdout=out)
    call_command("carebench_terminology", "load", "mvx", stdout=out)
    assert "Loaded CVX CDC CVX 2025-01-13" in out.getvalue()
    assert VaccineCode.objects.filter(status="Active").exists()
    assert Manufacturer.objects.filter(mvx="SEQ").exists()


def test_command_skips_a_version_already_loaded(db):
    call_command("carebench_terminology", "load", "cvx", stdout=StringIO())
    out = StringIO()
    call_command("carebench_terminology", "load", "cvx", stdout=out)
    assert "already loaded" in out.getvalue()


def test_command_loads_cdcs_file(db, tmp_path):
    path = tmp_path / "cvx.txt"
    path.write_bytes(CDC_CVX.encode("utf-8"))
    out = StringIO()
    call_command("carebench_terminology", "load", "cvx", "--file", str(path), stdout=out)
    assert "3 new" in out.getvalue()
    assert get_vaccine("187").updated == date(2017, 10, 20)


def test_command_names_a_bad_file(db, tmp_path):
    path = tmp_path / "cvx.txt"
    path.write_text("03|MMR|x||Active|False|not a date\n")
    with pytest.raises(CommandError, match="line 1"):
        call_command("carebench_terminology", "load", "cvx", "--file", str(path))


def test_command_refuses_file_for_icd10cm(db, tmp_path):
    with pytest.raises(CommandError, match="--file"):
        call_command("carebench_terminology", "load", "icd10cm", "--file", str(tmp_path / "x"))
