"""The X12 reader: delimiters from the ISA, segments and envelopes, and every refusal naming the
segment and its position."""

from __future__ import annotations

from pathlib import Path

import pytest

from carebench.billing.x12.parse import Delimiters, Segment, X12Error, read_interchange

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"
OFFICE_VISIT = (SAMPLES / "837p_office_visit.x12").read_text()
OTHER_DELIMITERS = (SAMPLES / "837p_batch_other_delimiters.x12").read_text()


def segments(text: str = OFFICE_VISIT) -> list[str]:
    """The sample's segments as strings (it is written with ~ and a line break)."""
    return text.rstrip("\n").rstrip("~").split("~\n")


def join(parts: list[str]) -> str:
    return "~\n".join(parts) + "~\n"


def position_of(parts: list[str], prefix: str) -> int:
    return next(i for i, s in enumerate(parts, start=1) if s.startswith(prefix))


def refusal(parts: list[str]) -> X12Error:
    with pytest.raises(X12Error) as caught:
        read_interchange(join(parts))
    return caught.value


# --- reading ------------------------------------------------------------------------------------


def test_reads_the_envelopes_and_transaction():
    interchange = read_interchange(OFFICE_VISIT)
    assert interchange.isa.id == "ISA"
    assert interchange.control_number == "000000001"
    assert [g.functional_id for g in interchange.groups] == ["HC"]
    (transaction,) = interchange.groups[0].transactions
    assert transaction.type == "837"
    assert transaction.segments[0].id == "ST" and transaction.segments[-1].id == "SE"
    assert len(transaction.segments) == int(transaction.segments[-1].element(1))


def test_positions_are_segment_numbers_in_the_file():
    interchange = read_interchange(OFFICE_VISIT)
    assert [s.position for s in interchange.segments] == list(range(1, len(segments()) + 1))
    clm = next(s for s in interchange.segments if s.id == "CLM")
    assert clm.position == position_of(segments(), "CLM*")


def test_element_is_one_based_and_empty_when_absent():
    clm = next(s for s in read_interchange(OFFICE_VISIT).segments if s.id == "CLM")
    assert clm.element(1) == clm.elements[0] == "CB0000001"
    assert clm.element(2) == "160.5"
    assert clm.element(40) == ""
    assert clm.element(0) == ""


def test_components_split_a_composite():
    sv1 = next(s for s in read_interchange(OFFICE_VISIT).segments if s.id == "SV1")
    assert sv1.components(1) == ("HC", "99213", "25")
    assert sv1.components(7) == ("1", "2")
    assert sv1.components(6) == ()


def test_reads_the_delimiters_from_the_isa():
    assert read_interchange(OFFICE_VISIT).delimiters == Delimiters("*", ":", "^", "~")
    assert read_interchange(OTHER_DELIMITERS).delimiters == Delimiters("|", ">", "!", "\n")


def test_other_delimiters_give_the_same_segments():
    other = read_interchange(OTHER_DELIMITERS)
    standard = read_interchange(
        OTHER_DELIMITERS.replace("\n", "~").translate(str.maketrans("|>!", "*:^"))
    )
    assert [split(s) for s in other.segments[1:]] == [split(s) for s in standard.segments[1:]]


def split(segment: Segment) -> tuple[str, tuple[tuple[str, ...], ...]]:
    """A segment's id and every element's components: the same whatever the delimiters."""
    return segment.id, tuple(segment.components(n) for n in range(1, len(segment.elements) + 1))


def test_reads_with_or_without_line_breaks():
    one_line = OFFICE_VISIT.replace("~\n", "~")
    crlf = OFFICE_VISIT.replace("~\n", "~\r\n")
    expected = [(s.id, s.elements) for s in read_interchange(OFFICE_VISIT).segments]
    assert [(s.id, s.elements) for s in read_interchange(one_line).segments] == expected
    assert [(s.id, s.elements) for s in read_interchange(crlf).segments] == expected


def test_reads_bytes():
    assert len(read_interchange(OFFICE_VISIT.encode()).segments) == len(segments())


def test_segments_built_by_hand_work_like_read_ones():
    made = Segment("SV1", ("HC:99213:25", "125"), 7)
    assert made.components(1) == ("HC", "99213", "25")
    assert made.element(2) == "125"


def test_x12_error_says_segment_position_and_why():
    error = X12Error("CLM", 14, "CLM02 must be a number")
    assert str(error) == "segment 14 (CLM): CLM02 must be a number"
    assert (error.segment, error.position, error.message) == ("CLM", 14, "CLM02 must be a number")
    assert isinstance(error, ValueError)


# --- refusals -----------------------------------------------------------------------------------


