"""Read the answers to our 837P files (pure; no Django): the 999 implementation
acknowledgment (005010X231A1) and the 277CA claim acknowledgment (005010X214).

999: did the file's structure pass? One `Ack999` per 999 transaction set:

    AK1                 the functional group acknowledged: GS01 (HC), GS06 and GS08
    AK2                 one transaction set: ST01, ST02 and ST03
      IK3 [CTX]         a segment in error: its id, position in the transaction set (ST = 1),
                        loop and why (IK304)
        IK4 [CTX]       an element in error: position (element:component:repeat), the data
                        element number, why (IK403) and a copy of the bad value
      IK5               the transaction set: A accepted, E accepted with errors noted,
                        R rejected (M, W, X rejected too) and why (IK502-506)
    AK9                 the group: A, E, P partially accepted, R...; counts and why (AK905-909)

277CA: did the payer (or clearinghouse) take each claim into adjudication? One `ClaimStatus`
per claim (loop 2200D; 2200E for a dependent), with its STC statuses:

    STC01 category:status:entity  A1 received, A2 accepted, A3 returned as unprocessable
                                  (rejected), A4 not found, A6 missing, A7 invalid, A8
                                  relational error...; the status code (21 missing or invalid,
                                  562 NPI...) and the entity it is about (85 billing provider...)
    STC02 date, STC03 action (WQ accepted, U rejected), STC04 the claim's total charge;
    STC10 and STC11 two more statuses
    TRN*2               our claim id (CLM01, the patient control number)
    REF*1K              the payer's claim control number; REF*D9 the clearinghouse trace
    DTP*472             the date(s) of service
    SVC STC REF*FJ DTP  line-level statuses (loop 2220D/E)

Anything we cannot read raises `parse.X12Error` naming the segment and its position.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from . import codes
from .parse import Segment, Transaction, X12Error, read_interchange

IMPLEMENTATION_999 = "005010X231A1"
IMPLEMENTATION_277CA = "005010X214"

# IK501 and AK901: what happened to the transaction set or the group.
ACK_CODES = {
    "A": "accepted",
    "E": "accepted, with errors noted",
    "M": "rejected: the message authentication code failed",
    "P": "partially accepted: at least one transaction set was rejected",
    "R": "rejected",
    "W": "rejected: failed the assurance validity tests",
    "X": "rejected: the content could not be analyzed after decryption",
}
ACCEPTED = frozenset({"A", "E"})
# IK304: why a segment is in error.
SEGMENT_ERRORS = {
    "1": "Unrecognized segment id.",
    "2": "Unexpected segment (not allowed here).",
    "3": "A required segment is missing.",
    "4": "A loop occurs more times than allowed.",
    "5": "The segment occurs more times than allowed.",
    "6": "The segment is not in the transaction set.",
    "7": "The segment is out of order.",
    "8": "The segment has data element errors (see the element errors).",
    "I4": "The guide marks this segment 'not used', but it was sent.",
    "I6": "A segment the guide requires in this situation is missing.",
    "I7": "A loop occurs fewer times than the guide requires.",
    "I8": "The segment occurs fewer times than the guide requires.",
    "I9": "The guide says not to send this segment in this situation, but it was sent.",
}
# IK403: why a data element is in error.
ELEMENT_ERRORS = {
    "1": "A required data element is missing.",
    "2": "A conditionally required data element is missing.",
    "3": "Too many data elements.",
    "4": "The data element is too short.",
    "5": "The data element is too long.",
    "6": "An invalid character in the data element.",
    "7": "An invalid code value.",
    "8": "An invalid date.",
    "9": "An invalid time.",
    "10": "An exclusion condition was violated (elements that may not appear together).",
    "12": "Too many repetitions.",
    "13": "Too many components.",
    "I6": "The code value is valid in X12 but not used by this guide.",
    "I9": "A data element the guide requires in this situation is missing.",
    "I10": "The guide marks this data element 'not used', but it was sent.",
    "I11": "Too few repetitions for the guide.",
    "I12": "The value does not match the pattern the guide requires.",
    "I13": "The guide says not to send this data element in this situation, but it was sent.",
}
# IK502-506: why a transaction set is in error.
TRANSACTION_ERRORS = {
    "1": "The transaction set is not supported.",
    "2": "The transaction set trailer (SE) is missing.",
    "3": "The control numbers in ST and SE do not match.",
    "4": "The segment count in SE does not match the segments sent.",
    "5": "One or more segments are in error.",
    "6": "The transaction set identifier is missing or invalid.",
    "7": "The transaction set control number is missing or invalid.",
    "8": "Authentication key name unknown.",
    "9": "Encryption key name unknown.",
    "10": "The requested service (authentication or encryption) is not available.",
    "11": "Unknown security recipient.",
    "12": "Incorrect message length (encryption only).",
    "13": "The message authentication code failed.",
    "15": "Unknown security originator.",
    "16": "Syntax error in the decrypted text.",
    "17": "Security is not supported.",
    "18": "The transaction set is not in a functional group.",
    "19": "The implementation convention reference (ST03) is invalid.",
    "23": "The transaction set control number is not unique in the functional group.",
    "24": "S3E security end segment missing for S3S security start segment.",
    "25": "S3S security start segment missing for S3E security end segment.",
    "26": "S4E security end segment missing for S4S security start segment.",
    "27": "S4S security start segment missing for S4E security end segment.",
    "I5": "One or more segments are in error under the implementation guide.",
    "I6": "The implementation convention is not supported.",
}
# AK905-909: why a functional group is in error.
GROUP_ERRORS = {
    "1": "The functional group is not supported.",
    "2": "The functional group version is not supported.",
    "3": "The functional group trailer (GE) is missing.",
    "4": "The control numbers in GS and GE do not match.",
    "5": "The transaction set count in GE does not match the transaction sets sent.",
    "6": "The group control number violates the syntax.",
    "10": "Authentication key name unknown.",
    "11": "Encryption key name unknown.",
    "12": "The requested service (authentication or encryption) is not available.",
    "13": "Unknown security recipient.",
    "14": "Unknown security originator.",
    "15": "Syntax error in the decrypted text.",
    "16": "Security is not supported.",
    "17": "Incorrect message length (encryption only).",
    "18": "The message authentication code failed.",
    "19": "The group control number is not unique in the interchange.",
    "23": "S3E security end segment missing for S3S security start segment.",
    "24": "S3S security start segment missing for S3E security end segment.",
    "25": "S4E security end segment missing for S4S security start segment.",
    "26": "S4S security start segment missing for S4E security end segment.",
}
# STC01-3 and NM101: who a status is about.
ENTITIES = {
    "03": "dependent",
    "1P": "provider",
    "40": "receiver",
    "41": "submitter",
    "71": "attending provider",
    "77": "service location",
    "82": "rendering provider",
    "85": "billing provider",
    "87": "pay-to provider",
    "DK": "ordering provider",
    "DN": "referring provider",
    "DQ": "supervising provider",
    "IL": "subscriber",
    "PR": "payer",
    "QC": "patient",
}
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8", "E0", "E3", "E4"})
ACCEPTED_CATEGORIES = frozenset({"A2", "A5"})

SEGMENTS_999 = frozenset({"ST", "AK1", "AK2", "IK3", "IK4", "CTX", "IK5", "AK9", "SE"})
SEGMENTS_277 = frozenset(
    {"ST", "BHT", "HL", "NM1", "TRN", "STC", "QTY", "AMT", "REF", "DTP", "SVC", "PER", "SE"}
)


def _meaning(table: dict[str, str], code: str) -> str:
    return table.get(code) or codes.unknown(code)


# --- 999 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElementError:
    """An IK4: which element of the segment, why, and the bad value."""

    position: int  # IK401-1: the element's position in the segment
    component: int | None  # IK401-2
    repetition: int | None  # IK401-3
    element_reference: str  # IK402: the X12 data element number (e.g. 1065)
    code: str  # IK403
    bad_value: str = ""  # IK404

    @property
    def meaning(self) -> str:
        return _meaning(ELEMENT_ERRORS, self.code)


@dataclass(frozen=True)
class SegmentError:
    """An IK3 and its IK4s: which segment of the transaction set and why."""

    segment_id: str  # IK301
    position: int  # IK302: position in the transaction set (ST = 1)
    loop: str  # IK303, e.g. 2010BA
    code: str  # IK304
    elements: tuple[ElementError, ...] = ()
    context: tuple[str, ...] = ()  # CTX segments, as text
    claim_id: str = ""  # CTX*CLM01:<id>: the claim (CLM01) the segment belongs to

    @property
    def meaning(self) -> str:
        return _meaning(SEGMENT_ERRORS, self.code) if self.code else ""

    def describe(self) -> list[str]:
        """ "NM1 at segment 18 (loop 2010, claim CB1003): The segment has data element errors ...",
        then one line per element: "NM109 (data element 67): A required data element ..." """
        about = [f"loop {self.loop}"] if self.loop else []
        about += [f"claim {self.claim_id}"] if self.claim_id else []
        loop = f" ({', '.join(about)})" if about else ""
        lines = [f"{self.segment_id} at segment {self.position}{loop}: {self.meaning}".rstrip()]
        for e in self.elements:
            where = f"{self.segment_id}{e.position:02d}"
            if e.component:
                where += f"-{e.component}"
            ref = f" (data element {e.element_reference})" if e.element_reference else ""
            bad = f" Sent: {e.bad_value!r}." if e.bad_value else ""
            lines.append(f"{where}{ref}: {e.meaning}{bad}")
        return lines


@dataclass(frozen=True)
class TransactionAck:
    """An AK2 .. IK5: what happened to one transaction set of ours."""

    transaction_type: str  # AK201: 837
    control_number: str  # AK202: our ST02
    implementation: str  # AK203: our ST03
    code: str  # IK501
    errors: tuple[str, ...] = ()  # IK502-506 codes
    segment_errors: tuple[SegmentError, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPTED

    @property
    def status(self) -> str:
        return _meaning(ACK_CODES, self.code)

    @property
    def error_meanings(self) -> tuple[str, ...]:
        return tuple(_meaning(TRANSACTION_ERRORS, c) for c in self.errors)

    def describe(self) -> list[str]:
        head = f"Transaction set {self.transaction_type} {self.control_number}: {self.status}."
        out = [head] + list(self.error_meanings)
        for segment_error in self.segment_errors:
            out += segment_error.describe()
        return out


@dataclass(frozen=True)
class Ack999:
    """One 999: the functional group of ours it answers and each of its transaction sets."""

    control_number: str  # ST02 of the 999
    functional_id: str  # AK101: HC for an 837
    group_control_number: str  # AK102: our GS06
    version: str  # AK103: our GS08
    code: str  # AK901
    transactions_included: int  # AK902
    transactions_received: int  # AK903
    transactions_accepted: int  # AK904
    errors: tuple[str, ...] = ()  # AK905-909 codes
    transactions: tuple[TransactionAck, ...] = ()
    position: int = 0

    @property
    def accepted(self) -> bool:
        """True when the whole group was accepted (A, or E: accepted with errors noted)."""
        return self.code in ACCEPTED

    @property
    def partially_accepted(self) -> bool:
        return self.code == "P"

    @property
    def status(self) -> str:
        return _meaning(ACK_CODES, self.code)

    @property
    def error_meanings(self) -> tuple[str, ...]:
        return tuple(_meaning(GROUP_ERRORS, c) for c in self.errors)

    def describe(self) -> list[str]:
        """Plain lines: the group's fate and counts, its errors, then each transaction set."""
        out = [
            f"Group {self.group_control_number} ({self.functional_id}): {self.status}; "
            f"{self.transactions_accepted} of {self.transactions_received} transaction sets "
            "accepted."
        ]
        out += list(self.error_meanings)
        for t in self.transactions:
            out += t.describe()
        return out


