"""`carebench x12 ...` on the sample files."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

SAMPLES = Path(__file__).resolve().parent.parent / "x12" / "samples"


def _run(*args: str) -> str:
    out = StringIO()
    call_command("carebench_x12", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_good_837p_passes_our_checks_and_pyx12() -> None:
    out = _run("check", str(SAMPLES / "837p_office_visit.x12"))
    assert "0 problem(s) found by our checks and pyx12" in out


@pytest.mark.django_db
def test_an_837p_with_problems_names_each_and_fails() -> None:
    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command(
            "carebench_x12",
            "check",
            str(SAMPLES / "837p_check_problems.x12"),
            "--no-pyx12",
            stdout=out,
        )
    assert exc.value.code == 1
    text = out.getvalue()
    assert "claim CB0000101, segment 21 (CLM) CLM02" in text
    assert "check digit" in text


@pytest.mark.django_db
def test_billable_codes_are_checked_when_the_code_set_is_loaded(
    tmp_path: Path, icd10: None
) -> None:
    text = (SAMPLES / "837p_office_visit.x12").read_text()
    bad = tmp_path / "claim.x12"
    bad.write_text(text.replace("ABK:J029*ABF:R509", "ABK:E11*ABF:I10"))  # E11: not billable
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("carebench_x12", "check", str(bad), "--no-pyx12", stdout=out)
    assert "E11" in out.getvalue()


@pytest.mark.django_db
def test_a_truncated_file_is_refused_naming_the_segment(tmp_path: Path) -> None:
    text = (SAMPLES / "837p_office_visit.x12").read_text()
    broken = tmp_path / "broken.x12"
    broken.write_text(text[: text.index("IEA")])
    with pytest.raises(CommandError, match=r"segment \d+"):
        _run("check", str(broken), "--no-pyx12")


def test_a_271_reads_in_plain_words() -> None:
    out = _run("read-271", str(SAMPLES / "271-active.x12"))
    assert "Office visit copay $25 in network." in out


def test_a_271_as_json() -> None:
    data = json.loads(_run("read-271", str(SAMPLES / "271-active.x12"), "--json"))
    assert data[0]["status"] == "active"


def test_an_835_lists_payments_and_the_reasons() -> None:
    out = _run("read-835", str(SAMPLES / "835-three-claims.x12"))
    assert "claim CB1003: denied" in out
    assert "CO-16" in out
