"""Eligibility (pure): the 270 writer and the 271 reader, its plain-words summary and JSON.
No database."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from carebench.billing.x12 import codes
from carebench.billing.x12.elig import (
    Dependent,
    EligibilityRequest,
    read_271,
    to_json,
    write_270,
)
from carebench.billing.x12.parse import X12Error, read_interchange
from carebench.billing.x12.pyx12_check import validate_x12_with_pyx12

SAMPLES = Path(__file__).resolve().parents[1] / "x12" / "samples"
ACTIVE = (SAMPLES / "271-active.x12").read_text()
REJECTED = (SAMPLES / "271-rejected-72.x12").read_text()

REQUEST = EligibilityRequest(
    sender_id="MAINSTCLINIC",
    receiver_id="ACMEHEALTH",
    interchange_control=811,
    created_at=datetime(2026, 11, 23, 9, 0),
    payer_name="Acme Health Plan",
    payer_id="60054",
    provider_npi="1234567893",
    provider_name="Main Street Family Clinic",
    member_id="W123456789",
    subscriber_last_name="Rivera",
    subscriber_first_name="Ana",
    birth_date=date(1980, 1, 2),
    sex="female",
    service_date=date(2026, 11, 24),
    service_types=("30", "98"),
    trace_number="ELIG-4101",
    originator_id="9123456789",
)


# The same subscriber asked about her daughter (2000D/2100D).
CHILD = replace(
    REQUEST,
    interchange_control=813,
    trace_number="ELIG-4103",
    dependent=Dependent("Rivera", "Lucia", "19", birth_date=date(2015, 6, 6), sex="F"),
)


def _recount(text: str) -> str:
    """SE01 recounted after segments were added or removed (one segment per line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ST*"))
    end = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    lines[end] = re.sub(r"^SE\*\d+", f"SE*{end - start + 1}", lines[end])
    return "\n".join(lines) + "\n"


def _segments(text: str) -> list[str]:
    return [str(s) for s in read_interchange(text).segments]


def _body(text: str, start: str, end: str = "SE*") -> str:
    """ACTIVE with the segments from the first one starting with `start` up to `end` replaced."""
    lines = ACTIVE.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i, line in enumerate(lines) if line.startswith(end))
    return _recount("\n".join(lines[:first] + text.strip().splitlines() + lines[last:]))


# --- the 270 ------------------------------------------------------------------------------------


def test_270_matches_the_sample():
    assert write_270(REQUEST) == (SAMPLES / "270-rivera.x12").read_text()


def test_270_reads_back_as_one_270():
    interchange = read_interchange(write_270(REQUEST))
    [transaction] = interchange.transactions
    assert transaction.type == "270"
    assert transaction.version == "005010X279A1"
    assert interchange.groups[0].functional_id == "HS"


def test_270_asks_about_the_visit_date():
    assert "DTP*291*D8*20261124" in _segments(write_270(REQUEST))


def test_270_service_date_defaults_to_the_request_day():
    text = write_270(replace(REQUEST, service_date=None))
    assert "DTP*291*D8*20261123" in _segments(text)


def test_270_one_eq_per_service_type():
    segments = _segments(write_270(replace(REQUEST, service_types=("30", "98", "UC"))))
    assert [s for s in segments if s.startswith("EQ")] == ["EQ*30", "EQ*98", "EQ*UC"]


def test_270_cleans_delimiters_out_of_names():
    text = write_270(replace(REQUEST, subscriber_last_name="O*Brien~"))
    assert "NM1*IL*1*O BRIEN*ANA****MI*W123456789" in _segments(text)


def test_270_person_provider_and_taxonomy():
    request = replace(
        REQUEST, provider_name="Patel", provider_first_name="Priya", provider_taxonomy="207Q00000X"
    )
    segments = _segments(write_270(request))
    assert "NM1*1P*1*PATEL*PRIYA****XX*1234567893" in segments
    assert "PRV*PE*PXC*207Q00000X" in segments


def test_270_batch_has_one_transaction_set_per_request():
    second = replace(REQUEST, member_id="W555000111", trace_number="ELIG-4102")
    interchange = read_interchange(write_270([REQUEST, second]))
    assert [t.control_number for t in interchange.transactions] == ["0001", "0002"]


def test_270_refuses_a_bad_npi_naming_the_field():
    with pytest.raises(ValueError, match="provider_npi: the NPI's check digit"):
        write_270(replace(REQUEST, provider_npi="1234567890"))


def test_270_refuses_an_unknown_service_type():
    with pytest.raises(ValueError, match="service_types: 'Q7'"):
        write_270(replace(REQUEST, service_types=("Q7",)))