def _fail(segment: Segment, message: str) -> X12Error:
    return X12Error(segment.id, segment.position, message)


def _required(segment: Segment, n: int, what: str) -> str:
    value = segment.element(n).strip()
    if not value:
        raise _fail(segment, f"{segment.id}{n:02d} ({what}) is required")
    return value


def _int(segment: Segment, n: int, what: str, *, required: bool = True) -> int | None:
    value = segment.element(n).strip()
    if not value:
        if required:
            raise _fail(segment, f"{segment.id}{n:02d} ({what}) is required")
        return None
    if not value.isdigit():
        raise _fail(segment, f"{segment.id}{n:02d} ({what}) must be a whole number, not {value!r}")
    return int(value)


def _count(segment: Segment, n: int, what: str) -> int:
    value = _int(segment, n, what)
    assert value is not None
    return value


def _expect(transaction: Transaction, kind: str) -> None:
    if transaction.type != kind:
        raise _fail(transaction.st, f"ST01 is {transaction.type!r}: this reader takes a {kind}")


def _ik4(seg: Segment) -> ElementError:
    where = seg.components(1)
    if not where or not where[0]:
        raise _fail(seg, "IK401 (position in segment) is required")

    def number(index: int, what: str) -> int | None:
        if len(where) <= index or not where[index]:
            return None
        if not where[index].isdigit():
            raise _fail(seg, f"IK401-{index + 1} ({what}) must be a whole number")
        return int(where[index])

    position = number(0, "element position")
    assert position is not None
    return ElementError(
        position=position,
        component=number(1, "component position"),
        repetition=number(2, "repeating element position"),
        element_reference=seg.element(2),
        code=_required(seg, 3, "implementation data element syntax error code"),
        bad_value=seg.element(4),
    )


