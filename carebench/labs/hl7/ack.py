"""Build an HL7 v2.5.1 ACK (pure; no Django): MSH, MSA and, for an error, ERR; and read the ACK
a lab or a registry sends back for one of our messages (`read_ack`).

MSA-1  AA accepted | AE error in the content (names the segment and field) | AR rejected
       (not a message we take: wrong type, version, processing id, or no usable MSH)
MSA-2  the control id of the message acknowledged (MSH-10)
ERR-2  where: segment id ^ sequence (1 = the first such segment) ^ field ^ repetition
       ^ component
ERR-3  HL7 table 0357 code ^ its text ^ HL70357
ERR-4  severity: E
ERR-8  the reason, in words
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import VERSION
from .build import IS_MAX, SEGMENT_END, Endpoint, components, segment
from .escape import ENCODING_CHARACTERS, escape, ts

ACCEPT, ERROR, REJECT = "AA", "AE", "AR"

# HL7 table 0357, message error condition codes.
TABLE_0357 = {
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}
UNKNOWN_CONTROL_ID = "UNKNOWN"


@dataclass(frozen=True)
class ErrorLocation:
    """Where a message went wrong, and why (HL7 ERR-2, ERR-3 and ERR-8)."""

    segment: str
    sequence: int = 1
    field: int = 0
    component: int = 0
    code: str = "207"
    reason: str = ""

    def describe(self) -> str:
        where = self.segment
        if self.field:
            where += f"-{self.field}"
            if self.component:
                where += f".{self.component}"
        if self.sequence > 1:
            where += f" (segment {self.sequence})"
        return f"{where}: {self.reason}" if self.reason else where


@dataclass(frozen=True)
class AckInfo:
    code: str  # AA, AE or AR
    acknowledged_id: str  # MSH-10 of the message acknowledged (may be unknown)
    sender: Endpoint  # us (the incoming message's receiver)
    receiver: Endpoint  # the incoming message's sender
    sent_at: datetime
    trigger: str = "R01"
    processing_id: str = "P"
    error: ErrorLocation | None = None


def ack_control_id(acknowledged_id: str) -> str:
    return ("A" + acknowledged_id)[:20]


def build_ack(info: AckInfo) -> str:
    if info.code not in {ACCEPT, ERROR, REJECT}:
        raise ValueError(f"ACK code must be AA, AE or AR, not {info.code!r}")
    acknowledged = info.acknowledged_id or UNKNOWN_CONTROL_ID
    trigger = info.trigger if info.trigger.isalnum() and len(info.trigger) == 3 else ""
    processing = info.processing_id if info.processing_id in {"P", "T", "D"} else "P"
    lines = [
        "|".join(
            [
                "MSH",
                ENCODING_CHARACTERS,
                components(info.sender.application[:IS_MAX]),
                components(info.sender.facility[:IS_MAX]),
                components(info.receiver.application[:IS_MAX]),
                components(info.receiver.facility[:IS_MAX]),
                ts(info.sent_at),
                "",
                f"ACK^{trigger}^ACK" if trigger else "ACK^^ACK",
                escape(ack_control_id(acknowledged)),
                processing,
                VERSION,
            ]
        ),
        segment("MSA", info.code, escape(acknowledged[:199])),
    ]
    error = info.error
    if error is not None and info.code != ACCEPT:
        code = error.code if error.code in TABLE_0357 else "207"
        location = "^".join(
            [
                escape(error.segment[:3]),
                str(max(error.sequence, 1)),
                *([str(error.field)] if error.field else []),
                *(["1", str(error.component)] if error.field and error.component else []),
            ]
        )
        lines.append(
            segment(
                "ERR",
                "",
                location,
                components(code, TABLE_0357[code], "HL70357"),
                "E",
                "",
                "",
                "",
                escape(error.describe()[:500]),
            )
        )
    return SEGMENT_END.join(lines) + SEGMENT_END


# --- reading an ACK we get back (from a lab or an immunization registry) -------------------------

# MSA-1: original mode AA/AE/AR, enhanced mode (commit) CA/CE/CR.
ACK_CODES = ("AA", "AE", "AR", "CA", "CE", "CR")
SEVERITIES = {"F": "fatal error", "E": "error", "W": "warning", "I": "information"}
_SEVERITY_RANK = {"F": 0, "E": 0, "": 0, "W": 1, "I": 2}


class AckReadError(ValueError):
    """An ACK we cannot read: the segment or field (e.g. `MSA-1`) and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class AckError:
    """One ERR segment of a received ACK (v2.5 ERR-2/3/4/7/8, or v2.3/2.4 ERR-1)."""

    segment: str = ""  # ERR-2.1, e.g. RXA
    sequence: int = 0  # ERR-2.2
    field: int = 0  # ERR-2.3
    component: int = 0  # ERR-2.5
    code: str = ""  # ERR-3.1, table 0357
    code_text: str = ""  # ERR-3.2 (else the table's text)
    severity: str = ""  # ERR-4: F, E, W or I
    message: str = ""  # ERR-8 user message (else ERR-7 diagnostic information)

    @property
    def location(self) -> str:
        """`RXA-5`, `RXA-5.1`, `RXA-5 (segment 2)`, `PID`, or empty."""
        if not self.segment:
            return ""
        where = self.segment
        if self.field:
            where += f"-{self.field}"
            if self.component:
                where += f".{self.component}"
        if self.sequence > 1:
            where += f" (segment {self.sequence})"
        return where

    def describe(self) -> str:
        """e.g. `RXA-5: Invalid vaccine code (Table value not found, error)`."""
        body = self.message or self.code_text or self.code
        extra = [self.code_text] if self.message and self.code_text else []
        if self.severity in SEVERITIES:
            extra.append(SEVERITIES[self.severity])
        text = f"{self.location}: {body}" if self.location and body else self.location or body
        return f"{text} ({', '.join(extra)})" if text and extra else text


