"""Pure validators and normalizers for patient data (no Django): names, phones, dates, ZIP.

Each validator returns the normalized value or raises `ValueError` with a message that states
the rule; the services attach the field name.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

OLDEST_BIRTH_DATE = date(1880, 1, 1)
US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI".split()
)
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")
_NAME_ALLOWED = re.compile(r"^[^\W\d_]+(?:[ '’\-.][^\W\d_]+)*\.?$", re.UNICODE)


def search_key(text: str) -> str:
    """Lower-case ASCII letters only: 'Ñúñez-O’Brien' -> 'nunezobrien'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in stripped.lower() if "a" <= ch <= "z")


def clean_name(value: str, *, required: bool = True) -> str:
    value = " ".join(value.split())
    if not value:
        if required:
            raise ValueError("is required")
        return ""
    if len(value) > 100:
        raise ValueError("must be 100 characters or fewer")
    if not _NAME_ALLOWED.match(value):
        raise ValueError("may hold letters, spaces, hyphens, apostrophes and periods only")
    return value


def normalize_phone(value: str) -> str:
    """A US number as (555) 555-0100 style digits '5555550100', or an international '+...'.

    Accepts common punctuation. Refuses anything that is not a dialable number.
    """
    value = value.strip()
    if not value:
        return ""
    if not re.fullmatch(r"[+\d\s().\-]+", value):
        raise ValueError("may hold digits, spaces, +, (), - and . only")
    digits = re.sub(r"\D", "", value)
    if value.startswith("+") and not value.startswith("+1"):
        if not 8 <= len(digits) <= 15:
            raise ValueError("an international number has 8 to 15 digits after +")
        return "+" + digits
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise ValueError("a US phone number has 10 digits (area code and number)")
    if digits[0] in "01" or digits[3] in "01":
        raise ValueError("area code and exchange cannot start with 0 or 1")
    return digits


def format_phone(normalized: str) -> str:
    if len(normalized) == 10 and normalized.isdigit():
        return f"({normalized[:3]}) {normalized[3:6]}-{normalized[6:]}"
    return normalized


def phone_key(normalized: str) -> str:
    return normalized.lstrip("+")


def check_birth_date(value: date, *, today: date) -> date:
    if value > today:
        raise ValueError("cannot be in the future")
    if value < OLDEST_BIRTH_DATE:
        raise ValueError(f"cannot be before {OLDEST_BIRTH_DATE.isoformat()}")
    return value


def clean_state(value: str) -> str:
    value = value.strip().upper()
    if value and value not in US_STATES:
        raise ValueError("must be a two-letter US state code such as TX")
    return value


def clean_zip(value: str) -> str:
    value = value.strip()
    if value and not _ZIP.match(value):
        raise ValueError("must be 5 digits or ZIP+4 (12345 or 12345-6789)")
    return value
