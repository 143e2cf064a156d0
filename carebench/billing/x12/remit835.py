"""Read an X12 5010 835 health care claim payment/advice (005010X221A1) into plain data, and
check that it balances (pure; no Django).

One `Remittance` per transaction set (ST..SE), read in the guide's loop order:

    BPR                 the payment: handling (C payment with remittance, I remittance only,
                        H notification only...), total paid, credit or debit, method (ACH, CHK,
                        BOP, FWT, NON) and the check or EFT effective date (BPR16)
    TRN                 the check or EFT trace number (TRN02) and the payer's id (TRN03)
    [CUR REF DTM*405]   currency, receiver and version references, production date
    1000A N1*PR         the payer: name, id; REF*2U, PER contacts
    1000B N1*PE         the payee: name, NPI (XX) or tax id (FI); REF*TJ tax id
    2000  LX [TS3 TS2]  a header number; the provider summary segments are skipped
    2100  CLP           one claim: our patient control number (CLP01), status, charge, paid,
                        patient responsibility, filing indicator, payer claim control number;
          CAS           claim-level adjustments (group, reason, amount, quantity; up to six
                        reasons per CAS)
          NM1 MIA MOA REF DTM PER AMT QTY
                        patient (QC), insured (IL), rendering provider (82), crossover payer
                        (TT); remark codes (MOA03-07, MIA05/20-24); references; statement
                        dates (232/233) and received date (050); amounts (AMT*AU, I...)
    2110  SVC           one service line: procedure HC:code:mod..., charge, paid, revenue
                        code, units paid (1 when absent), the procedure as billed (SVC06) when
                        the payer changed the code or modifiers, and the units billed (SVC07)
          DTM*472|150|151 REF*6R (our line id) CAS AMT*B6 (allowed) QTY LQ*HE (remarks)
    PLB                 provider-level adjustments: provider, fiscal period end, reason
                        (PLB03-1), reference (PLB03-2) and amount, up to six per PLB
    SE

Anything we cannot take raises `parse.X12Error` naming the segment and its position: a segment
that does not belong in an 835, a claim or line segment outside its claim, a required element
missing, a number or date that is not one (CLP03 "abc").

Balancing (`balance_problems`) follows the guide: per line SVC02 - SVC03 - line CAS = 0; per
claim CLP03 - CLP04 - claim CAS - every line's CAS = 0 (and, with lines, the lines' payments
less the claim-level adjustments equal CLP04); and BPR02 = the claims' CLP04 - the PLB amounts
(a positive PLB amount takes money back).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from . import codes
from .parse import Segment, Transaction, X12Error, gc_paused, read_interchange

IMPLEMENTATION = "005010X221A1"
ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")

CLAIM_STATUS = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to another payer",
    "20": "processed as secondary, forwarded to another payer",
    "21": "processed as tertiary, forwarded to another payer",
    "22": "reversal of an earlier payment",
    "23": "not this payer's claim, forwarded to another payer",
    "25": "predetermination pricing only, no payment",
}
PAYMENT_METHODS = {
    "ACH": "electronic funds transfer (ACH)",
    "BOP": "the bank's option (check or EFT)",
    "CHK": "check",
    "FWT": "wire transfer",
    "NON": "no payment",
}
HANDLING_CODES = {
    "C": "payment with the remittance advice",
    "D": "payment only",
    "H": "notification only",
    "I": "remittance information only",
    "P": "prenotification of a future transfer",
    "U": "split payment and remittance",
    "X": "handling party's option to split payment and remittance",
}
# Every segment the 835 may carry (loops 1000A/B, 2000, 2100, 2110 and the summary).
SEGMENTS = frozenset(
    {
        "ST", "BPR", "TRN", "CUR", "REF", "DTM", "N1", "N3", "N4", "PER", "RDM", "LX", "TS3",
        "TS2", "CLP", "CAS", "NM1", "MIA", "MOA", "AMT", "QTY", "SVC", "LQ", "PLB", "SE",
    }
)  # fmt: skip


# --- data out -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """The payer (N1*PR) or the payee (N1*PE): name, the N103/N104 id and extra references."""

    name: str
    id_qualifier: str = ""  # N103: XX NPI, FI tax id, XV plan id, PI payer id
    id: str = ""
    references: tuple[tuple[str, str], ...] = ()  # (REF01, REF02): 2U payer id, TJ tax id...
    phone: str = ""  # the first PER telephone (TE) given

    @property
    def npi(self) -> str:
        """The NPI when N103 is XX, else ""."""
        return self.id if self.id_qualifier == "XX" else ""

    @property
    def tax_id(self) -> str:
        """The tax id: N104 when N103 is FI, else REF*TJ, else ""."""
        if self.id_qualifier == "FI":
            return self.id
        return _reference(self.references, "TJ")


@dataclass(frozen=True)
class Adjustment:
    """One CAS adjustment: group (CO, PR, OA, PI, CR), reason (CARC), amount and quantity.
    A positive amount reduces what is paid; a negative one increases it."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None

    @property
    def code(self) -> str:
        """Group and reason as billers say it: "CO-45"."""
        return f"{self.group}-{self.reason}"

    @property
    def group_meaning(self) -> str:
        return codes.group_code(self.group)

    @property
    def reason_meaning(self) -> str:
        return codes.carc(self.reason)

    def describe(self) -> str:
        """ "CO-45 $60.00: The charge is above the payer's fee schedule ..." """
        return f"{self.code} {_money(self.amount)}: {self.reason_meaning}"


