"""The VXU^V04 builder and the registry ACK reader (pure: no database).

Every message built here is also parsed and validated by hl7apy 1.3.5 at STRICT level.
"""

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from carebench.labs.hl7.build import Endpoint, PatientInfo, ProviderInfo
from carebench.labs.tests.hl7_helpers import strict_errors
from carebench.meds.tests.vxu_helpers import HL7APY_TABLE_0396_GAPS
from carebench.meds.vxu import (
    AckResult,
    Dose,
    Guardian,
    Reaction,
    VaccinationMessage,
    Vis,
    build_vxu,
    parse_ack_errors,
)

EST = timezone(timedelta(hours=-5))
GIVEN_AT = datetime(2025, 3, 14, 9, 30, tzinfo=EST)
SENT_AT = datetime(2025, 3, 14, 10, 0, tzinfo=EST)

PATIENT = PatientInfo(
    mrn="M000123",
    family_name="Rivera",
    given_name="Sofia",
    birth_date=date(2024, 11, 2),
    sex="female",
    assigning_authority="CAREBENCH",
    address_line1="12 Elm St",
    city="Springfield",
    state="IL",
    postal_code="62701",
    phone="(217) 555-0142",
)
NURSE = ProviderInfo(npi="", family_name="Nguyen", given_name="Lan")
DOCTOR = ProviderInfo(npi="1234567893", family_name="Okafor", given_name="Grace")

GIVEN = Dose(
    filler_number="IMM000042",
    placer_number="ORD000042",
    administered_at=GIVEN_AT,
    cvx_code="20",
    cvx_name="DTaP",
    ndc="49281-0286-10",
    ndc_name="DAPTACEL",
    amount=Decimal("0.50"),
    unit="mL",
    lot_number="C5432AA",
    expires_on=date(2026, 6, 30),
    mvx_code="PMC",
    mvx_name="sanofi pasteur",
    route_code="C28161",
    site_code="LT",
    administering_provider=NURSE,
    ordering_provider=DOCTOR,
    entered_by=NURSE,
    eligibility="V02",
    funding_source="VXC50",
    vis=(Vis("107", "DTaP, unspecified formulation", date(2021, 8, 6), date(2025, 3, 14)),),
)
HISTORICAL = Dose(
    filler_number="IMM000007",
    administered_at=date(2024, 11, 3),
    cvx_code="08",
    cvx_name="Hep B, adolescent or pediatric",
    historical=True,
    source_code="06",
)
REFUSED = Dose(
    filler_number="IMM000043",
    administered_at=GIVEN_AT,
    cvx_code="03",
    cvx_name="MMR",
    completion="RE",
    refusal_reason="00",
    amount=Decimal("0.5"),
    lot_number="should not be sent",
)


def message(*doses: Dose, **changes) -> VaccinationMessage:
    base = VaccinationMessage(
        sender=Endpoint("CAREBENCH", "IIS-FAC-0042"),
        receiver=Endpoint("IIS", "ILSTATE"),
        control_id="VXU000042",
        sent_at=SENT_AT,
        patient=PATIENT,
        doses=doses,
        facility_id="IIS-FAC-0042",
        mother_maiden_name="Lopez",
        race="2106-3",
        ethnicity="2135-2",
        guardian=Guardian("Rivera", "Ana", "MTH"),
        publicity_code="02",
    )
    return replace(base, **changes)


def built(*doses: Dose, **changes) -> str:
    """The message text, after checking it with hl7apy at STRICT level."""
    text = build_vxu(message(*doses, **changes))
    errors = [line for line in strict_errors(text) if line not in HL7APY_TABLE_0396_GAPS]
    assert errors == []
    return text


def segments(text: str, name: str) -> list[list[str]]:
    """Each segment named `name`, as a list indexed by field number (MSH-1 is "|")."""
    assert text.endswith("\r")
    found = []
    for line in text.split("\r")[:-1]:
        parts = line.split("|")
        if parts[0] == name:
            found.append(["MSH", "|", *parts[1:]] if name == "MSH" else parts)
    return found


def field(text: str, name: str, number: int, occurrence: int = 1) -> str:
    parts = segments(text, name)[occurrence - 1]
    return parts[number] if number < len(parts) else ""


def names(text: str) -> list[str]:
    return [line[:3] for line in text.split("\r") if line]


# --- a dose given here ----------------------------------------------------------------------


def test_a_given_dose_sends_header_patient_and_one_order_group():
    text = built(GIVEN)
    assert names(text) == ["MSH", "PID", "PD1", "NK1", "ORC", "RXA", "RXR", *["OBX"] * 5]
    assert field(text, "MSH", 9) == "VXU^V04^VXU_V04"
    assert field(text, "MSH", 4) == "IIS-FAC-0042"
    assert field(text, "MSH", 6) == "ILSTATE"
    assert (field(text, "MSH", 15), field(text, "MSH", 16)) == ("ER", "AL")
    assert field(text, "MSH", 21) == "Z22^CDCPHINVS"


