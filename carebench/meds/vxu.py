"""Build a VXU^V04 (HL7 v2.5.1) immunization message for the state registry (IIS), and read
the registry's ACK, from plain data (pure; no Django).

The message follows the CDC "HL7 Version 2.5.1 Implementation Guide for Immunization
Messaging, Release 1.5" (2014, with the 2018 addendum), profile Z22 (send an update):

    MSH  PID  PD1  [NK1]  { ORC  RXA  [RXR]  {OBX} }

One ORDER group (ORC, RXA, RXR, OBX) per dose: a dose given here, a historical dose reported
from elsewhere, a refusal, or a vaccine not given. RXA-21 says whether the registry adds,
updates or deletes the record; ORC-3 carries our administration id (the registry's key for
later updates and deletes; 9999 for a dose not given, as the guide asks). A dose given here carries its funding eligibility (OBX 64994-7),
funding source (30963-3) and the VIS it was given with (30956-7, 29768-9, 29769-7); a reaction
is OBX 31044-1. Codes come from the guide's tables: CVX, MVX, NDC, UCUM, NCIT routes, HL7
tables 0163 (sites), 0064 (eligibility), 0063 (relationships), 0215 (publicity), 0441
(registry status), NIP001 (information source), NIP002 (refusal reasons) and CDCPHINVS.

Every text value is escaped (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\). `parse_ack_errors` reads the
registry's ACK (MSA and each ERR) into plain sentences for the registry page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from carebench.labs.hl7 import VERSION
from carebench.labs.hl7.ack import AckReadError, read_ack
from carebench.labs.hl7.build import (
    IS_MAX,
    SEGMENT_END,
    SEX_CODES,
    Endpoint,
    PatientInfo,
    ProviderInfo,
    components,
    segment,
)
from carebench.labs.hl7.escape import ENCODING_CHARACTERS, dt, escape, ts

MESSAGE_TYPE = "VXU^V04^VXU_V04"
PROFILE = "Z22^CDCPHINVS"  # MSH-21: send unsolicited update
ACCEPT_ACK, APPLICATION_ACK = "ER", "AL"  # MSH-15, MSH-16 for a sender, per the guide
UNKNOWN_AMOUNT = "999"  # RXA-6 when the amount is not known (historical, refused)
NOT_GIVEN_FILLER = "9999"  # ORC-3 of a dose that was not given (refused, not administered)

ACTIONS = {"A": "add", "U": "update", "D": "delete"}  # RXA-21, HL7 table 0323
COMPLETION = {  # RXA-20, HL7 table 0322
    "CP": "complete",
    "RE": "refused",
    "NA": "not administered",
    "PA": "partially administered",
}
GIVEN = {"CP", "PA"}

# RXA-9, NIP001: the source of the information.
NEW_RECORD = "00"
INFORMATION_SOURCES = {
    "00": "New immunization record",
    "01": "Historical information - source unspecified",
    "02": "Historical information - from other provider",
    "03": "Historical information - from parent's written record",
    "04": "Historical information - from parent's recall",
    "05": "Historical information - from other registry",
    "06": "Historical information - from birth certificate",
    "07": "Historical information - from school record",
    "08": "Historical information - from public agency",
}
# RXA-18, NIP002: why a dose was refused.
REFUSAL_REASONS = {
    "00": "Parental decision",
    "01": "Religious exemption",
    "02": "Other",
    "03": "Patient decision",
}
# RXR-1, NCI Thesaurus routes.
ROUTES = {
    "C28161": "Intramuscular",
    "C38299": "Subcutaneous",
    "C38238": "Intradermal",
    "C38284": "Nasal",
    "C38288": "Oral",
    "C38276": "Intravenous",
    "C38305": "Transdermal",
    "C38676": "Percutaneous",
}
# RXR-2, HL7 table 0163.
SITES = {
    "LA": "Left Arm",
    "RA": "Right Arm",
    "LD": "Left Deltoid",
    "RD": "Right Deltoid",
    "LT": "Left Thigh",
    "RT": "Right Thigh",
    "LVL": "Left Vastus Lateralis",
    "RVL": "Right Vastus Lateralis",
    "LG": "Left Gluteous Medius",
    "RG": "Right Gluteous Medius",
    "LLFA": "Left Lower Forearm",
    "RLFA": "Right Lower Forearm",
}
# OBX 64994-7 value, HL7 table 0064: vaccine funding program eligibility.
ELIGIBILITY = {
    "V01": "Not VFC eligible",
    "V02": "VFC eligible - Medicaid/Medicaid Managed Care",
    "V03": "VFC eligible - Uninsured",
    "V04": "VFC eligible - American Indian/Alaska Native",
    "V05": "VFC eligible - Federally Qualified Health Center Patient (under-insured)",
    "V06": "VFC eligible - State specific eligibility",
    "V07": "Local-specific eligibility",
}
ELIGIBILITY_METHOD = "VXC40^Eligibility captured at the immunization level^CDCPHINVS"
# OBX 30963-3 value, CDCPHINVS: the funds the vaccine was bought with.
FUNDING_SOURCES = {
    "PHC70": "Private funds",
    "VXC50": "Public",
    "VXC51": "Public VFC",
    "VXC52": "Public non-VFC",
    "VXC1": "Federal funds",
    "VXC2": "State funds",
    "VXC3": "Tribal funds",
    "PHC68": "Military funds",
}
# PID-10 and PID-22, CDCREC.
RACES = {
    "1002-5": "American Indian or Alaska Native",
    "2028-9": "Asian",
    "2054-5": "Black or African-American",
    "2076-8": "Native Hawaiian or Other Pacific Islander",
    "2106-3": "White",
    "2131-1": "Other Race",
}
ETHNICITIES = {"2135-2": "Hispanic or Latino", "2186-5": "Not Hispanic or Latino"}
# NK1-3, HL7 table 0063.
RELATIONSHIPS = {
    "MTH": "Mother",
    "FTH": "Father",
    "PAR": "Parent",
    "GRD": "Guardian",
    "GRP": "Grandparent",
    "CGV": "Care giver",
    "SPO": "Spouse",
    "SIB": "Sibling",
    "SEL": "Self",
    "OTH": "Other",
}
# PD1-11, HL7 table 0215.
PUBLICITY = {
    "01": "No reminder/recall",
    "02": "Reminder/recall - any method",
    "03": "Reminder/recall - no calls",
    "04": "Reminder only - any method",
    "05": "Reminder only - no calls",
    "06": "Recall only - any method",
    "07": "Recall only - no calls",
    "08": "Reminder/recall - to provider",
    "09": "Reminder to provider",
    "10": "Only reminder to provider, no recall",
    "11": "Recall to provider",
    "12": "Only recall to provider, no reminder",
}
REGISTRY_STATUSES = {  # PD1-16, HL7 table 0441
    "A": "Active",
    "I": "Inactive",
    "L": "Inactive - lost to follow-up",
    "M": "Inactive - moved or gone elsewhere",
    "P": "Inactive - permanently inactive",
    "U": "Unknown",
}
# The guide's sex value set is F, M, U: "other" goes as U.
VXU_SEX = {"F": "F", "M": "M", "O": "U", "U": "U"}

VACCINE_TYPE = "30956-7^Vaccine type^LN"
VIS_PUBLISHED = "29768-9^Date vaccine information statement published^LN"
VIS_PRESENTED = "29769-7^Date vaccine information statement presented^LN"
ELIGIBILITY_CODE = "64994-7^Vaccine funding program eligibility category^LN"
FUNDING_SOURCE_CODE = "30963-3^Vaccine funding source^LN"
REACTION_CODE = "31044-1^Reaction^LN"


@dataclass(frozen=True)
class Guardian:
    """NK1: the patient's next of kin or responsible person."""

    family_name: str
    given_name: str = ""
    relationship: str = "MTH"  # HL7 table 0063: MTH, FTH, PAR, GRD, GRP, CGV, SPO, SIB, SEL, OTH