@dataclass(frozen=True)
class Procedure:
    """A composite procedure (SVC01 or SVC06): qualifier (HC CPT/HCPCS, AD, ER, IV, N4 NDC,
    NU revenue code, WK), code, modifiers and the payer's description."""

    qualifier: str
    code: str
    modifiers: tuple[str, ...] = ()
    description: str = ""

    def __str__(self) -> str:
        return ":".join((self.qualifier, self.code, *self.modifiers))


@dataclass(frozen=True)
class ServiceLine:
    """One SVC service line (loop 2110) and what hangs on it."""

    procedure: Procedure  # as the payer adjudicated it (SVC01)
    charge: Decimal  # SVC02
    paid: Decimal  # SVC03
    units: Decimal = Decimal(1)  # SVC05, units paid (1 when not sent)
    revenue_code: str = ""  # SVC04
    original_procedure: Procedure | None = None  # SVC06: as billed, when the payer changed it
    original_units: Decimal | None = None  # SVC07: units billed, when different
    service_date: date | None = None  # DTM*472 or 150; else the claim's DTM*232
    service_end_date: date | None = None  # DTM*151; else the claim's DTM*233
    adjustments: tuple[Adjustment, ...] = ()
    control_number: str = ""  # REF*6R: our line item control number (837 REF*6R)
    remark_codes: tuple[str, ...] = ()  # LQ*HE (RARC)
    allowed: Decimal | None = None  # AMT*B6
    references: tuple[tuple[str, str], ...] = ()  # every REF (qualifier, value)
    amounts: tuple[tuple[str, Decimal], ...] = ()  # every AMT (qualifier, amount)
    position: int = 0  # the SVC's position in the file

    @property
    def submitted_procedure(self) -> Procedure:
        """The procedure as we billed it: SVC06 when the payer changed it, else SVC01."""
        return self.original_procedure or self.procedure

    @property
    def procedure_changed(self) -> bool:
        """True when the payer paid a different code or modifiers than billed (SVC06 sent)."""
        return self.original_procedure is not None and self.original_procedure != self.procedure

    @property
    def adjusted(self) -> Decimal:
        """The sum of the line's adjustments."""
        return sum((a.amount for a in self.adjustments), ZERO)

    @property
    def patient_responsibility(self) -> Decimal:
        """The line's PR adjustments (deductible, coinsurance, copay...)."""
        return sum((a.amount for a in self.adjustments if a.group == "PR"), ZERO)


