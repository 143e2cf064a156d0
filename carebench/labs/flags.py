"""Flag a lab value: normal, low, high, or critical (pure; no Django).

A laboratory sets its own reference and critical limits; when its message carries a flag we keep
the lab's flag, and a critical flag from the lab always stands. Where the lab sends no flag we
compare the value with the reference range it sent, and with the critical limits below.

`CRITICAL_LIMITS` are typical adult critical (panic) values used by many US hospital laboratories;
they are a safety net, not a substitute for the performing lab's own list, and a clinic should
check them with its medical director.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

NORMAL, LOW, HIGH, CRITICAL_LOW, CRITICAL_HIGH, ABNORMAL, CRITICAL = (
    "N",
    "L",
    "H",
    "LL",
    "HH",
    "A",
    "AA",
)
CRITICAL_FLAGS = frozenset({CRITICAL_LOW, CRITICAL_HIGH, CRITICAL})
ALL_FLAGS = frozenset({NORMAL, LOW, HIGH, CRITICAL_LOW, CRITICAL_HIGH, ABNORMAL, CRITICAL})

# HL7 table 0078 flags we may receive, mapped to ours (the lab's ">" / "<" are off-scale marks).
HL7_FLAGS = {
    "N": NORMAL,
    "": NORMAL,
    "L": LOW,
    "H": HIGH,
    "LL": CRITICAL_LOW,
    "HH": CRITICAL_HIGH,
    "<": CRITICAL_LOW,
    ">": CRITICAL_HIGH,
    "A": ABNORMAL,
    "AA": CRITICAL,
    "LU": LOW,
    "HU": HIGH,
    "POS": ABNORMAL,
    "NEG": NORMAL,
    "DET": ABNORMAL,
    "ND": NORMAL,
}


@dataclass(frozen=True)
class Limits:
    low: Decimal | None = None
    high: Decimal | None = None


def _d(text: str) -> Decimal:
    return Decimal(text)


# LOINC -> critical limits (units as the LOINC code is usually reported in the US).
CRITICAL_LIMITS: dict[str, Limits] = {
    "2345-7": Limits(_d("50"), _d("400")),  # glucose, serum/plasma, mg/dL
    "2339-0": Limits(_d("50"), _d("400")),  # glucose, blood, mg/dL
    "41653-7": Limits(_d("50"), _d("400")),  # glucose, capillary (glucometer), mg/dL
    "1558-6": Limits(_d("50"), _d("400")),  # glucose, fasting, mg/dL
    "2823-3": Limits(_d("2.8"), _d("6.2")),  # potassium, mmol/L
    "2951-2": Limits(_d("120"), _d("160")),  # sodium, mmol/L
    "17861-6": Limits(_d("6.5"), _d("13")),  # calcium, mg/dL
    "718-7": Limits(_d("7"), _d("20")),  # haemoglobin, g/dL
    "59260-0": Limits(_d("7"), _d("20")),  # haemoglobin, point-of-care, g/dL
    "4544-3": Limits(_d("20"), _d("60")),  # haematocrit, %
    "777-3": Limits(_d("20"), _d("1000")),  # platelets, 10*3/uL
    "6690-2": Limits(_d("2"), _d("30")),  # leukocytes, 10*3/uL
    "6301-6": Limits(None, _d("5")),  # INR
    "14979-9": Limits(None, _d("100")),  # aPTT, s
    "2524-7": Limits(None, _d("4")),  # lactate, mmol/L
    "2777-1": Limits(_d("1"), None),  # phosphorus, mg/dL
    "19123-9": Limits(_d("1"), _d("4.7")),  # magnesium, mg/dL
    "10535-3": Limits(None, _d("2.5")),  # digoxin, ng/mL
    "14334-7": Limits(None, _d("1.5")),  # lithium, mmol/L
    "10839-9": Limits(None, _d("0.04")),  # troponin I, ng/mL
}


def flag_value(
    value: Decimal | None,
    *,
    low: Decimal | None = None,
    high: Decimal | None = None,
    critical: Limits | None = None,
    lab_flag: str | None = None,
) -> str:
    """The flag for one value: the lab's flag when sent, else the ranges (critical first)."""
    theirs = HL7_FLAGS.get(lab_flag.strip().upper()) if lab_flag is not None else None
    if theirs in CRITICAL_FLAGS:
        return theirs
    if value is not None and critical is not None:
        if critical.low is not None and value < critical.low:
            return CRITICAL_LOW
        if critical.high is not None and value > critical.high:
            return CRITICAL_HIGH
    if theirs is not None and lab_flag is not None and lab_flag.strip():
        return theirs
    if value is None:
        return NORMAL if theirs is None else theirs
    if low is not None and value < low:
        return LOW
    if high is not None and value > high:
        return HIGH
    return NORMAL


def parse_range(text: str) -> tuple[Decimal | None, Decimal | None]:
    """'3.5-5.1' -> (3.5, 5.1); '<200' -> (None, 200); '>40' -> (40, None); else (None, None)."""
    text = text.strip().replace(" ", "")
    if not text:
        return None, None
    try:
        if text.startswith(("<=", ">=")):
            bound = Decimal(text[2:])
            return (None, bound) if text[0] == "<" else (bound, None)
        if text[0] in "<>":
            bound = Decimal(text[1:])
            return (None, bound) if text[0] == "<" else (bound, None)
        # a leading minus belongs to the low bound: split on the first '-' after position 0
        cut = text.find("-", 1)
        if cut > 0:
            return Decimal(text[:cut]), Decimal(text[cut + 1 :])
    except ArithmeticError:
        return None, None
    return None, None