@dataclass(frozen=True)
class Vis:
    """One vaccine information statement given with a dose (one OBX-4 sub-group)."""

    cvx_code: str  # the vaccine the VIS is for (a combination vaccine has one VIS per part)
    cvx_name: str
    published: date
    presented: date


@dataclass(frozen=True)
class Reaction:
    """An adverse reaction to the dose (OBX 31044-1)."""

    code: str  # e.g. 39579001 (SNOMED CT) or a CDCPHINVS code such as VXC9
    text: str
    system: str = "SCT"  # SCT or CDCPHINVS
    observed_on: date | None = None


@dataclass(frozen=True)
class Dose:
    """One ORDER group: ORC, RXA, RXR and the dose's OBXs."""

    filler_number: str  # ORC-3: our administration id (namespace: the sending application)
    administered_at: datetime | date  # RXA-3 (a date for a historical dose is enough)
    cvx_code: str
    cvx_name: str
    action: str = "A"  # RXA-21: A add, U update, D delete
    completion: str = "CP"  # RXA-20: CP, RE, NA, PA
    historical: bool = False  # RXA-9: 01-08 (historical) instead of 00 (new record)
    source_code: str = "01"  # RXA-9 of a historical dose, NIP001 01-08 ("" or 00 -> 01)
    placer_number: str = ""  # ORC-2
    ndc: str = ""  # RXA-5, second triplet
    ndc_name: str = ""  # defaults to the CVX name
    amount: Decimal | None = None  # RXA-6; None sends 999 (unknown)
    unit: str = "mL"  # RXA-7, UCUM
    lot_number: str = ""  # RXA-15
    expires_on: date | None = None  # RXA-16
    mvx_code: str = ""  # RXA-17
    mvx_name: str = ""
    route_code: str = ""  # RXR-1, NCIT (C28161 intramuscular ...)
    route_name: str = ""  # the text sent with it; default: ROUTES
    site_code: str = ""  # RXR-2, HL7 table 0163 (LD left deltoid ...); none for oral, nasal
    site_name: str = ""  # default: SITES
    administering_provider: ProviderInfo | None = None  # RXA-10
    ordering_provider: ProviderInfo | None = None  # ORC-12
    entered_by: ProviderInfo | None = None  # ORC-10 (npi may be empty: name only)
    refusal_reason: str = ""  # RXA-18 when completion is RE: NIP002 00-03
    eligibility: str = ""  # OBX 64994-7, HL7 table 0064: V01-V07
    funding_source: str = ""  # OBX 30963-3, CDCPHINVS: PHC70, VXC50, ...
    vis: Sequence[Vis] = field(default_factory=tuple)
    # One VIS for the dose's own vaccine, without building a Vis: its edition (publication)
    # date, and the day it was given to the patient (default: the day of the dose).
    vis_edition_date: date | None = None
    vis_given_on: date | None = None
    reactions: Sequence[Reaction] = field(default_factory=tuple)
    reaction_text: str = ""  # a reaction in words only (no code): one more 31044-1, as ^text