def test_270_needs_a_member_id_or_birth_date():
    with pytest.raises(ValueError, match="member_id"):
        write_270(replace(REQUEST, member_id="", birth_date=None))


def test_270_batch_refuses_mixed_envelopes():
    with pytest.raises(ValueError, match="request 2: the sender"):
        write_270([REQUEST, replace(REQUEST, interchange_control=812)])


# --- the 270 for a dependent ---------------------------------------------------------------------


def _loops(text: str) -> dict[str, list[str]]:
    """The 270's segments after each HL, by the HL's level code (20, 21, 22, 23)."""
    loops: dict[str, list[str]] = {}
    current: list[str] = []
    for segment in read_interchange(text).transactions[0].body:
        if segment.id == "HL":
            current = loops.setdefault(segment.element(3), [])
        current.append(str(segment))
    return loops


def test_dependent_270_matches_the_sample():
    assert write_270(CHILD) == (SAMPLES / "270-rivera-child.x12").read_text()


def test_dependent_270_hierarchy_puts_the_dependent_under_the_subscriber():
    hls = [s for s in _segments(write_270(CHILD)) if s.startswith("HL*")]
    assert hls == ["HL*1**20*1", "HL*2*1*21*1", "HL*3*2*22*1", "HL*4*3*23*0"]


def test_dependent_270_subscriber_loop_names_the_member_and_asks_nothing():
    assert _loops(write_270(CHILD))["22"] == [
        "HL*3*2*22*1",
        "NM1*IL*1*RIVERA*ANA****MI*W123456789",
        "DMG*D8*19800102*F",
    ]


def test_dependent_270_dependent_loop_has_trace_name_birth_relationship_and_question():
    assert _loops(write_270(CHILD))["23"] == [
        "HL*4*3*23*0",
        "TRN*1*ELIG-4103*9123456789",
        "NM1*03*1*RIVERA*LUCIA",
        "DMG*D8*20150606*F",
        "INS*N*19",
        "DTP*291*D8*20261124",
        "EQ*30",
        "EQ*98",
    ]


def test_dependent_270_spouse_and_other_adult_codes():
    for code in ("01", "34"):
        dependent = replace(CHILD.dependent, relationship=code)
        assert f"INS*N*{code}" in _segments(write_270(replace(CHILD, dependent=dependent)))


def test_dependent_270_refuses_a_relationship_the_guide_does_not_take():
    dependent = replace(CHILD.dependent, relationship="18")
    with pytest.raises(ValueError, match="dependent relationship: 01 .* not '18'"):
        write_270(replace(CHILD, dependent=dependent))


def test_dependent_270_needs_the_dependents_names():
    with pytest.raises(ValueError, match="dependent name: the last and first names"):
        write_270(replace(CHILD, dependent=replace(CHILD.dependent, first_name=" ")))


def test_dependent_270_refuses_a_dependent_born_after_the_visit():
    dependent = replace(CHILD.dependent, birth_date=date(2027, 1, 1))
    with pytest.raises(ValueError, match="dependent birth_date: after the date of service"):
        write_270(replace(CHILD, dependent=dependent))


def test_unknown_sex_is_left_out_of_dmg03():
    assert "DMG*D8*19800102" in _segments(write_270(replace(REQUEST, sex="U")))


# --- pyx12 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "requests",
    [
        pytest.param([REQUEST], id="self"),
        pytest.param([CHILD], id="dependent"),
        pytest.param(
            [
                replace(
                    CHILD,
                    dependent=replace(CHILD.dependent, relationship="01", birth_date=None, sex=""),
                )
            ],
            id="spouse-without-birth-date",
        ),  # fmt: skip
        pytest.param([replace(REQUEST, member_id="", birth_date=date(1980, 1, 2))], id="no-id"),
        pytest.param(
            [
                replace(
                    REQUEST,
                    provider_name="Patel",
                    provider_first_name="Priya",
                    provider_taxonomy="207Q00000X",
                    service_types=("30", "98", "UC"),
                )
            ],
            id="person-provider",
        ),  # fmt: skip
        pytest.param(
            [
                REQUEST,
                replace(CHILD, interchange_control=811),
                replace(REQUEST, member_id="W555000111", trace_number="ELIG-4102"),
            ],
            id="batch",
        ),  # fmt: skip
    ],
)
def test_every_270_we_write_passes_pyx12(requests):
    assert validate_x12_with_pyx12(write_270(requests)) == []