@dataclass(frozen=True)
class ReceivedAck:
    """What an ACK says: MSA-1, MSA-2 (the control id acknowledged), MSA-3 and its ERRs."""

    code: str
    acknowledged_id: str
    control_id: str = ""  # the ACK's own MSH-10
    text: str = ""  # MSA-3 (deprecated in 2.5, still sent by some)
    errors: tuple[AckError, ...] = ()

    def describe(self) -> str:
        """The errors in words, errors before warnings before information, joined by `; `;
        MSA-3 when there is no ERR."""
        ranked = sorted(self.errors, key=lambda e: _SEVERITY_RANK.get(e.severity, 0))
        texts = [e.describe() for e in ranked]
        return "; ".join(t for t in texts if t) or self.text


def _number(value: str) -> int:
    return int(value) if value.isdigit() else 0


def read_ack(raw: str | bytes) -> ReceivedAck:
    """Read one ACK (MLLP framing and CR/LF line ends allowed), or `AckReadError` naming the
    segment or field: no MSH first, no MSA, MSA-1 not one of AA AE AR CA CE CR."""
    # parse.py imports this module (ErrorLocation), so its segment reader is imported here
    from .parse import ParseError, _segments, normalize

    text = normalize(raw)
    if not text.startswith("MSH"):
        raise AckReadError("MSH", f"an ACK starts with MSH, not {text[:3] or '(nothing)'}")
    try:
        segments = _segments(text)
    except ParseError as exc:
        raise AckReadError("MSH", str(exc.location.reason)) from None
    msa = next((s for s in segments if s.name == "MSA"), None)
    if msa is None:
        raise AckReadError("MSA", "the ACK has no MSA segment")
    code = msa.get(1).upper()
    if code not in ACK_CODES:
        raise AckReadError("MSA-1", f"{code or '(empty)'} is not one of {', '.join(ACK_CODES)}")
    errors: list[AckError] = []
    for seg in segments:
        if seg.name != "ERR":
            continue
        severity = seg.get(4).upper()
        message = seg.get(8) or seg.get(7)
        if seg.get(2) or seg.get(3) or severity or message:
            found = AckError(
                segment=seg.get(2, 1).upper(),
                sequence=_number(seg.get(2, 2)),
                field=_number(seg.get(2, 3)),
                component=_number(seg.get(2, 5)),
                code=seg.get(3, 1),
                code_text=seg.get(3, 2) or TABLE_0357.get(seg.get(3, 1), ""),
                severity=severity,
                message=message,
            )
            found_errors = [found]
        else:  # v2.3/2.4: ERR-1 (ELD) segment^sequence^field^code&text, repeating
            found_errors = [
                AckError(
                    segment=seg.get(1, 1, repetition=n).upper(),
                    sequence=_number(seg.get(1, 2, repetition=n)),
                    field=_number(seg.get(1, 3, repetition=n)),
                    code=seg.get(1, 4, 1, repetition=n),
                    code_text=seg.get(1, 4, 2, repetition=n)
                    or TABLE_0357.get(seg.get(1, 4, 1, repetition=n), ""),
                )
                for n in range(1, len(seg.repetitions(1)) + 1)
            ]
        # "0 Message accepted" is not an error (some registries send it with AA)
        errors.extend(e for e in found_errors if e.code != "0" or e.message)
    return ReceivedAck(
        code=code,
        acknowledged_id=msa.get(2),
        control_id=segments[0].get(10),
        text=msa.get(3),
        errors=tuple(errors),
    )