@dataclass(frozen=True)
class VaccinationMessage:
    sender: Endpoint  # MSH-3/4: our application and our registry-assigned facility id
    receiver: Endpoint  # MSH-5/6: the registry
    control_id: str
    sent_at: datetime  # aware
    patient: PatientInfo
    doses: Sequence[Dose]
    facility_id: str = ""  # RXA-11 (LA2-4): where doses given here were given
    processing_id: str = "P"  # P production, T training (D debugging)
    mother_maiden_name: str = ""  # PID-6 (family name)
    race: str = ""  # PID-10, CDCREC (2106-3 ...)
    ethnicity: str = ""  # PID-22, CDCREC (2135-2, 2186-5)
    guardian: Guardian | None = None  # NK1
    publicity_code: str = ""  # PD1-11, HL7 table 0215 (02 reminder/recall any method ...)
    protection_indicator: str = "N"  # PD1-12: Y share nothing, N share
    registry_status: str = "A"  # PD1-16, HL7 table 0441
    status_date: date | None = None  # PD1-13/17/18 effective date; default: the day sent


@dataclass(frozen=True)
class AckResult:
    """What the registry said: MSA-1 (AA, AE, AR), MSA-2 (our MSH-10) and each ERR in words."""

    code: str
    control_id: str
    errors: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.code in {"AA", "CA"}


