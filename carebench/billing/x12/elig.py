"""Eligibility: write an X12 5010 270 request and read the 271 answer into plain words
(005010X279A1; pure, no Django).

`write_270(request)` writes one interchange (GS01 HS) with one transaction set per request:

    ST  BHT*0022*13
    2000A HL*1**20*1   2100A NM1*PR        the payer (name, payer id)
    2000B HL*2*1*21*1  2100B NM1*1P [PRV]  the provider (NPI; taxonomy when given)
    2000C HL*3*2*22*0  TRN*1               our trace number (the 271 echoes it in TRN*2)
          2100C NM1*IL [DMG] DTP*291       the subscriber: member id, birth date and sex,
                                           and the date of service asked about (the visit's
                                           date, not today's)
          2110C EQ                         one per service type (30 the plan in general, 98
                                           office visit, UC urgent care...)
    SE

When the patient is a dependent (`EligibilityRequest.dependent`: a spouse, child or other
adult on the subscriber's plan) the subscriber loop only names the subscriber, and the
question moves to the dependent's loop, as the guide has it:

    2000C HL*3*2*22*1                      the subscriber (HL04 1: a dependent follows)
          2100C NM1*IL [DMG]               member id (the subscriber's), birth date
    2000D HL*4*3*23*0  TRN*1               our trace number, in the patient's loop
          2100D NM1*03 [DMG] INS*N*<01/19/34> DTP*291
                                           the dependent: name (no id), birth date and sex,
                                           relationship (01 spouse, 19 child, 34 other adult)
          2110D EQ                         the service types

`read_271(text)` gives one `EligibilityResult` per patient answered (the subscriber, or the
dependent of a 2000D loop): payer and provider, the member and their group, coverage dates,
every EB benefit (active or inactive, plan, copay B, coinsurance A, deductible C,
out-of-pocket G, limitations...) and every AAA rejection at any level (the payer, the provider,
the subscriber, a benefit) with the reason (AAA03) and what to do next (AAA04).
`EligibilityResult.summary()` says it in sentences the front desk reads; `to_json(result)`
gives a dict ready for `json.dumps`.

A file we cannot read raises `parse.X12Error` naming the segment and its position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from carebench.core.npi import validate_npi

from . import codes
from .parse import Segment, Transaction, X12Error, read_interchange

IMPLEMENTATION = "005010X279A1"
ELEMENT, COMPONENT, REPETITION, TERMINATOR = "*", ":", "^", "~"
_CLEAN = str.maketrans({ELEMENT: " ", COMPONENT: " ", REPETITION: " ", TERMINATOR: " "})
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")
SEX_CODES = {"F": "F", "M": "M", "U": "U", "FEMALE": "F", "MALE": "M", "UNKNOWN": "U"}

# EB01: what a benefit line says.
BENEFIT_CODES = {
    "1": "active coverage",
    "2": "active, full risk capitation",
    "3": "active, services capitated",
    "4": "active, services capitated to the primary care physician",
    "5": "active, pending investigation",
    "6": "inactive",
    "7": "inactive, pending eligibility update",
    "8": "inactive, pending investigation",
    "A": "coinsurance",
    "B": "copay",
    "C": "deductible",
    "CB": "coverage basis",
    "D": "benefit description",
    "E": "exclusions",
    "F": "limitations",
    "G": "out-of-pocket maximum",
    "H": "unlimited",
    "I": "not covered",
    "J": "cost containment",
    "K": "reserve",
    "L": "primary care provider",
    "M": "pre-existing condition",
    "MC": "managed care coordinator",
    "N": "services restricted to the following provider",
    "O": "not deemed a medical necessity",
    "P": "benefit disclaimer",
    "Q": "second surgical opinion required",
    "R": "other or additional payer",
    "S": "prior year history",
    "T": "card reported lost or stolen",
    "U": "contact the following entity for eligibility or benefits",
    "V": "cannot process",
    "W": "other source of data",
    "X": "health care facility",
    "Y": "spend down",
}
ACTIVE = frozenset({"1", "2", "3", "4", "5"})
INACTIVE = frozenset({"6", "7", "8"})
# EB02
COVERAGE_LEVELS = {
    "CHD": "children only",
    "DEP": "dependents only",
    "ECH": "employee and children",
    "EMP": "employee only",
    "ESP": "employee and spouse",
    "FAM": "family",
    "IND": "individual",
    "SPC": "spouse and children",
    "SPO": "spouse only",
}
# EB06
TIME_PERIODS = {
    "6": "hour",
    "7": "day",
    "13": "24 hours",
    "21": "year",
    "22": "service year",
    "23": "calendar year",
    "24": "year to date",
    "25": "contract",
    "26": "episode",
    "27": "visit",
    "28": "outlier",
    "29": "remaining",
    "30": "exceeded",
    "31": "not exceeded",
    "32": "lifetime",
    "33": "lifetime remaining",
    "34": "month",
    "35": "week",
    "36": "admission",
}
REMAINING_PERIODS = frozenset({"29", "33"})
# EB04 (the common ones)
INSURANCE_TYPES = {
    "C1": "commercial",
    "CO": "COBRA",
    "EP": "exclusive provider organization (EPO)",
    "GP": "group policy",
    "HM": "HMO",
    "HN": "HMO Medicare risk",
    "IN": "indemnity",
    "IP": "individual policy",
    "MA": "Medicare Part A",
    "MB": "Medicare Part B",
    "MC": "Medicaid",
    "MP": "Medicare primary",
    "OT": "other",
    "PR": "PPO",
    "PS": "point of service (POS)",
    "SP": "supplemental policy",
    "WC": "workers' compensation",
}
# AAA04
FOLLOW_UP = {
    "C": "Correct the request and send it again.",
    "N": "Do not send it again.",
    "P": "Send the same request again.",
    "R": "You may send it again.",
    "S": "Do not send it again: the payer has asked a third party.",
    "W": "Wait 30 days, then send it again.",
    "X": "Wait 10 days, then send it again.",
    "Y": "Do not send it again: the payer will pass the request on.",
}
# DTP qualifiers on the subscriber or a benefit.
DATE_QUALIFIERS = {
    "096": "discharge",
    "102": "issue",
    "152": "effective date of change",
    "193": "period start",
    "194": "period end",
    "198": "completion",
    "290": "coordination of benefits",
    "291": "plan",
    "292": "benefit",
    "295": "primary care provider",
    "304": "latest visit or consultation",
    "307": "eligibility",
    "318": "added",
    "340": "COBRA begin",
    "341": "COBRA end",
    "342": "premium paid to date begin",
    "343": "premium paid to date end",
    "346": "plan begin",
    "347": "plan end",
    "348": "benefit begin",
    "349": "benefit end",
    "356": "eligibility begin",
    "357": "eligibility end",
    "382": "enrollment",
    "435": "admission",
    "442": "date of death",
    "458": "certification",
    "472": "service",
    "539": "policy effective",
    "540": "policy expiration",
    "636": "date of last update",
    "771": "status",
}
SEGMENTS = frozenset(
    {
        "ST", "BHT", "HL", "AAA", "NM1", "REF", "N3", "N4", "PER", "PRV", "DMG", "INS", "HI",
        "DTP", "MPI", "EB", "HSD", "MSG", "III", "LS", "LE", "TRN", "SE",
    }
)  # fmt: skip


# --- the request --------------------------------------------------------------------------------

# 2100D INS02, the dependent's relationship to the subscriber (005010X279A1: INS01 is N).
DEPENDENT_RELATIONSHIPS = {"01": "spouse", "19": "child", "34": "other adult"}


@dataclass(frozen=True)
class Dependent:
    """The patient asked about when they are not the subscriber (loop 2000D/2100D)."""

    last_name: str
    first_name: str
    relationship: str  # INS02: 01 spouse, 19 child, 34 other adult
    birth_date: date | None = None
    sex: str = ""  # F, M (or female, male); U/unknown or "" leave DMG03 out
    middle_name: str = ""

    def problems(self) -> list[str]:
        out: list[str] = []
        if not _text(self.last_name, 60) or not _text(self.first_name, 35):
            out.append("dependent name: the last and first names are required")
        if self.relationship not in DEPENDENT_RELATIONSHIPS:
            out.append(
                f"dependent relationship: 01 (spouse), 19 (child) or 34 (other adult), "
                f"not {self.relationship!r}"
            )
        if self.sex and self.sex.strip().upper() not in SEX_CODES:
            out.append(f"dependent sex: F, M or U, not {self.sex!r}")
        return out


@dataclass(frozen=True)
class EligibilityRequest:
    """One 270 question: is this subscriber (or their `dependent`) covered by this payer on
    this date, and for what?

    With a `dependent`, the subscriber fields (names, member id, birth date, sex) are the
    subscriber's, and the dependent is the patient asked about. The envelope fields (sender, receiver, control numbers, time, usage) are the interchange's;
    when several requests go in one file they must agree on them.
    """

    sender_id: str  # ISA06 and GS02: our id at the clearinghouse (at most 15 characters)
    receiver_id: str  # ISA08 and GS03: the clearinghouse's or payer's id
    interchange_control: int  # ISA13, 1..999999999 (GS06 too unless group_control is given)
    created_at: datetime
    payer_name: str
    payer_id: str  # 2100A NM109 (PI)
    provider_npi: str  # 2100B NM109 (XX)
    provider_name: str  # an organization's name, or a person's last name (with first name)
    member_id: str  # 2100C NM109 (MI); may be "" when the birth date is given
    subscriber_last_name: str
    subscriber_first_name: str
    birth_date: date | None = None
    sex: str = ""  # F, M (or female, male); U/unknown or "" leave DMG03 out
    service_date: date | None = None  # DTP*291: the visit date (default: created_at's date)
    service_types: tuple[str, ...] = ("30",)  # EQ01 codes
    trace_number: str = ""  # TRN02, echoed in the 271 (default: the interchange control)
    originator_id: str = ""  # TRN03, 10 characters (default: "9" + the NPI's first nine digits)
    provider_first_name: str = ""  # when the provider is a person
    provider_taxonomy: str = ""  # PRV*PE*PXC when given
    subscriber_middle_name: str = ""
    reference: str = ""  # BHT03 (default: the trace number)
    group_control: int = 0  # GS06 (default: interchange_control)
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    usage: str = "P"  # ISA15: P production, T test
    acknowledgment_requested: bool = False  # ISA14
    dependent: Dependent | None = None  # the patient, when not the subscriber (2000D)

    @property
    def trace(self) -> str:
        return self.trace_number or str(self.interchange_control)

    def problems(self) -> list[str]:
        """What stops this request from being written, as sentences naming the field; []."""
        out: list[str] = []
        if not 0 < self.interchange_control < 1_000_000_000:
            out.append("interchange_control: 1 to 999999999")
        if self.group_control and not 0 < self.group_control < 1_000_000_000:
            out.append("group_control: 1 to 999999999")
        for name in ("sender_id", "receiver_id"):
            value = getattr(self, name).strip()
            if not value or len(value) > 15:
                out.append(f"{name}: 1 to 15 characters")
        if self.usage not in ("P", "T"):
            out.append("usage: P (production) or T (test)")
        if not _text(self.payer_name, 60):
            out.append("payer_name: required")
        if not _text(self.payer_id, 80):
            out.append("payer_id: required (the payer's id at the clearinghouse)")
        try:
            validate_npi(self.provider_npi)
        except ValueError as exc:
            out.append(f"provider_npi: {exc}")
        if not _text(self.provider_name, 60):
            out.append("provider_name: required")
        if not _text(self.subscriber_last_name, 60) or not _text(self.subscriber_first_name, 35):
            out.append("subscriber name: the last and first names are required")
        if not _text(self.member_id, 80) and self.birth_date is None:
            out.append("member_id: required (or the birth date, for a search by name and birth)")
        if self.sex and self.sex.strip().upper() not in SEX_CODES:
            out.append(f"sex: F, M or U, not {self.sex!r}")
        service = self.service_date or self.created_at.date()
        if self.birth_date and self.birth_date > service:
            out.append("birth_date: after the date of service")
        if self.dependent is not None:
            out += self.dependent.problems()
            born = self.dependent.birth_date
            if born and born > service:
                out.append("dependent birth_date: after the date of service")
        if not self.service_types:
            out.append("service_types: at least one (30 asks about the plan in general)")
        for code in self.service_types:
            if codes.service_type(code) == codes.unknown(code):
                out.append(f"service_types: {code!r} is not a service type code")
        if len(self.service_types) > 99:
            out.append("service_types: at most 99")
        originator = self.originator_id
        if originator and (len(originator) != 10 or not originator.isalnum()):
            out.append("originator_id: 10 letters or digits (1 or 9, then an EIN or other id)")
        if len(self.trace) > 50:
            out.append("trace_number: at most 50 characters")
        return out


def _text(value: str, limit: int) -> str:
    """A text value: delimiters and line breaks as spaces, spaces squeezed, cut."""
    return " ".join(value.translate(_CLEAN).split())[:limit].strip()


def _name_text(value: str, limit: int) -> str:
    """A name as payers match it: `_text` in upper case (identifiers keep their case)."""
    return _text(value.upper(), limit)


def _seg(*parts: str) -> str:
    values = list(parts)
    while values and values[-1] == "":
        values.pop()
    return ELEMENT.join(values)


def _d8(day: date) -> str:
    return day.strftime("%Y%m%d")


def _sex_code(value: str) -> str:
    """DMG03: F or M; unknown (U) is left out, as the 5010 guide takes only F and M."""
    code = SEX_CODES.get(value.strip().upper(), "") if value else ""
    return code if code in ("F", "M") else ""


def _transaction_270(request: EligibilityRequest, control: str) -> list[str]:
    created = request.created_at
    out = [
        _seg("ST", "270", control, IMPLEMENTATION),
        _seg(
            "BHT",
            "0022",
            "13",
            _text(request.reference, 50) or _text(request.trace, 50),
            _d8(created),
            created.strftime("%H%M"),
        ),
        _seg("HL", "1", "", "20", "1"),
        _seg("NM1", "PR", "2", _name_text(request.payer_name, 60), "", "", "", "", "PI",
             _text(request.payer_id, 80)),
        _seg("HL", "2", "1", "21", "1"),
    ]  # fmt: skip
    if request.provider_first_name:
        out.append(
            _seg("NM1", "1P", "1", _name_text(request.provider_name, 60),
                 _name_text(request.provider_first_name, 35), "", "", "", "XX", request.provider_npi)
        )  # fmt: skip
    else:
        out.append(
            _seg("NM1", "1P", "2", _name_text(request.provider_name, 60), "", "", "", "", "XX",
                 request.provider_npi)
        )  # fmt: skip
    if request.provider_taxonomy:
        out.append(_seg("PRV", "PE", "PXC", _text(request.provider_taxonomy, 50)))
    member = _text(request.member_id, 80)
    originator = request.originator_id or "9" + request.provider_npi[:9]
    trn = _seg("TRN", "1", _text(request.trace, 50), originator)
    dependent = request.dependent
    # The trace number goes in the patient's loop: 2000C for the subscriber, else 2000D.
    out.append(_seg("HL", "3", "2", "22", "0" if dependent is None else "1"))
    if dependent is None:
        out.append(trn)
    out.append(
        _seg("NM1", "IL", "1", _name_text(request.subscriber_last_name, 60),
             _name_text(request.subscriber_first_name, 35),
             _name_text(request.subscriber_middle_name, 25), "", "", "MI" if member else "",
             member)
    )  # fmt: skip
    if request.birth_date:
        out.append(_seg("DMG", "D8", _d8(request.birth_date), _sex_code(request.sex)))
    if dependent is not None:
        out += [
            _seg("HL", "4", "3", "23", "0"),
            trn,
            _seg("NM1", "03", "1", _name_text(dependent.last_name, 60),
                 _name_text(dependent.first_name, 35), _name_text(dependent.middle_name, 25)),
        ]  # fmt: skip
        if dependent.birth_date:
            out.append(_seg("DMG", "D8", _d8(dependent.birth_date), _sex_code(dependent.sex)))
        out.append(_seg("INS", "N", dependent.relationship))
    out.append(_seg("DTP", "291", "D8", _d8(request.service_date or created.date())))
    out += [_seg("EQ", code.strip().upper()) for code in request.service_types]
    out.append(_seg("SE", str(len(out) + 1), control))
    return out


def write_270(
    request: EligibilityRequest | Sequence[EligibilityRequest], *, line_breaks: bool = True
) -> str:
    """The 270 file's text for one request, or for several in one interchange (one transaction
    set each, numbered 0001, 0002...; the envelope is the first request's).

    Raises ValueError naming every problem (`EligibilityRequest.problems`, and envelopes that
    differ between the requests).
    """
    requests = [request] if isinstance(request, EligibilityRequest) else list(request)
    if not requests:
        raise ValueError("a 270 needs at least one request")
    first = requests[0]
    problems: list[str] = []
    for number, item in enumerate(requests, start=1):
        where = f"request {number}: " if len(requests) > 1 else ""
        problems += [where + p for p in item.problems()]
        envelope = (item.sender_id, item.receiver_id, item.interchange_control, item.created_at)
        if envelope != (first.sender_id, first.receiver_id, first.interchange_control,
                        first.created_at):  # fmt: skip
            problems.append(f"{where}the sender, receiver, control number and time must match")
    if problems:
        raise ValueError("; ".join(problems))
    created = first.created_at
    isa13 = f"{first.interchange_control:09d}"
    group = str(first.group_control or first.interchange_control)
    sender, receiver = _text(first.sender_id, 15), _text(first.receiver_id, 15)
    segments = [
        _seg("ISA", "00", " " * 10, "00", " " * 10, first.sender_qualifier, sender.ljust(15),
             first.receiver_qualifier, receiver.ljust(15), created.strftime("%y%m%d"),
             created.strftime("%H%M"), REPETITION, "00501", isa13,
             "1" if first.acknowledgment_requested else "0", first.usage, COMPONENT),
        _seg("GS", "HS", sender, receiver, _d8(created), created.strftime("%H%M"), group, "X",
             IMPLEMENTATION),
    ]  # fmt: skip
    for number, item in enumerate(requests, start=1):
        segments += _transaction_270(item, f"{number:04d}")
    segments += [_seg("GE", str(len(requests)), group), _seg("IEA", "1", isa13)]
    end = TERMINATOR + ("\n" if line_breaks else "")
    return end.join(segments) + end


# --- the answer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """A DTP date (D8) or range (RD8): what it is (the qualifier) and when."""

    qualifier: str
    start: date
    end: date | None = None

    @property
    def meaning(self) -> str:
        return DATE_QUALIFIERS.get(self.qualifier) or codes.unknown(self.qualifier)


@dataclass(frozen=True)
class Rejection:
    """An AAA: the payer could not answer (all or part of) the request."""

    level: str  # payer, provider, subscriber, dependent or benefit
    code: str  # AAA03
    follow_up: str  # AAA04
    valid_request: bool  # AAA01: Y the request was valid but not answered, N it was not
    position: int = 0

    @property
    def reason(self) -> str:
        return codes.aaa_reason(self.code)

    @property
    def follow_up_text(self) -> str:
        return FOLLOW_UP.get(self.follow_up) or codes.unknown(self.follow_up)

    def describe(self) -> str:
        """ "Rejected (code 72): The member ID is missing or invalid. Correct the request..." """
        text = f"Rejected (code {self.code}): {self.reason}"
        if not text.endswith("."):
            text += "."
        if self.follow_up:
            text += f" {self.follow_up_text}"
        return text


@dataclass(frozen=True)
class Benefit:
    """One EB benefit line and its dates and messages (loop 2110C/2110D)."""

    code: str  # EB01: 1 active, 6 inactive, A coinsurance, B copay, C deductible, G OOP...
    coverage_level: str = ""  # EB02: IND, FAM, EMP...
    service_types: tuple[str, ...] = ()  # EB03 (repeats)
    insurance_type: str = ""  # EB04
    plan_description: str = ""  # EB05
    time_period: str = ""  # EB06: 23 calendar year, 29 remaining, 27 visit...
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08 as a percentage: EB08 .2 is 20
    quantity_qualifier: str = ""  # EB09
    quantity: Decimal | None = None  # EB10
    authorization_required: bool | None = None  # EB11: Y, N (U or absent: None)
    in_network: bool | None = None  # EB12: Y, N (W both, U or absent: None)
    procedure: str = ""  # EB13, as sent (HC:99213)
    dates: tuple[DateRange, ...] = ()
    messages: tuple[str, ...] = ()  # MSG
    related_entities: tuple[tuple[str, str, str], ...] = ()  # 2120 NM1: (code, name, id)
    position: int = 0

    @property
    def meaning(self) -> str:
        return BENEFIT_CODES.get(self.code) or codes.unknown(self.code)

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(codes.service_type(c) for c in self.service_types)

    @property
    def time_period_text(self) -> str:
        return TIME_PERIODS.get(self.time_period, "") if self.time_period else ""

    @property
    def network_text(self) -> str:
        return {True: "in network", False: "out of network", None: ""}[self.in_network]


@dataclass(frozen=True)
class EligibilityResult:
    """The 271's answer for one patient (the subscriber, or a dependent)."""

    control_number: str  # ST02 of the 271
    trace_number: str  # TRN*2 TRN02: our 270's trace number, echoed
    payer_name: str
    payer_id: str
    provider_name: str
    provider_npi: str
    subscriber_name: str  # "LAST, FIRST M"
    member_id: str
    patient_name: str  # the subscriber's name, or the dependent's
    is_dependent: bool = False
    birth_date: date | None = None  # the patient's
    sex: str = ""
    group_number: str = ""  # REF*6P (or 1L)
    group_name: str = ""  # REF*6P REF03
    plan_number: str = ""  # REF*18
    identity_corrected: bool = False  # INS03 001 + INS04 25: the payer changed name/id/birth
    dates: tuple[DateRange, ...] = ()  # 2100C/D DTP: plan begin/end, eligibility...
    benefits: tuple[Benefit, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    payer_trace_number: str = ""  # TRN*1 from the payer, when sent
    position: int = 0  # the patient's HL

    # -- plain views -----------------------------------------------------------------------------

    @property
    def active(self) -> bool | None:
        """True when any EB01 says active (1-5), False when only inactive (6-8), else None."""
        if any(b.code in ACTIVE for b in self.benefits):
            return True
        if any(b.code in INACTIVE for b in self.benefits):
            return False
        return None

    @property
    def status(self) -> str:
        """active, inactive, rejected (AAA with no coverage answer) or unknown."""
        if self.active is True:
            return "active"
        if self.active is False:
            return "inactive"
        return "rejected" if self.rejections else "unknown"

    @property
    def plan_name(self) -> str:
        """EB05 of the first coverage line (active or inactive) that has one, else ""."""
        for wanted in (ACTIVE, INACTIVE, None):
            for b in self.benefits:
                if b.plan_description and (wanted is None or b.code in wanted):
                    return b.plan_description
        return ""

    @property
    def insurance_type(self) -> str:
        for b in self.benefits:
            if b.code in ACTIVE | INACTIVE and b.insurance_type:
                return INSURANCE_TYPES.get(b.insurance_type, b.insurance_type)
        return ""

    def _coverage_dates(self) -> tuple[DateRange, ...]:
        own = self.dates
        status = tuple(d for b in self.benefits if b.code in ACTIVE | INACTIVE for d in b.dates)
        return own + status

    @property
    def coverage_start(self) -> date | None:
        """Plan or eligibility begin (DTP 346/356, or the start of a 291/307/292 range)."""
        return _pick(self._coverage_dates(), ("346", "356", "291", "307", "292", "348"), True)

    @property
    def coverage_end(self) -> date | None:
        """Plan or eligibility end (DTP 347/357, or the end of a 291/307/292 range)."""
        return _pick(self._coverage_dates(), ("347", "357", "291", "307", "292", "349"), False)

    def _kind(self, code: str) -> tuple[Benefit, ...]:
        return tuple(b for b in self.benefits if b.code == code)

    @property
    def copays(self) -> tuple[Benefit, ...]:
        return self._kind("B")

    @property
    def coinsurance(self) -> tuple[Benefit, ...]:
        return self._kind("A")

    @property
    def deductibles(self) -> tuple[Benefit, ...]:
        return self._kind("C")

    @property
    def out_of_pocket(self) -> tuple[Benefit, ...]:
        return self._kind("G")

    def _coverage_sentence(self) -> list[str]:
        start, end = self.coverage_start, self.coverage_end
        if start and end:
            return [f"Coverage from {_us(start)} to {_us(end)}."]
        if start:
            return [f"Coverage from {_us(start)}."]
        if end:
            return [f"Coverage {'ended' if self.active is False else 'until'} {_us(end)}."]
        return []

    def summary(self) -> list[str]:
        """Plain sentences for the front desk, most important first:

        "Active: ACME CHOICE POS II.", "Coverage from 01/01/2026 to 12/31/2026.",
        "Office visit copay $25 in network.", "Deductible $1,500 per calendar year, $320
        remaining, in network.", "Rejected (code 72): The member ID is missing or invalid.
        Correct the request and send it again."
        """
        out: list[str] = []
        plan = self.plan_name
        if self.status in ("active", "inactive"):
            out.append(f"{self.status.capitalize()}: {plan}." if plan else
                       f"{self.status.capitalize()} coverage.")  # fmt: skip
        elif self.status == "unknown":
            out.append("The payer did not say whether the coverage is active.")
        out += [r.describe() for r in self.rejections]
        if self.identity_corrected:
            out.append(
                "The payer corrected the patient's name, ID or birth date: check the coverage "
                "on file."
            )
        if self.active is not None:  # dates in a rejection are the dates asked about
            out += self._coverage_sentence()
        if self.active is False:
            return _unique(out)
        for b in self.copays:
            if b.amount is not None:
                out.append(f"{_label(b)} copay {_dollars(b.amount)}{_network(b)}.")
        for b in self.coinsurance:
            if b.percent is not None:
                lead = f"{_label(b)} coinsurance" if _label(b) != "Plan" else "Coinsurance"
                out.append(f"{lead}: the patient pays {_percent(b.percent)}{_network(b)}.")
        out += _accumulators("deductible", self.deductibles)
        out += _accumulators("out-of-pocket maximum", self.out_of_pocket)
        for b in self.benefits:
            if b.authorization_required and b.service_types:
                out.append(f"Prior authorization required: {_label(b)}{_network(b)}.")
        for b in self.benefits:
            if b.code == "L":
                out += [f"Primary care provider: {name}." for _, name, _ in b.related_entities]
        return _unique(out)


_ENDS = frozenset({"347", "357", "349"})
_BEGINS = frozenset({"346", "356", "348"})


def _pick(dates: Iterable[DateRange], qualifiers: Sequence[str], start: bool) -> date | None:
    """The first date of the wanted kinds: a begin (346...) or end (347...) date, or a range
    (291, 307, 292 as RD8). A single 291 date is the date asked about, not the coverage."""
    for qualifier in qualifiers:
        for d in dates:
            if d.qualifier != qualifier:
                continue
            if d.end is not None:
                return d.start if start else d.end
            if (start and qualifier in _BEGINS) or (not start and qualifier in _ENDS):
                return d.start
    return None


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _us(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _dollars(value: Decimal) -> str:
    text = f"${value:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _network(b: Benefit) -> str:
    return f" {b.network_text}" if b.network_text else ""


def _label(b: Benefit) -> str:
    """What a benefit is about, for a sentence: "Office visit", "Urgent care", "Plan"."""
    names = [codes.service_type(c) for c in b.service_types if c != "30"]
    if not names:
        return "Plan"
    text = " and ".join(names)
    return text[0].upper() + text[1:]


def _accumulators(noun: str, benefits: Sequence[Benefit]) -> list[str]:
    """Deductible or out-of-pocket lines merged per coverage level, network and service: the
    total per period, what is met so far (24) and what remains (29, 33)."""
    groups: dict[tuple[str, bool | None, tuple[str, ...]], list[Benefit]] = {}
    for b in benefits:
        if b.amount is None:
            continue
        services = tuple(c for c in b.service_types if c != "30")
        groups.setdefault((b.coverage_level, b.in_network, services), []).append(b)
    out = []
    for (level, _network_flag, services), items in groups.items():
        parts = []
        for b in items:
            assert b.amount is not None
            if b.time_period in REMAINING_PERIODS:
                parts.append(f"{_dollars(b.amount)} remaining")
            elif b.time_period == "24":
                parts.append(f"{_dollars(b.amount)} met so far")
            elif b.time_period_text:
                parts.append(f"{_dollars(b.amount)} per {b.time_period_text}")
            else:
                parts.append(_dollars(b.amount))
        subject = noun if level in ("", "IND") else f"{COVERAGE_LEVELS.get(level, level)} {noun}"
        if services:
            subject = f"{' and '.join(codes.service_type(c) for c in services)} {subject}"
        subject = subject[0].upper() + subject[1:]
        network = items[0].network_text
        tail = f", {network}" if network else ""
        out.append(f"{subject} {', '.join(parts)}{tail}.")
    return out


# --- reading the 271 ----------------------------------------------------------------------------


def _fail(segment: Segment, message: str) -> X12Error:
    return X12Error(segment.id, segment.position, message)


def _required(segment: Segment, n: int, what: str) -> str:
    value = segment.element(n).strip()
    if not value:
        raise _fail(segment, f"{segment.id}{n:02d} ({what}) is required")
    return value


def _decimal(segment: Segment, n: int, what: str) -> Decimal | None:
    value = segment.element(n).strip()
    if not value:
        return None
    if not _NUMBER.fullmatch(value):
        raise _fail(segment, f"{segment.id}{n:02d} ({what}) must be a number, not {value!r}")
    return Decimal(value)


def _parse_d8(segment: Segment, n: int, value: str) -> date:
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise _fail(
            segment, f"{segment.id}{n:02d} must be a date CCYYMMDD, not {value!r}"
        ) from None


def _dtp(segment: Segment) -> DateRange:
    qualifier = _required(segment, 1, "date/time qualifier")
    form = _required(segment, 2, "date format")
    value = _required(segment, 3, "date")
    if form == "D8":
        return DateRange(qualifier, _parse_d8(segment, 3, value))
    if form == "RD8":
        start, _, end = value.partition("-")
        return DateRange(qualifier, _parse_d8(segment, 3, start), _parse_d8(segment, 3, end))
    raise _fail(segment, f"DTP02 is {form!r}: D8 (a date) or RD8 (a range)")


def _name(segment: Segment) -> str:
    last, first, middle = segment.element(3), segment.element(4), segment.element(5)
    given = " ".join(p for p in (first, middle) if p)
    return f"{last}, {given}" if given else last


def _yes_no(value: str) -> bool | None:
    return {"Y": True, "N": False}.get(value)


@dataclass
class _BenefitBuilder:
    eb: Segment
    dates: list[DateRange] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    entities: list[tuple[str, str, str]] = field(default_factory=list)

    def build(self) -> Benefit:
        eb = self.eb
        percent = _decimal(eb, 8, "percent")
        return Benefit(
            code=_required(eb, 1, "eligibility or benefit information code"),
            coverage_level=eb.element(2),
            service_types=eb.repetitions(3),
            insurance_type=eb.element(4),
            plan_description=eb.element(5),
            time_period=eb.element(6),
            amount=_decimal(eb, 7, "benefit amount"),
            percent=None if percent is None else (percent * 100).normalize(),
            quantity_qualifier=eb.element(9),
            quantity=_decimal(eb, 10, "quantity"),
            authorization_required=_yes_no(eb.element(11)),
            in_network=_yes_no(eb.element(12)),
            procedure=eb.element(13),
            dates=tuple(self.dates),
            messages=tuple(self.messages),
            related_entities=tuple(self.entities),
            position=eb.position,
        )


@dataclass
class _PatientBuilder:
    hl: Segment
    dependent: bool
    base: EligibilityResult
    benefits: list[_BenefitBuilder] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    dates: list[DateRange] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return bool(self.benefits or self.rejections)

    def build(self, inherited: Sequence[Rejection]) -> EligibilityResult:
        return replace(
            self.base,
            dates=tuple(self.dates),
            benefits=tuple(b.build() for b in self.benefits),
            rejections=tuple(inherited) + tuple(self.rejections),
        )


def read_271(text: str | bytes) -> list[EligibilityResult]:
    """One result per patient answered in every 271 of the interchange, in file order.

    A payer- or provider-level AAA (the payer could not answer at all) is carried into each
    patient below it; with no patient loop at all, it becomes a result of its own. Raises
    `parse.X12Error` (segment and position) for a file we cannot read.
    """
    interchange = read_interchange(text)
    out: list[EligibilityResult] = []
    for transaction in interchange.transactions:
        out += _read_transaction(transaction)
    return out


def _read_transaction(transaction: Transaction) -> list[EligibilityResult]:
    st = transaction.st
    if transaction.type != "271":
        raise _fail(st, f"ST01 is {transaction.type!r}: this reader takes a 271")
    control = transaction.control_number
    results: list[EligibilityResult] = []
    payer = ("", "")
    provider = ("", "")
    upper_rejections: list[Rejection] = []  # payer and provider levels
    level = ""
    patient: _PatientBuilder | None = None
    subscriber: _PatientBuilder | None = None
    benefit: _BenefitBuilder | None = None
    in_ls = False

    def finish() -> None:
        nonlocal patient
        if patient is None:
            return
        if patient.answered:
            results.append(patient.build(upper_rejections))
        patient = None

    def empty(hl: Segment, dependent: bool, base: EligibilityResult | None) -> _PatientBuilder:
        blank = EligibilityResult(
            control_number=control,
            trace_number="",
            payer_name=payer[0],
            payer_id=payer[1],
            provider_name=provider[0],
            provider_npi=provider[1],
            subscriber_name="",
            member_id="",
            patient_name="",
            position=hl.position,
        )
        if base is None:
            return _PatientBuilder(hl, dependent, blank)
        start = replace(base, is_dependent=True, birth_date=None, sex="", position=hl.position)
        return _PatientBuilder(hl, dependent, start)

    for seg in transaction.body:
        sid = seg.id
        if sid not in SEGMENTS or sid == "ST":
            raise _fail(seg, f"{sid} does not belong in a 271")
        if sid == "HL":
            level = _required(seg, 3, "hierarchical level code")
            benefit, in_ls = None, False
            if level in ("20", "21", "22"):
                finish()
                if level == "20":
                    payer, provider, upper_rejections = ("", ""), ("", ""), []
                elif level == "21":
                    provider = ("", "")
                    upper_rejections = [r for r in upper_rejections if r.level == "payer"]
                else:
                    patient = subscriber = empty(seg, False, None)
            elif level == "23":
                if subscriber is None:
                    raise _fail(seg, "a dependent (HL 23) without a subscriber (HL 22) above it")
                finish()  # the subscriber (kept only when answered) or the previous dependent
                patient = empty(seg, True, subscriber.base)
            else:
                raise _fail(seg, f"HL03 {level!r}: a 271 has levels 20, 21, 22 and 23")
            continue
        if sid == "EB":
            if patient is None:
                raise _fail(seg, "EB outside a subscriber or dependent (no HL 22/23 before it)")
            benefit = _BenefitBuilder(seg)
            patient.benefits.append(benefit)
            in_ls = False
            continue
        if sid == "LS":
            in_ls = True
            continue
        if sid == "LE":
            in_ls = False
            continue
        if sid == "AAA":
            code = _required(seg, 3, "reject reason code")
            where = "benefit" if benefit is not None else {
                "20": "payer", "21": "provider", "22": "subscriber", "23": "dependent",
            }.get(level, "payer")  # fmt: skip
            rejection = Rejection(where, code, seg.element(4), seg.element(1) == "Y", seg.position)
            if patient is not None:
                patient.rejections.append(rejection)
            else:
                upper_rejections.append(rejection)
            continue
        if benefit is not None:
            if in_ls and sid == "NM1":
                benefit.entities.append((seg.element(1), _name(seg), seg.element(9)))
            elif sid == "DTP" and not in_ls:
                benefit.dates.append(_dtp(seg))
            elif sid == "MSG":
                benefit.messages.append(seg.element(1))
            elif sid in ("BHT", "TRN", "DMG", "INS"):
                raise _fail(seg, f"{sid} after an EB: it belongs before the first EB")
            continue
        if sid == "NM1":
            if level == "20":
                payer = (seg.element(3), seg.element(9))
            elif level == "21":
                provider = (_name(seg), seg.element(9))
            elif patient is not None:
                base = patient.base
                if patient.dependent:
                    base = replace(base, patient_name=_name(seg))
                else:
                    base = replace(
                        base, subscriber_name=_name(seg), member_id=seg.element(9),
                        patient_name=_name(seg),
                    )  # fmt: skip
                patient.base = base
            continue
        if patient is None:
            continue  # BHT, PER, PRV... of the payer or provider levels
        base = patient.base
        if sid == "TRN":
            number = _required(seg, 2, "trace number")
            if seg.element(1) == "2":
                base = replace(base, trace_number=number)
            else:
                base = replace(base, payer_trace_number=number)
        elif sid == "REF":
            qualifier, value = seg.element(1), seg.element(2)
            if qualifier == "6P" or (qualifier == "1L" and not base.group_number):
                base = replace(base, group_number=value, group_name=seg.element(3))
            elif qualifier == "18":
                base = replace(base, plan_number=value)
        elif sid == "DMG":
            birth = seg.element(2)
            base = replace(
                base,
                birth_date=_parse_d8(seg, 2, birth) if birth else None,
                sex=seg.element(3),
            )
        elif sid == "INS":
            if seg.element(3) == "001" and seg.element(4) == "25":
                base = replace(base, identity_corrected=True)
        elif sid == "DTP":
            patient.dates.append(_dtp(seg))
        patient.base = base
    finish()
    if not results and upper_rejections:
        blank = EligibilityResult(
            control_number=control,
            trace_number="",
            payer_name=payer[0],
            payer_id=payer[1],
            provider_name=provider[0],
            provider_npi=provider[1],
            subscriber_name="",
            member_id="",
            patient_name="",
            rejections=tuple(upper_rejections),
            position=st.position,
        )
        results.append(blank)
    return results


# --- JSON ---------------------------------------------------------------------------------------


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _str(value: Decimal | None, places: bool = True) -> str | None:
    if value is None:
        return None
    return f"{value:.2f}" if places else f"{value.normalize():f}"


def to_json(result: EligibilityResult) -> dict[str, Any]:
    """The result as a JSON-ready dict: dates ISO 8601, money as strings with cents, percents
    as strings ("20"), codes with their meanings, and the summary sentences."""
    return {
        "status": result.status,
        "active": result.active,
        "plan_name": result.plan_name,
        "insurance_type": result.insurance_type,
        "coverage_start": _iso(result.coverage_start),
        "coverage_end": _iso(result.coverage_end),
        "summary": result.summary(),
        "control_number": result.control_number,
        "trace_number": result.trace_number,
        "payer_trace_number": result.payer_trace_number,
        "payer": {"name": result.payer_name, "id": result.payer_id},
        "provider": {"name": result.provider_name, "npi": result.provider_npi},
        "subscriber": {
            "name": result.subscriber_name,
            "member_id": result.member_id,
            "group_number": result.group_number,
            "group_name": result.group_name,
            "plan_number": result.plan_number,
        },
        "patient": {
            "name": result.patient_name,
            "is_dependent": result.is_dependent,
            "birth_date": _iso(result.birth_date),
            "sex": result.sex,
        },
        "identity_corrected": result.identity_corrected,
        "dates": [_date_json(d) for d in result.dates],
        "benefits": [
            {
                "code": b.code,
                "meaning": b.meaning,
                "coverage_level": b.coverage_level,
                "service_types": [
                    {"code": c, "name": codes.service_type(c)} for c in b.service_types
                ],
                "insurance_type": b.insurance_type,
                "plan_description": b.plan_description,
                "time_period": b.time_period,
                "time_period_text": b.time_period_text,
                "amount": _str(b.amount),
                "percent": _str(b.percent, places=False),
                "quantity_qualifier": b.quantity_qualifier,
                "quantity": _str(b.quantity, places=False),
                "authorization_required": b.authorization_required,
                "in_network": b.in_network,
                "procedure": b.procedure,
                "dates": [_date_json(d) for d in b.dates],
                "messages": list(b.messages),
                "related_entities": [
                    {"code": code, "name": name, "id": ident}
                    for code, name, ident in b.related_entities
                ],
            }
            for b in result.benefits
        ],
        "rejections": [
            {
                "level": r.level,
                "code": r.code,
                "reason": r.reason,
                "follow_up": r.follow_up,
                "follow_up_text": r.follow_up_text if r.follow_up else "",
                "valid_request": r.valid_request,
            }
            for r in result.rejections
        ],
    }


def _date_json(d: DateRange) -> dict[str, str | None]:
    return {"qualifier": d.qualifier, "meaning": d.meaning, "start": _iso(d.start),
            "end": _iso(d.end)}  # fmt: skip