@dataclass
class _Ak2:
    ak2: Segment
    segment_errors: list[tuple[Segment, list[ElementError], list[Segment]]] = field(
        default_factory=list
    )

    def build(self, ik5: Segment) -> TransactionAck:
        return TransactionAck(
            transaction_type=_required(self.ak2, 1, "transaction set identifier code"),
            control_number=_required(self.ak2, 2, "transaction set control number"),
            implementation=self.ak2.element(3),
            code=_required(ik5, 1, "transaction set acknowledgment code"),
            errors=tuple(c for c in (ik5.element(n) for n in range(2, 7)) if c),
            segment_errors=tuple(
                SegmentError(
                    segment_id=_required(ik3, 1, "segment id code"),
                    position=_count(ik3, 2, "segment position in transaction set"),
                    loop=ik3.element(3),
                    code=ik3.element(4),
                    elements=tuple(elements),
                    context=tuple(str(c) for c in context),
                    claim_id=next(
                        (
                            c.components(1)[1]
                            for c in context
                            if c.components(1)[:1] == ("CLM01",) and len(c.components(1)) > 1
                        ),
                        "",
                    ),
                )
                for ik3, elements, context in self.segment_errors
            ),
        )


def read_999(text: str | bytes) -> list[Ack999]:
    """Every 999 in the interchange, in file order. Raises `parse.X12Error` (segment and
    position) for a file we cannot read."""
    interchange = read_interchange(text)
    return [_read_999(t) for t in interchange.transactions]