def test_a_given_dose_identifies_the_patient_as_the_guide_asks():
    text = built(GIVEN)
    assert field(text, "PID", 3) == "M000123^^^CAREBENCH^MR"
    assert field(text, "PID", 5) == "Rivera^Sofia^^^^^L"
    assert field(text, "PID", 6) == "Lopez^^^^^^M"
    assert field(text, "PID", 8) == "F"
    assert field(text, "PID", 10) == "2106-3^White^CDCREC"
    assert field(text, "PID", 11) == "12 Elm St^^Springfield^IL^62701^USA^L"
    assert field(text, "PID", 13) == "^PRN^PH^^^217^5550142"
    assert field(text, "PID", 22) == "2135-2^Hispanic or Latino^CDCREC"
    assert field(text, "NK1", 3) == "MTH^Mother^HL70063"


def test_pd1_sends_publicity_protection_and_registry_status_with_their_dates():
    text = built(GIVEN)
    assert field(text, "PD1", 11) == "02^Reminder/recall - any method^HL70215"
    assert field(text, "PD1", 12) == "N"
    assert field(text, "PD1", 13) == "20250314"
    assert field(text, "PD1", 16) == "A"
    assert field(text, "PD1", 17) == "20250314"


def test_a_given_dose_carries_cvx_and_ndc_amount_lot_and_manufacturer():
    text = built(GIVEN)
    assert field(text, "RXA", 3) == "20250314093000-0500"
    assert field(text, "RXA", 5) == "20^DTaP^CVX^49281-0286-10^DAPTACEL^NDC"
    assert field(text, "RXA", 6) == "0.5"
    assert field(text, "RXA", 7) == "mL^mL^UCUM"
    assert field(text, "RXA", 9) == "00^New immunization record^NIP001"
    assert field(text, "RXA", 11) == "^^^IIS-FAC-0042"
    assert field(text, "RXA", 15) == "C5432AA"
    assert field(text, "RXA", 16) == "20260630"
    assert field(text, "RXA", 17) == "PMC^sanofi pasteur^MVX"
    assert (field(text, "RXA", 20), field(text, "RXA", 21)) == ("CP", "A")


def test_a_given_dose_names_its_route_site_and_people():
    text = built(GIVEN)
    assert field(text, "RXR", 1) == "C28161^Intramuscular^NCIT"
    assert field(text, "RXR", 2) == "LT^Left Thigh^HL70163"
    assert field(text, "RXA", 10) == "^Nguyen^Lan^^^^^^^L"
    assert field(text, "ORC", 3) == "IMM000042^CAREBENCH"
    assert field(text, "ORC", 2) == "ORD000042^CAREBENCH"
    assert field(text, "ORC", 12) == "1234567893^Okafor^Grace^^^^^^NPI^L^^^NPI"


def test_a_given_dose_reports_funding_and_the_vis_in_their_own_sub_groups():
    text = built(GIVEN)
    obx = segments(text, "OBX")
    assert [(o[3].split("^")[0], o[4]) for o in obx] == [
        ("64994-7", "1"),
        ("30963-3", "2"),
        ("30956-7", "3"),
        ("29768-9", "3"),
        ("29769-7", "3"),
    ]
    assert obx[0][5] == "V02^VFC eligible - Medicaid/Medicaid Managed Care^HL70064"
    assert obx[0][14] == "20250314"
    assert obx[0][17] == "VXC40^Eligibility captured at the immunization level^CDCPHINVS"
    assert obx[1][5] == "VXC50^Public^CDCPHINVS"
    assert obx[2][5] == "107^DTaP, unspecified formulation^CVX"
    assert (obx[3][2], obx[3][5]) == ("TS", "20210806")
    assert (obx[4][2], obx[4][5]) == ("TS", "20250314")


# --- historical, refused, updated, deleted ---------------------------------------------------


def test_a_historical_dose_says_its_source_and_sends_999_without_funding_or_vis():
    text = built(replace(HISTORICAL, eligibility="V02", vis=GIVEN.vis))
    assert field(text, "RXA", 9) == "06^Historical information - from birth certificate^NIP001"
    assert field(text, "RXA", 3) == "20241103"
    assert field(text, "RXA", 6) == "999"
    assert field(text, "RXA", 7) == ""
    assert field(text, "RXA", 11) == ""
    assert names(text)[-2:] == ["ORC", "RXA"]


def test_a_historical_dose_without_a_source_is_source_unspecified():
    text = built(replace(HISTORICAL, source_code="00"))
    assert field(text, "RXA", 9) == "01^Historical information - source unspecified^NIP001"


def test_a_refusal_sends_the_reason_and_no_lot_and_orc3_9999():
    text = built(REFUSED)
    assert field(text, "RXA", 5) == "03^MMR^CVX"
    assert field(text, "RXA", 6) == "999"
    assert field(text, "RXA", 9) == ""
    assert field(text, "RXA", 15) == ""
    assert field(text, "RXA", 18) == "00^Parental decision^NIP002"
    assert field(text, "RXA", 20) == "RE"
    assert field(text, "ORC", 3) == "9999^CAREBENCH"
    assert names(text)[-2:] == ["ORC", "RXA"]