def test_every_service_type_the_writer_takes_passes_pyx12():
    lines = (Path(codes.__file__).parent / "service_types.csv").read_text().splitlines()
    known = [line.split(",")[0] for line in lines if line and not line.startswith("#")][1:]
    assert len(known) > 150
    requests = [
        replace(CHILD, service_types=tuple(known[i : i + 99]), trace_number=f"T{i}")
        for i in range(0, len(known), 99)
    ]
    assert validate_x12_with_pyx12(write_270(requests)) == []


@pytest.mark.parametrize("name", ["270-rivera.x12", "270-rivera-child.x12"])
def test_270_samples_pass_pyx12(name):
    assert validate_x12_with_pyx12((SAMPLES / name).read_text()) == []


def test_pyx12_names_a_relationship_code_the_guide_does_not_take():
    text = write_270(CHILD).replace("INS*N*19~", "INS*N*18~")
    [problem] = validate_x12_with_pyx12(text)
    assert problem.startswith("segment 16 (INS02): (18) is not a valid code")


def test_pyx12_refuses_a_dependent_identified_by_an_id():
    text = write_270(CHILD).replace("NM1*03*1*RIVERA*LUCIA~", "NM1*03*1*RIVERA*LUCIA****MI*X1~")
    problems = validate_x12_with_pyx12(text)
    assert [p.split(":")[0] for p in problems] == ["segment 14 (NM108)", "segment 14 (NM109)"]


def test_pyx12_check_takes_other_transactions_too():
    assert validate_x12_with_pyx12((SAMPLES / "837p_office_visit.x12").read_text()) == []
    assert validate_x12_with_pyx12((SAMPLES / "835-three-claims.x12").read_text()) == []


# --- the 271 ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def active():
    [result] = read_271(ACTIVE)
    return result


def test_active_coverage(active):
    assert active.status == "active"
    assert active.active is True
    assert active.plan_name == "ACME CHOICE POS II"
    assert active.insurance_type == "point of service (POS)"
    assert (active.coverage_start, active.coverage_end) == (date(2026, 1, 1), date(2026, 12, 31))


def test_who_and_which_request(active):
    assert active.trace_number == "ELIG-4101"
    assert active.payer_trace_number == "ACME20261123000007"
    assert (active.payer_name, active.payer_id) == ("ACME HEALTH PLAN", "60054")
    assert active.provider_npi == "1234567893"
    assert (active.member_id, active.patient_name) == ("W123456789", "RIVERA, ANA")
    assert (active.group_number, active.group_name) == ("GRP88012", "MAIN STREET EMPLOYEES")
    assert (active.birth_date, active.sex) == (date(1980, 1, 2), "F")


def test_copays_by_service_and_network(active):
    found = [(b.service_types, b.amount, b.in_network) for b in active.copays]
    assert found == [
        (("98",), Decimal(25), True),
        (("98",), Decimal(50), False),
        (("UC",), Decimal(75), True),
    ]
    assert active.copays[1].messages == ("COPAY APPLIES BEFORE DEDUCTIBLE",)


def test_coinsurance_as_a_percentage(active):
    assert [(b.percent, b.in_network) for b in active.coinsurance] == [
        (Decimal(20), True),
        (Decimal(40), False),
    ]


def test_deductible_periods(active):
    individual = [b for b in active.deductibles if b.coverage_level == "IND" and b.in_network]
    assert [(b.time_period_text, b.amount) for b in individual] == [
        ("calendar year", Decimal(1500)),
        ("remaining", Decimal(320)),
    ]


def test_summary_for_the_front_desk(active):
    assert active.summary() == [
        "Active: ACME CHOICE POS II.",
        "Coverage from 01/01/2026 to 12/31/2026.",
        "Office visit copay $25 in network.",
        "Office visit copay $50 out of network.",
        "Urgent care copay $75 in network.",
        "Coinsurance: the patient pays 20% in network.",
        "Coinsurance: the patient pays 40% out of network.",
        "Deductible $1,500 per calendar year, $320 remaining, in network.",
        "Family deductible $3,000 per calendar year, $1,900 remaining, in network.",
        "Deductible $3,000 per calendar year, $3,000 remaining, out of network.",
        "Out-of-pocket maximum $5,000 per calendar year, $3,100 remaining, in network.",
        "Prior authorization required: MRI and CT scans.",
        "Primary care provider: PATEL, PRIYA.",
    ]


def test_json_is_serializable_with_exact_money(active):
    data = to_json(active)
    json.dumps(data)
    assert data["status"] == "active"
    assert data["coverage_start"] == "2026-01-01"
    copay = data["benefits"][1]
    assert (copay["meaning"], copay["amount"], copay["in_network"]) == ("copay", "25.00", True)
    assert copay["service_types"] == [{"code": "98", "name": "Office visit"}]
    assert data["summary"] == active.summary()