def _read_999(transaction: Transaction) -> Ack999:
    _expect(transaction, "999")
    ak1: Segment | None = None
    ak9: Segment | None = None
    done: list[TransactionAck] = []
    current: _Ak2 | None = None
    for seg in transaction.body:
        sid = seg.id
        if sid not in SEGMENTS_999 or sid == "ST":
            raise _fail(seg, f"{sid} does not belong in a 999")
        if ak9 is not None:
            raise _fail(seg, f"{sid} after AK9: the AK9 ends the 999")
        if sid == "AK1":
            if ak1 is not None:
                raise _fail(seg, "a second AK1: a 999 answers one functional group")
            _required(seg, 1, "functional identifier code")
            _required(seg, 2, "group control number")
            ak1 = seg
        elif ak1 is None:
            raise _fail(seg, f"{sid} before AK1")
        elif sid == "AK2":
            if current is not None:
                raise _fail(seg, f"AK2 before the IK5 of the AK2 at segment {current.ak2.position}")
            current = _Ak2(seg)
        elif sid == "IK3":
            if current is None:
                raise _fail(seg, "IK3 outside a transaction set response (no AK2 before it)")
            _required(seg, 1, "segment id code")
            _count(seg, 2, "segment position in transaction set")
            current.segment_errors.append((seg, [], []))
        elif sid == "IK4":
            if current is None or not current.segment_errors:
                raise _fail(seg, "IK4 without an IK3 before it")
            current.segment_errors[-1][1].append(_ik4(seg))
        elif sid == "CTX":
            if current is not None and current.segment_errors:
                current.segment_errors[-1][2].append(seg)
        elif sid == "IK5":
            if current is None:
                raise _fail(seg, "IK5 without an AK2 before it")
            done.append(current.build(seg))
            current = None
        elif sid == "AK9":
            if current is not None:
                raise _fail(seg, f"AK9 before the IK5 of the AK2 at segment {current.ak2.position}")
            ak9 = seg
    st = transaction.st
    if ak1 is None:
        raise _fail(st, "the 999 has no AK1 (which group it answers)")
    if ak9 is None:
        raise _fail(st, "the 999 has no AK9 (the group's acknowledgment)")
    return Ack999(
        control_number=transaction.control_number,
        functional_id=ak1.element(1),
        group_control_number=ak1.element(2),
        version=ak1.element(3),
        code=_required(ak9, 1, "functional group acknowledge code"),
        transactions_included=_count(ak9, 2, "number of transaction sets included"),
        transactions_received=_count(ak9, 3, "number of received transaction sets"),
        transactions_accepted=_count(ak9, 4, "number of accepted transaction sets"),
        errors=tuple(c for c in (ak9.element(n) for n in range(5, 10)) if c),
        transactions=tuple(done),
        position=st.position,
    )