@dataclass(frozen=True)
class ClaimPayment:
    """One CLP claim (loop 2100): the payer's decision on one of our claims."""

    patient_control_number: str  # CLP01: our claim id, as sent in CLM01
    status_code: str  # CLP02
    charge: Decimal  # CLP03
    paid: Decimal  # CLP04
    patient_responsibility: Decimal = ZERO  # CLP05
    filing_indicator: str = ""  # CLP06: 12 PPO, CI commercial, MB Medicare Part B, MC...
    payer_claim_control_number: str = ""  # CLP07
    facility_type: str = ""  # CLP08 (place of service for professional claims)
    frequency: str = ""  # CLP09: 1 original, 7 replacement, 8 void
    patient_name: str = ""  # NM1*QC, "LAST, FIRST M"
    patient_id: str = ""  # NM1*QC NM109 (member id)
    insured_name: str = ""  # NM1*IL, when the insured is not the patient
    insured_id: str = ""
    rendering_provider_id: str = ""  # NM1*82 NM109 (NPI when NM108 is XX)
    crossover_payer: str = ""  # NM1*TT: the payer the claim was forwarded to
    adjustments: tuple[Adjustment, ...] = ()  # claim-level CAS
    remark_codes: tuple[str, ...] = ()  # MOA03-07, MIA05 and MIA20-24
    statement_start: date | None = None  # DTM*232
    statement_end: date | None = None  # DTM*233
    received_date: date | None = None  # DTM*050
    references: tuple[tuple[str, str], ...] = ()  # every claim REF (qualifier, value)
    amounts: tuple[tuple[str, Decimal], ...] = ()  # every claim AMT: AU coverage, I interest...
    lines: tuple[ServiceLine, ...] = ()
    position: int = 0  # the CLP's position in the file

    @property
    def status(self) -> str:
        """CLP02 in words: "processed as primary", "denied", "reversal of an earlier payment"."""
        return CLAIM_STATUS.get(self.status_code) or codes.unknown(self.status_code)

    @property
    def is_denied(self) -> bool:
        return self.status_code == "4"

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"

    @property
    def all_adjustments(self) -> tuple[Adjustment, ...]:
        """Claim-level adjustments, then every line's."""
        return self.adjustments + tuple(a for line in self.lines for a in line.adjustments)

    @property
    def adjusted(self) -> Decimal:
        """The sum of the claim-level and line-level adjustments."""
        return sum((a.amount for a in self.all_adjustments), ZERO)

    @property
    def interest(self) -> Decimal:
        """Interest the payer added (AMT*I), 0 when none."""
        return _amount_of(self.amounts, "I") or ZERO

    def reasons(self) -> list[str]:
        """Every adjustment and remark on the claim and its lines, in plain words, for the
        denial worklist: "CO-16 $80.00: ...", "Line 2 (HC:93000): N290: ..."."""
        out = [a.describe() for a in self.adjustments]
        out += [f"{code}: {codes.rarc(code)}" for code in self.remark_codes]
        for number, line in enumerate(self.lines, start=1):
            where = f"Line {number} ({line.submitted_procedure})"
            out += [f"{where}: {a.describe()}" for a in line.adjustments]
            out += [f"{where}: {code}: {codes.rarc(code)}" for code in line.remark_codes]
        return out


@dataclass(frozen=True)
class ProviderAdjustment:
    """One PLB adjustment: not tied to a claim. A positive amount reduces the payment (e.g. WO,
    an overpayment taken back); a negative one adds to it (e.g. L6, interest)."""

    provider_id: str  # PLB01 (NPI or tax id)
    fiscal_period_end: date | None  # PLB02
    reason: str  # PLB03-1: WO, L6, FB, CS, 72...
    reference: str  # PLB03-2: usually the claim or account the adjustment is about
    amount: Decimal

    @property
    def reason_meaning(self) -> str:
        return codes.plb_reason(self.reason)

    def describe(self) -> str:
        ref = f" ({self.reference})" if self.reference else ""
        return f"{self.reason}{ref} {_money(self.amount)}: {self.reason_meaning}"


