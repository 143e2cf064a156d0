"""The 999 and 277CA readers (pure): accepted and rejected samples, plain words, malformed
files. No database."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from carebench.billing.x12.ack import read_277ca, read_999
from carebench.billing.x12.check837 import validate_with_pyx12
from carebench.billing.x12.parse import X12Error

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"
ACCEPTED_999 = (SAMPLES / "999-accepted.x12").read_text()
REJECTED_999 = (SAMPLES / "999-rejected.x12").read_text()
ACCEPTED_277 = (SAMPLES / "277ca-accepted.x12").read_text()
REJECTED_277 = (SAMPLES / "277ca-rejected.x12").read_text()


def _recount(text: str) -> str:
    """SE01 recounted after segments were added or removed (one segment per line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ST*"))
    end = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    lines[end] = re.sub(r"^SE\*\d+", f"SE*{end - start + 1}", lines[end])
    return "\n".join(lines) + "\n"


def _position(text: str, segment_start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(segment_start))


@pytest.mark.parametrize(
    "name", ["999-accepted.x12", "999-rejected.x12", "277ca-accepted.x12", "277ca-rejected.x12"]
)
def test_samples_pass_pyx12(name):
    assert validate_with_pyx12((SAMPLES / name).read_text()) == []


# --- 999 ----------------------------------------------------------------------------------------


def test_999_accepted():
    [ack] = read_999(ACCEPTED_999)
    assert ack.accepted
    assert (ack.functional_id, ack.group_control_number, ack.version) == (
        "HC",
        "301",
        "005010X222A1",
    )
    assert (ack.transactions_included, ack.transactions_received, ack.transactions_accepted) == (
        1,
        1,
        1,
    )
    [transaction] = ack.transactions
    assert (transaction.transaction_type, transaction.control_number) == ("837", "0001")
    assert transaction.accepted
    assert transaction.segment_errors == ()


def test_999_rejected_group_and_transaction():
    [ack] = read_999(REJECTED_999)
    assert not ack.accepted
    assert ack.status == "rejected"
    assert ack.transactions_accepted == 0
    [transaction] = ack.transactions
    assert not transaction.accepted
    assert transaction.errors == ("5",)
    assert transaction.error_meanings == ("One or more segments are in error.",)


def test_999_segment_and_element_errors():
    [ack] = read_999(REJECTED_999)
    nm1, dmg = ack.transactions[0].segment_errors
    assert (nm1.segment_id, nm1.position, nm1.loop, nm1.code, nm1.claim_id) == (
        "NM1", 18, "2010", "8", "CB1003",
    )  # fmt: skip
    [missing] = nm1.elements
    assert (missing.position, missing.element_reference, missing.code) == (9, "67", "1")
    assert missing.meaning == "A required data element is missing."
    [bad_date] = dmg.elements
    assert (bad_date.code, bad_date.bad_value) == ("8", "19801302")


def test_999_describe_in_plain_words():
    [ack] = read_999(REJECTED_999)
    lines = ack.describe()
    assert lines[0] == "Group 302 (HC): rejected; 0 of 1 transaction sets accepted."
    assert "NM109 (data element 67): A required data element is missing." in lines
    assert "DMG02 (data element 1251): An invalid date. Sent: '19801302'." in lines


def test_999_unknown_codes_say_so():
    text = REJECTED_999.replace("IK3*NM1*18*2010*8~", "IK3*NM1*18*2010*Z9~")
    [ack] = read_999(text.replace("IK4*9*67*1~", "IK4*9*67*Q1~"))
    nm1 = ack.transactions[0].segment_errors[0]
    assert nm1.meaning == "unknown code Z9"
    assert nm1.elements[0].meaning == "unknown code Q1"


def test_999_element_error_without_segment_error_is_refused():
    text = _recount(ACCEPTED_999.replace("IK5*A~", "IK4*1*1*1~\nIK5*A~"))
    with pytest.raises(X12Error, match="IK4 without an IK3") as caught:
        read_999(text)
    assert (caught.value.segment, caught.value.position) == ("IK4", _position(text, "IK4"))


def test_999_non_numeric_count_names_segment():
    text = ACCEPTED_999.replace("AK9*A*1*1*1~", "AK9*A*1*one*1~")
    with pytest.raises(X12Error, match="AK903") as caught:
        read_999(text)
    assert (caught.value.segment, caught.value.position) == ("AK9", _position(text, "AK9"))


def test_999_reader_refuses_a_277():
    with pytest.raises(X12Error, match="takes a 999"):
        read_999(ACCEPTED_277)


# --- 277CA --------------------------------------------------------------------------------------


def test_277ca_accepted_claims():
    claims = read_277ca(ACCEPTED_277)
    assert [c.claim_id for c in claims] == ["CB1001", "CB1002"]
    assert all(c.accepted and not c.rejected for c in claims)


def test_277ca_claim_details():
    first = read_277ca(ACCEPTED_277)[0]
    assert first.payer_claim_control_number == "94060555410001"
    assert first.clearinghouse_trace == "CH7781001"
    assert (first.payer_name, first.provider_npi) == ("ACME HEALTH PLAN", "1234567893")
    assert (first.patient_name, first.member_id) == ("RIVERA, ANA", "W123456789")
    assert first.service_date == date(2026, 11, 1)
    [status] = first.statuses
    assert (status.category, status.code, status.entity, status.action) == ("A2", "20", "PR", "WQ")
    assert status.effective_date == date(2026, 11, 21)


def test_277ca_rejected_claim():
    [claim] = read_277ca(REJECTED_277)
    assert claim.claim_id == "CB1003"
    assert claim.rejected and not claim.accepted
    [status] = claim.statuses
    assert status.describe() == (
        "Rejected for invalid information (A7:562:82): The entity's National Provider "
        "Identifier (NPI); about the rendering provider."
    )


def test_277ca_line_status():
    [claim] = read_277ca(REJECTED_277)
    [line] = claim.lines
    assert (line.procedure, line.control_number) == ("HC:99213", "CB1003-1")
    assert line.rejected
    assert line.statuses[0].category == "A3"


def test_277ca_provider_level_status_is_kept():
    [claim] = read_277ca(REJECTED_277)
    assert [s.composite for s in claim.provider_statuses] == ["A1:19:PR"]


def test_277ca_unknown_category_says_so():
    [claim] = read_277ca(REJECTED_277.replace("STC*A7:562:82*", "STC*Q9:9999:82*"))
    assert claim.statuses[0].category_meaning == "unknown code Q9"
    assert claim.statuses[0].code_meaning == "unknown code 9999"


def test_277ca_empty_status_category_names_segment():
    text = REJECTED_277.replace("STC*A7:562:82*", "STC*:562:82*")
    with pytest.raises(X12Error, match="STC01-1") as caught:
        read_277ca(text)
    assert caught.value.position == _position(text, "STC*:562")


def test_277ca_claim_without_status_is_refused():
    text = _recount(REJECTED_277.replace("STC*A7:562:82*20261121*U*150~\n", ""))
    text = _recount(text.replace("SVC*HC:99213*150*****1~\nSTC*A3:21:82*20261121*U~\n", ""))
    with pytest.raises(X12Error, match="claim CB1003 has no STC"):
        read_277ca(text)


def test_277ca_reader_refuses_a_999():
    with pytest.raises(X12Error, match="takes a 277"):
        read_277ca(ACCEPTED_999)