# --- 277CA --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """One STC composite: category, status code and the entity it is about, with the STC's
    date, action and amount."""

    category: str  # STC01-1 (STC10-1, STC11-1): A1, A2, A3...
    code: str  # STC01-2: 20 accepted, 21 missing or invalid...
    entity: str = ""  # STC01-3: 85 billing provider, IL subscriber...
    effective_date: date | None = None  # STC02
    action: str = ""  # STC03: WQ accepted, U rejected
    amount: str = ""  # STC04, as sent

    @property
    def category_meaning(self) -> str:
        return codes.claim_status_category(self.category)

    @property
    def code_meaning(self) -> str:
        return codes.claim_status(self.code) if self.code else ""

    @property
    def entity_meaning(self) -> str:
        return _meaning(ENTITIES, self.entity) if self.entity else ""

    @property
    def composite(self) -> str:
        """As sent: "A7:562:82"."""
        return ":".join(p for p in (self.category, self.code, self.entity) if p)

    def describe(self) -> str:
        """ "Rejected for invalid information (A7:562:82): The entity's National Provider
        Identifier (NPI); about the rendering provider." """
        text = f"{self.category_meaning.rstrip('.')} ({self.composite})"
        if self.code:
            text += f": {self.code_meaning.rstrip('.')}"
        if self.entity:
            text += f"; about the {self.entity_meaning}"
        return text + "."


@dataclass(frozen=True)
class LineStatus:
    """A service line's statuses (loop 2220D/E)."""

    procedure: str  # SVC01, as sent (HC:99213)
    charge: str  # SVC02
    control_number: str = ""  # REF*FJ: our line item control number
    service_date: date | None = None
    statuses: tuple[Status, ...] = ()

    @property
    def rejected(self) -> bool:
        return any(s.category in REJECTED_CATEGORIES for s in self.statuses)