def test_other_delimiters_read_the_same(active):
    text = ACTIVE.replace("*", "|").replace("^", "}").replace(":", ">").replace("~\n", "~\r\n")
    [other] = read_271(text)
    assert other == active


def test_rejected_member_id():
    [result] = read_271(REJECTED)
    assert result.status == "rejected"
    assert result.active is None
    [rejection] = result.rejections
    assert (rejection.level, rejection.code, rejection.follow_up) == ("subscriber", "72", "C")
    assert rejection.reason == "The member ID is missing or invalid."
    assert result.summary() == [
        "Rejected (code 72): The member ID is missing or invalid. "
        "Correct the request and send it again."
    ]


def test_rejection_json():
    [result] = read_271(REJECTED)
    [rejection] = to_json(result)["rejections"]
    assert rejection["reason"] == "The member ID is missing or invalid."
    assert rejection["follow_up_text"] == "Correct the request and send it again."


def test_payer_level_rejection_without_a_subscriber_loop():
    lines = ACTIVE.splitlines()
    head = lines[: lines.index("NM1*PR*2*ACME HEALTH PLAN*****PI*60054~") + 1]
    tail = [line for line in lines if line.startswith(("SE*", "GE*", "IEA*"))]
    text = _recount("\n".join([*head, "AAA*Y**42*R~", *tail]))
    [result] = read_271(text)
    assert result.status == "rejected"
    assert [(r.level, r.code) for r in result.rejections] == [("payer", "42")]
    assert "cannot answer right now" in result.summary()[0]


def test_dependent_answer_carries_the_subscriber():
    dependent = """
HL*4*3*23*0~
TRN*2*ELIG-4101*9123456789~
NM1*03*1*RIVERA*LUCIA~
DMG*D8*20150606*F~
EB*1*IND*30*PS*ACME CHOICE POS II~
EB*B*IND*98*PS**27*15*****Y~
"""
    text = _body(dependent, "REF*6P")
    text = text.replace("HL*3*2*22*0~", "HL*3*2*22*1~")
    [result] = read_271(text)
    assert result.is_dependent
    assert result.patient_name == "RIVERA, LUCIA"
    assert (result.subscriber_name, result.member_id) == ("RIVERA, ANA", "W123456789")
    assert result.birth_date == date(2015, 6, 6)
    assert "Office visit copay $15 in network." in result.summary()


def test_inactive_coverage():
    text = _body("EB*6*IND*30*PS*ACME CHOICE POS II~\nDTP*347*D8*20260630~", "EB*1*IND*30^")
    [result] = read_271(text)
    assert result.status == "inactive"
    assert result.summary()[0] == "Inactive: ACME CHOICE POS II."
    assert not any("copay" in line for line in result.summary())


def test_identity_corrected_by_the_payer():
    text = _recount(ACTIVE.replace("DMG*D8*19800102*F~", "DMG*D8*19800102*F~\nINS*Y*18*001*25~"))
    [result] = read_271(text)
    assert result.identity_corrected
    assert any("corrected the patient's name" in line for line in result.summary())


def test_unknown_rejection_code_says_so():
    [result] = read_271(REJECTED.replace("AAA*Y**72*C~", "AAA*Y**ZZ*Q~"))
    [rejection] = result.rejections
    assert rejection.reason == "unknown code ZZ"
    assert rejection.follow_up_text == "unknown code Q"
    assert codes.service_type("ZZZ") == "unknown code ZZZ"


def test_non_numeric_benefit_amount_names_segment_and_position():
    text = ACTIVE.replace("EB*B*IND*98*PS**27*25*****Y~", "EB*B*IND*98*PS**27*2X5*****Y~")
    with pytest.raises(X12Error) as caught:
        read_271(text)
    assert caught.value.segment == "EB"
    position = next(i for i, s in enumerate(text.splitlines(), 1) if "2X5" in s)
    assert caught.value.position == position
    assert "EB07" in caught.value.message


def test_benefit_before_any_patient_is_refused():
    text = _recount(ACTIVE.replace("HL*2*1*21*1~", "EB*1~\nHL*2*1*21*1~"))
    with pytest.raises(X12Error, match="EB outside a subscriber"):
        read_271(text)


def test_other_transaction_type_is_refused():
    with pytest.raises(X12Error, match="takes a 271"):
        read_271((SAMPLES / "270-rivera.x12").read_text())