@dataclass(frozen=True)
class Remittance:
    """One 835 transaction set: one payment (or notice) and the claims it covers."""

    control_number: str  # ST02
    handling_code: str  # BPR01
    total_paid: Decimal  # BPR02, as sent (never negative; see credit_debit)
    credit_debit: str  # BPR03: C credit (to the provider), D debit
    payment_method: str  # BPR04: ACH, CHK, BOP, FWT, NON
    payment_format: str  # BPR05: CCP, CTX (for ACH)
    payment_date: date | None  # BPR16: check issue or EFT effective date
    trace_number: str  # TRN02: the check number or EFT trace number
    payer_trace_id: str  # TRN03: the payer's id (1 + EIN, usually)
    payer: Party
    payee: Party
    claims: tuple[ClaimPayment, ...] = ()
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    production_date: date | None = None  # DTM*405
    version: str = IMPLEMENTATION  # ST03
    position: int = 0  # the ST's position in the file

    @property
    def net_paid(self) -> Decimal:
        """BPR02 signed: negative for a debit (BPR03 D)."""
        return -self.total_paid if self.credit_debit == "D" else self.total_paid

    @property
    def payment_method_text(self) -> str:
        return PAYMENT_METHODS.get(self.payment_method) or codes.unknown(self.payment_method)

    @property
    def handling_text(self) -> str:
        return HANDLING_CODES.get(self.handling_code) or codes.unknown(self.handling_code)

    def claim(self, patient_control_number: str) -> ClaimPayment | None:
        """The first claim with this CLP01, or None."""
        return next(
            (c for c in self.claims if c.patient_control_number == patient_control_number), None
        )


# --- reading ------------------------------------------------------------------------------------


def read_835(text: str | bytes) -> list[Remittance]:
    """Every 835 transaction set in the interchange, in file order.

    Raises `parse.X12Error` (naming the segment and its position) when the envelopes are wrong
    (the parser's checks), a transaction set is not an 835, or its content cannot be read.
    """
    interchange = read_interchange(text)
    with gc_paused():  # many small objects, no cycles: the collector would only slow it down
        return [_read_transaction(t) for t in interchange.transactions]


def _fail(segment: Segment, message: str) -> X12Error:
    return X12Error(segment.id, segment.position, message)


def _required(segment: Segment, n: int, what: str) -> str:
    value = segment.element(n).strip()
    if not value:
        raise _fail(segment, f"{segment.id}{n:02d} ({what}) is required")
    return value


def _decimal(segment: Segment, n: int, what: str, *, required: bool = True) -> Decimal | None:
    value = segment.element(n).strip()
    if not value:
        if required:
            raise _fail(segment, f"{segment.id}{n:02d} ({what}) is required")
        return None
    digits = value[1:] if value[0] == "-" else value
    if not digits.replace(".", "", 1).isdigit() or not digits.isascii():
        raise _fail(segment, f"{segment.id}{n:02d} ({what}) must be a number, not {value!r}")
    return Decimal(value)


def _money_element(segment: Segment, n: int, what: str) -> Decimal:
    value = _decimal(segment, n, what)
    assert value is not None
    return value


def _date(segment: Segment, n: int, what: str) -> date | None:
    value = segment.element(n).strip()
    if not value:
        return None
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise _fail(
            segment, f"{segment.id}{n:02d} ({what}) must be a date CCYYMMDD, not {value!r}"
        ) from None


def _name(segment: Segment) -> str:
    """NM1 name as "LAST, FIRST MIDDLE" (or the organization's name)."""
    last, first, middle = segment.element(3), segment.element(4), segment.element(5)
    given = " ".join(p for p in (first, middle) if p)
    return f"{last}, {given}" if given else last


def _reference(references: Iterable[tuple[str, str]], qualifier: str) -> str:
    return next((value for q, value in references if q == qualifier), "")


def _amount_of(amounts: Iterable[tuple[str, Decimal]], qualifier: str) -> Decimal | None:
    return next((value for q, value in amounts if q == qualifier), None)