@dataclass(frozen=True)
class ClaimStatus:
    """One claim's acknowledgment in a 277CA."""

    claim_id: str  # TRN*2 TRN02: our patient control number (CLM01)
    payer_claim_control_number: str  # REF*1K
    clearinghouse_trace: str  # REF*D9
    statuses: tuple[Status, ...]
    payer_name: str = ""
    provider_npi: str = ""  # NM1*85 NM109
    patient_name: str = ""
    member_id: str = ""
    service_date: date | None = None  # DTP*472 (start of a range)
    service_end_date: date | None = None
    lines: tuple[LineStatus, ...] = ()
    provider_statuses: tuple[Status, ...] = ()  # 2200C: about the billing provider
    control_number: str = ""  # ST02 of the 277
    position: int = 0  # the claim's TRN

    @property
    def accepted(self) -> bool:
        """True when a claim status says accepted (A2, A5) and none says rejected."""
        return not self.rejected and any(s.category in ACCEPTED_CATEGORIES for s in self.statuses)

    @property
    def rejected(self) -> bool:
        """True when a claim, line or provider status is a rejection (A3, A4, A6-A8, E0, E3,
        E4)."""
        every = self.statuses + self.provider_statuses
        return any(s.category in REJECTED_CATEGORIES for s in every) or any(
            line.rejected for line in self.lines
        )

    def describe(self) -> list[str]:
        """ "Claim CB1003: rejected.", then each status in words."""
        verdict = "rejected" if self.rejected else "accepted" if self.accepted else "received"
        out = [f"Claim {self.claim_id}: {verdict}."]
        out += [s.describe() for s in self.provider_statuses + self.statuses]
        for line in self.lines:
            ident = f" (line id {line.control_number})" if line.control_number else ""
            out += [f"Line {line.procedure}{ident}: {s.describe()}" for s in line.statuses]
        return out


def _date(segment: Segment, n: int, value: str) -> date:
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise _fail(
            segment, f"{segment.id}{n:02d} must be a date CCYYMMDD, not {value!r}"
        ) from None


def _dtp_range(seg: Segment) -> tuple[date, date | None]:
    form, value = _required(seg, 2, "date format"), _required(seg, 3, "date")
    if form == "D8":
        return _date(seg, 3, value), None
    if form == "RD8":
        start, _, end = value.partition("-")
        return _date(seg, 3, start), _date(seg, 3, end)
    raise _fail(seg, f"DTP02 is {form!r}: D8 (a date) or RD8 (a range)")


def _statuses(seg: Segment) -> list[Status]:
    first = seg.components(1)
    if not first or not first[0]:
        raise _fail(seg, "STC01-1 (health care claim status category code) is required")
    when = seg.element(2)
    effective = _date(seg, 2, when) if when else None
    out = []
    for n in (1, 10, 11):
        parts = seg.components(n)
        if not parts or not parts[0]:
            continue
        out.append(
            Status(
                category=parts[0],
                code=parts[1] if len(parts) > 1 else "",
                entity=parts[2] if len(parts) > 2 else "",
                effective_date=effective,
                action=seg.element(3),
                amount=seg.element(4),
            )
        )
    return out


@dataclass
class _ClaimBuilder:
    trn: Segment
    base: ClaimStatus
    statuses: list[Status] = field(default_factory=list)
    lines: list[tuple[Segment, list[Status], list[Segment]]] = field(default_factory=list)

    def build(self) -> ClaimStatus:
        lines = []
        for svc, statuses, details in self.lines:
            ref = next(
                (s.element(2) for s in details if s.id == "REF" and s.element(1) == "FJ"), ""
            )
            dtp = next((s for s in details if s.id == "DTP" and s.element(1) == "472"), None)
            lines.append(
                LineStatus(
                    procedure=_required(svc, 1, "composite medical procedure identifier"),
                    charge=svc.element(2),
                    control_number=ref,
                    service_date=_dtp_range(dtp)[0] if dtp else None,
                    statuses=tuple(statuses),
                )
            )
        return replace(self.base, statuses=tuple(self.statuses), lines=tuple(lines))


