"""Our 837P checks (what pyx12 does not check): start from a good file, break one thing each."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from carebench.billing.x12 import synthetic
from carebench.billing.x12.check837 import Problem, check_837p, validate_with_pyx12
from carebench.billing.x12.parse import X12Error, read_interchange
from carebench.billing.x12.write837 import ServiceLine, SubscriberGroup, write_837p

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"
GOOD = write_837p(synthetic.batch())


def written(*claims, **subscriber_changes) -> str:
    group = SubscriberGroup(synthetic.subscriber(**subscriber_changes), claims)
    return write_837p(synthetic.batch([group]))


def edit(text: str, old: str, new: str) -> str:
    """Replace one segment's text (`old` must occur once) and recount SE01."""
    assert text.count(old) == 1, old
    lines = text.replace(old, new).split("~\n")
    lines = [line for line in lines if line]
    start = next(i for i, line in enumerate(lines) if line.startswith("ST*"))
    end = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    control = lines[end].split("*")[2]
    lines[end] = f"SE*{end - start + 1}*{control}"
    return "~\n".join(lines) + "~\n"


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


# --- good files ---------------------------------------------------------------------------------


def test_a_good_file_has_no_problems():
    assert check_837p(GOOD) == []


def test_the_mixed_sample_has_no_problems():
    text = (SAMPLES / "837p_batch_other_delimiters.x12").read_text()
    assert check_837p(text) == []


def test_the_problem_sample_has_one_problem_of_each_kind():
    problems = check_837p((SAMPLES / "837p_check_problems.x12").read_text())
    assert [p.field for p in problems] == ["CLM02", "NM109", "HI02-2", "SV107", "DTP03"]


# --- NPIs ---------------------------------------------------------------------------------------


def test_billing_provider_npi_check_digit():
    text = edit(GOOD, "XX*1234567893", "XX*1234567890")
    problem = only(check_837p(text))
    assert (problem.claim_id, problem.segment, problem.field) == ("", "NM1", "NM109")
    assert "billing provider" in problem.message and "check digit" in problem.message


def test_rendering_provider_npi_check_digit():
    bad = replace(synthetic.RENDERING, npi="1245319590")
    problem = only(check_837p(written(synthetic.office_visit(rendering=bad))))
    assert problem.claim_id == "CB0000001"
    assert "rendering provider" in problem.message


def test_referring_provider_npi_check_digit():
    claim = synthetic.injection_visit()
    claim = replace(claim, referring=replace(claim.referring, npi="1679576723"))
    problem = only(check_837p(written(claim)))
    assert "referring provider" in problem.message


def test_an_npi_that_is_not_ten_digits():
    bad = replace(synthetic.RENDERING, npi="12453195")
    problem = only(check_837p(written(synthetic.office_visit(rendering=bad))))
    assert "10 digits" in problem.message


def test_an_npi_qualifier_without_the_npi():
    problem = only(check_837p(edit(GOOD, "*****XX*1234567893", "*****XX")))
    assert (problem.field, problem.claim_id) == ("NM109", "")


def test_billing_provider_without_an_npi():
    text = edit(GOOD, "*****XX*1234567893", "*****24*123456789")
    problem = only(check_837p(text))
    assert problem.field == "NM108"


# --- diagnoses ----------------------------------------------------------------------------------


def test_a_malformed_icd10_code():
    problem = only(check_837p(written(synthetic.office_visit(diagnoses=("J02.9", "50R9")))))
    assert (problem.segment, problem.field) == ("HI", "HI02-2")
    assert "'50R9' is not an ICD-10-CM code" in problem.message


def test_an_icd10_code_written_with_a_dot():
    text = edit(GOOD, "HI*ABK:J029*ABF:R509", "HI*ABK:J02.9*ABF:R509")
    problem = only(check_837p(text))
    assert problem.field == "HI01-2"
    assert "J029" in problem.fix


def test_a_code_the_callback_says_is_not_billable():
    problem = only(check_837p(GOOD, is_billable=lambda code: code != "J029"))
    assert (problem.field, problem.claim_id) == ("HI01-2", "CB0000001")
    assert "not billable" in problem.message