def _procedure(segment: Segment, n: int, what: str) -> Procedure:
    parts = segment.components(n)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise _fail(
            segment,
            f"{segment.id}{n:02d} ({what}) must be qualifier:code[:modifier...], "
            f"not {segment.element(n)!r}",
        )
    modifiers = tuple(m for m in parts[2:6] if m)
    description = parts[6] if len(parts) > 6 else ""
    return Procedure(parts[0], parts[1], modifiers, description)


def _adjustments(segment: Segment) -> list[Adjustment]:
    group = _required(segment, 1, "claim adjustment group code")
    if group not in codes.GROUP_CODES:
        raise _fail(segment, f"CAS01 {group!r} is not a group code (CO, PR, OA, PI or CR)")
    out = []
    count = len(segment.elements)
    for start in range(2, min(count, 19) + 1, 3):  # CAS02-04, 05-07, ... 17-19
        reason = segment.element(start).strip()
        if not reason:
            if segment.element(start + 1).strip():
                raise _fail(segment, f"CAS{start + 1:02d} has an amount but no reason code")
            continue
        amount = _money_element(segment, start + 1, "adjustment amount")
        quantity = (
            _decimal(segment, start + 2, "adjustment quantity", required=False)
            if count > start + 1
            else None
        )
        out.append(Adjustment(group, reason, amount, quantity))
    if not out:
        raise _fail(segment, "CAS02 (claim adjustment reason code) is required")
    return out


def _plb(segment: Segment) -> list[ProviderAdjustment]:
    provider = _required(segment, 1, "provider identifier")
    period = _date(segment, 2, "fiscal period date")
    out = []
    for start in range(3, 15, 2):  # PLB03/04 ... PLB13/14
        composite = segment.components(start)
        if not composite:
            continue
        reason = composite[0].strip()
        if not reason:
            raise _fail(segment, f"PLB{start:02d}-1 (adjustment reason code) is required")
        reference = composite[1] if len(composite) > 1 else ""
        amount = _money_element(segment, start + 1, "provider adjustment amount")
        out.append(ProviderAdjustment(provider, period, reason, reference, amount))
    if not out:
        raise _fail(segment, "PLB03 (the adjustment reason and reference) is required")
    return out


class _LineBuilder:
    """Loop 2110 as it is read: the SVC's values (checked when the SVC is read) and what
    follows it."""

    __slots__ = (
        "svc", "procedure", "charge", "paid", "units", "original", "original_units",
        "adjustments", "remarks", "references", "amounts", "dates",
    )  # fmt: skip

    def __init__(self, svc: Segment) -> None:
        self.svc = svc
        self.procedure = _procedure(svc, 1, "composite medical procedure")
        self.charge = _money_element(svc, 2, "line item charge amount")
        self.paid = _money_element(svc, 3, "line item provider payment amount")
        self.units = _decimal(svc, 5, "units of service paid", required=False)
        self.original = _procedure(svc, 6, "original procedure") if svc.element(6) else None
        self.original_units = _decimal(svc, 7, "original units of service", required=False)
        self.adjustments: list[Adjustment] = []
        self.remarks: list[str] = []
        self.references: list[tuple[str, str]] = []
        self.amounts: list[tuple[str, Decimal]] = []
        self.dates: dict[str, date | None] = {}

    def build(self, claim_dates: dict[str, date | None]) -> ServiceLine:
        dates = self.dates
        start = dates.get("472") or dates.get("150")
        end = dates.get("151")
        if start is None:  # the guide: without line dates, the claim's statement dates apply
            start, end = claim_dates.get("232"), claim_dates.get("233")
        return ServiceLine(
            procedure=self.procedure,
            charge=self.charge,
            paid=self.paid,
            units=ONE if self.units is None else self.units,
            revenue_code=self.svc.element(4),
            original_procedure=self.original,
            original_units=self.original_units,
            service_date=start,
            service_end_date=end,
            adjustments=tuple(self.adjustments),
            control_number=_reference(self.references, "6R"),
            remark_codes=tuple(self.remarks),
            allowed=_amount_of(self.amounts, "B6"),
            references=tuple(self.references),
            amounts=tuple(self.amounts),
            position=self.svc.position,
        )