# --- building -----------------------------------------------------------------------------------


def _pick(table: dict[str, str], code: str, what: str) -> str:
    if code not in table:
        raise ValueError(f"{what} {code!r} is not one of {', '.join(table)}")
    return table[code]


def _coded(table: dict[str, str], code: str, system: str, what: str, text: str = "") -> str:
    return components(code, text or _pick(table, code, what), system)


def _when(moment: datetime | date) -> str:
    return ts(moment) if isinstance(moment, datetime) else dt(moment)


def _amount(value: Decimal) -> str:
    if not value.is_finite() or value <= 0:
        raise ValueError(f"dose amount {value} must be a positive number")
    return format(value.normalize(), "f")


def _xcn(person: ProviderInfo) -> str:
    # XCN: id ^ family ^ given ^^^^^ assigning authority (9) ^ name type (10) ^^^ id type (13)
    if person.npi:
        return components(
            person.npi, person.family_name, person.given_name, *[""] * 5, "NPI", "L", "", "", "NPI"
        )
    return components("", person.family_name, person.given_name, *[""] * 6, "L")


def _phone(raw: str) -> str:
    # XTN: ^PRN^PH^^^area code^local number (the guide's form); other numbers as text
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        return components("", "PRN", "PH", "", "", digits[:3], digits[3:])
    return components(raw, "PRN", "PH") if raw.strip() else ""


def _msh(message: VaccinationMessage) -> str:
    if message.processing_id not in {"P", "T", "D"}:
        raise ValueError(f"processing id {message.processing_id!r} must be P, T or D")
    return "|".join(
        [
            "MSH",
            ENCODING_CHARACTERS,
            components(message.sender.application[:IS_MAX]),
            components(message.sender.facility[:IS_MAX]),
            components(message.receiver.application[:IS_MAX]),
            components(message.receiver.facility[:IS_MAX]),
            ts(message.sent_at),
            "",
            MESSAGE_TYPE,
            escape(message.control_id),
            message.processing_id,
            VERSION,
            "",
            "",
            ACCEPT_ACK,
            APPLICATION_ACK,
            "",
            "",
            "",
            "",
            PROFILE,
        ]
    )


def _pid(message: VaccinationMessage) -> str:
    patient = message.patient
    sex = SEX_CODES.get(patient.sex, patient.sex)
    address = ""
    if patient.address_line1 or patient.city or patient.postal_code:
        address = components(
            patient.address_line1,
            patient.address_line2,
            patient.city,
            patient.state,
            patient.postal_code,
            "USA",
            "L",
        )
    maiden = ""
    if message.mother_maiden_name.strip():
        maiden = components(message.mother_maiden_name, *[""] * 5, "M")
    return segment(
        "PID",
        "1",
        "",
        components(patient.mrn, "", "", patient.assigning_authority[:IS_MAX], "MR"),
        "",
        components(
            patient.family_name,
            patient.given_name,
            patient.middle_name,
            patient.suffix,
            "",
            "",
            "L",
        ),
        maiden,
        dt(patient.birth_date),
        VXU_SEX.get(sex, "U"),
        "",
        _coded(RACES, message.race, "CDCREC", "race") if message.race else "",
        address,
        "",
        _phone(patient.phone),
        *[""] * 8,
        _coded(ETHNICITIES, message.ethnicity, "CDCREC", "ethnicity") if message.ethnicity else "",
    )