def test_the_billable_callback_is_asked_once_per_code():
    asked: list[str] = []
    text = write_837p(synthetic.mixed_batch())
    check_837p(text, is_billable=lambda code: asked.append(code) or True)
    his = [s for s in read_interchange(text).segments if s.id == "HI"]
    codes = {hi.components(n)[1] for hi in his for n in range(1, len(hi.elements) + 1)}
    assert sorted(asked) == sorted(codes)


def test_more_than_twelve_diagnoses():
    hi = "HI*ABK:J029*ABF:R509"
    extra = "".join(f"*ABF:{code.replace('.', '')}" for code in synthetic.TWELVE_DIAGNOSES[:11])
    problem = only(check_837p(edit(GOOD, hi, hi + extra)))
    assert (problem.segment, problem.field) == ("HI", "HI")
    assert "13 diagnoses" in problem.message


def test_an_icd9_qualifier():
    problem = only(check_837p(edit(GOOD, "ABF:R509", "BF:R509")))
    assert problem.field == "HI02-1"
    assert "ICD-9" in problem.message


def test_the_principal_diagnosis_must_come_first():
    problem = only(check_837p(edit(GOOD, "HI*ABK:J029*ABF:R509", "HI*ABF:J029*ABK:R509")))
    assert problem.field == "HI01-1"


def test_a_diagnosis_listed_twice():
    problem = only(check_837p(written(synthetic.office_visit(diagnoses=("J02.9", "J02.9")))))
    assert "listed twice" in problem.message


# --- totals and pointers ------------------------------------------------------------------------


def test_claim_total_not_the_sum_of_the_lines():
    problem = only(check_837p(written(synthetic.office_visit(total_charge=Decimal("150")))))
    assert (problem.segment, problem.field) == ("CLM", "CLM02")
    assert "160.50" in problem.fix


def test_a_pointer_to_a_diagnosis_the_claim_does_not_have():
    line = replace(synthetic.office_visit().lines[1], pointers=(3,))
    claim = synthetic.office_visit(lines=(synthetic.office_visit().lines[0], line))
    problem = only(check_837p(written(claim)))
    assert (problem.segment, problem.field) == ("SV1", "SV107")
    assert "points to diagnosis '3', but the claim has 2" in problem.message


def test_more_than_four_pointers():
    diagnoses = synthetic.TWELVE_DIAGNOSES[:5]
    text = written(synthetic.office_visit(diagnoses=diagnoses))
    problem = only(check_837p(edit(text, "UN*1***1:2~", "UN*1***1:2:3:4:5~")))
    assert "5 diagnosis pointers" in problem.message


def test_a_line_without_pointers():
    problem = only(check_837p(edit(GOOD, "SV1*HC:87880*35.5*UN*1***1~", "SV1*HC:87880*35.5*UN*1~")))
    assert problem.field == "SV107"
    assert "points to no diagnosis" in problem.message


def test_a_charge_that_is_not_a_number():
    text = edit(GOOD, "SV1*HC:87880*35.5*", "SV1*HC:87880*35,5*")
    problems = check_837p(text)
    assert [p.field for p in problems] == ["CLM02", "SV102"]


# --- required segments --------------------------------------------------------------------------


def test_a_claim_without_hi():
    problem = only(check_837p(edit(GOOD, "HI*ABK:J029*ABF:R509~\n", "")))
    assert (problem.segment, problem.field) == ("CLM", "HI")


def test_a_claim_without_service_lines():
    start, end = GOOD.index("LX*1~"), GOOD.index("SE*")
    text = edit(GOOD, GOOD[start:end], "")
    problem = only(check_837p(text))
    assert (problem.segment, problem.field) == ("CLM", "LX")


def test_a_line_without_sv1():
    problems = check_837p(edit(GOOD, "SV1*HC:87880*35.5*UN*1***1~\n", ""))
    assert ("LX", "SV1") in [(p.segment, p.field) for p in problems]


def test_a_line_without_a_date_of_service():
    text = edit(GOOD, "REF*6R*CB0000001-2", "REF*6R*CB0000001-2x")
    text = edit(text, "DTP*472*D8*20261120~\nREF*6R*CB0000001-2x", "REF*6R*CB0000001-2")
    problem = only(check_837p(text))
    assert (problem.segment, problem.field) == ("SV1", "DTP*472")