class _ClaimBuilder:
    """Loop 2100 as it is read: the CLP's values (checked when the CLP is read) and what
    follows it."""

    __slots__ = (
        "clp", "patient_control_number", "status_code", "charge", "paid", "responsibility",
        "adjustments", "remarks", "references", "amounts", "dates", "names", "lines",
    )  # fmt: skip

    def __init__(self, clp: Segment) -> None:
        self.clp = clp
        self.patient_control_number = _required(clp, 1, "patient control number")
        self.status_code = _required(clp, 2, "claim status code")
        self.charge = _money_element(clp, 3, "total claim charge amount")
        self.paid = _money_element(clp, 4, "claim payment amount")
        self.responsibility = _decimal(clp, 5, "patient responsibility amount", required=False)
        self.adjustments: list[Adjustment] = []
        self.remarks: list[str] = []
        self.references: list[tuple[str, str]] = []
        self.amounts: list[tuple[str, Decimal]] = []
        self.dates: dict[str, date | None] = {}
        self.names: dict[str, Segment] = {}
        self.lines: list[_LineBuilder] = []

    def build(self) -> ClaimPayment:
        clp, names, dates = self.clp, self.names, self.dates
        patient = names.get("QC")
        insured = names.get("IL")
        rendering = names.get("82")
        crossover = names.get("TT")
        return ClaimPayment(
            patient_control_number=self.patient_control_number,
            status_code=self.status_code,
            charge=self.charge,
            paid=self.paid,
            patient_responsibility=ZERO if self.responsibility is None else self.responsibility,
            filing_indicator=clp.element(6),
            payer_claim_control_number=clp.element(7),
            facility_type=clp.element(8),
            frequency=clp.element(9),
            patient_name=_name(patient) if patient else "",
            patient_id=patient.element(9) if patient else "",
            insured_name=_name(insured) if insured else "",
            insured_id=insured.element(9) if insured else "",
            rendering_provider_id=rendering.element(9) if rendering else "",
            crossover_payer=crossover.element(3) if crossover else "",
            adjustments=tuple(self.adjustments),
            remark_codes=tuple(self.remarks),
            statement_start=dates.get("232"),
            statement_end=dates.get("233"),
            received_date=dates.get("050"),
            references=tuple(self.references),
            amounts=tuple(self.amounts),
            lines=tuple(line.build(dates) for line in self.lines),
            position=clp.position,
        )


def _party(n1: Segment, segments: Sequence[Segment]) -> Party:
    references = tuple((s.element(1), s.element(2)) for s in segments if s.id == "REF")
    phone = ""
    for per in (s for s in segments if s.id == "PER"):
        for q in (3, 5, 7):
            if per.element(q) == "TE" and not phone:
                phone = per.element(q + 1)
    return Party(n1.element(2), n1.element(3), n1.element(4), references, phone)


class _Payment(NamedTuple):
    handling_code: str
    total_paid: Decimal
    credit_debit: str
    payment_method: str
    payment_format: str
    payment_date: date | None


def _payment(bpr: Segment) -> _Payment:
    credit_debit = _required(bpr, 3, "credit/debit flag")
    if credit_debit not in ("C", "D"):
        raise _fail(bpr, f"BPR03 is {credit_debit!r}: C (credit) or D (debit)")
    return _Payment(
        handling_code=_required(bpr, 1, "transaction handling code"),
        total_paid=_money_element(bpr, 2, "total actual provider payment amount"),
        credit_debit=credit_debit,
        payment_method=_required(bpr, 4, "payment method code"),
        payment_format=bpr.element(5),
        payment_date=_date(bpr, 16, "check issue or EFT effective date"),
    )