def test_a_refusal_without_a_reason_is_refused_by_the_builder():
    with pytest.raises(ValueError, match="refusal reason"):
        build_vxu(message(replace(REFUSED, refusal_reason="")))


def test_an_update_resends_the_dose_with_action_u():
    text = built(replace(GIVEN, action="U"))
    assert field(text, "RXA", 21) == "U"
    assert field(text, "ORC", 3) == "IMM000042^CAREBENCH"


def test_a_delete_sends_the_same_dose_with_action_d():
    text = built(replace(GIVEN, action="D"))
    assert field(text, "RXA", 21) == "D"
    assert field(text, "ORC", 3) == "IMM000042^CAREBENCH"


def test_each_dose_is_its_own_order_group_with_obx_numbered_from_one():
    text = built(GIVEN, HISTORICAL, REFUSED)
    assert [line[:3] for line in text.split("\r") if line[:3] in {"ORC", "RXA"}] == [
        "ORC",
        "RXA",
    ] * 3
    assert field(text, "OBX", 1, occurrence=1) == "1"


def test_a_vis_edition_date_alone_sends_one_vis_for_the_doses_vaccine():
    text = built(replace(GIVEN, vis=(), vis_edition_date=date(2021, 8, 6)))
    obx = segments(text, "OBX")[2:]
    assert [(o[4], o[5]) for o in obx] == [
        ("3", "20^DTaP^CVX"),
        ("3", "20210806"),
        ("3", "20250314"),
    ]


def test_an_adverse_reaction_is_an_obx_31044_1_in_its_own_sub_group():
    reaction = Reaction("39579001", "Anaphylaxis", observed_on=date(2025, 3, 14))
    text = built(replace(GIVEN, reactions=(reaction,)))
    last = segments(text, "OBX")[-1]
    assert last[3] == "31044-1^Reaction^LN"
    assert last[4] == "4"
    assert last[5] == "39579001^Anaphylaxis^SCT"
    assert last[14] == "20250314"


def test_a_reaction_in_words_only_is_sent_as_text():
    text = built(replace(GIVEN, reaction_text="Hives & fever"))
    last = segments(text, "OBX")[-1]
    assert (last[3], last[5]) == ("31044-1^Reaction^LN", "^Hives \\T\\ fever")
    assert len(last) == 12  # ends at OBX-11: no date observed


def test_names_with_delimiters_are_escaped():
    patient = replace(PATIENT, family_name="Smith^Jones|Lee", given_name="Ann & Bo")
    text = built(GIVEN, patient=patient, mother_maiden_name="O~Hara\\")
    assert field(text, "PID", 5) == "Smith\\S\\Jones\\F\\Lee^Ann \\T\\ Bo^^^^^L"
    assert field(text, "PID", 6) == "O\\R\\Hara\\E\\^^^^^^M"


def test_an_unknown_route_is_refused_by_the_builder():
    with pytest.raises(ValueError, match="route"):
        build_vxu(message(replace(GIVEN, route_code="IM")))


# --- the registry's ACK ----------------------------------------------------------------------

ACK_HEADER = (
    "MSH|^~\\&|IIS|ILSTATE|CAREBENCH|IIS-FAC-0042|20250314100003-0500||ACK^V04^ACK|"
    "ACK8812|P|2.5.1|||NE|NE|||||Z23^CDCPHINVS\r"
)


def test_an_aa_ack_is_accepted_with_no_errors():
    result = parse_ack_errors(ACK_HEADER + "MSA|AA|VXU000042\r")
    assert result == AckResult("AA", "VXU000042", [])
    assert result.accepted


def test_an_ae_ack_reads_every_err_into_a_sentence():
    ack = (
        ACK_HEADER + "MSA|AE|VXU000042\r"
        "ERR||RXA^1^5^1^1|103^Table value not found^HL70357|E|5^Table value not found^HL70533"
        "|||Vaccine code 999999 is not a CVX code\r"
        "ERR||PID^1^11^1^5|102^Data type error^HL70357|W|4^Invalid value^HL70533"
        "|||Postal code 627 is not a ZIP code\r"
    )
    result = parse_ack_errors(ack)
    assert (result.code, result.control_id, result.accepted) == ("AE", "VXU000042", False)
    assert result.errors == [
        "RXA-5.1: Vaccine code 999999 is not a CVX code (Table value not found, error)",
        "PID-11.5: Postal code 627 is not a ZIP code (Data type error, warning)",
    ]


def test_text_that_is_not_an_ack_says_so():
    result = parse_ack_errors("PID|1||M000123")
    assert (result.code, result.accepted) == ("", False)
    assert len(result.errors) == 1
    assert result.errors[0].startswith("not an acknowledgment: MSH")