def read_277ca(text: str | bytes) -> list[ClaimStatus]:
    """Every claim acknowledged in every 277 of the interchange, in file order. Raises
    `parse.X12Error` (segment and position) for a file we cannot read."""
    interchange = read_interchange(text)
    out: list[ClaimStatus] = []
    for transaction in interchange.transactions:
        out += _read_277(transaction)
    return out


def _read_277(transaction: Transaction) -> list[ClaimStatus]:
    _expect(transaction, "277")
    claims: list[_ClaimBuilder] = []
    level = ""
    payer = ""
    provider_npi = ""
    provider_statuses: list[Status] = []
    patient = ("", "")
    claim: _ClaimBuilder | None = None
    line: tuple[Segment, list[Status], list[Segment]] | None = None
    for seg in transaction.body:
        sid = seg.id
        if sid not in SEGMENTS_277 or sid == "ST":
            raise _fail(seg, f"{sid} does not belong in a 277CA")
        if sid == "HL":
            level = _required(seg, 3, "hierarchical level code")
            claim, line = None, None
            if level == "20":
                payer = ""
            elif level == "19":
                provider_npi, provider_statuses = "", []
            elif level in ("PT", "22", "23"):
                patient = ("", "")
            elif level != "21":
                raise _fail(seg, f"HL03 {level!r}: a 277CA has levels 20, 21, 19 and PT")
        elif sid == "NM1":
            if level == "20":
                payer = seg.element(3)
            elif level == "19":
                provider_npi = seg.element(9)
            elif level in ("PT", "22", "23"):
                last, first = seg.element(3), seg.element(4)
                patient = (f"{last}, {first}" if first else last, seg.element(9))
        elif sid == "TRN":
            if level in ("PT", "22", "23"):
                trn = _required(seg, 2, "referenced transaction trace number")
                base = ClaimStatus(
                    claim_id=trn,
                    payer_claim_control_number="",
                    clearinghouse_trace="",
                    statuses=(),
                    payer_name=payer,
                    provider_npi=provider_npi,
                    patient_name=patient[0],
                    member_id=patient[1],
                    provider_statuses=tuple(provider_statuses),
                    control_number=transaction.control_number,
                    position=seg.position,
                )
                claim = _ClaimBuilder(seg, base)
                claims.append(claim)
                line = None
        elif sid == "STC":
            statuses = _statuses(seg)
            if line is not None:
                line[1].extend(statuses)
            elif claim is not None:
                claim.statuses.extend(statuses)
            elif level == "19":
                provider_statuses.extend(statuses)
            # the information source (20) and receiver (21) statuses are about the batch
        elif sid == "SVC":
            if claim is None:
                raise _fail(seg, "SVC outside a claim (no TRN of a patient level before it)")
            line = (seg, [], [])
            claim.lines.append(line)
        elif sid in ("REF", "DTP"):
            if line is not None:
                line[2].append(seg)
            elif claim is not None:
                _claim_detail(seg, claim)
        # QTY, AMT, PER, BHT: counts and contacts, not used
    if any(c.statuses == [] for c in claims):
        missing = next(c for c in claims if not c.statuses)
        raise _fail(missing.trn, f"claim {missing.base.claim_id} has no STC (its status)")
    return [c.build() for c in claims]


def _claim_detail(seg: Segment, claim: _ClaimBuilder) -> None:
    if seg.id == "REF":
        qualifier, value = seg.element(1), seg.element(2)
        if qualifier == "1K":
            claim.base = replace(claim.base, payer_claim_control_number=value)
        elif qualifier == "D9":
            claim.base = replace(claim.base, clearinghouse_trace=value)
    elif seg.element(1) == "472":
        start, end = _dtp_range(seg)
        claim.base = replace(claim.base, service_date=start, service_end_date=end or start)