def _read_transaction(transaction: Transaction) -> Remittance:
    st = transaction.st
    if transaction.type != "835":
        raise _fail(st, f"ST01 is {transaction.type!r}: this reader takes an 835")
    payment: _Payment | None = None
    trn: Segment | None = None
    production: date | None = None
    parties: dict[str, tuple[Segment, list[Segment]]] = {}
    party: list[Segment] | None = None  # the open N1 loop's segments
    claims: list[_ClaimBuilder] = []
    claim: _ClaimBuilder | None = None
    line: _LineBuilder | None = None
    plbs: list[ProviderAdjustment] = []

    for seg in transaction.body:
        sid = seg.id
        if sid not in SEGMENTS or sid == "ST":
            raise _fail(seg, f"{sid} does not belong in an 835")
        if plbs and sid != "PLB":
            raise _fail(seg, f"{sid} after PLB: the provider adjustments end the 835")
        if sid == "CLP":
            claim = _ClaimBuilder(seg)
            claims.append(claim)
            line = None
            party = None
        elif sid == "SVC":
            if claim is None:
                raise _fail(seg, "SVC outside a claim (no CLP before it)")
            line = _LineBuilder(seg)
            claim.lines.append(line)
        elif sid == "CAS":
            target = line or claim
            if target is None:
                raise _fail(seg, "CAS outside a claim (no CLP before it)")
            target.adjustments.extend(_adjustments(seg))
        elif sid == "LQ":
            if line is None:
                raise _fail(seg, "LQ outside a service line (no SVC before it)")
            if seg.element(1) == "HE":
                line.remarks.append(_required(seg, 2, "remark code"))
        elif sid == "PLB":
            plbs.extend(_plb(seg))
            claim = line = None
        elif sid == "LX":
            claim = line = None
            party = None
        elif claim is not None:
            _claim_detail(seg, claim, line)
        elif sid == "BPR":
            if payment is not None:
                raise _fail(seg, "a second BPR: one payment per 835")
            payment = _payment(seg)
        elif sid == "TRN":
            if trn is None:
                _required(seg, 2, "check or EFT trace number")
                trn = seg
        elif sid == "N1":
            party = []
            if seg.element(1) in ("PR", "PE"):
                parties[seg.element(1)] = (seg, party)
        elif sid in ("N3", "N4", "PER", "RDM") or (sid == "REF" and party is not None):
            if party is None:
                raise _fail(seg, f"{sid} outside the payer or payee loop (no N1 before it)")
            party.append(seg)
        elif sid == "DTM":
            if seg.element(1) == "405":
                production = _date(seg, 2, "production date")
        elif sid in ("TS3", "TS2", "CUR", "REF"):
            pass  # provider summaries, currency and header references: not used
        else:  # NM1, MIA, MOA, AMT, QTY before any CLP
            raise _fail(seg, f"{sid} outside a claim (no CLP before it)")

    if payment is None:
        raise _fail(st, "the 835 has no BPR (financial information)")
    if trn is None:
        raise _fail(st, "the 835 has no TRN (the check or EFT trace number)")
    if "PR" not in parties:
        raise _fail(st, "the 835 has no payer (N1*PR)")
    if "PE" not in parties:
        raise _fail(st, "the 835 has no payee (N1*PE)")
    payer_n1, payer_segments = parties["PR"]
    payee_n1, payee_segments = parties["PE"]
    return Remittance(
        control_number=transaction.control_number,
        handling_code=payment.handling_code,
        total_paid=payment.total_paid,
        credit_debit=payment.credit_debit,
        payment_method=payment.payment_method,
        payment_format=payment.payment_format,
        payment_date=payment.payment_date,
        trace_number=trn.element(2),
        payer_trace_id=trn.element(3),
        payer=_party(payer_n1, payer_segments),
        payee=_party(payee_n1, payee_segments),
        claims=tuple(c.build() for c in claims),
        provider_adjustments=tuple(plbs),
        production_date=production,
        version=transaction.version or IMPLEMENTATION,
        position=st.position,
    )


