"""The pure HL7 engines: the ORM builder and ACKs (validated strictly by hl7apy), escaping, the
ORU reader (checked against python-hl7) and its errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carebench.labs.hl7 import ack, build, parse
from carebench.labs.hl7.escape import clean, escape, unescape

from .hl7_helpers import assert_strictly_valid, sample, strict_errors

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
VALUES = {"placer": "L000042", "mrn": "100042", "family": "Rivera", "given": "Ana"}
GOOD = ["oru_cbc.hl7", "oru_cmp_critical.hl7", "oru_corrected.hl7", "oru_unknown_placer.hl7"]


def _order(**overrides) -> build.OrderMessage:
    values = {
        "control_id": "L000042",
        "sent_at": NOW,
        "sender": build.Endpoint("CAREBENCH", "main-street"),
        "receiver": build.Endpoint("LAB", "Quest"),
        "patient": build.PatientInfo(
            mrn="100042",
            family_name="Rivera",
            given_name="Ana",
            birth_date=date(1970, 1, 2),
            sex="female",
            assigning_authority="main-street",
            address_line1="12 Elm St",
            city="Austin",
            state="TX",
            postal_code="78701",
            phone="5125550100",
        ),
        "placer_number": "L000042",
        "ordered_at": NOW,
        "provider": build.ProviderInfo("1234567893", "Okafor", "Grace"),
        "tests": [
            build.TestInfo("CBC", "CBC with differential", "58410-2", "whole blood", "Lavender"),
            build.TestInfo("VITD", "Vitamin D, 25-hydroxy", "", "serum", "Gold SST"),
        ],
        "diagnoses": [build.Diagnosis("E11.9", "Type 2 diabetes mellitus")],
    }
    values.update(overrides)
    return build.OrderMessage(**values)


# --- building -----------------------------------------------------------------------------------


def test_orm_segments():
    text = build.build_orm(_order(stat=True))
    lines = text.split("\r")
    assert lines[0] == (
        "MSH|^~\\&|CAREBENCH|main-street|LAB|Quest|20250314093000-0500||ORM^O01^ORM_O01|L000042|P|2.5.1"
    )
    assert lines[1].startswith("PID|1||100042^^^main-street^MR||Rivera^Ana||19700102|F")
    assert lines[2] == "PV1|1|O"
    assert [line[:3] for line in lines if line] == [
        "MSH", "PID", "PV1", "ORC", "OBR", "DG1", "ORC", "OBR", "DG1",
    ]  # fmt: skip
    assert "|58410-2^CBC with differential^LN^CBC^CBC with differential^L|" in text
    assert "|VITD^Vitamin D, 25-hydroxy^L|" in text  # no LOINC: the local code
    assert (
        "ORC|NW|L000042^CAREBENCH|||||^^^^^S||20250314093000-0500|||1234567893^Okafor^Grace" in text
    )
    assert "DG1|1||E11.9^Type 2 diabetes mellitus^I10|||W" in text
    assert_strictly_valid(text)


def test_orm_without_optional_data_validates():
    patient = build.PatientInfo("9", "Lee", "Bo", date(2001, 12, 31), "unknown")
    text = build.build_orm(_order(patient=patient, diagnoses=[], note="", stat=False))
    assert "|^^^^^R|" in text
    assert_strictly_valid(text)


name_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=60
).filter(lambda text: clean(text) != "")  # a patient always has a name (PID-5 is required)


@settings(max_examples=25, deadline=None)
@given(family=name_text, given_name=name_text, note=name_text, test_name=name_text)
def test_any_text_is_escaped_and_the_orm_stays_valid(family, given_name, note, test_name):
    patient = build.PatientInfo("100042", family, given_name, date(1970, 1, 2), "male")
    tests = [build.TestInfo("CBC", test_name, "58410-2")]
    text = build.build_orm(_order(patient=patient, tests=tests, note=note))
    segments = [line for line in text.split("\r") if line]
    assert len(segments) == 7  # no delimiter in the text made a new segment
    assert all(line.count("|") <= 40 for line in segments)
    pid = [line for line in segments if line.startswith("PID")][0]
    assert unescape(pid.split("|")[5].split("^")[0]) == " ".join(clean(family)[:199].split())
    assert not strict_errors(text)


@given(st.text(max_size=80))
def test_escape_round_trip(text):
    assert unescape(escape(text)) == clean(text)
    assert not set(escape(text)) & set("|^~&\r\n")


def test_escape_sequences():
    assert escape("a|b^c&d~e\\f") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f"
    assert unescape("line\\.br\\two \\H\\bold\\N\\") == "line\ntwo bold"


@pytest.mark.parametrize("code", ["AA", "AE", "AR"])
def test_acks_validate_strictly(code):
    error = None if code == "AA" else ack.ErrorLocation("OBX", 3, 5, code="102", reason="a|b")
    text = ack.build_ack(
        ack.AckInfo(
            code=code,
            acknowledged_id="Q123",
            sender=build.Endpoint("CAREBENCH", "main-street"),
            receiver=build.Endpoint("LABSYS", "QUESTLAB"),
            sent_at=NOW,
            error=error,
        )
    )
    assert text.split("\r")[1] == f"MSA|{code}|Q123"
    if error:
        assert "ERR||OBX^3^5|102^Data type error^HL70357|E||||OBX-5 (segment 3): a\\F\\b" in text
    assert_strictly_valid(text)


def test_ack_for_a_message_without_control_id_validates():
    text = ack.build_ack(
        ack.AckInfo(
            code="AR",
            acknowledged_id="",
            sender=build.Endpoint("CAREBENCH"),
            receiver=build.Endpoint(""),
            sent_at=NOW,
            trigger="",
            error=ack.ErrorLocation("MSH", 1, 0, code="100", reason="no MSH"),
        )
    )
    assert "MSA|AR|UNKNOWN" in text
    assert_strictly_valid(text)


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GOOD)
def test_our_reader_agrees_with_python_hl7(name):
    text = parse.normalize(sample(name, **VALUES, accession="S000007"))
    ours = parse.parse_oru(text)
    theirs = hl7.parse(text)
    assert ours.header.control_id == str(theirs.segment("MSH")[10])
    assert ours.mrn == theirs.extract_field("PID", 1, 3, 1, 1)
    obr = theirs.segment("OBR")
    assert ours.orders[0].filler_number == theirs.unescape(str(obr[3][0][0]))
    obx_segments = theirs.segments("OBX")
    assert len(ours.observations) == len(obx_segments)
    for obs, seg in zip(ours.observations, obx_segments, strict=True):

        def field(number: int, component: int = 1, seg=seg) -> str:
            return seg.extract_field(1, number, 1, component)

        assert obs.code == field(3)
        assert obs.unit == field(6)
        assert obs.reference_range == field(7)
        assert obs.flag == field(8)
        if obs.value is not None:
            assert obs.value == Decimal(field(5, 2) if obs.value_type == "SN" else field(5))
        else:
            assert obs.text == field(5)


def test_reader_details():
    message = parse.parse_oru(sample("oru_cbc.hl7", **VALUES, accession="S000007"))
    assert message.header.type_name == "ORU^R01"
    assert message.mrn == "100042"
    assert [p.type_code for p in message.patient_ids] == ["MR", "PI"]
    assert (message.placer_number, message.filler_number) == ("L000042", "Q7001234")
    group = message.orders[0]
    assert (group.service_code, group.specimen_id) == ("58410-2", "S000007")
    first = message.observations[0]
    assert first.observed_at == datetime(2025, 3, 14, 8, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert first.performing_lab == "Quest Diagnostics"
    assert message.observations[-1].notes == ("Platelet count verified by smear review.",)


def test_split_messages_on_msh():
    one = sample("oru_cbc.hl7", **VALUES, accession="S1")
    two = sample("oru_corrected.hl7", **VALUES)
    text = "FHS|^~\\&\n" + one.replace("\r", "\r\n") + "\n\n" + two + "FTS|1\n"
    parts = parse.split_messages(text)
    assert len(parts) == 2
    assert parse.parse_oru(parts[1]).header.control_id == "Q2025031500007"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2025", datetime(2025, 1, 1)),
        ("202503141530", datetime(2025, 3, 14, 15, 30)),
        ("20250314153045.12+0000", datetime(2025, 3, 14, 15, 30, 45, 120000, tzinfo=UTC)),
    ],
)
def test_timestamps(value, expected):
    assert parse.parse_timestamp(value) == expected


@pytest.mark.parametrize("value", ["2025-03-14", "20251314", "20250314+2500", "x"])
def test_bad_timestamps(value):
    with pytest.raises(ValueError):
        parse.parse_timestamp(value)


def _broken(name: str, old: str, new: str) -> parse.ParseError:
    text = sample(name, **VALUES, accession="S1").replace(old, new)
    with pytest.raises(parse.ParseError) as caught:
        parse.parse_oru(text)
    return caught.value


@pytest.mark.parametrize(
    "old,new,where,code,ack_code",
    [
        ("|ORU^R01^ORU_R01|", "|ORU^R03^ORU_R01|", ("MSH", 1, 9), "201", "AR"),
        ("|Q2025031400001|", "||", ("MSH", 1, 10), "101", "AR"),
        ("|P|2.5.1", "|X|2.5.1", ("MSH", 1, 11), "202", "AR"),
        ("|P|2.5.1", "|P|3.0", ("MSH", 1, 12), "203", "AR"),
        ("|7.2|10*3/uL", "|7,2|10*3/uL", ("OBX", 1, 5), "102", "AE"),
        ("||4.61|", "|||", ("OBX", 2, 5), "101", "AE"),
        ("OBX|3|NM|", "OBX|3|XX|", ("OBX", 3, 2), "103", "AE"),
        ("|L|||F|", "|L|||X|", ("OBX", 3, 11), "103", "AE"),
        (
            "|||F|||20250314083000-0500|||||||||",
            "|||F|||2025031408300|||||||||",
            ("OBX", 1, 14),
            "102",
            "AE",
        ),  # fmt: skip
        (
            "PID|1||100042^^^CAREBENCH^MR~778899^^^QUESTLAB^PI|",
            "PID|1|||",
            ("PID", 1, 3),
            "101",
            "AE",
        ),  # fmt: skip
        ("ORC|RE|L000042^CAREBENCH|Q7001234^QUESTLAB|", "ORC|RE|||", ("OBR", 1, 2), "101", "AE"),
    ],
)
def test_parse_errors_name_segment_and_field(old, new, where, code, ack_code):
    if old.startswith("ORC|"):  # no placer or filler number anywhere
        old, new = "L000042^CAREBENCH|Q7001234^QUESTLAB|", "||"
    error = _broken("oru_cbc.hl7", old, new)
    loc = error.location
    assert (loc.segment, loc.sequence, loc.field) == where
    assert loc.code == code
    assert error.ack_code == ack_code


def test_no_obx_at_all():
    text = "\r".join(
        line
        for line in sample("oru_unknown_placer.hl7", **VALUES).split("\r")
        if not line.startswith("OBX")
    )
    with pytest.raises(parse.ParseError) as caught:
        parse.parse_oru(text)
    assert caught.value.location.segment == "OBX"


def test_garbage_is_rejected():
    with pytest.raises(parse.ParseError) as caught:
        parse.parse_oru(b"\x00\x01 hello")
    assert caught.value.ack_code == "AR"
    assert parse.read_header("hello").control_id == ""
