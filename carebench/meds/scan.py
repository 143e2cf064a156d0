"""Reading what a barcode scanner types: GS1 codes on vaccine vials and syringes, and NDCs
(pure; no Django).

A vaccine's 2D barcode is a GS1 element string: (01) the GTIN-14, (17) the expiry YYMMDD,
(10) the lot, sometimes (21) a serial. Scanners send it with or without the human-readable
parentheses, with the variable-length fields ended by the group separator (ASCII 29) or, when
the scanner drops it, by nothing. A US drug's GTIN-14 carries its 10-digit NDC: "003" (or
"03" after the indicator digit) + NDC + check digit. A linear barcode may carry the bare NDC
(10 digits) or a UPC-A with it.

NDCs are written 4-4-2, 5-3-2 or 5-4-1 (ten digits) or padded to 5-4-2 (eleven, for billing).
The ten digits alone cannot say where the dashes go, so matching compares ten-digit forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

GS = "\x1d"
NDC_FORMS = ((4, 4, 2), (5, 3, 2), (5, 4, 1), (5, 4, 2))


@dataclass(frozen=True)
class Gs1:
    gtin: str = ""
    expires_on: date | None = None
    lot: str = ""
    serial: str = ""

    @property
    def ndc10(self) -> str:
        """The ten NDC digits inside a US drug's GTIN-14 ("" when it is not one)."""
        if len(self.gtin) == 14 and self.gtin[1:3] == "03":
            return self.gtin[3:13]
        return ""


def _expiry(value: str) -> date:
    if not re.fullmatch(r"\d{6}", value):
        raise ValueError(f"expiry (17) must be YYMMDD, got {value!r}")
    year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:])
    if not 1 <= month <= 12:
        raise ValueError(f"expiry (17) {value!r} has no month {month}")
    if day == 0:  # GS1: day 00 means the end of the month
        following = date(year + (month == 12), month % 12 + 1, 1)
        return date.fromordinal(following.toordinal() - 1)
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"expiry (17) {value!r} is not a date") from None


def gtin_check_digit_ok(gtin: str) -> bool:
    if not re.fullmatch(r"\d{14}", gtin):
        return False
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(gtin[:13]))
    return (10 - total % 10) % 10 == int(gtin[13])


def parse_gs1(text: str) -> Gs1:
    """Read a GS1 element string (AIs 01, 17, 10, 21; others are skipped where their length is
    fixed). Raises ValueError naming the element that is wrong."""
    raw = text.strip()
    if raw.startswith("]d2") or raw.startswith("]C1") or raw.startswith("]Q3"):
        raw = raw[3:]  # symbology identifier some scanners prefix
    if "(" in raw:
        parts = re.findall(r"\((\d{2,4})\)([^(]*)", raw)
        if not parts:
            raise ValueError("not a GS1 code: no (AI) elements")
        raw = "".join(ai + value + (GS if ai in ("10", "21") else "") for ai, value in parts)
    found: dict[str, str] = {}
    position = 0
    while position < len(raw):
        if raw[position] == GS:
            position += 1
            continue
        ai = raw[position : position + 2]
        position += 2
        if ai == "01":
            found["01"] = raw[position : position + 14]
            position += 14
        elif ai in ("17", "11", "15"):
            found[ai] = raw[position : position + 6]
            position += 6
        elif ai in ("10", "21"):
            end = raw.find(GS, position)
            if end == -1:
                end = len(raw)
                # Without a separator the lot runs to the end, unless a (21) serial follows it
                # and the scanner dropped the separator; we cannot tell, so we keep it whole.
            found[ai] = raw[position:end]
            position = end
        else:
            raise ValueError(f"GS1 element ({ai}) is not one carebench reads")
    gtin = found.get("01", "")
    if gtin and not gtin_check_digit_ok(gtin):
        raise ValueError(f"GTIN (01) {gtin!r}: wrong length or check digit")
    lot = found.get("10", "")
    if len(lot) > 20:
        raise ValueError("lot (10) is longer than GS1's 20 characters")
    return Gs1(
        gtin=gtin,
        expires_on=_expiry(found["17"]) if "17" in found else None,
        lot=lot,
        serial=found.get("21", ""),
    )


def looks_like_gs1(text: str) -> bool:
    raw = text.strip()
    return raw.startswith(("01", "(01)", "]d2", "]C1", "]Q3")) and len(raw) >= 16


def ndc_digits(ndc: str) -> str:
    return re.sub(r"\D", "", ndc)


def valid_ndc(ndc: str) -> bool:
    """An NDC written with dashes in one of the four layouts."""
    match = re.fullmatch(r"(\d+)-(\d+)-(\d+)", ndc.strip())
    if not match:
        return False
    return tuple(len(part) for part in match.groups()) in NDC_FORMS


def ndc10_forms(ndc: str) -> set[str]:
    """The ten-digit forms an NDC may have been printed as (one for a 10-digit NDC; for an
    11-digit 5-4-2, the forms with one padding zero removed)."""
    match = re.fullmatch(r"(\d+)-(\d+)-(\d+)", ndc.strip())
    if not match:
        digits = ndc_digits(ndc)
        return {digits} if len(digits) == 10 else set()
    labeler, product, package = match.groups()
    if len(labeler + product + package) == 10:
        return {labeler + product + package}
    forms = set()
    if labeler.startswith("0"):
        forms.add(labeler[1:] + product + package)
    if product.startswith("0"):
        forms.add(labeler + product[1:] + package)
    if package.startswith("0"):
        forms.add(labeler + product + package[1:])
    return forms


def same_ndc(a: str, b: str) -> bool:
    """Whether two NDCs, written any way (dashes or not, 10 or 11 digits), are the same code."""
    return bool(ndc10_forms(a) & ndc10_forms(b)) or ndc_digits(a) == ndc_digits(b) != ""


def ndc_from_scan(text: str) -> str:
    """The ten NDC digits in a scanned linear code: a bare 10- or 11-digit NDC or a UPC-A
    (12 digits: number system 3 + NDC + check)."""
    digits = ndc_digits(text)
    if len(digits) == 12 and digits.startswith("3"):
        return digits[1:11]
    if len(digits) in (10, 11):
        return digits
    return ""


def ndc11(ndc: str) -> str:
    """A dashed NDC padded to the 11-digit 5-4-2 billing form ("" when it is not dashed)."""
    match = re.fullmatch(r"(\d+)-(\d+)-(\d+)", ndc.strip())
    if not match:
        return ""
    labeler, product, package = match.groups()
    return labeler.zfill(5) + product.zfill(4) + package.zfill(2)


def same_product(a: str, b: str) -> bool:
    """Whether two dashed NDCs name the same product (labeler and product code), whatever the
    package: a box and the vial inside it have different NDCs of one product."""
    first, second = ndc11(a), ndc11(b)
    return bool(first) and first[:9] == second[:9]