def _claim_detail(seg: Segment, claim: _ClaimBuilder, line: _LineBuilder | None) -> None:
    """A segment inside loop 2100 (claim) or 2110 (line) other than CLP, SVC, CAS, LQ."""
    sid = seg.id
    target: _ClaimBuilder | _LineBuilder = line or claim
    if sid == "REF":
        target.references.append((_required(seg, 1, "reference qualifier"), seg.element(2)))
    elif sid == "DTM":
        qualifier = _required(seg, 1, "date/time qualifier")
        target.dates.setdefault(qualifier, _date(seg, 2, "date"))
    elif sid == "AMT":
        qualifier = _required(seg, 1, "amount qualifier")
        target.amounts.append((qualifier, _money_element(seg, 2, "amount")))
    elif sid == "QTY":
        _decimal(seg, 2, "quantity")
    elif line is not None and sid in ("NM1", "MIA", "MOA", "PER"):
        raise _fail(seg, f"{sid} after a service line: it belongs before the claim's first SVC")
    elif sid == "NM1":
        claim.names.setdefault(_required(seg, 1, "entity identifier code"), seg)
    elif sid == "MOA":
        claim.remarks.extend(c for c in (seg.element(n) for n in range(3, 8)) if c)
    elif sid == "MIA":
        claim.remarks.extend(c for c in (seg.element(n) for n in (5, 20, 21, 22, 23, 24)) if c)
    elif sid == "PER":
        pass
    else:  # BPR, TRN, N1, N3, N4, TS3, TS2, CUR, RDM inside a claim
        raise _fail(seg, f"{sid} inside a claim (CLP at segment {claim.clp.position})")


# --- balancing ----------------------------------------------------------------------------------


def _r(value: Decimal) -> str:
    return format(value.quantize(CENT), "f")


def _money(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value.quantize(CENT)):,.2f}"


def balance_problems(remittance: Remittance) -> list[str]:
    """Every way the remittance fails to balance, as plain sentences naming the claim (and the
    line): [] when it balances. See the module's docstring for the three rules."""
    problems: list[str] = []
    for claim in remittance.claims:
        name = f"Claim {claim.patient_control_number}"
        if claim.payer_claim_control_number:
            name += f" (payer claim {claim.payer_claim_control_number})"
        for number, line in enumerate(claim.lines, start=1):
            left = line.charge - line.paid - line.adjusted
            if left:
                ident = f", line id {line.control_number}" if line.control_number else ""
                problems.append(
                    f"{name}, line {number} ({line.submitted_procedure}{ident}): the charge "
                    f"{_r(line.charge)} less the payment {_r(line.paid)} and the adjustments "
                    f"{_r(line.adjusted)} leaves {_r(left)}, not 0."
                )
        left = claim.charge - claim.paid - claim.adjusted
        if left:
            problems.append(
                f"{name}: the charge {_r(claim.charge)} less the payment {_r(claim.paid)} and "
                f"the adjustments {_r(claim.adjusted)} (claim and lines) leaves {_r(left)}, not 0."
            )
        if claim.lines:
            lines_paid = sum((line.paid for line in claim.lines), ZERO)
            claim_level = sum((a.amount for a in claim.adjustments), ZERO)
            if lines_paid - claim_level != claim.paid:
                problems.append(
                    f"{name}: the lines pay {_r(lines_paid)}, less claim-level adjustments "
                    f"{_r(claim_level)} that is {_r(lines_paid - claim_level)}, but the claim "
                    f"pays {_r(claim.paid)}."
                )
    claims_paid = sum((c.paid for c in remittance.claims), ZERO)
    plb = sum((a.amount for a in remittance.provider_adjustments), ZERO)
    if claims_paid - plb != remittance.net_paid:
        problems.append(
            f"Payment {remittance.trace_number}: the total paid {_r(remittance.net_paid)} (BPR02) "
            f"is not the claims' payments {_r(claims_paid)} less the provider adjustments "
            f"{_r(plb)}, which is {_r(claims_paid - plb)}."
        )
    return problems
