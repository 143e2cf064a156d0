"""Write an X12 5010 837P professional claim batch (005010X222A1) from plain data (pure; no
Django).

One interchange, one functional group (GS01 HC), and one transaction set per up to
`MAX_CLAIMS_PER_TRANSACTION` claims (the guide's recommended limit), each:

    ST  BHT
    1000A  NM1*41 PER               submitter (ETIN) and its contact
    1000B  NM1*40                   receiver (the clearinghouse or payer)
    2000A  HL*1**20*1 [PRV*BI]      billing provider level, taxonomy when given
    2010AA NM1*85 N3 N4 REF*EI      billing provider: NPI, address (ZIP+4), EIN
    per subscriber group:
      2000B  HL*n*1*22 SBR          subscriber level: payer responsibility, relationship 18 when
                                    the subscriber is the patient, group number, filing indicator
      2010BA NM1*IL N3 N4 DMG       subscriber: member id, address, birth date and sex
      2010BB NM1*PR                 payer name and payer id
      [2000C HL*m*n*23*0 PAT        patient level, when the patient is not the subscriber
       2010CA NM1*QC N3 N4 DMG]     the patient
      per claim:
        2300  CLM [DTP*431] [AMT*F5] [REF*F8] [REF*G1] [REF*EA] HI
        [2310A NM1*DN]              referring provider
        [2310B NM1*82 [PRV*PE]]     rendering provider
        per line:
          2400  LX SV1 DTP*472 [REF*6R]
          [2410 LIN**N4 CTP]        the drug's NDC (11 digits) and quantity
    SE
    GE  IEA

Control numbers come from the caller (the interchange and the group); transaction sets are
numbered 0001, 0002... inside the group. ICD-10-CM codes are written without the dot; amounts
and quantities as X12 R values (at most two decimals, no trailing zeros). Text is cut to each
element's maximum length, and delimiter characters in it are replaced by spaces.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

IMPLEMENTATION = "005010X222A1"
ELEMENT = "*"
COMPONENT = ":"
REPETITION = "^"
TERMINATOR = "~"
MAX_CLAIMS_PER_TRANSACTION = 5000
MAX_DIAGNOSES = 12
MAX_POINTERS = 4
MAX_MODIFIERS = 4
SEX_CODES = {"female": "F", "male": "M", "unknown": "U", "other": "U", "F": "F", "M": "M", "U": "U"}
PATIENT_RELATIONSHIPS = {"01", "19", "20", "21", "39", "40", "53", "G8"}
FILING_INDICATORS = {
    "11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI", "HM", "LM",
    "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ",
}  # fmt: skip
_CLEAN = str.maketrans({ELEMENT: " ", COMPONENT: " ", REPETITION: " ", TERMINATOR: " "})
_DIRTY = re.compile(r"[*:^~\t\r\n\v\f]|  |^ | $")


@dataclass(frozen=True)
class Submitter:
    """1000A: who sends the file (our ETIN at the clearinghouse) and whom to call about it."""

    name: str
    id: str  # ETIN, NM109 (qualifier 46)
    contact_name: str
    phone: str = ""  # digits; at least one of phone and email
    email: str = ""


@dataclass(frozen=True)
class Receiver:
    """1000B: the clearinghouse or payer that receives the file."""

    name: str
    id: str


@dataclass(frozen=True)
class BillingProvider:
    """2000A/2010AA: the practice that bills (an organization unless `first_name` is given)."""

    name: str  # organization name, or the last name of a provider billing as a person
    npi: str
    tax_id: str  # EIN, nine digits (a dash is dropped)
    address_line1: str
    city: str
    state: str
    postal_code: str  # ZIP+4 (nine digits): 5010 requires it for the billing provider
    address_line2: str = ""
    taxonomy: str = ""  # PRV*BI when given, e.g. 207Q00000X
    first_name: str = ""


@dataclass(frozen=True)
class RenderingProvider:
    """2310B: the provider who performed the services, when not the billing provider."""

    npi: str
    last_name: str
    first_name: str = ""
    taxonomy: str = ""


@dataclass(frozen=True)
class ReferringProvider:
    """2310A: the provider who referred the patient (NM1*DN)."""

    npi: str
    last_name: str
    first_name: str = ""


@dataclass(frozen=True)
class Subscriber:
    """2000B/2010BA/2010BB: the insured, their plan and their payer.

    `relationship` is the patient's relationship to the subscriber: "18" when the subscriber is
    the patient (SBR02), otherwise the PAT01 code (01 spouse, 19 child, 20 employee, 21 unknown,
    39 organ donor, 40 cadaver donor, 53 life partner, G8 other) and the group carries a
    `PatientInfo`.
    """

    member_id: str
    last_name: str
    first_name: str
    birth_date: date | None
    sex: str  # F, M, U (or female, male, unknown)
    payer_name: str
    payer_id: str
    claim_filing_indicator: str = "CI"  # CI commercial, MB Medicare Part B, MC Medicaid, BL...
    relationship: str = "18"
    group_number: str = ""
    group_name: str = ""
    responsibility: str = "P"  # SBR01: P primary, S secondary, T tertiary
    middle_name: str = ""
    suffix: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""


@dataclass(frozen=True)
class PatientInfo:
    """2000C/2010CA: the patient when they are not the subscriber (a dependent)."""

    last_name: str
    first_name: str
    birth_date: date
    sex: str
    address_line1: str
    city: str
    state: str
    postal_code: str
    address_line2: str = ""
    middle_name: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class ServiceLine:
    """2400 (and 2410): one procedure line."""

    code: str  # CPT or HCPCS Level II
    charge: Decimal
    service_date: date
    pointers: Sequence[int]  # 1-4 diagnosis pointers into the claim's diagnoses (1-based)
    units: Decimal = Decimal(1)
    unit: str = "UN"  # UN units, MJ minutes
    modifiers: Sequence[str] = ()
    service_end_date: date | None = None  # a range (RD8) when the service spans days
    place_of_service: str = ""  # SV105, only when it differs from the claim's
    line_id: str = ""  # REF*6R: our line control number, echoed back on the 835
    ndc: str = ""  # 11 digits or dashed (4-4-2, 5-3-2, 5-4-1, 5-4-2)
    ndc_quantity: Decimal | None = None  # CTP04, defaults to the units
    ndc_unit: str = "UN"  # CTP05-1: UN, ML, GR, F2, ME


@dataclass(frozen=True)
class Claim:
    """2300 and its lines. `total_charge` None means the sum of the lines."""

    claim_id: str  # CLM01, the patient control number (at most 38 characters)
    diagnoses: Sequence[str]  # ICD-10-CM, principal first; up to 12; the dot is optional
    lines: Sequence[ServiceLine]
    total_charge: Decimal | None = None
    place_of_service: str = "11"
    frequency: str = "1"  # 1 original, 7 replacement, 8 void
    provider_signature: str = "Y"  # CLM06
    assignment: str = "A"  # CLM07: A assigned, B lab/clinical only, C not assigned
    benefits_assignment: str = "Y"  # CLM08
    release_of_information: str = "Y"  # CLM09: Y signed, I informed consent
    prior_auth: str = ""  # REF*G1
    payer_claim_number: str = ""  # REF*F8: the payer's number, for frequency 7 and 8
    medical_record_number: str = ""  # REF*EA
    onset_date: date | None = None  # DTP*431
    patient_paid: Decimal | None = None  # AMT*F5: copay collected at checkout
    referring: ReferringProvider | None = None
    rendering: RenderingProvider | None = None


@dataclass(frozen=True)
class SubscriberGroup:
    """The claims of one subscriber (2000B), for them or for one dependent (2000C)."""

    subscriber: Subscriber
    claims: Sequence[Claim]
    patient: PatientInfo | None = None


@dataclass(frozen=True)
class Batch837:
    """One 837P file: the envelopes and every claim, grouped by subscriber."""

    sender_id: str  # ISA06/GS02
    receiver_id: str  # ISA08/GS03
    interchange_control: int  # ISA13/IEA02, 1..999999999
    group_control: int  # GS06/GE02
    created_at: datetime
    submitter: Submitter
    receiver: Receiver
    billing_provider: BillingProvider
    subscribers: Sequence[SubscriberGroup] = field(default_factory=tuple)
    usage: str = "P"  # ISA15: P production, T test
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    acknowledgment_requested: bool = False  # ISA14 (TA1)

    @property
    def claims(self) -> list[Claim]:
        return [claim for group in self.subscribers for claim in group.claims]


# --- values -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def amount(value: Decimal | int | str) -> str:
    """An X12 R value: rounded to cents, no trailing zeros ("100", "12.5", "0.99")."""
    number = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text(value: str, limit: int) -> str:
    """A text value: letters with accents written without them (José -> Jose, as X12's
    character set and payers expect), other non-ASCII dropped, delimiters and line breaks
    replaced by spaces, spaces squeezed, cut."""
    if not value:
        return value
    if not value.isascii():
        value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    if len(value) <= limit and not _DIRTY.search(value):
        return value
    return " ".join(value.translate(_CLEAN).split())[:limit].strip()


def icd10(code: str) -> str:
    """An ICD-10-CM code as X12 writes it: upper case, no dot."""
    return code.strip().upper().replace(".", "")


def ndc11(ndc: str) -> str:
    """An NDC in the 11-digit 5-4-2 billing form, or ValueError."""
    value = ndc.strip()
    if re.fullmatch(r"\d{11}", value):
        return value
    match = re.fullmatch(r"(\d{4,5})-(\d{3,4})-(\d{1,2})", value)
    if match:
        labeler, product, package = match.groups()
        padded = labeler.zfill(5) + product.zfill(4) + package.zfill(2)
        if len(labeler + product + package) in (10, 11) and len(padded) == 11:
            return padded
    raise ValueError(f"NDC {ndc!r}: give 11 digits or a dashed 4-4-2, 5-3-2, 5-4-1 or 5-4-2 NDC")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


@functools.lru_cache(maxsize=4096)
def _d8(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _sex(value: str) -> str:
    return SEX_CODES.get(value.strip(), SEX_CODES.get(value.strip().lower(), "U"))


def _seg(*parts: str) -> str:
    values = list(parts)
    while values and values[-1] == "":
        values.pop()
    return ELEMENT.join(values)


def _composite(*parts: str) -> str:
    values = list(parts)
    while values and values[-1] == "":
        values.pop()
    return COMPONENT.join(values)


# --- loops --------------------------------------------------------------------------------------


def _person_nm1(
    entity: str,
    last: str,
    first: str = "",
    middle: str = "",
    suffix: str = "",
    qualifier: str = "",
    ident: str = "",
) -> str:
    return _seg(
        "NM1",
        entity,
        "1",
        text(last, 60),
        text(first, 35),
        text(middle, 25),
        "",
        text(suffix, 10),
        qualifier,
        text(ident, 80) if qualifier else "",
    )


def _address(out: list[str], line1: str, line2: str, city: str, state: str, postal: str) -> None:
    if not line1:
        return
    out.append(_seg("N3", text(line1, 55), text(line2, 55)))
    out.append(_seg("N4", text(city, 30), text(state, 2).upper(), _digits(postal)[:15]))


def _dmg(out: list[str], birth: date | None, sex: str) -> None:
    if birth is None:
        return
    out.append(_seg("DMG", "D8", _d8(birth), _sex(sex)))


def _check_claim(claim: Claim) -> None:
    if not claim.claim_id.strip():
        raise ValueError("a claim needs a claim id (CLM01)")
    if len(claim.claim_id) > 38:
        raise ValueError(f"claim {claim.claim_id}: the claim id is longer than 38 characters")
    if not claim.lines:
        raise ValueError(f"claim {claim.claim_id}: no service lines")
    if not claim.diagnoses:
        raise ValueError(f"claim {claim.claim_id}: no diagnoses")
    if len(claim.diagnoses) > MAX_DIAGNOSES:
        raise ValueError(f"claim {claim.claim_id}: more than {MAX_DIAGNOSES} diagnoses")
    if len(claim.lines) > 50:
        raise ValueError(f"claim {claim.claim_id}: more than 50 service lines (split the claim)")
    for number, line in enumerate(claim.lines, start=1):
        if len(line.modifiers) > MAX_MODIFIERS:
            raise ValueError(f"claim {claim.claim_id} line {number}: more than 4 modifiers")
        if not line.pointers or len(line.pointers) > MAX_POINTERS:
            raise ValueError(f"claim {claim.claim_id} line {number}: 1 to 4 diagnosis pointers")


def _claim(out: list[str], claim: Claim) -> None:
    _check_claim(claim)
    total = (
        claim.total_charge
        if claim.total_charge is not None
        else sum((line.charge for line in claim.lines), Decimal(0))
    )
    out.append(
        _seg(
            "CLM",
            text(claim.claim_id, 38),
            amount(total),
            "",
            "",
            _composite(claim.place_of_service, "B", claim.frequency),
            claim.provider_signature,
            claim.assignment,
            claim.benefits_assignment,
            claim.release_of_information,
        )
    )
    if claim.onset_date is not None:
        out.append(_seg("DTP", "431", "D8", _d8(claim.onset_date)))
    if claim.patient_paid is not None and claim.patient_paid > 0:
        out.append(_seg("AMT", "F5", amount(claim.patient_paid)))
    if claim.payer_claim_number:
        out.append(_seg("REF", "F8", text(claim.payer_claim_number, 50)))
    if claim.prior_auth:
        out.append(_seg("REF", "G1", text(claim.prior_auth, 50)))
    if claim.medical_record_number:
        out.append(_seg("REF", "EA", text(claim.medical_record_number, 50)))
    codes = [icd10(code) for code in claim.diagnoses]
    out.append("HI*ABK:" + "*ABF:".join(codes))
    if claim.referring is not None:
        ref = claim.referring
        out.append(_person_nm1("DN", ref.last_name, ref.first_name, "", "", "XX", ref.npi))
    if claim.rendering is not None:
        ren = claim.rendering
        out.append(_person_nm1("82", ren.last_name, ren.first_name, "", "", "XX", ren.npi))
        if ren.taxonomy:
            out.append(_seg("PRV", "PE", "PXC", ren.taxonomy))
    for number, line in enumerate(claim.lines, start=1):
        _line(out, number, line)


@functools.lru_cache(maxsize=4096)
def _procedure(code: str, modifiers: tuple[str, ...]) -> str:
    """SV101: HC:code[:modifier...]."""
    return _composite("HC", text(code, 48).upper(), *(text(m, 2).upper() for m in modifiers))


@functools.lru_cache(maxsize=1024)
def _pointers(pointers: tuple[int, ...]) -> str:
    """SV107: the diagnosis pointers, e.g. 1:2."""
    return COMPONENT.join(str(p) for p in pointers)


def _line(out: list[str], number: int, line: ServiceLine) -> None:
    procedure = _procedure(line.code, tuple(line.modifiers))
    pointers = _pointers(tuple(line.pointers))
    out.append(f"LX*{number}")
    out.append(
        f"SV1*{procedure}*{amount(line.charge)}*{line.unit}*{amount(line.units)}"
        f"*{line.place_of_service}**{pointers}"
    )
    end = line.service_end_date
    if end is not None and end != line.service_date:
        out.append(f"DTP*472*RD8*{_d8(line.service_date)}-{_d8(end)}")
    else:
        out.append(f"DTP*472*D8*{_d8(line.service_date)}")
    if line.line_id:
        out.append(_seg("REF", "6R", text(line.line_id, 50)))
    if line.ndc:
        quantity = line.ndc_quantity if line.ndc_quantity is not None else line.units
        out.append(_seg("LIN", "", "N4", ndc11(line.ndc)))
        out.append(_seg("CTP", "", "", "", amount(quantity), line.ndc_unit))


def _subscriber_group(out: list[str], hl: int, group: SubscriberGroup) -> int:
    """Write one 2000B (and its 2000C); return the next HL number."""
    sub = group.subscriber
    if sub.relationship == "18" and group.patient is not None:
        raise ValueError(
            f"subscriber {sub.member_id}: relationship 18 (self) but a separate patient was given"
        )
    if sub.relationship != "18":
        if group.patient is None:
            raise ValueError(
                f"subscriber {sub.member_id}: relationship {sub.relationship} needs the patient"
            )
        if sub.relationship not in PATIENT_RELATIONSHIPS:
            raise ValueError(
                f"subscriber {sub.member_id}: relationship {sub.relationship!r} is not one of "
                f"18, {', '.join(sorted(PATIENT_RELATIONSHIPS))}"
            )
    if sub.claim_filing_indicator not in FILING_INDICATORS:
        raise ValueError(
            f"subscriber {sub.member_id}: claim filing indicator "
            f"{sub.claim_filing_indicator!r} is not a 5010 code (CI, MB, MC, BL, ...)"
        )
    if not group.claims:
        raise ValueError(f"subscriber {sub.member_id}: no claims")
    subscriber_hl = hl
    dependent = group.patient is not None
    out.append(_seg("HL", str(subscriber_hl), "1", "22", "1" if dependent else "0"))
    out.append(
        _seg(
            "SBR",
            sub.responsibility,
            "" if dependent else "18",
            text(sub.group_number, 50),
            "" if sub.group_number else text(sub.group_name, 60),
            "",
            "",
            "",
            "",
            sub.claim_filing_indicator,
        )
    )
    out.append(
        _person_nm1(
            "IL", sub.last_name, sub.first_name, sub.middle_name, sub.suffix, "MI", sub.member_id
        )
    )
    _address(out, sub.address_line1, sub.address_line2, sub.city, sub.state, sub.postal_code)
    if not dependent:
        if not sub.address_line1:
            raise ValueError(f"subscriber {sub.member_id}: the patient's address is required")
        if sub.birth_date is None:
            raise ValueError(f"subscriber {sub.member_id}: the patient's birth date is required")
    _dmg(out, sub.birth_date, sub.sex)
    out.append(_seg("NM1", "PR", "2", text(sub.payer_name, 60), "", "", "", "", "PI", sub.payer_id))
    hl += 1
    if group.patient is not None:
        pat = group.patient
        out.append(_seg("HL", str(hl), str(subscriber_hl), "23", "0"))
        out.append(_seg("PAT", sub.relationship))
        out.append(_person_nm1("QC", pat.last_name, pat.first_name, pat.middle_name, pat.suffix))
        _address(out, pat.address_line1, pat.address_line2, pat.city, pat.state, pat.postal_code)
        _dmg(out, pat.birth_date, pat.sex)
        hl += 1
    for claim in group.claims:
        _claim(out, claim)
    return hl


def _transaction(
    batch: Batch837, control: str, reference: str, groups: Sequence[SubscriberGroup]
) -> list[str]:
    created = batch.created_at
    prov = batch.billing_provider
    sub = batch.submitter
    out = [
        _seg("ST", "837", control, IMPLEMENTATION),
        _seg(
            "BHT",
            "0019",
            "00",
            reference,
            created.strftime("%Y%m%d"),
            created.strftime("%H%M"),
            "CH",
        ),
        _seg("NM1", "41", "2", text(sub.name, 60), "", "", "", "", "46", text(sub.id, 80)),
    ]
    contact = ["PER", "IC", text(sub.contact_name, 60)]
    if sub.phone:
        contact += ["TE", _digits(sub.phone)[:256]]
    if sub.email:
        contact += ["EM", text(sub.email, 256)]
    if len(contact) == 3:
        raise ValueError("the submitter needs a phone number or an email (1000A PER)")
    out.append(_seg(*contact))
    out.append(
        _seg(
            "NM1", "40", "2", text(batch.receiver.name, 60), "", "", "", "", "46", batch.receiver.id
        )
    )
    out.append(_seg("HL", "1", "", "20", "1"))
    if prov.taxonomy:
        out.append(_seg("PRV", "BI", "PXC", prov.taxonomy))
    if prov.first_name:
        out.append(_person_nm1("85", prov.name, prov.first_name, "", "", "XX", prov.npi))
    else:
        out.append(_seg("NM1", "85", "2", text(prov.name, 60), "", "", "", "", "XX", prov.npi))
    postal = _digits(prov.postal_code)
    if len(postal) != 9:
        raise ValueError("the billing provider's ZIP code must be ZIP+4 (nine digits) in 5010")
    _address(out, prov.address_line1, prov.address_line2, prov.city, prov.state, postal)
    tax_id = _digits(prov.tax_id)
    if len(tax_id) != 9:
        raise ValueError("the billing provider's tax id (EIN) must be nine digits")
    out.append(_seg("REF", "EI", tax_id))
    hl = 2
    for group in groups:
        hl = _subscriber_group(out, hl, group)
    out.append(_seg("SE", str(len(out) + 1), control))
    return out


def _chunks(groups: Sequence[SubscriberGroup], limit: int) -> list[list[SubscriberGroup]]:
    """Subscriber groups packed into transaction sets of at most `limit` claims (a group is
    never split unless it alone is over the limit)."""
    chunks: list[list[SubscriberGroup]] = [[]]
    count = 0
    for group in groups:
        size = len(group.claims)
        if chunks[-1] and count + size > limit:
            chunks.append([])
            count = 0
        chunks[-1].append(group)
        count += size
    return chunks


def write_837p(
    batch: Batch837,
    *,
    line_breaks: bool = True,
    max_claims_per_transaction: int = MAX_CLAIMS_PER_TRANSACTION,
) -> str:
    """The 837P file's text: segments ended by ~ (and a line break when `line_breaks`).

    Raises ValueError for what cannot be written (no claims, a claim without lines or
    diagnoses, more than 12 diagnoses or 4 modifiers, a 5-digit billing ZIP...). The content
    rules a payer applies (NPI check digits, valid codes, totals, pointers, timely filing) are
    `check837.check_837p`'s.
    """
    if not batch.subscribers or not batch.claims:
        raise ValueError("an 837P batch needs at least one claim")
    if not 0 < batch.interchange_control < 1_000_000_000:
        raise ValueError("the interchange control number is 1 to 999999999")
    if not 0 < batch.group_control < 1_000_000_000:
        raise ValueError("the group control number is 1 to 999999999")
    if batch.usage not in ("P", "T"):
        raise ValueError("usage is P (production) or T (test)")
    created = batch.created_at
    isa13 = f"{batch.interchange_control:09d}"
    segments = [
        _seg(
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            batch.sender_qualifier,
            text(batch.sender_id, 15).ljust(15),
            batch.receiver_qualifier,
            text(batch.receiver_id, 15).ljust(15),
            created.strftime("%y%m%d"),
            created.strftime("%H%M"),
            REPETITION,
            "00501",
            isa13,
            "1" if batch.acknowledgment_requested else "0",
            batch.usage,
            COMPONENT,
        ),
        _seg(
            "GS",
            "HC",
            text(batch.sender_id, 15),
            text(batch.receiver_id, 15),
            created.strftime("%Y%m%d"),
            created.strftime("%H%M"),
            str(batch.group_control),
            "X",
            IMPLEMENTATION,
        ),
    ]
    chunks = _chunks(batch.subscribers, max_claims_per_transaction)
    for number, chunk in enumerate(chunks, start=1):
        control = f"{number:04d}"
        reference = f"{batch.group_control}-{number}"
        segments.extend(_transaction(batch, control, reference, chunk))
    segments.append(_seg("GE", str(len(chunks)), str(batch.group_control)))
    segments.append(_seg("IEA", "1", isa13))
    end = TERMINATOR + ("\n" if line_breaks else "")
    return end.join(segments) + end