def _pd1(message: VaccinationMessage) -> str:
    _pick({"Y": "yes", "N": "no"}, message.protection_indicator, "protection indicator")
    _pick(REGISTRY_STATUSES, message.registry_status, "registry status")
    effective = dt(message.status_date or message.sent_at.date())
    publicity = ""
    if message.publicity_code:
        publicity = _coded(PUBLICITY, message.publicity_code, "HL70215", "publicity code")
    return segment(
        "PD1",
        *[""] * 10,
        publicity,  # 11
        message.protection_indicator,  # 12
        effective,  # 13
        "",
        "",
        message.registry_status,  # 16
        effective,  # 17
        effective if publicity else "",  # 18
    )


def _nk1(guardian: Guardian) -> str:
    return segment(
        "NK1",
        "1",
        components(guardian.family_name, guardian.given_name, *[""] * 4, "L"),
        _coded(RELATIONSHIPS, guardian.relationship, "HL70063", "relationship"),
    )


def _orc(dose: Dose, namespace: str) -> str:
    given = dose.completion in GIVEN
    filler = dose.filler_number if given else NOT_GIVEN_FILLER
    if not filler.strip():
        raise ValueError("a dose needs its administration id (ORC-3)")
    return segment(
        "ORC",
        "RE",
        components(dose.placer_number, namespace) if dose.placer_number else "",
        components(filler, namespace),
        *[""] * 6,
        _xcn(dose.entered_by) if dose.entered_by else "",  # 10
        "",
        _xcn(dose.ordering_provider) if dose.ordering_provider else "",  # 12
    )


def _rxa(dose: Dose, facility_id: str) -> str:
    _pick(ACTIONS, dose.action, "action code")
    _pick(COMPLETION, dose.completion, "completion status")
    given = dose.completion in GIVEN
    vaccine = [dose.cvx_code, dose.cvx_name, "CVX"]
    if dose.ndc:
        vaccine += [dose.ndc, dose.ndc_name or dose.cvx_name, "NDC"]
    amount = UNKNOWN_AMOUNT
    unit = ""
    if given and dose.amount is not None:
        amount = _amount(dose.amount)
        unit = components(dose.unit, dose.unit, "UCUM")
    source = ""
    if given:
        code = NEW_RECORD
        if dose.historical:  # a historical dose with no (or a "new record") source: unspecified
            code = dose.source_code if dose.source_code not in {"", NEW_RECORD} else "01"
        source = _coded(INFORMATION_SOURCES, code, "NIP001", "information source")
    here = given and not dose.historical
    refusal = ""
    if dose.completion == "RE":
        if not dose.refusal_reason:
            raise ValueError("a refused dose needs its refusal reason (RXA-18)")
        refusal = _coded(REFUSAL_REASONS, dose.refusal_reason, "NIP002", "refusal reason")
    administrator = dose.administering_provider
    when = _when(dose.administered_at)
    return segment(
        "RXA",
        "0",
        "1",
        when,
        when,  # RXA-4: required by 2.5.1; the guide asks for the same value as RXA-3
        components(*vaccine),
        amount,
        unit,
        "",
        source,  # 9
        _xcn(administrator) if here and administrator else "",  # 10
        components("", "", "", facility_id[:IS_MAX]) if here and facility_id else "",  # 11
        "",
        "",
        "",
        escape(dose.lot_number[:20]) if given else "",  # 15
        dt(dose.expires_on) if given and dose.expires_on else "",  # 16
        components(dose.mvx_code, dose.mvx_name, "MVX") if given and dose.mvx_code else "",  # 17
        refusal,  # 18
        "",
        dose.completion,  # 20
        dose.action,  # 21
    )


def _rxr(dose: Dose) -> str | None:
    if dose.completion not in GIVEN or not (dose.route_code or dose.site_code):
        return None
    if not dose.route_code:
        raise ValueError("an injection site needs its route (RXR-1)")
    _pick(ROUTES, dose.route_code, "route")
    route = _coded(ROUTES, dose.route_code, "NCIT", "route", dose.route_name)
    site = ""
    if dose.site_code:
        _pick(SITES, dose.site_code, "site")
        site = _coded(SITES, dose.site_code, "HL70163", "site", dose.site_name)
    return segment("RXR", route, site)


