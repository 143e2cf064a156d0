"""Read an ORU^R01 (HL7 v2.3 to v2.5.1) into plain data (pure; no Django).

python-hl7 splits the message into segments; we read the fields we use, check them, and raise
`ParseError` naming the segment, its sequence, the field and the reason (with the HL7 table 0357
code and whether the ACK is AE or AR) for anything we cannot take:

    no MSH first, MSH-9 not ORU^R01, MSH-10 empty, MSH-11 not P/T/D, MSH-12 not 2.x  -> AR
    no PID before the first OBR, no OBR, an OBX before any OBR, no OBX at all,
    an OBR with neither placer (ORC-2/OBR-2) nor filler (ORC-3/OBR-3) number,
    OBX-2 not NM/SN/ST/TX/FT/CE/CWE, OBX-3 empty, OBX-5 empty or not a number for NM/SN,
    OBX-11 not F/P/C, a timestamp (MSH-7, OBR-7, OBX-14) that is not a DTM          -> AE
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from hl7.parser import create_parse_plan

from .ack import ACCEPT, ERROR, REJECT, ErrorLocation
from .build import Endpoint
from .escape import unescape

VALUE_TYPES = {"NM", "SN", "ST", "TX", "FT", "CE", "CWE"}
RESULT_STATUSES = {"F": "final", "P": "preliminary", "C": "corrected"}
PROCESSING_IDS = {"P", "T", "D"}
_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$")
_NUMBER = re.compile(r"^\s*(<=|>=|<|>)?\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*$")


class ParseError(Exception):
    """A message we cannot take: where (segment, sequence, field), why, and the ACK it gets."""

    def __init__(
        self,
        segment: str,
        field: int,
        reason: str,
        *,
        code: str = "102",
        sequence: int = 1,
        component: int = 0,
        ack: str = ERROR,
        header: Header | None = None,
    ) -> None:
        self.location = ErrorLocation(
            segment=segment,
            sequence=sequence,
            field=field,
            component=component,
            code=code,
            reason=reason,
        )
        self.ack_code = ack
        self.header = header
        super().__init__(self.location.describe())


@dataclass(frozen=True)
class Header:
    """What the MSH says (read first, so even a bad message can be acknowledged)."""

    sender: Endpoint = Endpoint("")
    receiver: Endpoint = Endpoint("")
    sent_at: datetime | None = None
    message_type: str = ""
    trigger: str = ""
    control_id: str = ""
    processing_id: str = "P"
    version: str = ""

    @property
    def type_name(self) -> str:
        return f"{self.message_type}^{self.trigger}" if self.trigger else self.message_type


@dataclass(frozen=True)
class PatientId:
    value: str
    type_code: str = ""  # CX-5: MR, PI, ...
    authority: str = ""


@dataclass(frozen=True)
class Observation:
    sequence: int  # which OBX of the message (1 = the first), for error locations
    value_type: str
    code: str
    name: str
    code_system: str
    value: Decimal | None = None
    comparator: str = ""
    text: str = ""
    unit: str = ""
    reference_range: str = ""
    flag: str = ""
    status: str = "final"  # final, preliminary, corrected
    observed_at: datetime | None = None
    performing_lab: str = ""
    notes: tuple[str, ...] = ()


@dataclass
class OrderResults:
    """One ORDER_OBSERVATION group: ORC (optional), OBR, its OBXs, and its SPM."""

    sequence: int  # which OBR of the message
    placer_number: str = ""
    filler_number: str = ""
    service_code: str = ""
    service_name: str = ""
    observed_at: datetime | None = None
    specimen_id: str = ""
    observations: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ResultMessage:
    header: Header
    patient_ids: list[PatientId]
    family_name: str = ""
    given_name: str = ""
    birth_date: date | None = None
    orders: list[OrderResults] = field(default_factory=list)

    @property
    def mrn(self) -> str:
        for pid in self.patient_ids:
            if pid.type_code.upper() == "MR":
                return pid.value
        return self.patient_ids[0].value if self.patient_ids else ""

    @property
    def placer_number(self) -> str:
        return next((o.placer_number for o in self.orders if o.placer_number), "")

    @property
    def filler_number(self) -> str:
        return next((o.filler_number for o in self.orders if o.filler_number), "")

    @property
    def observations(self) -> list[Observation]:
        return [obs for order in self.orders for obs in order.observations]


# --- reading fields -----------------------------------------------------------------------------


MAX_MESSAGE_CHARS = 1_000_000  # one message, as the MLLP listener's frame limit


def normalize(raw: str | bytes) -> str:
    """The message text with MLLP framing and blank lines gone, segments ended by CR."""
    if isinstance(raw, bytes):
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            decoded = raw.decode("latin-1")
    else:
        decoded = raw
    text = decoded.replace("\x0b", "").replace("\x1c", "").replace("\r\n", "\r").replace("\n", "\r")
    return "\r".join(line for line in text.split("\r") if line.strip()).lstrip("\ufeff ")


def split_messages(text: str) -> list[str]:
    """Messages of a file: one starts at every MSH segment (batch FHS/BHS/BTS/FTS dropped)."""
    messages: list[list[str]] = []
    for line in normalize(text).split("\r"):
        if line[:3] in {"FHS", "BHS", "BTS", "FTS"}:
            continue
        if line.startswith("MSH") or not messages:
            messages.append([])
        messages[-1].append(line)
    return ["\r".join(lines) + "\r" for lines in messages if lines]


class _Segment:
    """One segment's fields as strings, split on the message's own delimiters."""

    __slots__ = ("name", "fields", "sequence", "_sep")

    def __init__(self, name: str, fields: list[str], sequence: int, sep: str) -> None:
        self.name = name
        self.fields = fields
        self.sequence = sequence
        self._sep = sep  # component, repetition, escape, subcomponent

    def raw(self, number: int) -> str:
        return self.fields[number] if number < len(self.fields) else ""

    def repetitions(self, number: int) -> list[str]:
        value = self.raw(number)
        return value.split(self._sep[1]) if value else []

    def get(
        self, number: int, component: int = 1, subcomponent: int = 1, repetition: int = 1
    ) -> str:
        """One value (1-based field, component, subcomponent, repetition), unescaped."""
        fields = self.fields
        if number >= len(fields):
            return ""
        value = fields[number]
        if not value:
            return ""
        if self.name == "MSH" and number <= 2:
            return value
        comp, rep, esc, sub = self._sep[0], self._sep[1], self._sep[2], self._sep[3]
        if rep in value:
            reps = value.split(rep)
            value = reps[repetition - 1] if repetition <= len(reps) else ""
        elif repetition > 1:
            return ""
        if comp in value:
            parts = value.split(comp)
            value = parts[component - 1] if component <= len(parts) else ""
        elif component > 1:
            return ""
        if sub in value:
            subs = value.split(sub)
            value = subs[subcomponent - 1] if subcomponent <= len(subs) else ""
        elif subcomponent > 1:
            return ""
        if esc in value:
            value = self._unescape(value)
        return value.strip()

    def components(self, value: str) -> list[str]:
        return [self._unescape(part).strip() for part in value.split(self._sep[0])]

    def _unescape(self, value: str) -> str:
        if self._sep[2] != "\\":  # a sender with its own escape character (rare)
            value = value.replace(self._sep[2], "\\")
        return unescape(value)


def _segments(text: str) -> list[_Segment]:
    """Split the message into segments and fields, with the delimiters python-hl7's parse plan
    reads from MSH-1/MSH-2; name each segment's sequence (its count among same-named segments).

    python-hl7's full `hl7.parse` builds a container per component and costs about 1.6 ms for
    a 12-segment ORU here: more than the whole ingest budget (ADR 0006). We take its parse plan
    and split lazily; the tests check our fields against `hl7.parse` on every sample.
    """
    try:
        plan = create_parse_plan(text)
    except Exception as exc:  # python-hl7 raises assorted errors on garbage
        raise ParseError("MSH", 0, f"not an HL7 message ({exc})", code="100", ack=REJECT) from None
    field_sep, repetition, component, subcomponent = plan.separators[1:5]
    sep = component + repetition + plan.esc + subcomponent
    counts: dict[str, int] = {}
    found: list[_Segment] = []
    for line in text.split("\r"):
        if not line.strip():
            continue
        parts = line.split(field_sep)
        name = parts[0].strip().upper()
        if name == "MSH":
            parts = ["MSH", field_sep, *parts[1:]]
        counts[name] = counts.get(name, 0) + 1
        found.append(_Segment(name, parts, counts[name], sep))
    return found


@functools.lru_cache(maxsize=256)
def parse_timestamp(value: str) -> datetime:
    """A DTM (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]); naive when it gives no offset."""
    match = _DTM.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not an HL7 timestamp (YYYYMMDDHHMMSS[+-ZZZZ])")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    moment = datetime(
        int(year),
        int(month or 1),
        int(day or 1),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        int((fraction or "0").ljust(6, "0")[:6]),
    )
    if offset:
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[3:5])
        if hours > 14 or minutes > 59:
            raise ValueError(f"{value!r}: the UTC offset {offset} is not possible")
        return moment.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return moment


def _timestamp(segment: _Segment, number: int, header: Header) -> datetime | None:
    value = segment.get(number)
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise ParseError(
            segment.name, number, str(exc), sequence=segment.sequence, header=header
        ) from None


def read_header(text: str) -> Header:
    """The MSH fields, as far as they can be read (never raises)."""
    line = normalize(text).split("\r", 1)[0]
    if not line.startswith("MSH") or len(line) < 8:
        return Header()
    seg = _Segment("MSH", ["MSH", line[3], *line[4:].split(line[3])[0:]], 1, line[4:8])
    # MSH-2 is fields[2]; the split above put the encoding characters there already
    sent_at = None
    try:
        sent_at = parse_timestamp(seg.get(7)) if seg.get(7) else None
    except ValueError:
        sent_at = None
    return Header(
        sender=Endpoint(seg.get(3), seg.get(4)),
        receiver=Endpoint(seg.get(5), seg.get(6)),
        sent_at=sent_at,
        message_type=seg.get(9, 1).upper(),
        trigger=seg.get(9, 2).upper(),
        control_id=seg.get(10),
        processing_id=seg.get(11) or "P",
        version=seg.get(12),
    )


def _check_header(text: str) -> Header:
    if not text.startswith("MSH"):
        first = text[:3] or "(empty)"
        raise ParseError(
            "MSH", 0, f"a message starts with MSH, not {first}", code="100", ack=REJECT
        )
    if len(text) < 9 or text[3].isalnum() or len(set(text[3:8])) != 5:
        raise ParseError("MSH", 2, "MSH-1/MSH-2 delimiters are missing", code="101", ack=REJECT)
    header = read_header(text)
    if header.message_type != "ORU":
        raise ParseError(
            "MSH",
            9,
            f"message type {header.type_name or '(empty)'}: only ORU^R01 results are taken",
            code="200",
            ack=REJECT,
            header=header,
        )
    if header.trigger != "R01":
        raise ParseError(
            "MSH",
            9,
            f"event {header.trigger or '(empty)'}: only ORU^R01 results are taken",
            component=2,
            code="201",
            ack=REJECT,
            header=header,
        )
    if not header.control_id:
        raise ParseError(
            "MSH", 10, "the message control id is empty", code="101", ack=REJECT, header=header
        )
    if header.processing_id not in PROCESSING_IDS:
        raise ParseError(
            "MSH",
            11,
            f"processing id {header.processing_id!r} must be P, T or D",
            code="202",
            ack=REJECT,
            header=header,
        )
    if not header.version.startswith("2."):
        raise ParseError(
            "MSH",
            12,
            f"version {header.version or '(empty)'}: HL7 v2 (2.3 to 2.5.1) is taken",
            code="203",
            ack=REJECT,
            header=header,
        )
    return header


# --- the message --------------------------------------------------------------------------------


def parse_oru(raw: str | bytes) -> ResultMessage:
    """The results of one ORU^R01, or `ParseError` naming the segment and field."""
    text = normalize(raw)
    header = _check_header(text)
    if len(text) > MAX_MESSAGE_CHARS:
        raise ParseError(
            "MSH",
            0,
            f"the message is {len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,}",
            code="104",
            ack=REJECT,
            header=header,
        )
    segments = _segments(text)
    if "\x00" in text:
        seg = next(s for s in segments if "\x00" in "|".join(s.fields))
        number = next(i for i, f in enumerate(seg.fields) if "\x00" in f)
        raise ParseError(
            seg.name.replace("\x00", "?")[:3],
            number,
            "holds a NUL byte: HL7 v2 is text (is the file UTF-16 or binary?)",
            code="102",
            sequence=seg.sequence,
            ack=REJECT,
            header=header,
        )
    msh = segments[0]
    if msh.get(7):
        _timestamp(msh, 7, header)
    result = ResultMessage(header=header, patient_ids=[])
    seen_pid = False
    pending_orc: _Segment | None = None
    current: OrderResults | None = None
    last_obs: list[Observation] = []  # the last OBX of the current group, to attach NTEs
    for seg in segments[1:]:
        name = seg.name
        if name == "PID":
            if seen_pid:
                raise ParseError(
                    "PID", 0, "one patient per message", code="100", sequence=seg.sequence
                )
            seen_pid = True
            _read_pid(seg, result, header)
        elif name == "ORC":
            pending_orc = seg
        elif name == "OBR":
            if not seen_pid:
                raise ParseError(
                    "PID", 0, "no PID segment before the first OBR", code="100", header=header
                )
            current = _read_obr(seg, pending_orc, header)
            pending_orc = None
            result.orders.append(current)
            last_obs = []
        elif name == "OBX":
            if current is None:
                raise ParseError(
                    "OBX",
                    0,
                    "an OBX before any OBR",
                    code="100",
                    sequence=seg.sequence,
                    header=header,
                )
            observation = _read_obx(seg, current, header)
            current.observations.append(observation)
            last_obs = [observation]
        elif name == "NTE":
            note = " ".join(
                " ".join(
                    seg.get(3, repetition=i + 1) for i in range(len(seg.repetitions(3)) or 1)
                ).split()
            )
            if not note:
                continue
            if last_obs and current is not None:
                obs = last_obs[0]
                updated = _with_note(obs, note)
                current.observations[-1] = updated
                last_obs = [updated]
            elif current is not None:
                current.notes.append(note)
        elif name == "SPM":
            if current is not None:
                current.specimen_id = seg.get(2, 1) or seg.get(2, 2)
            last_obs = []
    if not seen_pid:
        raise ParseError("PID", 0, "no PID segment", code="100", header=header)
    if not result.orders:
        raise ParseError("OBR", 0, "no OBR segment: no results", code="100", header=header)
    if not result.observations:
        raise ParseError("OBX", 0, "no OBX segment: no results", code="100", header=header)
    return result


def _with_note(obs: Observation, note: str) -> Observation:
    from dataclasses import replace

    return replace(obs, notes=(*obs.notes, note))


def _read_pid(seg: _Segment, result: ResultMessage, header: Header) -> None:
    for value in seg.repetitions(3):
        parts = seg.components(value)
        parts += [""] * (5 - len(parts))
        if parts[0]:
            result.patient_ids.append(PatientId(parts[0], parts[4], parts[3]))
    if not result.patient_ids:
        raise ParseError(
            "PID",
            3,
            "no patient identifier (MRN)",
            code="101",
            sequence=seg.sequence,
            header=header,
        )
    result.family_name = seg.get(5, 1)
    result.given_name = seg.get(5, 2)
    birth = _timestamp(seg, 7, header)
    result.birth_date = birth.date() if birth is not None else None


def _read_obr(seg: _Segment, orc: _Segment | None, header: Header) -> OrderResults:
    placer = (orc.get(2) if orc is not None else "") or seg.get(2)
    filler = (orc.get(3) if orc is not None else "") or seg.get(3)
    if not placer and not filler:
        raise ParseError(
            "OBR",
            2,
            "neither a placer (ORC-2/OBR-2) nor a filler (ORC-3/OBR-3) order number",
            code="101",
            sequence=seg.sequence,
            header=header,
        )
    code, name = seg.get(4, 1), seg.get(4, 2)
    if seg.get(4, 3).upper() != "LN" and seg.get(4, 6).upper() == "LN":
        code, name = seg.get(4, 4), seg.get(4, 5) or name
    return OrderResults(
        sequence=seg.sequence,
        placer_number=placer,
        filler_number=filler,
        service_code=code,
        service_name=name,
        observed_at=_timestamp(seg, 7, header),
    )


def _bad(seg: _Segment, number: int, reason: str, code: str, header: Header) -> ParseError:
    return ParseError(seg.name, number, reason, code=code, sequence=seg.sequence, header=header)


def _read_obx(seg: _Segment, group: OrderResults, header: Header) -> Observation:
    value_type = seg.get(2).upper()
    if value_type not in VALUE_TYPES:
        raise _bad(
            seg,
            2,
            f"value type {value_type or '(empty)'} is not one of {', '.join(sorted(VALUE_TYPES))}",
            "103",
            header,
        )
    code, name, system = seg.get(3, 1), seg.get(3, 2), seg.get(3, 3).upper()
    if system != "LN" and seg.get(3, 6).upper() == "LN" and seg.get(3, 4):
        code, name, system = seg.get(3, 4), seg.get(3, 5) or name, "LN"
    if not code:
        raise _bad(seg, 3, "the observation identifier is empty", "101", header)
    status_code = seg.get(11).upper()
    if status_code not in RESULT_STATUSES:
        raise _bad(
            seg, 11, f"result status {status_code or '(empty)'} must be F, P or C", "103", header
        )
    value: Decimal | None = None
    comparator = ""
    text = ""
    if value_type == "NM":
        raw = seg.get(5)
        if not raw:
            raise _bad(seg, 5, f"{name or code}: the value is empty", "101", header)
        match = _NUMBER.match(raw)
        if not match:
            raise _bad(seg, 5, f"{name or code}: {raw!r} is not a number (NM)", "102", header)
        comparator = match.group(1) or ""
        value = _decimal(seg, match.group(2), name or code, header)
    elif value_type == "SN":
        parts = seg.components(seg.raw(5).split(seg._sep[1])[0]) + ["", "", "", ""]
        comparator, first, separator, second = parts[0], parts[1], parts[2], parts[3]
        if not first:
            raise _bad(seg, 5, f"{name or code}: the value is empty", "101", header)
        if separator or second:
            text = f"{comparator}{first}{separator}{second}"
            comparator = ""
            _decimal(seg, first, name or code, header)
        else:
            if comparator == "=":
                comparator = ""
            if comparator not in {"", "<", ">", "<=", ">="}:
                raise _bad(
                    seg,
                    5,
                    f"{name or code}: comparator {comparator!r} is not <, >, <= or >=",
                    "102",
                    header,
                )
            value = _decimal(seg, first, name or code, header)
    elif value_type in {"CE", "CWE"}:
        text = seg.get(5, 2) or seg.get(5, 1)
    else:
        reps = seg.repetitions(5)
        text = (
            "\n".join(seg.get(5, repetition=i + 1) for i in range(len(reps)))
            if value_type in {"TX", "FT"}
            else seg.get(5)
        )
        if value_type == "ST" and len(reps) > 1:
            text = " ".join(seg.get(5, repetition=i + 1) for i in range(len(reps)))
    if value is None and not text.strip():
        raise _bad(seg, 5, f"{name or code}: the value is empty", "101", header)
    return Observation(
        sequence=seg.sequence,
        value_type=value_type,
        code=code,
        name=name or code,
        code_system=system or "L",
        value=value,
        comparator=comparator,
        text=text,
        unit=seg.get(6, 1) or seg.get(6, 2),
        reference_range=seg.get(7),
        flag=seg.get(8).upper(),
        status=RESULT_STATUSES[status_code],
        observed_at=_timestamp(seg, 14, header) or group.observed_at,
        performing_lab=seg.get(23, 1) or seg.get(15, 2) or seg.get(15, 1),
    )


def _decimal(seg: _Segment, raw: str, what: str, header: Header) -> Decimal:
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise _bad(seg, 5, f"{what}: {raw!r} is not a number", "102", header) from None
    if not number.is_finite():
        raise _bad(seg, 5, f"{what}: {raw!r} is not a number", "102", header)
    return number


def ack_code_for(error: ParseError | None) -> str:
    return ACCEPT if error is None else error.ack_code
