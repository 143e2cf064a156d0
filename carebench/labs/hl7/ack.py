"""Build an HL7 v2.5.1 ACK (pure; no Django): MSH, MSA and, for an error, ERR.

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