def test_refuses_text_not_starting_with_isa():
    with pytest.raises(X12Error) as caught:
        read_interchange("MSH|^~\\&|LAB\r")
    assert (caught.value.segment, caught.value.position) == ("ISA", 1)
    assert "starts with ISA" in caught.value.message


def test_refuses_an_isa_that_is_not_106_characters():
    parts = segments()
    parts[0] = parts[0].replace("*ZZ*CAREBENCH      *", "*ZZ*CAREBENCH     *")  # ISA06 short
    error = refusal(parts)
    assert (error.segment, error.position) == ("ISA", 1)
    assert "105 characters" in error.message and "106" in error.message
    assert "ISA06" in error.message


def test_refuses_a_truncated_interchange():
    parts = segments()
    cut = position_of(parts, "CLM*")
    error = refusal(parts[:cut])
    assert error.position == cut + 1
    assert "truncated" in error.message


def test_refuses_an_interchange_without_iea():
    parts = segments()[:-1]
    error = refusal(parts)
    assert (error.segment, error.position) == ("IEA", len(parts) + 1)
    assert "truncated" in error.message and "no IEA" in error.message


def test_refuses_a_wrong_group_count_in_iea01():
    parts = segments()
    parts[-1] = "IEA*2*000000001"
    error = refusal(parts)
    assert (error.segment, error.position) == ("IEA", len(parts))
    assert "IEA01 says 2 functional groups, the interchange has 1" in error.message


def test_refuses_iea02_not_matching_isa13():
    parts = segments()
    parts[-1] = "IEA*1*000000002"
    error = refusal(parts)
    assert (error.segment, error.position) == ("IEA", len(parts))
    assert "ISA13" in error.message


def test_refuses_a_wrong_transaction_count_in_ge01():
    parts = segments()
    at = position_of(parts, "GE*")
    parts[at - 1] = "GE*3*1"
    error = refusal(parts)
    assert (error.segment, error.position) == ("GE", at)
    assert "GE01 says 3 transaction sets, the group has 1" in error.message


def test_refuses_ge02_not_matching_gs06():
    parts = segments()
    at = position_of(parts, "GE*")
    parts[at - 1] = "GE*1*7"
    error = refusal(parts)
    assert (error.segment, error.position) == ("GE", at)
    assert "GS06" in error.message


def test_refuses_a_wrong_segment_count_in_se01():
    parts = segments()
    at = position_of(parts, "SE*")
    del parts[position_of(parts, "REF*6R") - 1]  # one segment fewer than SE01 says
    error = refusal(parts)
    assert (error.segment, error.position) == ("SE", at - 1)
    assert "SE01 says" in error.message


def test_refuses_se02_not_matching_st02():
    parts = segments()
    at = position_of(parts, "SE*")
    count = parts[at - 1].split("*")[1]
    parts[at - 1] = f"SE*{count}*0002"
    error = refusal(parts)
    assert (error.segment, error.position) == ("SE", at)
    assert "ST02" in error.message


def test_refuses_a_segment_outside_a_transaction():
    parts = segments()
    at = position_of(parts, "GE*")
    parts.insert(at - 1, "REF*EI*123456789")
    error = refusal(parts)
    assert (error.segment, error.position) == ("REF", at)
    assert "outside a transaction set" in error.message


def test_refuses_an_empty_segment_id():
    parts = segments()
    at = position_of(parts, "CLM*")
    parts.insert(at - 1, "")
    error = refusal(parts)
    assert (error.segment, error.position) == ("", at)
    assert "empty segment id" in error.message


def test_refuses_a_lower_case_segment_id():
    parts = segments()
    at = position_of(parts, "CLM*")
    parts[at - 1] = "clm" + parts[at - 1][3:]
    error = refusal(parts)
    assert (error.segment, error.position) == ("clm", at)
    assert "2-3 uppercase" in error.message


def test_refuses_a_four_letter_segment_id():
    parts = segments()
    at = position_of(parts, "CLM*")
    parts[at - 1] = "CLMX" + parts[at - 1][3:]
    error = refusal(parts)
    assert (error.segment, error.position) == ("CLMX", at)


def test_refuses_a_count_that_is_not_a_number():
    parts = segments()
    at = position_of(parts, "SE*")
    parts[at - 1] = "SE*many*0001"
    error = refusal(parts)
    assert (error.segment, error.position) == ("SE", at)
    assert "must be a number" in error.message


def test_refuses_data_after_the_iea():
    parts = [*segments(), "ST*837*0002"]
    error = refusal(parts)
    assert (error.segment, error.position) == ("ST", len(parts))
    assert "after the IEA" in error.message


def test_refuses_a_transaction_left_open_at_the_ge():
    parts = segments()
    del parts[position_of(parts, "SE*") - 1]
    error = refusal(parts)
    assert error.segment == "GE"
    assert "SE is missing" in error.message