def test_a_subscriber_without_a_claim():
    text = write_837p(synthetic.mixed_batch())
    start = text.index("CLM*CB0000004")
    end = text.index("SE*")
    text = edit(text, text[start:end], "")
    problem = only(check_837p(text))
    assert (problem.segment, problem.field) == ("HL", "CLM")


def test_a_date_that_is_not_a_date():
    text = edit(
        GOOD, "DTP*472*D8*20261120~\nREF*6R*CB0000001-2", "DTP*472*D8*20261131~\nREF*6R*CB0000001-2"
    )
    problem = only(check_837p(text))
    assert (problem.segment, problem.field) == ("DTP", "DTP03")


# --- timely filing ------------------------------------------------------------------------------


def test_a_service_older_than_the_filing_limit():
    problems = check_837p(GOOD, today=date(2027, 12, 1))
    assert [(p.segment, p.field) for p in problems] == [("DTP", "DTP03")] * 2
    assert "past the 365-day filing limit" in problems[0].message


def test_the_filing_limit_is_a_parameter():
    assert check_837p(GOOD, today=date(2027, 1, 20), filing_limit_days=30) != []
    assert check_837p(GOOD, today=date(2027, 1, 20), filing_limit_days=365) == []


def test_timely_filing_counts_to_the_file_date_by_default():
    old = replace(synthetic.office_visit().lines[0], service_date=date(2025, 11, 21))
    problem = only(check_837p(written(synthetic.office_visit(lines=(old,), total_charge=None))))
    assert "366 days old" in problem.message


def test_a_service_date_after_the_file_date():
    later = replace(synthetic.office_visit().lines[0], service_date=date(2026, 12, 1))
    problem = only(check_837p(written(synthetic.office_visit(lines=(later,), total_charge=None))))
    assert "after the file's date" in problem.message


# --- problems and files -------------------------------------------------------------------------


def test_a_problem_names_claim_segment_position_field_and_fix():
    problem = only(check_837p(written(synthetic.office_visit(total_charge=Decimal("1")))))
    assert problem.claim_id == "CB0000001"
    assert problem.position == next(
        i for i, s in enumerate(GOOD.split("~\n"), start=1) if s.startswith("CLM*")
    )
    assert str(problem).startswith(f"claim CB0000001: segment {problem.position} (CLM) CLM02:")
    assert problem.fix


def test_problems_are_in_file_order():
    problems = check_837p((SAMPLES / "837p_check_problems.x12").read_text())
    assert [p.position for p in problems] == sorted(p.position for p in problems)


def test_a_file_without_an_837():
    problem = only(check_837p(edit(GOOD, "ST*837*0001", "ST*270*0001")))
    assert problem.field == "ST01"


def test_an_unreadable_file_raises():
    with pytest.raises(X12Error):
        check_837p(GOOD.replace("IEA*1*000000001~\n", ""))


def test_many_claims_keep_their_own_problems():
    line = ServiceLine(
        code="99213", charge=Decimal(10), service_date=synthetic.SERVICE_DATE, pointers=(2,)
    )
    claims = (
        synthetic.office_visit("A1"),
        synthetic.office_visit("A2", diagnoses=("J02.9",), lines=(line,), total_charge=None),
        synthetic.office_visit("A3"),
    )
    problem = only(check_837p(written(*claims)))
    assert problem.claim_id == "A2"


# --- pyx12 --------------------------------------------------------------------------------------


def test_pyx12_errors_come_back_as_strings_naming_the_segment():
    messages = validate_with_pyx12(
        edit(GOOD, "N4*Springfield*IL*627011234", "N4*Springfield*ILL*627011234")
    )
    assert len(messages) == 1
    assert messages[0].startswith("segment 12 (N402):")


def test_pyx12_on_a_file_that_is_not_x12():
    assert validate_with_pyx12("hello") != []


def test_an_accented_name_someone_else_wrote_is_named_with_its_element() -> None:
    text = write_837p(synthetic.batch()).replace("NM1*IL*1*Sample", "NM1*IL*1*Sámple", 1)
    problems = [p for p in check_837p(text, today=date(2026, 11, 20)) if p.field == "NM103"]
    assert problems and "outside X12's character set" in problems[0].message