def _observations(dose: Dose) -> list[str]:
    """The dose's OBXs, numbered from 1; each topic (eligibility, funding source, each VIS,
    each reaction) has its own OBX-4 sub-id."""
    if dose.completion not in GIVEN:
        return []
    day = dt(dose.administered_at)
    rows: list[tuple[str, str, int, str, str, str]] = []
    group = 0
    if not dose.historical:
        if dose.eligibility:
            group += 1
            value = _coded(ELIGIBILITY, dose.eligibility, "HL70064", "eligibility")
            rows.append(("CE", ELIGIBILITY_CODE, group, value, day, ELIGIBILITY_METHOD))
        if dose.funding_source:
            group += 1
            value = _coded(FUNDING_SOURCES, dose.funding_source, "CDCPHINVS", "funding source")
            rows.append(("CE", FUNDING_SOURCE_CODE, group, value, day, ""))
        statements = list(dose.vis)
        if dose.vis_edition_date is not None:
            given_on = dose.vis_given_on or dose.administered_at
            statements.append(Vis(dose.cvx_code, dose.cvx_name, dose.vis_edition_date, given_on))
        for vis in statements:
            group += 1
            vaccine = components(vis.cvx_code, vis.cvx_name, "CVX")
            rows.append(("CE", VACCINE_TYPE, group, vaccine, day, ""))
            rows.append(("TS", VIS_PUBLISHED, group, dt(vis.published), day, ""))
            rows.append(("TS", VIS_PRESENTED, group, dt(vis.presented), day, ""))
    reactions = list(dose.reactions)
    if dose.reaction_text.strip():
        reactions.append(Reaction("", dose.reaction_text, system=""))
    for reaction in reactions:
        group += 1
        value = components(reaction.code, reaction.text, reaction.system[:20])
        observed = dt(reaction.observed_on) if reaction.observed_on else ""
        rows.append(("CE", REACTION_CODE, group, value, observed, ""))
    return [
        segment(
            "OBX",
            str(number),
            value_type,
            code,
            str(sub_id),
            value,
            *[""] * 5,
            "F",  # 11
            "",
            "",
            observed,  # 14
            "",
            "",
            method,  # 17
        )
        for number, (value_type, code, sub_id, value, observed, method) in enumerate(rows, 1)
    ]


def build_vxu(message: VaccinationMessage) -> str:
    """The VXU^V04 text, segments ended by carriage returns."""
    if not message.doses:
        raise ValueError("an immunization message needs at least one dose")
    namespace = message.sender.application[:IS_MAX]
    lines = [_msh(message), _pid(message), _pd1(message)]
    if message.guardian is not None:
        lines.append(_nk1(message.guardian))
    for dose in message.doses:
        lines.append(_orc(dose, namespace))
        lines.append(_rxa(dose, message.facility_id))
        rxr = _rxr(dose)
        if rxr:
            lines.append(rxr)
        lines.extend(_observations(dose))
    return SEGMENT_END.join(lines) + SEGMENT_END


# --- reading the registry's ACK -----------------------------------------------------------------


def parse_ack_errors(ack_text: str | bytes) -> AckResult:
    """MSA-1, MSA-2 and each ERR of the registry's ACK in words, in the order sent, e.g.
    "RXA-5.1: Vaccine code 999999 is not a CVX code (Table value not found, error)"; MSA-3
    when there is no ERR. Reading is `carebench.labs.hl7.ack.read_ack`'s (ERR-2/3/4/8, or
    ERR-1 of v2.3/2.4). Text that is not an ACK gives code "" and one sentence saying why
    (never raises), so the registry page can always show something.
    """
    try:
        ack = read_ack(ack_text)
    except AckReadError as exc:
        return AckResult("", "", [f"not an acknowledgment: {exc}"])
    errors = [text for text in (error.describe() for error in ack.errors) if text]
    if not errors and ack.text:
        errors = [ack.text]
    return AckResult(ack.code, ack.acknowledged_id, errors)
